"""Placement: every partition ends with its full set of storage replicas on
distinct hosts, racks and AZs.

Paper §3: a partition's replicas live in three different AZs (which keeps
them off a common rack and host); healing must restore that, never place
two replicas in one AZ, and leave no log replica behind once the region has
healed.  The membership judged is the one the partition's leader has
committed; a partition without a leader is "unknown".
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ddbsim.service.membership import STORAGE, Members


def check_placement(groups: Mapping[str, Members | None], where: Mapping[str, tuple[str, str]],
                    replicas: int) -> dict[str, Any]:
    """``groups`` maps each partition to its leader's committed membership
    (None without a leader); ``where`` maps a host to its (rack, AZ)."""
    problems: list[dict[str, Any]] = []
    unknown: list[str] = []
    for pid in sorted(groups):
        members = groups[pid]
        if members is None:
            unknown.append(pid)
            continue
        hosts = [h for h, _ in members]
        racks = {where[h][0] for h in hosts}
        azs = {where[h][1] for h in hosts}
        kinds = [k for _, k in members]
        wrong = []
        if len(hosts) != replicas:
            wrong.append(f"{len(hosts)} members, want {replicas}")
        if any(k != STORAGE for k in kinds):
            wrong.append(f"{sum(k != STORAGE for k in kinds)} not a storage replica")
        if len(set(hosts)) != len(hosts):
            wrong.append("two replicas on one host")
        if len(racks) != len(hosts):
            wrong.append("two replicas in one rack")
        if len(azs) != len(hosts):
            wrong.append("two replicas in one AZ")
        if wrong:
            problems.append({"partition": pid, "members": [list(m) for m in members],
                             "problems": wrong})
    valid: bool | str = not problems
    if valid and unknown:
        valid = "unknown"
    return {"valid": valid, "partitions": len(groups), "misplaced": problems[:10],
            "misplaced_count": len(problems), "unknown_partitions": unknown[:10]}
