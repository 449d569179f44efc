"""Host failures healed with log replicas and without: degraded window, durability exposure, availability.

Paper §5.1: a lost replica is first replaced by a log replica, which copies
only the unarchived WAL and joins in seconds; the storage replica is then
rebuilt in minutes.  Without log replicas the group runs on two replicas
until the rebuild ends.  While it does, every write acknowledged meanwhile
is on exactly two replicas (and not yet in the archive, which lags by up to
``durability.archive_interval_s``): one more failure would leave it on a
single copy.  This *durability exposure* runs from the loss of a replica
until a replacement holding the WAL joined the group, summed per partition.
Both variants see the same power-offs (drawn from the seed).  The WAL a log
replica holds is printed: archived records are trimmed, so it is the
unarchived tail only.
"""
from __future__ import annotations

import statistics
from typing import Any

from ddbsim.lab import Scenario
from ddbsim.lab.power_off import distinct_power_offs


def analyse(data: dict[str, Any]) -> dict[str, Any]:
    degraded = [h["degraded_s"] for h in data["healing"] if h["degraded_s"] is not None]
    exposure: dict[str, float] = {}
    for h in data["healing"]:
        if h["degraded_s"] is not None:
            exposure[h["partition"]] = exposure.get(h["partition"], 0.0) + h["degraded_s"]
    av = data["availability"]
    wal = data["verification"]["wal_records"]
    return {
        "degraded_window_s": {"episodes": len(degraded),
                              "median": round(statistics.median(degraded), 3) if degraded else None,
                              "max": round(max(degraded), 3) if degraded else None},
        "exposure_s": {"partitions": len(exposure),
                       "total": round(sum(exposure.values()), 3),
                       "max": round(max(exposure.values()), 3) if exposure else None},
        "write_availability": None if av is None else av["write"],
        "log_replica_wal_records": wal.get("log", {}).get("max_after_trim"),
        "storage_replica_wal_records": wal.get("storage", {}).get("max_after_trim"),
    }


def build_scenario(count: int = 3, first_at_s: float = 60.0, down_s: float = 330.0,
                   gap_s: float = 30.0, **overrides: Any) -> list[Scenario]:
    duration = first_at_s + count * (down_s + gap_s) + 60.0
    plan = distinct_power_offs(count, first_at_s, down_s, gap_s)
    common = {"workload.rate_per_s": 200, **overrides}
    return [
        Scenario(name="log_replica_healing", variant="log_replicas_on", duration_s=duration,
                 faults=plan, overrides=common, analyse=analyse,
                 description="a log replica first (seconds), then a storage replica (minutes)"),
        Scenario(name="log_replica_healing", variant="log_replicas_off", duration_s=duration,
                 faults=plan, overrides={**common, "healing.log_replicas": False},
                 analyse=analyse, description="only a storage replica rebuild (minutes)"),
    ]


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
