"""Random storage hosts lose power under traffic, one at a time; heal, then verify."""
from __future__ import annotations

from typing import Any

import numpy as np

from ddbsim.lab import Fault, Scenario
from ddbsim.world import World


def power_off_plan(count: int, first_at_s: float, down_s: float, gap_s: float):  # type: ignore[no-untyped-def]
    """``count`` power-offs of distinct random storage hosts, drawn from the seed."""

    def plan(world: World, rng: np.random.Generator) -> list[Fault]:
        hosts = sorted(h.id for h in world.topology.of_kind("storage"))
        picks = rng.choice(len(hosts), size=min(count, len(hosts)), replace=False)
        faults = []
        for i, idx in enumerate(picks.tolist()):
            at = first_at_s + i * (down_s + gap_s)
            faults += [Fault(at, "power_off", hosts[idx]), Fault(at + down_s, "power_on", hosts[idx])]
        return faults

    return plan


def build_scenario(count: int = 3, first_at_s: float = 60.0, down_s: float = 330.0,
                   gap_s: float = 30.0, **overrides: Any) -> list[Scenario]:
    duration = first_at_s + count * (down_s + gap_s) + 60.0
    plan = power_off_plan(count, first_at_s, down_s, gap_s)
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
