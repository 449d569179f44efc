"""The power-off test's job: one power-off at a time, disks lost only where
the healing bound allows, message corruption for the job's span."""
from __future__ import annotations

import numpy as np

from ddbsim.config import Config
from ddbsim.lab.power_off import power_off_job
from ddbsim.world import World


def _faults(count: int, lose_disks: float, corrupt: float = 0.0, seed: int = 3) -> list:
    world = World(Config(), 1)
    return power_off_job(count, 20.0, 1_800.0, lose_disks, corrupt)(
        world, np.random.default_rng(seed))


def test_each_host_goes_off_once_and_comes_back() -> None:
    faults = _faults(8, 0.0)
    offs = [f for f in faults if f.action == "power_off"]
    ons = [f for f in faults if f.action == "power_on"]
    assert len(offs) == len(ons) == 8
    assert all(on.target == off.target and on.t_s > off.t_s for off, on in zip(offs, ons, strict=True))
    assert [f.t_s for f in faults] == sorted(f.t_s for f in faults)


def test_disks_are_lost_only_a_healing_bound_apart() -> None:
    healing = Config().healing
    bound = healing.detection_s + healing.log_copy_s + healing.rebuild_s + healing.check_margin_s
    faults = _faults(8, 1.0)
    starts = [f for f in faults if f.action in ("power_off", "lose_disk")]
    lost = [f for f in starts if f.action == "lose_disk"]
    assert lost, "with lose_disks=1 some disks are lost"
    for f in lost:
        before = [g.t_s for g in starts if g.t_s < f.t_s]
        assert not before or f.t_s - max(before) >= bound


def test_message_corruption_spans_the_job() -> None:
    faults = _faults(4, 0.0, corrupt=0.01)
    impair = [f for f in faults if f.action == "impair"]
    restore = [f for f in faults if f.action == "restore"]
    assert len(impair) == len(restore) == 1
    assert impair[0].corrupt == 0.01 and impair[0].t_s == 20.0 and restore[0].t_s == 1_800.0
    assert not [f for f in _faults(4, 0.0) if f.action in ("impair", "restore")]
