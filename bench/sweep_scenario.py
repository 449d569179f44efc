"""The sweep benchmark's scenario: the leader of p-0000 loses power for 30 s under traffic.

About a second of wall time per run: 120 s of traffic at 150 requests per
simulated second, then heal, quiesce and the final reads.
"""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario, outage


def build_scenario(**overrides: Any) -> Scenario:
    return Scenario(
        name="bench_sweep", duration_s=120.0,
        overrides={"workload.rate_per_s": 150, "run.quiesce_s": 10,
                   "run.final_read_timeout_s": 30.0, **overrides},
        description="power off the leader of p-0000 for 30 s",
        faults=outage("leader:p-0000", 30.0, 30.0))


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
