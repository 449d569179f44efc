"""Acceptance 1: an AZ outage costs only a failover; two AZs cost writes,
not eventually consistent reads from the survivor, and lose nothing."""
from __future__ import annotations

import pytest

from ddbsim.lab import run
from ddbsim.lab.scenario import build, load

OUTAGE_AT_S, OUTAGE_S = 30.0, 120.0
FAST = {"metrics.window_s": 30.0, "workload.rate_per_s": 150.0}


@pytest.fixture(scope="module")
def results():
    builder, _ = load("scenarios/az_outage.py")
    one, two = build(lambda: builder(outage_at_s=OUTAGE_AT_S, outage_s=OUTAGE_S, tail_s=60.0))
    return run(one, seed=1, overrides=FAST), run(two, seed=1, overrides=FAST)


def _all_valid(result):
    return {name: check["valid"] for name, check in result.data["checks"].items()}


def test_one_az_keeps_quorum_and_only_the_lost_leaders_see_errors(results):
    one, _ = results
    d = one.data
    assert _all_valid(one) == {"durability": True, "convergence": True, "single_leader": True,
                              "liveness": True, "placement": True, "healing": True,
                              "corruption": True, "archive": True}
    assert d["checks"]["durability"]["lost_writes"] == 0
    assert d["checks"]["durability"]["acked_writes"] > 5_000
    # The partitions that lost their leader are exactly those led from az-2.
    lost = {f["partition"] for f in d["leaders"]["failovers"]}
    assert lost and all(f["old_host"].startswith("az-2/") for f in d["leaders"]["failovers"])
    errored = {p["partition"] for p in d["partition_errors"]}
    assert errored <= lost
    # ... and only for about the failover time: lease (2 s) + detection.
    lease = d["config"]["replication"]["lease_s"]
    beat = d["config"]["replication"]["heartbeat_interval_s"]
    assert all(lease - beat <= f["failover_s"] <= lease + 1.0 for f in d["leaders"]["failovers"])
    assert max(p["error_span_s"] for p in d["partition_errors"]) < lease + 2.0
    # a 2 s failover in a 210 s run; the 15-minute demo shows 99.98%
    assert d["availability"]["overall"] > 0.995


def test_two_azs_stop_writes_but_not_eventual_reads_and_recover(results):
    _, two = results
    d = two.data
    windows = d["availability"]["windows"]
    inside = [w for w in windows
              if w["start_s"] >= OUTAGE_AT_S + 10 and w["end_s"] <= OUTAGE_AT_S + OUTAGE_S]
    assert len(inside) >= 3
    for w in inside:
        assert w["write"] == 0.0
        assert w["by_kind"]["get_strong"] == 0.0
        assert w["by_kind"]["get_eventual"] >= 0.99
    last = windows[-1]  # well after the AZs returned
    assert last["write"] > 0.99 and last["read"] > 0.99
    assert _all_valid(two) == {"durability": True, "convergence": True, "single_leader": True,
                              "liveness": True, "placement": True, "healing": True,
                              "corruption": True, "archive": True}
    assert d["checks"]["durability"]["lost_writes"] == 0
