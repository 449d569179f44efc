"""The world's network: latency by locality, drops on power and cut links."""
from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from ddbsim.config import Config
from ddbsim.world import World
from ddbsim.world.scheduling import call_later
from ddbsim.world.topology import Host

A1 = "az-1/r1/h1"
A1_SAME_RACK = "az-1/r1/h2"
A1_OTHER_RACK = "az-1/r2/h1"
B1 = "az-2/r1/h1"
C1 = "az-3/r1/h1"


class Inbox:
    """Records (arrival time, source id, message) for every delivery to a host."""

    def __init__(self, world: World, host: Host) -> None:
        self.world = world
        self.got: list[tuple[float, str, Any]] = []
        world.network.register(host, self._on)

    def _on(self, src: Host, msg: Any) -> None:
        self.got.append((self.world.now, src.id, msg))

    def msgs(self) -> list[Any]:
        return [m for _, _, m in self.got]


@pytest.fixture
def world() -> World:
    return World(Config(), 1)


def _host(world: World, name: str) -> Host:
    return world.topology.hosts[name]


def _latencies(world: World, src: str, dst: str, n: int = 400) -> list[float]:
    inbox = Inbox(world, _host(world, dst))
    start = world.now
    for i in range(n):
        world.network.send(_host(world, src), _host(world, dst), i)
    world.env.run()
    assert len(inbox.got) == n
    return [t - start for t, _, _ in inbox.got]


@pytest.mark.parametrize("src, dst, median", [
    (A1, A1, "same_host_latency_s"),
    (A1, A1_SAME_RACK, "same_az_latency_s"),
    (A1, A1_OTHER_RACK, "same_az_latency_s"),
    (A1, B1, "cross_az_latency_s"),
    (C1, A1, "cross_az_latency_s"),
])
def test_latency_is_lognormal_around_the_median_for_its_locality(
        world: World, src: str, dst: str, median: str) -> None:
    cfg = Config().network
    m = getattr(cfg, median)
    lat = _latencies(world, src, dst)
    assert statistics.median(lat) == pytest.approx(m, rel=0.1)
    # sigma 0.25: nothing beyond 5 sigma either side of the median.
    spread = math.exp(5 * cfg.latency_sigma)
    assert min(lat) > m / spread
    assert max(lat) < m * spread
    assert len(set(lat)) > 300  # drawn, not constant


def test_same_host_is_faster_than_same_az_faster_than_cross_az() -> None:
    meds = []
    for dst in (A1, A1_OTHER_RACK, B1):
        meds.append(statistics.median(_latencies(World(Config(), 5), A1, dst, 200)))
    assert meds[0] < meds[1] < meds[2]
    assert meds[2] / meds[1] > 2  # 0.8 ms vs 0.25 ms medians


def test_latency_follows_the_network_config() -> None:
    cfg = Config().with_overrides({"network.cross_az_latency_s": "0.01",
                                   "network.latency_sigma": "0"})
    world = World(cfg, 1)
    lat = _latencies(world, A1, B1, 20)
    assert lat == pytest.approx([0.01] * 20)


def test_messages_arrive_with_their_sender(world: World) -> None:
    inbox = Inbox(world, _host(world, B1))
    world.network.send(_host(world, A1), _host(world, B1), "hello")
    world.network.send(_host(world, C1), _host(world, B1), "world")
    world.env.run()
    assert sorted((s, m) for _, s, m in inbox.got) == [(A1, "hello"), (C1, "world")]
    assert (world.network.sent, world.network.dropped) == (2, 0)


def test_dropped_when_destination_is_off_at_delivery(world: World) -> None:
    inbox = Inbox(world, _host(world, B1))
    world.network.send(_host(world, A1), _host(world, B1), "lost")
    _host(world, B1).power_off(world.now)  # after the send, before the delivery
    world.env.run()
    assert inbox.got == []
    assert world.network.dropped == 1


def test_dropped_when_destination_rebooted_in_between(world: World) -> None:
    dst = _host(world, B1)
    inbox = Inbox(world, dst)
    world.network.send(_host(world, A1), dst, "stale")
    dst.power_off(world.now)
    dst.power_on()
    assert dst.powered and dst.epoch == 1
    world.env.run()
    assert inbox.got == []
    assert world.network.dropped == 1
    # A message sent after the reboot is delivered.
    world.network.send(_host(world, A1), dst, "fresh")
    world.env.run()
    assert inbox.msgs() == ["fresh"]


def test_dropped_when_sender_is_off(world: World) -> None:
    inbox = Inbox(world, _host(world, B1))
    _host(world, A1).power_off(0.0)
    world.network.send(_host(world, A1), _host(world, B1), "x")
    world.env.run()
    assert inbox.got == []
    assert (world.network.sent, world.network.dropped) == (1, 1)


def test_dropped_when_nobody_listens(world: World) -> None:
    world.network.send(_host(world, A1), _host(world, B1), "x")
    world.env.run()
    assert world.network.dropped == 1


def test_az_cut_drops_both_ways_and_heal_restores(world: World) -> None:
    net = world.network
    in_a, in_b, in_c = (Inbox(world, _host(world, h)) for h in (A1, B1, C1))
    net.cut_azs("az-1", "az-2")
    net.send(_host(world, A1), _host(world, B1), "a->b")
    net.send(_host(world, B1), _host(world, A1), "b->a")
    net.send(_host(world, A1), _host(world, C1), "a->c")
    world.env.run()
    assert in_a.got == [] and in_b.got == []
    assert in_c.msgs() == ["a->c"]
    net.heal_azs("az-2", "az-1")  # either order heals
    net.send(_host(world, A1), _host(world, B1), "a->b 2")
    net.send(_host(world, B1), _host(world, A1), "b->a 2")
    world.env.run()
    assert in_b.msgs() == ["a->b 2"] and in_a.msgs() == ["b->a 2"]


def test_az_cut_blocks_every_host_pair_across_it_but_not_within(world: World) -> None:
    net = world.network
    net.cut_azs("az-1", "az-3")
    inbox_same = Inbox(world, _host(world, A1_OTHER_RACK))
    inbox_far = Inbox(world, _host(world, "az-3/r2/h3"))
    net.send(_host(world, A1), _host(world, A1_OTHER_RACK), "same az")
    net.send(_host(world, "az-1/r2/h2"), _host(world, "az-3/r2/h3"), "across")
    world.env.run()
    assert inbox_same.msgs() == ["same az"]
    assert inbox_far.got == []


def test_one_way_az_cut_blocks_one_direction_only(world: World) -> None:
    net = world.network
    in_a, in_b = Inbox(world, _host(world, A1)), Inbox(world, _host(world, B1))
    net.cut_azs("az-1", "az-2", one_way=True)
    net.send(_host(world, A1), _host(world, B1), "a->b")
    net.send(_host(world, B1), _host(world, A1), "b->a")
    world.env.run()
    assert in_b.got == []
    assert in_a.msgs() == ["b->a"]


def test_host_cut_both_ways_one_way_and_heal(world: World) -> None:
    net = world.network
    in_a, in_b = Inbox(world, _host(world, A1)), Inbox(world, _host(world, B1))
    in_a2 = Inbox(world, _host(world, A1_SAME_RACK))
    net.cut_hosts(A1, B1)
    net.send(_host(world, A1), _host(world, B1), 1)
    net.send(_host(world, B1), _host(world, A1), 2)
    net.send(_host(world, B1), _host(world, A1_SAME_RACK), 3)  # other hosts unaffected
    world.env.run()
    assert in_a.got == [] and in_b.got == [] and in_a2.msgs() == [3]

    net.heal_hosts(A1, B1)
    net.cut_hosts(B1, A1, one_way=True)
    assert net.reachable(_host(world, A1), _host(world, B1))
    assert not net.reachable(_host(world, B1), _host(world, A1))
    net.send(_host(world, A1), _host(world, B1), 4)
    net.send(_host(world, B1), _host(world, A1), 5)
    world.env.run()
    assert in_b.msgs() == [4] and in_a.got == []

    net.heal_all()
    net.send(_host(world, B1), _host(world, A1), 6)
    world.env.run()
    assert in_a.msgs() == [6]


def test_cut_made_while_in_flight_drops_the_message(world: World) -> None:
    inbox = Inbox(world, _host(world, B1))
    world.network.send(_host(world, A1), _host(world, B1), "in flight")
    world.network.cut_hosts(A1, B1)
    world.env.run()
    assert inbox.got == []
    assert world.network.dropped == 1


def test_cutting_unknown_names_is_an_error(world: World) -> None:
    with pytest.raises(KeyError):
        world.network.cut_hosts(A1, "az-9/r1/h1")
    with pytest.raises(KeyError):
        world.network.cut_azs("az-1", "az-9")
    with pytest.raises(ValueError, match="itself"):
        world.network.cut_azs("az-1", "az-1")


def test_power_listeners_and_epoch(world: World) -> None:
    host = _host(world, A1)
    seen: list[str] = []
    host.listen(on_off=lambda h: seen.append("off " + h.id), on_on=lambda h: seen.append("on"))
    assert host.power_off(4.0) is True
    assert host.power_off(5.0) is False  # already off: no second epoch
    assert (host.powered, host.epoch, host.powered_off_at_s) == (False, 1, 4.0)
    assert host.power_on() is True
    assert host.power_on() is False
    assert seen == [f"off {A1}", "on"]
    assert host.powered_off_at_s is None


def test_topology_shape() -> None:
    world = World(Config(), 1)
    topo = world.topology
    assert topo.azs == ["az-1", "az-2", "az-3"]
    for az in topo.azs:
        assert len(topo.of_kind("storage", az)) == 6
        assert len(topo.of_kind("router", az)) == 1
        assert len(topo.of_kind("client", az)) == 3  # two clients and a canary
        assert len(topo.of_kind("metadata", az)) == 1  # the metadata table's servers
        assert len(topo.of_kind("memds", az)) == 1
        assert len(topo.of_kind("gac", az)) == 1  # a GAC server (idle without GAC)
    assert [h.id for h in topo.resolve("az-2/r1")] == ["az-2/r1/h1", "az-2/r1/h2", "az-2/r1/h3"]
    assert len(topo.resolve("az-3")) == 6 + 1 + 1 + 3 + 2
    # the routing metadata hosts come after every other host
    assert [h.kind for h in topo.hosts.values()][-6:] == ["metadata", "memds"] * 3
    with pytest.raises(KeyError):
        topo.resolve("az-4")


# -- duplicates, reordering, stale messages (storage to storage only) ---------

def _send_many(world: World, src: str, dst: str, n: int) -> Inbox:
    inbox = Inbox(world, _host(world, dst))
    for i in range(n):
        world.network.send(_host(world, src), _host(world, dst), i)
    world.env.run()
    return inbox


def test_duplicates_deliver_some_messages_twice(world: World) -> None:
    world.network.impair("region", duplicate=0.3)
    got = _send_many(world, A1, B1, 1000).msgs()
    twice = len(got) - len(set(got))
    assert set(got) == set(range(1000))
    assert 220 < twice < 380  # about 30%


def test_a_reorder_window_lets_later_messages_overtake(world: World) -> None:
    def inversions() -> int:  # 200 messages 1 ms apart
        inbox = Inbox(world, _host(world, A1_OTHER_RACK))
        for i in range(200):
            call_later(world.env, i * 0.001, world.network.send, _host(world, A1),
                       _host(world, A1_OTHER_RACK), i)
        world.env.run()
        got = inbox.msgs()
        assert sorted(got) == list(range(200))
        return sum(1 for a, b in zip(got, got[1:], strict=False) if a > b)

    assert inversions() == 0  # a latency of 0.25 ms keeps 1 ms gaps in order
    world.network.impair("az-1", "az-1", reorder_window_s=0.05)
    assert inversions() > 50


def test_stale_messages_arrive_seconds_later(world: World) -> None:
    world.network.impair("az-1", "az-2", stale=0.1, stale_hold_s=8.0)
    start = world.now
    inbox = _send_many(world, A1, B1, 500)
    late = [t - start for t, _, _ in inbox.got if t - start > 1.0]
    assert 25 < len(late) < 80  # about 10%
    assert all(4.0 <= t <= 8.01 for t in late)
    # Restored: nothing is held any more.
    world.network.restore("az-1", "az-2")
    start = world.now
    assert all(t - start < 0.1 for t, _, _ in _send_many(world, A1, B1, 200).got)


def test_only_storage_messages_are_duplicated(world: World) -> None:
    world.network.impair("region", duplicate=1.0)
    got = _send_many(world, "az-1/router-1", B1, 50).msgs()
    assert sorted(got) == list(range(50))  # a router's requests ride a connection
    assert len(_send_many(world, A1, B1, 50).msgs()) == 100


def test_messy_impairments_leave_the_loss_and_delay_draws_alone() -> None:
    # A duplicate, a reorder or a hold draws from its own stream: the losses
    # of an impaired link are the same with or without them.
    def lost(**messy: float) -> list[int]:
        world = World(Config(), 7)
        world.network.impair("region", loss=0.2, **messy)
        return sorted(set(range(300)) - set(_send_many(world, A1, B1, 300).msgs()))

    assert lost() == lost(duplicate=0.5, reorder_window_s=0.01, stale=0.1, stale_hold_s=3.0)


def test_messy_impairments_are_validated(world: World) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        world.network.impair("region", duplicate=1.5)
    with pytest.raises(ValueError, match="reorder window"):
        world.network.impair("region", reorder_window_s=-1.0)


# -- corruption in flight --------------------------------------------------------

class _Msg:
    """A payload with a checksum slot (0: it matches its content)."""

    __slots__ = ("n", "checksum")

    def __init__(self, n: int) -> None:
        self.n = n
        self.checksum = 0


def test_a_corrupted_message_is_dropped_by_its_receiver_and_counted(world: World) -> None:
    world.network.impair("region", corrupt=0.3)
    sent = [_Msg(i) for i in range(1000)]
    inbox = Inbox(world, _host(world, B1))
    for m in sent:
        world.network.send(_host(world, A1), _host(world, B1), m)
    world.env.run()
    got = inbox.msgs()
    net = world.network
    assert 220 < net.corrupted < 380  # about 30%
    assert net.corrupt_dropped == {B1: net.corrupted}
    assert len(got) == 1000 - net.corrupted and all(m.checksum == 0 for m in got)
    assert all(m.checksum == 0 for m in sent)  # the sender's copies are untouched


def test_a_payload_without_a_checksum_is_not_corrupted(world: World) -> None:
    world.network.impair("region", corrupt=1.0)
    got = _send_many(world, A1, B1, 100).msgs()
    assert sorted(got) == list(range(100)) and world.network.corrupted == 0


def test_corrupt_must_be_a_probability(world: World) -> None:
    with pytest.raises(ValueError, match="corrupt"):
        world.network.impair("region", corrupt=1.5)
