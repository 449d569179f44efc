"""The power-off test: hosts lose power (optionally their disks) under traffic; heal, then verify the data.

Under realistic traffic (200 requests/s, the default mix) a job powers off
random storage hosts, one at a time, each for a random while -- some come
back before the failure detection, some after their replicas were
replaced -- and, with ``lose_disks`` > 0, that share of them comes back with
an empty disk.  The job never destroys more than the design can recover: a
disk is lost only when the healing bound (detection + log copy + rebuild +
margin) has passed since the previous power-off, so every group again has
storage replicas it can be rebuilt from (a group whose only storage
replica loses its disk, beside log replicas, could be restored only from the
archive, which healing does not do); otherwise the host is only powered
off.  With ``corrupt_messages`` > 0, that share of every message in the
region is corrupted in flight while the job runs: its receiver finds the
checksum wrong and drops it (counted: ``messages`` in the analysis), and
the protocol recovers as from a lost message.  Then everything heals,
quiesces and is verified: every acknowledged
write is present with its latest value and no value that was never written
is read (``durability``), the replicas of every group are
identical (``convergence``), the archive, replayed, holds what the replicas
hold (``archive``), and every read was linearizable (``linearizable``).
The summary says what was verified.  The job itself is
:func:`ddbsim.lab.power_off.power_off_job`, for other scenarios to use.
"""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario
from ddbsim.lab.power_off import power_off_job


def analyse(data: dict[str, Any]) -> dict[str, Any]:
    checks = data["checks"]
    d = checks["durability"]
    faults = data["faults"]
    return {
        "power_offs": {"hosts": sum(1 for f in faults if f["action"] == "power_off"),
                       "disks_lost": sum(1 for f in faults if f["action"] == "lose_disk")},
        "verified": {"acked_writes": d["acked_writes"], "keys": d["keys_checked"],
                     "lost_writes": d["lost_writes"],
                     "partitions_identical": checks["convergence"]["partitions"]
                     - len(checks["convergence"]["diverged"]),
                     "archive_consistent": checks["archive"]["partitions"]
                     - len(checks["archive"]["mismatched"])},
        "messages": {"corrupted": data["network"]["corrupted"],
                     "dropped_by_receivers": data["network"]["corrupt_dropped"]},
        "all_valid": all(c["valid"] is True for c in checks.values()),
    }


def build_scenario(count: int = 6, duration_s: float = 420.0, lose_disks: float = 0.0,
                   corrupt_messages: float = 0.0, **overrides: Any) -> Scenario:
    return Scenario(
        name="power_off_test", duration_s=duration_s,
        faults=power_off_job(count, 20.0, duration_s - 40.0, lose_disks, corrupt_messages),
        overrides={"workload.rate_per_s": 200, "metrics.history": True,
                   "workload.key_count": 2000, **overrides},
        analyse=analyse,
        description=f"{count} host power-offs under traffic"
                    + (f", {lose_disks:.0%} of them losing their disk" if lose_disks else "")
                    + (f", {corrupt_messages:.1%} of messages corrupted in flight"
                       if corrupt_messages else ""))


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
