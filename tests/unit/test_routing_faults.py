"""The routing faults: validated with one clear line, and applied through
the mechanisms the world and the service expose."""
from __future__ import annotations

import pytest

from ddbsim.config import Config
from ddbsim.lab.faults import Fault, FaultError, FaultInjector, brownout, validate
from ddbsim.world.region import World


class Controls:
    def __init__(self) -> None:
        self.flushed: list[str | None] = []
        self.stormed: list[list[str]] = []

    def flush_caches(self, router: str | None) -> None:
        self.flushed.append(router)

    def leader_storm(self, hosts: list[str]) -> int:
        self.stormed.append(hosts)
        return len(hosts)

    def add_routers(self, target: str) -> list[str]:
        return [f"{target}/router-2"]


@pytest.mark.parametrize("fault, match", [
    (Fault(1.0, "flush_caches", "az-1"), "flush_caches takes 'routers' or a router host"),
    (Fault(1.0, "brownout", "storage", factor=0.5), "a brownout is of metadata or memds"),
    (Fault(1.0, "brownout", "metadata", factor=0.0), r"capacity left as a factor in \(0, 1\]"),
    (Fault(1.0, "brownout", "metadata", factor=1.5), r"capacity left as a factor in \(0, 1\]"),
    (Fault(1.0, "leader_storm", "az-9"), "no AZ, rack or host named 'az-9'"),
])
def test_bad_routing_faults_are_named(fault: Fault, match: str) -> None:
    world = World(Config(), 1)
    with pytest.raises(FaultError, match=match):
        validate([fault], world, 100.0)


def test_adding_routers_needs_standby_ones_where_it_says() -> None:
    with pytest.raises(FaultError, match="needs standby routers"):
        validate([Fault(1.0, "add_routers", "routers")], World(Config(), 1), 100.0)
    world = World(Config().with_overrides({"topology.standby_routers_per_az": 1}), 1)
    assert world.topology.standby_routers == ["az-1/router-2", "az-2/router-2", "az-3/router-2"]
    with pytest.raises(FaultError, match="no standby router in 'az-1/r1'"):
        validate([Fault(1.0, "add_routers", "az-1/r1")], world, 100.0)
    with pytest.raises(FaultError, match="takes 'routers', an AZ"):
        validate([Fault(1.0, "add_routers", "az-7")], world, 100.0)
    validate([Fault(1.0, "add_routers", "az-2"), Fault(2.0, "add_routers", "routers")], world, 100.0)


def test_added_routers_are_announced_to_the_clients() -> None:
    world = World(Config().with_overrides({"topology.standby_routers_per_az": 1}), 1)
    told: list[list[str]] = []
    injector = FaultInjector(world, routing=Controls(), routers_added=told.append)
    injector.schedule([Fault(1.0, "add_routers", "az-2")])
    world.env.run(until=2.0)
    assert told == [["az-2/router-2"]]


def test_routing_faults_apply() -> None:
    world = World(Config(), 1)
    controls = Controls()
    faults = ([Fault(1.0, "flush_caches", "routers"), Fault(2.0, "flush_caches", "az-2/router-1"),
               Fault(3.0, "leader_storm", "az-1/r1")] + brownout("metadata", 4.0, 2.0, 0.25))
    validate(faults, world, 100.0)
    injector = FaultInjector(world, routing=controls)
    injector.schedule(faults)
    meta = world.topology.of_kind("metadata")
    assert len(meta) == 3
    world.env.run(until=5.0)
    assert controls.flushed == [None, "az-2/router-1"]
    assert controls.stormed == [["az-1/r1/h1", "az-1/r1/h2", "az-1/r1/h3"]]
    assert all(h.slowdown == 4.0 for h in meta)  # a quarter of the capacity
    assert all(h.slowdown == 1.0 for h in world.topology.of_kind("memds"))
    world.env.run(until=7.0)
    assert all(h.slowdown == 1.0 for h in meta)
    assert [f.action for f in injector.applied] == ["flush_caches", "flush_caches", "leader_storm",
                                                    "brownout", "end_brownout"]
