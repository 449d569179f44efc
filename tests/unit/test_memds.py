"""MemDS: floor and ceiling lookups at partition boundaries, and the
propagation of storage nodes' pushes (with their versions) to every MemDS
host -- through a real World's clock and network."""
from __future__ import annotations

from ddbsim.config import Config
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE
from ddbsim.service.messages import MemDSAnswer, MemDSLookup, RouteUpdate
from ddbsim.service.metadata.hashing import HASH_SPACE
from ddbsim.service.metadata.memds import MemDSServer, RouteIndex, RoutePublisher
from ddbsim.service.metadata.partition_map import PartitionMap
from ddbsim.world.region import World


def test_floor_lookup_at_partition_boundaries() -> None:
    pmap = PartitionMap("t", 4)
    index = RouteIndex(pmap.rows())
    step = HASH_SPACE // 4
    assert index.floor(0)[0] == "p-0000"  # type: ignore[index]
    assert index.floor(step - 1)[0] == "p-0000"  # type: ignore[index]
    assert index.floor(step)[0] == "p-0001"  # type: ignore[index]  # a start hash is its own partition's
    assert index.floor(step + 1)[0] == "p-0001"  # type: ignore[index]
    assert index.floor(3 * step)[0] == "p-0003"  # type: ignore[index]
    assert index.floor(HASH_SPACE - 1)[0] == "p-0003"  # type: ignore[index]
    # a row carries its hash range [start, end)
    row = index.floor(step)
    assert row is not None and (row[1], row[2]) == (step, 2 * step)
    assert index.floor(HASH_SPACE - 1)[2] == HASH_SPACE  # type: ignore[index]
    # ceiling: the least start at or above
    assert index.ceiling(step)[0] == "p-0001"  # type: ignore[index]
    assert index.ceiling(step + 1)[0] == "p-0002"  # type: ignore[index]
    assert index.ceiling(3 * step + 1) is None
    # every key lands where the authoritative map puts it
    for key in (f"k{i}" for i in range(200)):
        assert index.floor(pmap.key_hash(key))[0] == pmap.partition_for(key).pid  # type: ignore[index]


def test_floor_below_the_first_start_is_none() -> None:
    rows = [("a", 10, 20, (), None, 0), ("b", 20, 30, (), None, 0)]
    index = RouteIndex(list(reversed(rows)))  # any order in, sorted inside
    assert index.floor(9) is None
    assert index.floor(10)[0] == "a"  # type: ignore[index]
    assert index.floor(29)[0] == "b"  # type: ignore[index]


def test_updates_apply_only_when_newer() -> None:
    index = RouteIndex([("a", 0, 10, (("h1", STORAGE),), "h1", 3)])
    assert not index.update("a", (("h2", STORAGE),), "h2", 3)  # same version: old news
    assert not index.update("a", (("h2", STORAGE),), "h2", 2)
    assert index.floor(5)[4] == "h1"  # type: ignore[index]
    assert index.update("a", (("h2", STORAGE),), "h2", 4)
    assert index.floor(5)[4] == "h2"  # type: ignore[index]
    assert not index.update("nope", (), None, 9)


class _Region:
    def __init__(self, delay_s: float = 0.1) -> None:
        self.cfg = Config().with_overrides({"routing.cache": "constant_work",
                                            "routing.memds_propagation_s": delay_s})
        self.world = World(self.cfg, 1)
        topo = self.world.topology
        self.map = PartitionMap("t", 4)
        self.pid = self.map.pids()[0]
        self.s1, self.s2 = "az-1/r1/h1", "az-2/r1/h1"
        self.map.set_members(self.pid, ((self.s1, STORAGE), (self.s2, STORAGE)))
        self.map.set_leader(self.pid, self.s1)
        self.memds = [MemDSServer(h, self.world, self.cfg.routing, self.map, ServiceHooks())
                      for h in topo.of_kind("memds")]
        for m in self.memds:
            m.load()
        self.publisher = RoutePublisher(self.world, self.cfg.routing, self.map,
                                        topo.of_kind("memds"), publish=True)

    def leaders(self) -> list[str | None]:
        return [m.index.row(self.pid)[4] for m in self.memds]  # type: ignore[index]


def test_a_leader_change_reaches_every_memds_host_after_the_delay() -> None:
    r = _Region(delay_s=0.1)
    env = r.world.env
    assert len(r.memds) == 3 and r.leaders() == [r.s1] * 3
    r.publisher.leader_changed(r.pid, r.s2)
    assert r.map.partition(r.pid).leader == r.s2  # the authoritative map: at once
    env.run(until=0.099)
    assert r.leaders() == [r.s1] * 3  # MemDS: not yet
    env.run(until=0.2)
    assert r.leaders() == [r.s2] * 3
    assert all(m.index.row(r.pid)[5] == r.map.version(r.pid) for m in r.memds)  # type: ignore[index]


def test_a_memds_host_that_was_down_misses_the_push_and_reloads_when_it_boots() -> None:
    r = _Region()
    env = r.world.env
    down = r.memds[1].host
    down.power_off(0.0)
    r.publisher.leader_changed(r.pid, r.s2)
    env.run(until=1.0)
    assert r.memds[0].index.row(r.pid)[4] == r.s2  # type: ignore[index]
    assert r.memds[1].index.row(r.pid) is None  # it lost its memory
    down.power_on()
    assert r.memds[1].index.row(r.pid)[4] == r.s2  # type: ignore[index]


def test_an_older_update_arriving_late_is_ignored() -> None:
    r = _Region()
    env = r.world.env
    m = r.memds[0]
    src = r.world.topology.hosts[r.s1]
    r.publisher.leader_changed(r.pid, r.s2)
    env.run(until=1.0)
    v = r.map.version(r.pid)
    r.world.network.send(src, m.host, RouteUpdate(r.pid, (), r.s1, v - 1))
    env.run(until=2.0)
    assert m.index.row(r.pid)[4] == r.s2  # type: ignore[index]


def test_a_split_reaches_every_memds_host_after_the_delay() -> None:
    r = _Region(delay_s=0.1)
    env = r.world.env
    members = r.map.partition(r.pid).members
    start, end = r.map.row(r.pid)[1], r.map.row(r.pid)[2]
    at = start + (end - start) // 2
    children = ("p-0000a", "p-0000b")
    r.map.split(r.pid, at, children)
    for child in children:
        r.map.set_members(child, members)
    r.publisher.partition_split(r.pid, children)
    env.run(until=0.099)
    assert all(m.index.floor(at)[0] == r.pid for m in r.memds)  # type: ignore[index]  # not yet
    env.run(until=0.2)
    for m in r.memds:
        assert m.index.row(r.pid) is None
        assert m.index.floor(at - 1)[0] == "p-0000a"  # type: ignore[index]
        assert m.index.floor(at)[0] == "p-0000b"  # type: ignore[index]  # the split point is b's
        assert m.index.row("p-0000b")[1:3] == (at, end)  # type: ignore[index]
        assert m.index.row("p-0000a")[4] == r.s1  # type: ignore[index]  # the parent's leader
        assert len(m.index) == 5


def test_a_split_the_index_already_has_is_applied_as_updates() -> None:
    rows = [("a", 0, 10, (), "h1", 1), ("b", 10, 20, (), "h1", 1)]
    index = RouteIndex(rows)  # the children already, from a re-read of the map
    assert not index.split("parent", [("a", 0, 10, (), "h2", 2), ("b", 10, 20, (), "h1", 1)])
    assert index.row("a")[4] == "h2" and index.row("b")[4] == "h1"  # type: ignore[index]
    assert len(index) == 2


def test_memds_answers_a_batch_in_order_and_counts_each_lookup() -> None:
    r = _Region()
    env = r.world.env
    got: list[MemDSAnswer] = []
    router = r.world.topology.hosts["az-1/router-1"]
    r.world.network.register(router, lambda src, msg: got.append(msg))
    keys = ["a", "b", "c", "d", "e"]
    hashes = [r.map.key_hash(k) for k in keys]
    r.world.network.send(router, r.memds[0].host, MemDSLookup(7, hashes))
    env.run(until=1.0)
    assert len(got) == 1 and got[0].batch_id == 7
    assert [row[0] for row in got[0].rows] == [r.map.partition_for(k).pid for k in keys]
    assert r.memds[0].lookups == 5


def test_with_the_direct_cache_nothing_is_pushed() -> None:
    r = _Region()
    quiet = RoutePublisher(r.world, r.cfg.routing, r.map, r.world.topology.of_kind("memds"),
                           publish=False)
    sent = r.world.network.sent
    quiet.leader_changed(r.pid, r.s2)
    assert r.world.network.sent == sent
    assert r.map.partition(r.pid).leader == r.s2


def test_anti_entropy_mends_a_push_that_was_lost() -> None:
    r = _Region()
    env = r.world.env
    m = r.memds[0]
    m.start_refresh()  # every routing.memds_refresh_s (10 s)
    r.world.network.cut_hosts(r.s2, m.host.id)
    r.publisher.leader_changed(r.pid, r.s2)  # pushed from s2's host: lost on the way to m
    env.run(until=1.0)
    assert m.index.row(r.pid)[4] == r.s1  # type: ignore[index]  # stale
    assert r.memds[1].index.row(r.pid)[4] == r.s2  # type: ignore[index]
    env.run(until=10.5)
    assert m.index.row(r.pid)[4] == r.s2  # type: ignore[index]  # mended by the re-read
