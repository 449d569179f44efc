"""Initial placement and replacement: three replicas in three AZs, one leader each."""
from __future__ import annotations

from collections import Counter

import pytest

from ddbsim.config import Config
from ddbsim.service.autoadmin.placement import Placement
from ddbsim.service.membership import STORAGE
from ddbsim.service.service import Service
from ddbsim.world import World


@pytest.fixture(scope="module")
def service() -> Service:
    cfg = Config()
    return Service(World(cfg, 1), cfg)


def test_every_partition_has_three_replicas_in_three_azs_hosts_and_racks(service: Service) -> None:
    topo = service.world.topology
    assert len(service.partition_map) == 16
    for info in service.partition_map:
        hosts = [topo.hosts[h] for h, _ in info.members]
        assert len(hosts) == 3, info.pid
        assert len({h.az for h in hosts}) == 3, info.pid
        assert len({h.id for h in hosts}) == 3, info.pid
        assert len({h.rack for h in hosts}) == 3, info.pid
        assert all(h.kind == "storage" for h in hosts)
        assert all(kind == STORAGE for _, kind in info.members)


def test_nodes_hold_exactly_the_replicas_the_map_names(service: Service) -> None:
    held = {(host, pid) for host, node in service.nodes.items() for pid in node.members}
    named = {(h, info.pid) for info in service.partition_map for h, _ in info.members}
    assert held == named
    for info in service.partition_map:
        for m in service.members_of(info.pid):
            assert m.state.config == info.members
            assert m.state.kind == STORAGE


def test_every_partition_has_exactly_one_leader_at_t0(service: Service) -> None:
    assert service.world.now == 0.0
    for info in service.partition_map:
        leaders = [node.members[info.pid] for node in service.nodes.values()
                   if info.pid in node.members and node.members[info.pid].is_leader]
        assert len(leaders) == 1, info.pid
        leader = leaders[0]
        assert leader.me == info.leader
        assert service.leader_of(info.pid) is leader
        assert leader.ballot == (1, leader.me)
        # Every replica has promised the leader's ballot.
        assert {m.state.promised for m in service.members_of(info.pid)} == {leader.ballot}


def test_leaders_rotate_over_the_azs(service: Service) -> None:
    topo = service.world.topology
    per_az = Counter(topo.hosts[info.leader].az for info in service.partition_map)
    assert set(per_az) == set(topo.azs)
    assert max(per_az.values()) - min(per_az.values()) <= 1


def test_replicas_are_spread_over_the_least_loaded_hosts(service: Service) -> None:
    topo = service.world.topology
    for az in topo.azs:
        loads = [len(service.nodes[h.id].members) for h in topo.of_kind("storage", az)]
        assert sum(loads) == 16  # one replica of every partition in every AZ
        assert max(loads) - min(loads) <= 1


def test_initial_placement_on_a_bigger_table() -> None:
    cfg = Config().with_overrides({"table.partitions": "40", "topology.az_count": "4"})
    svc = Service(World(cfg, 2), cfg)
    topo = svc.world.topology
    for info in svc.partition_map:
        azs = {topo.hosts[h].az for h, _ in info.members}
        assert len(azs) == 3
        assert sum(1 for n in svc.nodes.values()
                   if info.pid in n.members and n.members[info.pid].is_leader) == 1


def _placement(world: World, holds: set[tuple[str, str]]) -> Placement:
    load = Counter(h for h, _ in holds)
    return Placement(world.topology, load=lambda h: load[h],
                     holds=lambda h, pid: (h, pid) in holds)


def test_replacement_picks_a_host_in_the_az_not_holding_the_partition_nor_avoided() -> None:
    world = World(Config(), 1)
    holds = {("az-2/r1/h1", "p-1"), ("az-2/r1/h2", "p-9"), ("az-2/r1/h3", "p-8")}
    pl = _placement(world, holds)
    # Least loaded, not already holding p-1, in az-2: the first idle host by id.
    assert pl.replacement("p-1", "az-2") == "az-2/r2/h1"
    # ... unless the asking leader avoids it (it cannot hear it, say).
    assert pl.replacement("p-1", "az-2", avoid={"az-2/r2/h1"}) == "az-2/r2/h2"


def test_placement_never_reads_the_power_state() -> None:
    world = World(Config(), 1)
    pl = _placement(world, set())
    for host in world.topology.resolve("az-3"):
        host.power_off(0.0)
    # The leader's view decides: a dark host it does not avoid is still a candidate.
    assert pl.replacement("p-1", "az-3") is not None


def test_replacement_is_none_when_every_host_of_the_az_is_avoided() -> None:
    world = World(Config(), 1)
    pl = _placement(world, set())
    az3 = {h.id for h in world.topology.of_kind("storage", "az-3")}
    assert pl.replacement("p-1", "az-3", avoid=az3) is None
    assert pl.replacement("p-1", "az-1", avoid=az3) is not None


def test_replacement_is_none_when_every_host_already_holds_the_partition() -> None:
    world = World(Config(), 1)
    holds = {(h.id, "p-1") for h in world.topology.of_kind("storage", "az-1")}
    assert _placement(world, holds).replacement("p-1", "az-1") is None
