"""Host churn plans: the rates they are asked for, from the seed alone."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from ddbsim.config import Config
from ddbsim.lab.churn import churn_plan, draw_churn
from ddbsim.lab.faults import Fault, FaultError
from ddbsim.world.region import World

HOSTS = [f"az-{a}/r{r}/h{h}" for a in (1, 2, 3) for r in (1, 2) for h in (1, 2, 3)]


def timelines(faults: list[Fault]) -> dict[str, list[Fault]]:
    per: dict[str, list[Fault]] = defaultdict(list)
    for f in faults:
        per[f.target].append(f)
    return per


def intervals(faults: list[Fault]) -> tuple[np.ndarray, np.ndarray]:
    """Complete up and off intervals of every host (the last, cut by the horizon, left out)."""
    ups, offs = [], []
    for events in timelines(faults).values():
        t = 0.0
        for f in events:
            (ups if f.action == "power_off" else offs).append(f.t_s - t)
            t = f.t_s
    return np.array(ups), np.array(offs)


def test_mean_up_and_off_times_match_the_inputs_over_a_long_horizon():
    """18 hosts for 2e6 s: ~19,000 up and off intervals each, so the standard
    error of a mean is ~0.7%; tolerance 3% (over 4 standard errors).  Both are
    exponential: their coefficient of variation is 1 (tolerance 5%)."""
    mtbf_s, off_s = 1800.0, 120.0
    faults = draw_churn(HOSTS, mtbf_s, off_s, 2e6, np.random.default_rng(7))
    ups, offs = intervals(faults)
    assert len(ups) > 18_000 and len(offs) > 18_000
    assert ups.mean() == pytest.approx(mtbf_s, rel=0.03)
    assert offs.mean() == pytest.approx(off_s, rel=0.03)
    assert ups.std() / ups.mean() == pytest.approx(1.0, rel=0.05)
    assert offs.std() / offs.mean() == pytest.approx(1.0, rel=0.05)


def test_every_host_alternates_off_and_on_within_the_horizon():
    faults = draw_churn(HOSTS, 300.0, 60.0, 5000.0, np.random.default_rng(1))
    assert [f.t_s for f in faults] == sorted(f.t_s for f in faults)
    assert all(0 < f.t_s <= 5000.0 for f in faults)
    per = timelines(faults)
    assert set(per) == set(HOSTS)  # ~14 failures each: every host churns
    for events in per.values():
        assert [f.action for f in events] == ["power_off", "power_on"] * (len(events) // 2) + \
            (["power_off"] if len(events) % 2 else [])


def test_same_seed_same_plan_and_the_plan_is_the_seed_alone():
    a = draw_churn(HOSTS, 300.0, 60.0, 3600.0, np.random.default_rng(5))
    b = draw_churn(list(reversed(HOSTS)), 300.0, 60.0, 3600.0, np.random.default_rng(5))
    c = draw_churn(HOSTS, 300.0, 60.0, 3600.0, np.random.default_rng(6))
    assert a == b  # the order the hosts are given in does not matter
    assert a != c


def test_the_plan_churns_the_worlds_storage_hosts_at_the_configured_rates():
    cfg = Config().with_overrides({"churn.mtbf_s": 400.0, "churn.off_s": 50.0})
    world = World(cfg, seed=3)
    storage = {h.id for h in world.topology.of_kind("storage")}
    plan = churn_plan(until_s=20_000.0)
    faults = plan(world, np.random.default_rng(11))
    assert {f.target for f in faults} == storage
    assert faults == plan(World(cfg, seed=3), np.random.default_rng(11))
    ups, offs = intervals(faults)
    assert ups.mean() == pytest.approx(400.0, rel=0.1) and offs.mean() == pytest.approx(50.0, rel=0.1)
    # explicit rates win over the config
    fixed = churn_plan(until_s=20_000.0, mtbf_s=4000.0, off_s=50.0)(world, np.random.default_rng(11))
    assert len(fixed) < len(faults) / 5


@pytest.mark.parametrize("kwargs", [dict(mtbf_s=0.0), dict(off_s=-1.0), dict(until_s=0.0),
                                    dict(off_s=float("inf")), dict(mtbf_s=float("nan"))])
def test_bad_rates_are_one_clear_error(kwargs):
    args = dict(mtbf_s=1800.0, off_s=120.0, until_s=3600.0) | kwargs
    with pytest.raises(FaultError, match="must be a positive number of seconds"):
        draw_churn(HOSTS, rng=np.random.default_rng(0), **args)
    with pytest.raises(FaultError, match="must be a positive number of seconds"):
        churn_plan(**args)


def test_the_churn_section_is_validated():
    from ddbsim.config import ConfigError

    with pytest.raises(ConfigError, match="churn.off_s must be a positive number"):
        Config().with_overrides({"churn.off_s": 0})
    assert Config().churn.mtbf_s == 1800.0 and Config().churn.off_s == 120.0
