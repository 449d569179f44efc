"""The whole region loses power under traffic; it returns host by host; every acked write is read back."""
from __future__ import annotations

from typing import Any

import numpy as np

from ddbsim.lab import Fault, Scenario
from ddbsim.world import World


def region_power_cut(at_s: float, down_s: float, back_over_s: float):  # type: ignore[no-untyped-def]
    """Every host of the region off at ``at_s``; each storage host, router
    and client rack back at its own time in ``[at_s + down_s, at_s + down_s
    + back_over_s]``, in an order drawn from the seed -- so that any two
    replicas of a group may elect before the third is back."""

    def plan(world: World, rng: np.random.Generator) -> list[Fault]:
        topo = world.topology
        faults = [Fault(at_s, "power_off", az) for az in topo.azs]
        back = [h.id for h in topo.of_kind("storage")]
        back += sorted({h.rack for h in topo.hosts.values() if h.kind != "storage"})
        for i in rng.permutation(len(back)).tolist():
            faults.append(Fault(round(at_s + down_s + float(rng.uniform(0, back_over_s)), 3),
                                "power_on", back[i]))
        return sorted(faults, key=lambda f: f.t_s)

    return plan


def build_scenario(at_s: float = 60.0, down_s: float = 5.0, back_over_s: float = 30.0,
                   duration_s: float = 150.0, **overrides: Any) -> Scenario:
    """A region-wide power cut at ``at_s`` for ``down_s`` (plus up to
    ``back_over_s`` for a host's power to return), under traffic; then heal,
    read back every acknowledged write, and run every checker.  Power never
    destroys a disk: the correct protocol must lose nothing."""
    return Scenario(
        name="region_power_cut", duration_s=duration_s,
        faults=region_power_cut(at_s, down_s, back_over_s),
        overrides={"metrics.history": True, "workload.key_count": 500, **overrides},
        description="the whole region loses power; hosts come back in a random order")


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
