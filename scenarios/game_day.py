"""Game day: traffic plus a random swarm of faults drawn from the seed; heal, then check everything."""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario
from ddbsim.lab.nemesis import draw_schedule


def build_scenario(duration_s: float = 180.0, **overrides: Any) -> Scenario:
    """180 s of traffic under the nemesis (faults start between 10 s and
    150 s; ``--set nemesis.bounded=false`` lifts the one-AZ bound,
    ``--set nemesis.kinds=az_cut,slow_host`` narrows the swarm), then heal,
    quiesce and probe liveness with a minority of storage hosts still down
    (``run.liveness_minority_down``), bring them back, read everything back
    and run every checker --
    linearizability included, so the history is recorded.  Keys are uniform
    over 500, so that each key sees ~40 operations, some of them concurrent.
    Three silent corruptions (bit rot) join the swarm, all in one AZ, and the
    scrub runs every 30 s: each must be found and repaired."""
    return Scenario(
        name="game_day", duration_s=duration_s,
        faults=draw_schedule,
        overrides={"metrics.history": True, "metrics.window_s": 60.0,
                   "workload.key_count": 500, "nemesis.bit_rot": 3,
                   "durability.scrub_interval_s": 30.0, "run.liveness_minority_down": True,
                   **overrides},
        description="a swarm of faults drawn from the seed, then heal and check")


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
