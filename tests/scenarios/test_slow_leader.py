"""A leader whose disk is 20x slower (a gray failure) keeps committing: the
followers' acks choose each record before the leader's own WAL write lands,
and the leader commits when that write lands.  (It used to wait for an ack
that never came: 18 of 1,534 requests failed and put p99 was 971 ms.)"""
from __future__ import annotations

from ddbsim.lab import Fault, Scenario, run

SCENARIO = Scenario(name="slow_leader", duration_s=30.0,
                    overrides={"workload.rate_per_s": 50},
                    faults=[Fault(5.0, "slow", "leader:p-0000", factor=20.0),
                            Fault(25.0, "recover", "leader:p-0000")])


def test_a_slow_leader_disk_delays_writes_but_loses_none():
    data = run(SCENARIO, seed=1).data
    assert data["requests"]["error"] == 0
    assert data["requests"]["by_kind"]["put"]["ok"] > 500
    # 20 x the 0.5 ms WAL write and the queue behind it, not a request timeout
    assert data["latency_ms"]["put"]["p99"] < 100.0
    assert all(c["valid"] is True for c in data["checks"].values()), data["checks"]
