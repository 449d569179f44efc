"""Single leader: never two leaders with valid leases for one partition at
one time -- the lease spans leaders reported must not overlap."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


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
