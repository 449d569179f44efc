"""Acceptance 2: a log replica restores the write quorum in seconds; a
storage replica takes minutes; without log replicas the degraded window is
minutes long."""
from __future__ import annotations

import pytest

from ddbsim.lab import run
from ddbsim.lab.scenario import build, load

# A 3 GB partition rebuilt at 40 MB/s: 75 s (instead of 250 s) keeps the test short.
FAST = {"workload.rate_per_s": 80.0, "healing.partition_size_bytes": 3e9}


@pytest.fixture(scope="module")
def results():
    builder, _ = load("scenarios/node_poweroff.py")
    on, off = build(lambda: builder(count=2, first_at_s=20.0, down_s=120.0, gap_s=10.0))
    return run(on, seed=2, overrides=FAST), run(off, seed=2, overrides=FAST)


def test_log_replica_in_seconds_then_storage_replica(results):
    on, _ = results
    healing = on.data["healing"]
    assert len(healing) >= 4  # two hosts, ~2.7 replicas each
    cfg = on.data["config"]["healing"]
    detection, timeout = cfg["detection_s"], cfg["bootstrap_timeout_s"]
    copy = cfg["unarchived_wal_bytes"] / cfg["log_copy_bytes_per_s"]
    # The leader picks a host from its own view of health: a host that has
    # just been powered on and is still booting may be picked, fail to
    # confirm its copy, and cost one more copy and the confirmation timeout.
    one_retry = copy + timeout
    for h in healing:
        assert h["end"] == "storage replica"
        assert h["log_replica_after_s"] is not None
        assert copy - 0.5 <= h["log_replica_after_s"] <= copy + one_retry + 1.0
        assert h["storage_replica_after_s"] is not None
        assert 70 <= h["storage_replica_after_s"] - h["log_replica_after_s"] <= 85
        assert h["degraded_s"] <= detection + copy + one_retry + 1.0
    median = sorted(h["degraded_s"] for h in healing)[len(healing) // 2]
    assert median <= detection + copy + 1.0
    assert all(c["valid"] is True for c in on.data["checks"].values())


def test_without_log_replicas_the_degraded_window_is_the_rebuild(results):
    on, off = results
    deg_on = sorted(h["degraded_s"] for h in on.data["healing"])[len(on.data["healing"]) // 2]
    deg_off = [h["degraded_s"] for h in off.data["healing"]]
    assert deg_off and min(deg_off) >= 75.0
    assert min(deg_off) > 7 * deg_on
    assert all(h["log_replica_at_s"] is None for h in off.data["healing"])
    assert all(c["valid"] is True for c in off.data["checks"].values())
