"""Convergence: the replicas of every partition hold the same data.

Storage replicas must hold the same items at the same applied log
position (compared by checksum); log replicas the same committed records
as the leader.  A partition without a leader, or with fewer replicas than
the group should have, is "unknown".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
