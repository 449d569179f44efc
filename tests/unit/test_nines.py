"""The fast failure-level model (ddbsim.lab.nines): fleet, failures, group
states, windows, intervals, the Markov cross-check, the region-year runner."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ddbsim.config import YEAR_S, Config, ConfigError
from ddbsim.lab.nines.crosscheck import CHURN_WORKLOAD, versus_markov
from ddbsim.lab.nines.durations import Durations, derived
from ddbsim.lab.nines.estimate import nines_data, run_years, table
from ddbsim.lab.nines.failures import CAUSES, Outages, draw_outages
from ddbsim.lab.nines.fleet import build_fleet
from ddbsim.lab.nines.groups import simulate_groups
from ddbsim.lab.nines.stats import proportion_interval, rate_interval
from ddbsim.lab.nines.year import figures, window_availability
from ddbsim.lab.report import summary_text
from ddbsim.service.autoadmin.placement import Placement
from ddbsim.world.streams import Streams
from ddbsim.world.topology import Topology

DUR = Durations(failover_s=4.0, detection_s=5.0, log_join_s=3.0, rebuild_s=250.0, boot_s=20.0,
                retry_s=10.0)
QUIET = {"nines.host_failures_per_year": 0.0, "nines.rack_failures_per_year": 0.0,
         "nines.az_events_per_year": 0.0, "nines.disk_afr": 0.0, "nines.burst_fraction": 0.0}


def outages(rows: list[tuple[float, float, int, bool]]) -> Outages:
    rows = sorted(rows)
    return Outages(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                   np.array([r[2] for r in rows], dtype=np.int64),
                   np.array([r[3] for r in rows], dtype=bool),
                   np.zeros(len(rows), dtype=np.int64))


def run(fleet, rows, horizon_s=3600.0, log_replicas=True, archive=True, dur=DUR):
    return simulate_groups(fleet, outages(rows), dur, horizon_s=horizon_s, write_quorum=2,
                           log_replicas=log_replicas, archive=archive)


@pytest.mark.parametrize("over", [{}, {"topology.racks_per_az": 3, "topology.hosts_per_rack": 4,
                                       "table.partitions": 150}])
def test_initial_placement_is_the_detailed_models(over: dict) -> None:
    cfg = Config().with_overrides(over)
    topo = Topology(cfg.topology)
    load: dict[str, int] = {}
    placement = Placement(topo, lambda h: load.get(h, 0), lambda h, p: False)
    expected = []
    for i in range(cfg.table.partitions):
        hosts = placement.initial(i, cfg.replication.replicas)
        expected.append([h.id for h in hosts])
        for h in hosts:
            load[h.id] = load.get(h.id, 0) + 1
    fleet = build_fleet(cfg)
    assert [[fleet.host_ids[h] for h in row] for row in fleet.placement] == expected
    # one replica per AZ
    assert all(len({fleet.host_az[h] for h in row}) == 3 for row in fleet.placement)


def test_a_leader_lost_costs_one_failover_and_a_follower_nothing() -> None:
    fleet = build_fleet(Config().with_overrides({"table.partitions": 1}))
    leader, follower = fleet.placement[0][0], fleet.placement[0][1]
    o = run(fleet, [(100.0, 200.0, int(leader), False)])
    p, a, b = o.write_down
    assert list(p) == [0] and a[0] == 100.0 and b[0] == pytest.approx(104.0)
    assert o.heals == 1 and o.rebuilds == 1  # a log replica 8 s in, rebuilt 250 s later
    o = run(fleet, [(100.0, 200.0, int(follower), False)])
    assert len(o.write_down[0]) == 0 and o.heals == 1


def test_two_members_down_stop_writes_until_one_is_back_and_booted() -> None:
    fleet = build_fleet(Config().with_overrides({"table.partitions": 1}))
    a, b, _ = (int(h) for h in fleet.placement[0])
    # two followers' hosts? a is the leader: lose b then a; no quorum
    o = run(fleet, [(100.0, 300.0, b, False), (100.5, 200.0, a, False)])
    (p,), (start,), (end,) = o.write_down
    # b down at 100 is not replaced before 113 (detection 5 + join 3 after 100);
    # a (the leader) down at 100.5: no quorum until a is back at 200 + 20 s boot,
    # then a leader after the failover (4 s)
    assert start == 100.5 and end == pytest.approx(224.0)
    assert o.quorum_losses == 1 and o.all_down == 0


def test_without_log_replicas_a_member_is_replaced_after_a_rebuild() -> None:
    fleet = build_fleet(Config().with_overrides({"table.partitions": 1}))
    follower = int(fleet.placement[0][1])
    o = run(fleet, [(100.0, 2000.0, follower, False)], log_replicas=False)
    assert o.heals == 1 and o.rebuilds == 0
    o2 = run(fleet, [(100.0, 2000.0, follower, False), (200.0, 2000.0,
                                                          int(fleet.placement[0][2]), False)],
             log_replicas=False)
    # without log replicas the replacement is not in before 355 (100 + 5 +
    # 250): the second loss at 200 takes the quorum, and a leader without one
    # commits no membership change, so writes wait for a host: 2000 + 20 s boot
    assert o2.write_down[1].tolist() == [200.0]
    assert o2.write_down[2][0] == pytest.approx(2020.0)
    # with log replicas the group had a quorum again at 108: the loss at 200 costs nothing
    o3 = run(fleet, [(100.0, 2000.0, follower, False), (200.0, 2000.0,
                                                         int(fleet.placement[0][2]), False)])
    assert len(o3.write_down[0]) == 0


def test_losing_every_disk_of_a_group_is_a_data_loss() -> None:
    fleet = build_fleet(Config().with_overrides({"table.partitions": 1}))
    h = [int(x) for x in fleet.placement[0]]
    o = run(fleet, [(100.0, 9e9, h[0], True), (100.1, 9e9, h[1], True),
                    (100.2, 9e9, h[2], True)], archive=False)
    assert len(o.write_losses) == 1 and len(o.partition_losses) == 1
    # one disk at a time, with time to heal between: nothing lost
    o = run(fleet, [(100.0, 9e9, h[0], True), (1000.0, 9e9, h[1], True),
                    (2000.0, 9e9, h[2], True)], archive=False)
    assert o.write_losses == [] and o.partition_losses == []


def test_an_az_outage_leaves_groups_on_two_replicas_never_two_in_one_az() -> None:
    cfg = Config().with_overrides({"table.partitions": 12})
    fleet = build_fleet(cfg)
    az1 = [(50.0, 1000.0, int(h), False) for h in fleet.az_hosts[0]]
    o = run(fleet, az1, horizon_s=2000.0)
    assert o.heals == 0 and o.heal_retries > 0
    # groups led from the lost AZ were down for one failover, the others never
    led = sum(fleet.host_az[row[0]] == 0 for row in fleet.placement)
    assert len(o.write_down[0]) == led
    assert np.allclose(o.write_down[2] - o.write_down[1], 4.0)


def test_window_availability_integrates_exactly() -> None:
    got = window_availability(np.array([100.0, 250.0]), np.array([400.0, 260.0]), partitions=2,
                              horizon_s=900.0, window_s=300.0)
    # window 0: 200 + 10 partition-seconds down of 600; window 1: 100 of 600
    assert got.tolist() == pytest.approx([1 - 210 / 600, 1 - 100 / 600, 1.0])


def test_exact_intervals() -> None:
    assert proportion_interval(0, 20)[2] == pytest.approx(1 - 0.025 ** (1 / 20))
    assert proportion_interval(5, 20)[1:] == pytest.approx((0.0866, 0.4910), abs=1e-4)
    assert rate_interval(0, 1.0)[2] == pytest.approx(3.689, abs=1e-3)
    assert rate_interval(3, 10.0)[1:] == pytest.approx((0.06187, 0.8767), abs=1e-4)
    # many events: no underflow, the interval around the rate (chi-square quantiles)
    assert rate_interval(745, 20.0)[1:] == pytest.approx((34.62, 40.02), abs=0.02)
    assert rate_interval(200, 1.0)[1:] == pytest.approx((173.24, 229.72), abs=0.05)


def test_failure_draws_follow_their_rates_and_seeds() -> None:
    cfg = Config().with_overrides({"topology.racks_per_az": 10, "topology.hosts_per_rack": 10})
    fleet = build_fleet(cfg)
    a = draw_outages(fleet, cfg.nines, Streams(3))
    b = draw_outages(fleet, cfg.nines, Streams(3))
    assert np.array_equal(a.start_s, b.start_s) and np.array_equal(a.host, b.host)
    n = cfg.nines
    expected = 300 * n.host_failures_per_year * (1 - n.burst_fraction)
    assert abs(a.count("host") - expected) < 4 * expected ** 0.5
    assert a.data_lost.sum() == a.count("disk")
    quiet = draw_outages(fleet, cfg.with_overrides(QUIET).nines, Streams(3))
    assert len(quiet) == 0
    assert list(CAUSES) == ["host", "burst", "rack", "az", "disk"]


def test_the_config_section_is_validated() -> None:
    with pytest.raises(ConfigError, match="nines.burst_fraction"):
        Config().with_overrides({"nines.burst_fraction": 1.0})
    with pytest.raises(ConfigError, match="nines.distribution must be one of"):
        Config().with_overrides({"nines.distribution": "gamma"})
    with pytest.raises(ConfigError, match="nines.host_failures_per_year"):
        Config().with_overrides({"nines.host_failures_per_year": -1})


def test_cross_check_a_agrees_with_the_markov_model_and_catches_a_wrong_one() -> None:
    cfg = Config().with_overrides(CHURN_WORKLOAD)
    row = versus_markov(cfg, DUR, seed=1, replicates=12, horizon_s=6 * 3600.0)
    assert row["pass"], row
    # the chain told a failover twice as long gives a figure the check must reject
    from ddbsim.lab.markov import GroupModel
    wrong = GroupModel(mtbf_s=1800.0, off_s=140.0, failover_s=8.0, heal_s=8.0,
                       rebuild_s=250.0).solve().availability
    assert not row["fast"]["lo"] <= wrong <= row["fast"]["hi"]


def test_availability_after_a_warm_up_counts_only_the_measured_stretch() -> None:
    import numpy as np

    from ddbsim.lab.nines.crosscheck import write_availability_between
    from ddbsim.lab.nines.groups import GroupsOutcome

    # partition 0 down over [50, 150), partition 1 over [0, 30) (in the warm-up only)
    g = GroupsOutcome(300.0, 2, (np.array([0, 1]), np.array([50.0, 0.0]), np.array([150.0, 30.0])),
                      (np.empty(0), np.empty(0), np.empty(0)))
    assert write_availability_between(g, 100.0, 300.0) == pytest.approx(1 - 50 / 400)
    assert write_availability_between(g, 0.0, 300.0) == pytest.approx(1 - 130 / 600)


def test_expected_losses_from_exposure_match_the_losses_counted() -> None:
    """Where losses are common (hosts and disks failing weekly), the losses the
    groups actually suffered agree with those expected from their exposure --
    the estimator the table gives when they are too rare to count."""
    cfg = Config().with_overrides({
        "topology.racks_per_az": 4, "topology.hosts_per_rack": 10, "table.partitions": 400,
        "nines.horizon_s": YEAR_S / 4, "nines.disk_afr": 100.0, "nines.archive": False,
        "nines.host_off_s": 3600.0, "nines.host_failures_per_year": 100.0})
    ys = run_years(cfg, 3, 3, derived(cfg))
    for counted, expected in (("write_losses", "expected_write_losses"),
                              ("partition_losses", "expected_btree_losses")):
        seen = sum(y["durability"][counted] for y in ys)
        mean = sum(y["durability"][expected] for y in ys)
        assert mean > 20, (counted, mean)
        assert abs(seen - mean) < 3 * mean ** 0.5, (counted, seen, mean)
    t = table(ys)
    assert t["expected_losses_per_year"]["mean"] == pytest.approx(
        t["expected_write_losses_per_year"]["mean"] + t["expected_btree_losses_per_year"]["mean"])
    assert t["mttdl_exposure_years"]["mean"] == pytest.approx(
        1 / t["expected_losses_per_year"]["mean"])


def test_region_years_are_deterministic_and_summarised() -> None:
    cfg = Config().with_overrides({"topology.racks_per_az": 4, "topology.hosts_per_rack": 10,
                                   "table.partitions": 400, "nines.horizon_s": YEAR_S / 12})
    dur = derived(cfg)
    ys = run_years(cfg, 5, 3, dur)
    assert json.dumps(ys) == json.dumps(run_years(cfg, 5, 3, dur))
    assert ys[0] != ys[1]  # independent region-years
    t = table(ys)
    w = t["write_availability"]
    assert w["lo"] <= w["mean"] <= w["hi"] < 1.0
    assert t["region_years"] == pytest.approx(0.25)
    data = nines_data("region_year", "test", cfg, 5, ys, dur)
    text = summary_text([data])
    assert "write availability" in text and "MTTDL" in text and "3 region-years" not in text


def test_figures_of_a_group_outcome() -> None:
    fleet = build_fleet(Config().with_overrides({"table.partitions": 2}))
    leader = int(fleet.placement[0][0])
    o = run(fleet, [(100.0, 200.0, leader, False)], horizon_s=600.0)
    f = figures(o, 300.0)
    assert f["availability"]["write"] == pytest.approx(1 - 4.0 / 1200.0)
    assert f["downtime_s"]["max"] == pytest.approx(4.0)
    assert f["windows"]["count"] == 2 and f["windows"]["under_target"] == 0.5


def test_cross_check_b_band_is_the_spread_of_a_few_skewed_stretches() -> None:
    from ddbsim.lab.nines.crosscheck import mean_band, mean_interval
    # skewed like the fast model's stretches: most near 99.8%, one in ten at 96%
    xs = [0.998] * 180 + [0.96] * 20
    band = mean_band(xs, 3, seed=1)
    few = [0.998, 0.9978, 0.9982]  # three seeds that saw no clump of long outages
    assert band["lo"] <= sum(few) / 3 <= band["hi"]
    # a t interval on them alone excludes the fast model's mean: no test
    mean, lo, hi = mean_interval(few)
    assert not lo <= sum(xs) / len(xs) <= hi
    assert not band["lo"] <= 0.95 <= band["hi"]  # a real disagreement is still caught
    assert not band["lo"] <= 0.9995 <= band["hi"]
