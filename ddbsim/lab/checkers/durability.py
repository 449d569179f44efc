"""Durability: every acknowledged write is readable with its value or a later one.

A final value written by ``w'`` is consistent with an acknowledged write
``w`` unless ``w'`` certainly finished before ``w`` began (``w'``
acknowledged before ``w`` was invoked): then ``w`` is lost.  A write whose
outcome is unknown (a timeout) may have taken effect at any time after it
was invoked.  A final value nobody wrote, or one whose write certainly
failed, is a lost write too (it hides every acknowledged one).

:class:`WriteLedger` is what the clients fill in as they go: every write
attempted, by key, with what became of it.  A run's ledger is *compacted*
(``compact=True``) so that its memory does not grow with the run's length:
when a key's list grows, the writes that completed before the latest
acknowledged write of that key was invoked are dropped.  That changes no
verdict: if the value read back is one of theirs, the latest acknowledged
write is lost either way (the check then counts the read as a value never
written rather than counting each lost write); otherwise they could never
be the newest candidate nor missing.
"""
from __future__ import annotations

import math
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

    def __init__(self, compact: bool = False) -> None:
        self.by_key: dict[str, list[Write]] = {}
        self.compact = compact
        self._acked_dropped = 0  # acknowledged writes compacted away

    #: a key's list is compacted when it grows past this many writes
    COMPACT_AT = 8

    def invoke(self, key: str, value: Any, invoke_s: float) -> Write:
        """A write was invoked: until resolved, it may or may not take effect."""
        w = Write(key, value, invoke_s, math.inf, MAYBE)
        self.by_key.setdefault(key, []).append(w)
        return w

    def resolve(self, w: Write, status: str, complete_s: float | None = None) -> None:
        if status not in (ACKED, MAYBE, FAILED):
            raise ValueError(f"unknown write status {status!r}")
        if status == ACKED and complete_s is None:
            raise ValueError("an acknowledged write needs its completion time")
        w.status = status
        w.complete_s = complete_s if status == ACKED else math.inf  # type: ignore[assignment]
        if self.compact and status == ACKED:
            writes = self.by_key.get(w.key)
            if writes is not None and len(writes) > self.COMPACT_AT:
                horizon = max(x.invoke_s for x in writes if x.status == ACKED)
                kept = [x for x in writes if x.complete_s >= horizon]
                self._acked_dropped += sum(1 for x in writes
                                           if x.status == ACKED and x.complete_s < horizon)
                self.by_key[w.key] = kept

    def add(self, key: str, value: Any, invoke_s: float, complete_s: float | None,
            status: str) -> None:
        """Record a write whose outcome is already known (for hand-made ledgers)."""
        self.resolve(self.invoke(key, value, invoke_s), status, complete_s)

    def keys(self) -> list[str]:
        return sorted(self.by_key)

    def acked(self) -> int:
        return self._acked_dropped + sum(1 for ws in self.by_key.values() for w in ws
                                         if w.status == ACKED)


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
            newest_s = max((w.complete_s for w in candidates), default=None)
            if newest_s is None:
                lost += max(1, len(acked))  # a phantom value is a violation in itself
                examples.append({"key": key, "read": value, "problem": "value never written "
                                 "(or written only by a failed request)"})
                continue
            best = newest_s
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
