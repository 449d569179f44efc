"""The power-off test's job (issue: durability; a harness any scenario can use).

Under traffic, :func:`power_off_job` powers off random storage hosts, one at
a time, each for a random while -- some come back before the failure
detection, some after their replicas were replaced -- and, with
``lose_disks`` > 0, that share of them comes back with an empty disk.  It
never destroys more than the design can recover: a disk is lost only when
the healing bound (detection + log copy + rebuild + margin) has passed
since the previous power-off, so every group again has storage replicas it
can be rebuilt from; otherwise the host is only powered off.  With
``corrupt_messages`` > 0, that share of every message in the region is
corrupted in flight while the job runs (each receiver drops what fails its
checksum).  The run's checks then verify the data: every acknowledged write
present with its latest value and no value never written (``durability``),
replicas identical (``convergence``), the archive consistent with the
replicas (``archive``), every read linearizable (``linearizable``).
``scenarios/power_off_test.py`` is the scenario built on it.

:func:`distinct_power_offs` is the simpler job of ``node_poweroff.py`` and
``log_replica_healing.py``: a given number of distinct hosts, one after the
other at a fixed pace.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ddbsim.lab.faults import Fault
from ddbsim.world.region import World


def power_off_job(count: int, start_s: float, end_s: float, lose_disks: float,
                  corrupt_messages: float = 0.0) -> Callable[[World, np.random.Generator], list[Fault]]:
    """``count`` power-offs of random storage hosts, one at a time between
    ``start_s`` and ``end_s``, each 2-60 s long; a ``lose_disks`` share of
    them lose their disk (where the healing bound allows, see above); a
    ``corrupt_messages`` share of all messages corrupted meanwhile."""

    def plan(world: World, rng: np.random.Generator) -> list[Fault]:
        hosts = sorted(h.id for h in world.topology.of_kind("storage"))
        healing = world.cfg.healing
        bound_s = (healing.detection_s + healing.log_copy_s + healing.rebuild_s
                   + healing.check_margin_s)
        slot = (end_s - start_s) / max(count, 1)
        faults: list[Fault] = []
        last_off_s = -bound_s
        for i in range(count):
            host = hosts[int(rng.integers(len(hosts)))]
            at = round(start_s + i * slot + float(rng.uniform(0, slot / 4)), 3)
            down = round(float(rng.uniform(2.0, min(60.0, slot / 2))), 3)
            lose = bool(rng.random() < lose_disks) and at - last_off_s >= bound_s
            last_off_s = at
            faults += [Fault(at, "lose_disk" if lose else "power_off", host),
                       Fault(round(at + down, 3), "power_on", host)]
        if corrupt_messages > 0:
            faults += [Fault(start_s, "impair", "region", corrupt=corrupt_messages),
                       Fault(end_s, "restore", "region")]
        return sorted(faults, key=lambda f: f.t_s)

    return plan


def distinct_power_offs(count: int, first_at_s: float, down_s: float, gap_s: float
                        ) -> Callable[[World, np.random.Generator], list[Fault]]:
    """``count`` power-offs of distinct random storage hosts, drawn from the
    seed: the first at ``first_at_s``, each ``down_s`` long, ``gap_s`` apart."""

    def plan(world: World, rng: np.random.Generator) -> list[Fault]:
        hosts = sorted(h.id for h in world.topology.of_kind("storage"))
        picks = rng.choice(len(hosts), size=min(count, len(hosts)), replace=False)
        faults = []
        for i, idx in enumerate(picks.tolist()):
            at = first_at_s + i * (down_s + gap_s)
            faults += [Fault(at, "power_off", hosts[idx]), Fault(at + down_s, "power_on", hosts[idx])]
        return faults

    return plan
