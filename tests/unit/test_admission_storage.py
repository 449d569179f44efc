"""A storage node's admission (paper §4.1.1): allocated, burst and node
buckets, burst writes and the peers' node buckets, policies; and adaptive
capacity's controller (§4.1.2)."""
from __future__ import annotations

import pytest

from ddbsim.config import AdmissionConfig
from ddbsim.service.admission.adaptive import AdaptiveCapacity
from ddbsim.service.admission.allocation import Allocation
from ddbsim.service.admission.policy import Policy
from ddbsim.service.admission.storage import BURST, THROTTLED, StorageAdmission

PIDS = ["p-0", "p-1", "p-2", "p-3"]
HOSTS = ("me", "peer-1", "peer-2")


class _Group:
    """A partition's replica state, as admission sees it."""

    def active_hosts(self) -> tuple[str, ...]:
        return HOSTS


GROUP = _Group()


def admission(policy: str, wcu: float = 400.0, **cfg: float) -> StorageAdmission:
    alloc = Allocation(1200.0, wcu, PIDS, 3000.0, 1000.0)  # 100 WCU, 300 RCU per partition
    return StorageAdmission("me", AdmissionConfig(policy=policy, **cfg), Policy(policy), alloc)


def writes(adm: StorageAdmission, pid: str, n: int, t0: float, rate: float,
           size: float = 1000.0) -> int:
    """``n`` 1-WCU writes at ``rate`` per second from ``t0``: how many were admitted."""
    return sum(adm.admit(pid, "k", "put", size, GROUP, t0 + i / rate) for i in range(n))


def test_static_admits_the_allocated_rate_and_throttles_the_rest() -> None:
    adm = admission("static")
    assert writes(adm, "p-0", 1000, 0.0, 100.0) == 1000  # at its share: never throttled
    admitted = writes(adm, "p-0", 3000, 10.0, 300.0)  # 3x its share for 10 s
    assert admitted == pytest.approx(100 * 10 + 100, abs=2)  # the rate, plus a full bucket
    assert adm.counters["p-0"][THROTTLED] == 3000 - admitted
    assert writes(adm, "p-1", 100, 20.0, 1000.0) == 100  # other partitions unaffected


def test_static_never_bursts_whatever_it_saved() -> None:
    adm = admission("static")
    adm.admit("p-0", "k", "put", 1000, GROUP, 0.0)
    assert writes(adm, "p-0", 2000, 200.0, 200.0) == pytest.approx(1100, abs=2)


def test_bursting_spends_up_to_300_s_of_unused_capacity() -> None:
    adm = admission("bursting")
    adm.admit("p-0", "k", "put", 1000, GROUP, 0.0)  # the partition's buckets exist from t=0
    # idle for 500 s: the burst bucket holds 300 s of 100 WCU, no more
    burst = adm.buckets("p-0", False, 500.0).burst
    assert burst is not None and burst.tokens == pytest.approx(30000.0)
    # then 300 WCU/s: 200 over the share, covered by the burst for 150 s
    admitted = writes(adm, "p-0", 300 * 140, 500.0, 300.0)
    assert admitted == 300 * 140
    assert adm.counters["p-0"][BURST] == pytest.approx(200 * 140, rel=0.01)
    assert writes(adm, "p-0", 300 * 40, 640.0, 300.0) < 300 * 40  # the burst is spent


def test_a_burst_needs_the_node_bucket() -> None:
    adm = admission("bursting", node_wcu_per_s=150.0)
    adm.admit("p-0", "k", "put", 1000, GROUP, 0.0)
    # saved a burst, but the node (150 WCU/s for all its partitions) cannot take 300 WCU/s
    admitted = writes(adm, "p-0", 3000, 100.0, 300.0)
    assert 1000 + 500 * 0.9 < admitted < 1000 + 500 * 1.3 + 150 * 2


def test_a_burst_write_needs_the_other_replicas_node_buckets() -> None:
    adm = admission("bursting")
    adm.admit("p-0", "k", "put", 1000, GROUP, 0.0)
    adm.admit("p-0", "k", "get_strong", 1000, GROUP, 0.0)
    adm.peer_reported("peer-2", 0.0)  # as last reported: no write tokens on peer-2
    assert writes(adm, "p-0", 3000, 100.0, 300.0) == pytest.approx(1100, abs=2)
    # reads only look at this node: they burst
    reads = sum(adm.admit("p-0", "k", "get_strong", 4000, GROUP, 100.0 + i / 900) for i in range(9000))
    assert reads == 9000
    adm.peer_reported("peer-2", 500.0)  # tokens again
    assert adm.admit("p-0", "k", "put", 1000, GROUP, 111.0)
    assert adm.counters["p-0"][BURST] > 0


def test_gac_caps_partitions_at_the_partition_maximum_not_the_share() -> None:
    adm = admission("gac")
    assert writes(adm, "p-0", 9000, 0.0, 900.0) == 9000  # 9x the share, under 1,000 WCU
    admitted = writes(adm, "p-0", 12000, 20.0, 1200.0)  # above the partition maximum
    assert admitted == pytest.approx(10 * 1000 + 1000, rel=0.01)


def test_a_power_off_forgets_the_buckets_but_not_the_counters() -> None:
    adm = admission("bursting")
    adm.admit("p-0", "k", "put", 1000, GROUP, 0.0)
    adm.reset(100.0)
    assert adm.reads == {} and adm.writes == {} and adm.counters["p-0"][0 + 1] == 1.0
    burst = adm.buckets("p-0", False, 100.0).burst
    assert burst is not None and burst.tokens == 0.0  # a new leader has saved nothing


class _Env:
    now = 0.0


def controller(**cfg: float) -> tuple[AdaptiveCapacity, Allocation]:
    alloc = Allocation(1200.0, 400.0, PIDS, 3000.0, 1000.0)
    ctl = AdaptiveCapacity(_Env(), AdmissionConfig(policy="adaptive", **cfg),  # type: ignore[arg-type]
                           alloc, dict)
    return ctl, alloc


def test_adaptive_boosts_throttled_partitions_while_the_table_is_under() -> None:
    ctl, alloc = controller(adaptive_gain=0.5, adaptive_headroom=0.0)
    # p-0 wants 250 WCU/s but gets its 100; the table consumes 250 of 400
    rates = {"p-0": (100.0, 150.0), "p-1": (50.0, 0.0), "p-2": (50.0, 0.0), "p-3": (50.0, 0.0)}
    ctl.control(False, rates, 15.0)
    assert alloc.rate("p-0", False) == pytest.approx(175.0)  # half the gap of 150
    assert alloc.rate("p-1", False) == 100.0
    ctl.control(False, {**rates, "p-0": (175.0, 75.0)}, 30.0)
    assert alloc.rate("p-0", False) == pytest.approx(212.5)
    assert [c[1] for c in ctl.changes] == ["p-0", "p-0"]


def test_adaptive_never_boosts_beyond_the_unused_provisioned_rate() -> None:
    ctl, alloc = controller(adaptive_gain=1.0, adaptive_headroom=0.0)
    rates = {"p-0": (100.0, 900.0), "p-1": (100.0, 0.0), "p-2": (100.0, 0.0), "p-3": (50.0, 0.0)}
    ctl.control(False, rates, 15.0)
    assert alloc.rate("p-0", False) == pytest.approx(150.0)  # only 50 WCU/s were unused


def test_adaptive_takes_boosts_back_when_the_table_is_over() -> None:
    ctl, alloc = controller(adaptive_decrease_gain=0.5)
    alloc.set_boost("p-0", False, 200.0)
    alloc.set_boost("p-1", False, 100.0)
    rates = {"p-0": (300.0, 0.0), "p-1": (200.0, 0.0), "p-2": (100.0, 0.0), "p-3": (60.0, 0.0)}
    ctl.control(False, rates, 15.0)  # 660 consumed of 400: take back half the 260 excess
    assert alloc.boost("p-0", False) == pytest.approx(200 - 130 * 2 / 3)
    assert alloc.boost("p-1", False) == pytest.approx(100 - 130 / 3)


def test_on_demand_serves_twice_the_previous_peak_and_grows_with_the_traffic() -> None:
    from ddbsim.service.admission.on_demand import OnDemandCapacity

    alloc = Allocation(12000.0, 4000.0, PIDS, 3000.0, 1000.0)
    ctl = OnDemandCapacity(_Env(), AdmissionConfig(on_demand_peak_wcu=2000.0),  # type: ignore[arg-type]
                           alloc, dict)
    assert alloc.provisioned(False) == 4000.0  # a new table: twice the initial peak
    ctl.measured(100.0, 1500.0)  # below the peak: nothing changes
    assert alloc.provisioned(False) == 4000.0 and ctl.changes == []
    ctl.measured(100.0, 3900.0)  # a new peak: twice it, at once
    assert alloc.provisioned(False) == 7800.0 and alloc.provisioned(True) == 12000.0
    ctl.measured(100.0, 100.0)  # the peak is kept
    assert alloc.provisioned(False) == 7800.0 and len(ctl.changes) == 1
