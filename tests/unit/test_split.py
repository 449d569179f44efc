"""Splitting for consumption (paper §4.4): the partition map's split, the
split point from the observed keys, and the workloads no split can help."""
from __future__ import annotations

from typing import Any

import pytest

from ddbsim.config import AdmissionConfig
from ddbsim.service.autoadmin.split import SEQUENTIAL, SINGLE_KEY, SplitForConsumption, children_of
from ddbsim.service.metadata.hashing import HASH_SPACE, key_hash
from ddbsim.service.metadata.partition_map import PartitionMap


def keys_of(pmap: PartitionMap, pid: str, n: int) -> list[str]:
    return [k for k in (f"k{i:07d}" for i in range(20 * n * len(pmap)))
            if pmap.partition_for(k).pid == pid][:n]


def test_the_partition_map_splits_a_partition_in_two() -> None:
    pmap = PartitionMap("t", 4)
    members = (("h1", "storage"), ("h2", "storage"), ("h3", "storage"))
    pmap.set_members("p-0001", members)
    pmap.set_leader("p-0001", "h1")
    start, end = HASH_SPACE // 4, pmap.end_hash("p-0001")
    at = start + (end - start) // 3
    pmap.split("p-0001", at, children_of("p-0001"))
    assert pmap.pids() == ["p-0000", "p-0001.0", "p-0001.1", "p-0002", "p-0003"]
    assert "p-0001" not in pmap and "p-0001.1" in pmap
    low, high = pmap.partition("p-0001.0"), pmap.partition("p-0001.1")
    assert (low.start_hash, high.start_hash) == (start, at)
    assert low.members == high.members == members and high.leader == "h1"
    assert pmap.load("h1") == 2  # a replica of each child
    for key in (f"k{i}" for i in range(2000)):
        h = key_hash(key)
        if start <= h < end:
            assert pmap.partition_for(key).pid == ("p-0001.0" if h < at else "p-0001.1")
    with pytest.raises(ValueError):
        pmap.split("p-0002", HASH_SPACE // 4, children_of("p-0002"))  # not inside its range


def splitter() -> tuple[SplitForConsumption, PartitionMap]:
    pmap = PartitionMap("t", 2)
    cfg = AdmissionConfig(policy="gac", split=True)
    return SplitForConsumption(None, cfg, pmap, dict, dict, lambda _p, _h: None), pmap  # type: ignore[arg-type]


def test_the_split_point_halves_the_requests() -> None:
    ctl, pmap = splitter()
    keys = keys_of(pmap, "p-0001", 40)
    counts = {k: 1 + i % 3 for i, k in enumerate(keys)}
    at = ctl.split_point("p-0001", counts, counts)
    assert isinstance(at, int)
    below = sum(n for k, n in counts.items() if key_hash(k) < at)
    assert abs(below - sum(counts.values()) / 2) <= 3  # half the requests on each side
    assert pmap.partition("p-0001").start_hash < at < pmap.end_hash("p-0001")


def test_no_split_for_a_single_hot_key_or_for_sequential_access() -> None:
    ctl, pmap = splitter()
    keys = keys_of(pmap, "p-0001", 40)
    hot: dict[str, int] = {k: 1 for k in keys}
    hot[keys[7]] = 60  # 60 of 99 requests on one key
    assert ctl.split_point("p-0001", hot, hot) == SINGLE_KEY
    # the keys walk through the range: this period's are not last period's
    assert ctl.split_point("p-0001", {k: 5 for k in keys[20:]},
                           {k: 5 for k in keys[:20]}) == SEQUENTIAL
    assert ctl.split_point("p-0001", {}, None) == "no requests seen"


def test_autoadmin_splits_a_partition_that_stays_hot(monkeypatch: Any) -> None:
    import simpy

    env = simpy.Environment()
    pmap = PartitionMap("t", 2)
    keys = keys_of(pmap, "p-0000", 30)
    consumed = {"p-0000": [0.0] * 7, "p-0001": [0.0] * 7}
    done: list[tuple[str, int]] = []

    def counters() -> dict[str, list[float]]:
        consumed["p-0000"][1] += 900 * 10  # 900 WCU/s: hot (above 0.8 x 1,000)
        consumed["p-0001"][1] += 100 * 10
        return consumed

    def split(pid: str, at: int) -> None:
        done.append((pid, at))
        pmap.split(pid, at, children_of(pid))

    cfg = AdmissionConfig(policy="gac", split=True, split_interval_s=10.0, split_hot_s=30.0,
                          split_copy_s=120.0)
    ctl = SplitForConsumption(env, cfg, pmap, counters, lambda: {"p-0000": {k: 3 for k in keys}},
                              split)
    ctl.start()
    env.run(until=25.0)
    assert ctl.pending == {} and done == []  # hot since 0 s, but not yet for 30 s
    env.run(until=35.0)
    assert list(ctl.pending) == ["p-0000"] and ctl.splits[0]["decided_at_s"] == 30.0
    env.run(until=145.0)
    assert done == []  # the copy takes 120 s
    env.run(until=155.0)
    assert [pid for pid, _ in done] == ["p-0000"] and ctl.splits[0]["split_at_s"] == 150.0
    assert ctl.splits[0]["children"] == ["p-0000.0", "p-0000.1"]
    assert "p-0001" not in [r["partition"] for r in ctl.splits]  # never hot
