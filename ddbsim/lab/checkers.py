"""Checkers, run after the faults end, the region heals and quiesces, and
the final reads complete.

* **durability** -- every acknowledged write is readable with its value or
  a later one.  A final value written by ``w'`` is consistent with an
  acknowledged write ``w`` unless ``w'`` certainly finished before ``w``
  began (``w'`` acknowledged before ``w`` was invoked): then ``w`` is lost.
  A write whose outcome is unknown (a timeout) may have taken effect at any
  time after it was invoked.  A final value nobody wrote, or one whose write
  certainly failed, is a lost write too (it hides every acknowledged one).
* **convergence** -- the replicas of every partition hold the same data:
  storage replicas the same items at the same applied log position, log
  replicas the same committed records as the leader.
* **single leader** -- never two leaders with valid leases for one
  partition at one time: the lease spans leaders reported must not overlap.

Each returns a dict with ``valid`` (True, False or "unknown") and details.
The functions take plain data so they can be tested on hand-written
histories, including ones that must fail.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ACKED, MAYBE, FAILED = "acked", "maybe", "failed"


@dataclass(slots=True)
class Write:
    key: str
    value: Any  # None for a delete
    invoke_s: float
    complete_s: float  # ack time for an acknowledged write; inf otherwise
    status: str  # acked | maybe | failed


class WriteLedger:
    """Every write the clients attempted, by key, with what became of it."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[Write]] = {}

    def invoke(self, key: str, value: Any, invoke_s: float) -> Write:
        """A write was invoked: until resolved, it may or may not take effect."""
        w = Write(key, value, invoke_s, math.inf, MAYBE)
        self.by_key.setdefault(key, []).append(w)
        return w

    @staticmethod
    def resolve(w: Write, status: str, complete_s: float | None = None) -> None:
        if status not in (ACKED, MAYBE, FAILED):
            raise ValueError(f"unknown write status {status!r}")
        if status == ACKED and complete_s is None:
            raise ValueError("an acknowledged write needs its completion time")
        w.status = status
        w.complete_s = complete_s if status == ACKED else math.inf  # type: ignore[assignment]

    def add(self, key: str, value: Any, invoke_s: float, complete_s: float | None,
            status: str) -> None:
        """Record a write whose outcome is already known (for hand-made ledgers)."""
        self.resolve(self.invoke(key, value, invoke_s), status, complete_s)

    def keys(self) -> list[str]:
        return sorted(self.by_key)

    def acked(self) -> int:
        return sum(1 for ws in self.by_key.values() for w in ws if w.status == ACKED)


def check_durability(ledger: WriteLedger, final: dict[str, tuple[bool, Any]]) -> dict[str, Any]:
    """``final`` maps each key to (read succeeded, value read)."""
    lost = 0
    unread = 0
    examples: list[dict[str, Any]] = []
    for key in ledger.keys():
        writes = ledger.by_key[key]
        acked = [w for w in writes if w.status == ACKED]
        read_ok, value = final.get(key, (False, None))
        if not read_ok:
            unread += 1
            continue
        if value is None:
            # a delete, or the initial absence (which precedes everything)
            candidates = [w for w in writes if w.value is None and w.status != FAILED]
            best = max((w.complete_s for w in candidates), default=-math.inf)
        else:
            candidates = [w for w in writes if w.value == value and w.status != FAILED]
            best = max((w.complete_s for w in candidates), default=None)  # type: ignore[arg-type]
            if best is None:
                lost += max(1, len(acked))  # a phantom value is a violation in itself
                examples.append({"key": key, "read": value, "problem": "value never written "
                                 "(or written only by a failed request)"})
                continue
        missing = [w for w in acked if w.invoke_s > best]
        if missing:
            lost += len(missing)
            latest = max(missing, key=lambda w: w.invoke_s)
            examples.append({"key": key, "read": value, "lost_value": latest.value,
                             "lost_acked_at_s": round(latest.complete_s, 6)})
    valid: bool | str = lost == 0
    if valid and unread:
        valid = "unknown"
    return {"valid": valid, "lost_writes": lost, "keys_checked": len(ledger.by_key),
            "acked_writes": ledger.acked(), "unread_keys": unread, "examples": examples[:10]}


@dataclass(slots=True)
class ReplicaView:
    host: str
    kind: str  # storage | log
    applied_lsn: int
    checksum: str | None  # of the items, for a storage replica
    log: dict[int, Any]  # committed records a log replica holds


def check_convergence(groups: dict[str, list[ReplicaView]], expected: int) -> dict[str, Any]:
    """``groups`` maps each partition to views of its current replicas,
    the leader's first; ``expected`` is how many each should have."""
    diverged = []
    unknown = []
    for pid in sorted(groups):
        views = groups[pid]
        if len(views) < expected or not views or views[0].kind != "storage":
            unknown.append(pid)
            continue
        ref = views[0]
        for v in views[1:]:
            if v.kind == "storage":
                same = v.applied_lsn == ref.applied_lsn and v.checksum == ref.checksum
            else:
                same = all(lsn in ref.log and ref.log[lsn] == cmd for lsn, cmd in v.log.items()
                           if lsn <= ref.applied_lsn)
            if not same:
                diverged.append({"partition": pid, "host": v.host, "kind": v.kind,
                                 "applied_lsn": v.applied_lsn, "leader_applied_lsn": ref.applied_lsn})
    valid: bool | str = not diverged
    if valid and unknown:
        valid = "unknown"
    return {"valid": valid, "partitions": len(groups), "diverged": diverged[:10],
            "unknown_partitions": unknown[:10]}


def check_single_leader(spans: Iterable[tuple[str, tuple[int, str], float, float]]) -> dict[str, Any]:
    """``spans`` are (partition, ballot, from_s, until_s): the time over
    which a leader served on a lease it computed valid."""
    by_pid: dict[str, list[tuple[float, float, tuple[int, str]]]] = {}
    for pid, ballot, start, until in spans:
        by_pid.setdefault(pid, []).append((start, until, tuple(ballot)))  # type: ignore[arg-type]
    overlaps = []
    for pid in sorted(by_pid):
        latest: tuple[float, tuple[int, str]] | None = None  # (until, ballot) reaching furthest
        for start, until, ballot in sorted(by_pid[pid]):
            if latest is not None and latest[1] != ballot and start < latest[0]:
                overlaps.append({"partition": pid, "ballots": [list(latest[1]), list(ballot)],
                                 "overlap_s": round(min(latest[0], until) - start, 6),
                                 "at_s": round(start, 6)})
            if latest is None or until > latest[0]:
                latest = (until, ballot)
    return {"valid": not overlaps, "partitions": len(by_pid), "overlaps": overlaps[:10]}
