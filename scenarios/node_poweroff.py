"""Random storage hosts lose power under traffic, one at a time; heal, then verify."""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario
from ddbsim.lab.power_off import distinct_power_offs


def build_scenario(count: int = 3, first_at_s: float = 60.0, down_s: float = 330.0,
                   gap_s: float = 30.0, **overrides: Any) -> list[Scenario]:
    duration = first_at_s + count * (down_s + gap_s) + 60.0
    plan = distinct_power_offs(count, first_at_s, down_s, gap_s)
    return [
        Scenario(name="node_poweroff", variant="log_replicas_on", duration_s=duration,
                 faults=plan, overrides={**overrides},
                 description="heal with a log replica first (seconds), then a storage replica"),
        Scenario(name="node_poweroff", variant="log_replicas_off", duration_s=duration,
                 faults=plan, overrides={**overrides, "healing.log_replicas": False},
                 description="heal only by rebuilding a storage replica (minutes)"),
    ]


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
