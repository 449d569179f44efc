"""K silent corruptions (bit rot) at random places: the scrub finds and repairs each; a clean run finds none.

Bit rot changes a stored item or a WAL record on one replica's disk without
changing its checksum (``ddbsim.world.disk``).  The scrub
(``ddbsim.service.storage.scrub``) compares, every
``durability.scrub_interval_s``, the digests of every replica's items at a
common log position, and a reference replica rebuilt from the archived WAL;
the replicas also verify the checksums of the WAL they hold, and the
archiver compares what it uploads with what the archive already has.  Each
corruption is printed with when it was injected, found (and by whom) and
repaired; the detection latency is set against the scrub interval.  A
corruption overwritten by a later write (or a WAL record trimmed after a good
replica archived it) before any check could see it is counted as vanished,
not missed.  The
``clean`` variant runs the same seed without corruptions: it must report
no mismatch at all.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ddbsim.lab import Fault, Scenario
from ddbsim.world import World


def rot_plan(count: int, start_s: float, end_s: float, wal_share: float):  # type: ignore[no-untyped-def]
    """``count`` bit rots at uniform random times in [start_s, end_s), each
    on a random storage host, a WAL record with probability ``wal_share``
    (else a stored item), drawn from the seed."""

    def plan(world: World, rng: np.random.Generator) -> list[Fault]:
        hosts = sorted(h.id for h in world.topology.of_kind("storage"))
        times = sorted(float(t) for t in rng.uniform(start_s, end_s, size=count))
        faults = []
        for t in times:
            host = hosts[int(rng.integers(len(hosts)))]
            what = "wal" if rng.random() < wal_share else "item"
            faults.append(Fault(round(t, 3), "bit_rot", host, what=what))
        return faults

    return plan


def analyse(data: dict[str, Any]) -> dict[str, Any]:
    v = data["verification"]
    interval = data["config"]["durability"]["scrub_interval_s"]
    mean = v["detection_s"]["mean"]
    out: dict[str, Any] = {
        "corruptions": {"injected": v["injected"], "detected": v["detected"],
                        "repaired": v["repaired"], "missed": v["missed"],
                        "vanished": v["vanished"], "false_positives": v["false_positives"]},
        "detection_s": {**v["detection_s"], "scrub_interval_s": interval,
                        "mean_over_interval": None if mean is None else round(mean / interval, 3)},
        "scrubs": v["scrub"],
    }
    for i, c in enumerate(v["corruptions"], 1):
        out[f"rot_{i}"] = {"what": c["what"], "host": c["host"], "partition": c["partition"],
                           "at": c["where"], "injected_s": c["t_s"], "found_s": c["found_at_s"],
                           "by": c["found_by"], "repaired_s": c["repaired_at_s"],
                           "detection_s": c["detection_s"]}
    return out


def build_scenario(count: int = 10, duration_s: float = 600.0, wal_share: float = 0.3,
                   **overrides: Any) -> list[Scenario]:
    start, end = 30.0, duration_s - 60.0
    common = {"workload.rate_per_s": 200, **overrides}
    return [
        Scenario(name="bit_rot_scrub", variant="bit_rot", duration_s=duration_s,
                 faults=rot_plan(count, start, end, wal_share), overrides=common, analyse=analyse,
                 description=f"{count} silent corruptions between {start:g} s and {end:g} s"),
        Scenario(name="bit_rot_scrub", variant="clean", duration_s=duration_s, faults=[],
                 overrides=common, analyse=analyse,
                 description="the same traffic, no corruption: the scrub must find nothing"),
    ]


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
