"""Archive: the archived WAL agrees with the replicas.

Paper §5.1: the WAL archived to the object store must be a faithful copy of
what the replicas committed -- it is what a replica is rebuilt and verified
from.  After the run, each partition's reference replica (the store's
snapshot at the archive's head, brought to the leader's applied position
with the leader's own committed records) must hold the same items as the
leader, range by range.  A partition the archive cannot rebuild at that
position (the leader lacks records above the archive's head) is "unknown".
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def check_archive(groups: Mapping[str, tuple[int, list[int] | None, list[int] | None]]
                  ) -> dict[str, Any]:
    """``groups`` maps each partition to (the leader's applied position, the
    leader's digests, the reference's digests), either digest None when it
    could not be had."""
    mismatched: list[dict[str, Any]] = []
    unknown: list[str] = []
    for pid in sorted(groups):
        lsn, leader, reference = groups[pid]
        if leader is None or reference is None:
            unknown.append(pid)
        elif leader != reference:
            mismatched.append({"partition": pid, "lsn": lsn,
                               "ranges": [i for i, (a, b) in enumerate(zip(leader, reference,
                                                                           strict=True)) if a != b]})
    valid: bool | str = not mismatched
    if valid and unknown:
        valid = "unknown"
    return {"valid": valid, "partitions": len(groups), "mismatched": mismatched[:10],
            "unknown_partitions": unknown[:10]}
