"""Fault points (traps and buggify delays), the injector's blips and group
outages, and code probes -- each through the smallest thing that shows it."""
from __future__ import annotations

import pytest
from fakes import Group
from test_member import _elect_h2_after_h1_dies

from ddbsim.config import Config
from ddbsim.lab.faults import Fault, FaultError, FaultInjector, validate
from ddbsim.service import probes
from ddbsim.service.fault_points import INERT, POINTS, STEPS, FaultPoints
from ddbsim.service.messages import PUT
from ddbsim.world import World
from ddbsim.world.streams import Streams


def test_a_trap_springs_once_on_the_first_host_past_its_step() -> None:
    points = FaultPoints()
    assert not points.on
    fired: list[str] = []
    points.arm("accepted", fired.append)
    assert points.on
    points.passed("promised", "h1")  # another step: nothing
    points.passed("accepted", "h2")
    points.passed("accepted", "h3")  # sprung already
    assert fired == ["h2"] and not points.on
    with pytest.raises(ValueError, match="unknown step"):
        points.arm("committed", fired.append)


def test_buggify_delays_only_enabled_points_and_quiet_turns_all_off() -> None:
    points = FaultPoints()
    points.enable({"before_persist": (1.0, 0.5)}, Streams(1).draws("service/fault_points"))
    assert points.on and points.enabled() == ["before_persist"]
    delays = [points.delay_s("before_persist") for _ in range(100)]
    assert all(0.0 <= d <= 0.5 for d in delays) and max(delays) > 0.4
    assert points.delay_s("before_reply") == 0.0
    points.arm("promised", lambda h: None)
    points.quiet()
    assert not points.on and points.delay_s("before_persist") == 0.0 and points.enabled() == []
    with pytest.raises(ValueError, match="unknown fault point"):
        points.enable({"nowhere": (1.0, 1.0)}, Streams(1).draws("x"))
    assert not INERT.on and set(POINTS) and set(STEPS)


def test_a_trap_at_accepted_fires_on_the_acceptor_right_after_it_answers() -> None:
    g = Group()
    points = FaultPoints()
    for m in g.m.values():
        m.points = points
    fired: list[tuple[str, float]] = []
    points.arm("accepted", lambda host: fired.append((host, g.net.now)))
    g.submit("h1", g.op(PUT, "k", "v"))
    g.net.run(0.01)
    assert len(fired) == 1 and fired[0][0] in ("h2", "h3")


def test_a_blip_powers_off_the_host_the_trap_names_and_back_after_its_length() -> None:
    world = World(Config(), 1)
    traps: list[tuple[str, object]] = []
    injector = FaultInjector(world, arm=lambda step, fire: traps.append((step, fire)))
    injector.apply(Fault(0.0, "blip", "promised", for_s=0.25))
    (step, fire), = traps
    assert step == "promised"
    host = world.topology.hosts["az-2/r1/h1"]
    fire("az-2/r1/h1")  # type: ignore[operator]
    world.env.run(until=0.1)
    assert not host.powered
    world.env.run(until=0.3)
    assert host.powered
    assert [(f.action, f.target) for f in injector.applied] == [
        ("blip", "promised"), ("power_off", "az-2/r1/h1"), ("power_on", "az-2/r1/h1")]
    with pytest.raises(FaultError, match="protocol step"):
        validate([Fault(1.0, "blip", "nowhere", for_s=1.0)], world, 10.0)
    with pytest.raises(FaultError, match="for_s"):
        validate([Fault(1.0, "blip", "promised")], world, 10.0)


def test_a_group_goes_dark_at_once_and_comes_back_one_host_at_a_time() -> None:
    world = World(Config(), 1)
    group = ["az-1/r1/h1", "az-2/r1/h1", "az-3/r1/h1"]
    injector = FaultInjector(world, group_hosts=lambda pid: group if pid == "p-0003" else [])
    injector.apply(Fault(0.0, "power_off", "group:p-0003"))
    hosts = world.topology.hosts
    assert not any(hosts[h].powered for h in group)
    injector.apply(Fault(1.0, "power_on", "group:p-0003#2"))
    assert [hosts[h].powered for h in group] == [False, False, True]
    injector.apply(Fault(1.0, "power_on", "group:p-0003#0"))
    assert [hosts[h].powered for h in group] == [True, False, True]
    validate([Fault(1.0, "power_on", "group:p-0003#1")], world, 10.0, ["p-0003"])
    with pytest.raises(FaultError, match="no partition"):
        validate([Fault(1.0, "power_off", "group:p-0099")], world, 10.0, ["p-0003"])


def test_probes_count_what_a_run_reached() -> None:
    # An election after a leader died with an entry only one follower holds:
    # the new leader's recovery re-proposes it.
    probes.reset()
    g, _seen = _elect_h2_after_h1_dies()
    assert g.m["h2"].is_leader
    hits = probes.counts()
    assert hits.get("recovery_reproposed_value", 0) >= 1, hits
    assert "accept_refused_older_ballot" not in hits
    probes.reset()
    assert probes.counts() == {}
    assert set(probes.HITS) == set(probes.PROBES)
