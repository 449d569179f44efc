"""A leader's host dies: a new leader serves after the old lease, in seconds."""
from __future__ import annotations

from ddbsim.lab import run
from ddbsim.lab.scenario import build, load


def test_failover_takes_about_the_lease():
    builder, _ = load("scenarios/leader_failover.py")
    (scenario,) = build(lambda: builder(fail_at_s=20.0, down_s=40.0, tail_s=20.0))
    result = run(scenario, seed=4, overrides={"workload.rate_per_s": 100.0})
    d = result.data
    failovers = d["leaders"]["failovers"]
    assert any(f["partition"] == "p-0000" for f in failovers)
    lease = d["config"]["replication"]["lease_s"]
    beat = d["config"]["replication"]["heartbeat_interval_s"]
    for f in failovers:
        assert f["reason"] == "power_off"
        # the lease runs from the last heartbeat, up to one interval before the crash
        assert lease - beat <= f["failover_s"] <= lease + 1.0
    assert all(c["valid"] is True for c in d["checks"].values())
    assert d["checks"]["durability"]["lost_writes"] == 0


def test_longer_lease_means_longer_failover():
    builder, _ = load("scenarios/leader_failover.py")
    (scenario,) = build(lambda: builder(fail_at_s=20.0, down_s=40.0, tail_s=20.0))
    result = run(scenario, seed=4, overrides={"workload.rate_per_s": 50.0,
                                              "replication.lease_s": 5.0})
    failovers = result.data["leaders"]["failovers"]
    assert failovers and all(4.5 <= f["failover_s"] <= 6.0 for f in failovers)
