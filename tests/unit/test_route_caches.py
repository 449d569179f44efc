"""The router caches through a real World (clock, network) and real metadata
servers (a metadata-table host, MemDS hosts): hits, misses, refreshes,
invalidation, timeouts, and the load each puts on its servers."""
from __future__ import annotations

from typing import Any

from ddbsim.config import Config
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE
from ddbsim.service.messages import RoutingDownload
from ddbsim.service.metadata.memds import MemDSServer
from ddbsim.service.metadata.metadata_table import MetadataTableServer
from ddbsim.service.metadata.partition_map import PartitionInfo, PartitionMap
from ddbsim.service.routing.cache_bimodal import BimodalCache
from ddbsim.service.routing.cache_constant_work import ConstantWorkCache
from ddbsim.world.region import World

KEYS = [f"k{i}" for i in range(50)]


def look(cache: BimodalCache | ConstantWorkCache, key: str, waiter: Any) -> PartitionInfo | None:
    """What a router does: look up, and on a miss hand over its waiter."""
    info = cache.lookup(key)
    if info is None:
        cache.wait(key, waiter)
    return info


class Setup:
    def __init__(self, **overrides: Any) -> None:
        self.cfg = Config().with_overrides(overrides)
        self.world = World(self.cfg, 1)
        self.env = self.world.env
        topo = self.world.topology
        self.map = PartitionMap("t", 16)
        for pid in self.map.pids():
            self.map.set_members(pid, (("az-1/r1/h1", STORAGE),))
            self.map.set_leader(pid, "az-1/r1/h1")
        hooks = ServiceHooks()
        self.metadata = [MetadataTableServer(h, self.world, self.cfg.routing, self.map, hooks)
                         for h in topo.of_kind("metadata")]
        self.memds = [MemDSServer(h, self.world, self.cfg.routing, self.map, hooks)
                      for h in topo.of_kind("memds")]
        for m in self.memds:
            m.load()
        self.router = topo.hosts["az-1/router-1"]
        self.got: list[PartitionInfo | None] = []

    def bimodal(self) -> BimodalCache:
        cache = BimodalCache(self.router, self.world, self.cfg.routing,
                             self.world.topology.of_kind("metadata"), self.map.key_hash,
                             ServiceHooks())
        self.world.network.register(self.router, cache.receive)
        return cache

    def constant_work(self) -> ConstantWorkCache:
        cache = ConstantWorkCache(self.router, self.world, self.cfg.routing,
                                  self.world.topology.of_kind("memds"), self.map.key_hash,
                                  ServiceHooks())
        self.world.network.register(self.router, cache.receive)
        return cache

    def run(self, until_s: float) -> None:
        self.env.run(until=until_s)

    def downloads(self) -> int:
        return sum(m.served for m in self.metadata)

    def memds_lookups(self) -> int:
        return sum(m.lookups for m in self.memds)


def test_bimodal_cold_miss_downloads_the_whole_table_then_hits() -> None:
    s = Setup()
    cache = s.bimodal()
    assert look(cache, "k1", s.got.append) is None
    s.run(1.0)
    # one download: 16 rows x 20 ms = 0.32 s on the metadata host, then the answer
    assert s.downloads() == 1 and len(s.got) == 1
    assert s.got[0] is not None and s.got[0].pid == s.map.partition_for("k1").pid
    for key in KEYS:  # the whole table came: every key hits
        info = look(cache, key, s.got.append)
        assert info is not None and info.pid == s.map.partition_for(key).pid
    assert (cache.hits, cache.misses, s.downloads()) == (50, 1, 1)


def test_bimodal_every_miss_sends_its_own_download_until_one_comes_back() -> None:
    s = Setup()
    cache = s.bimodal()
    for key in KEYS[:10]:
        assert look(cache, key, s.got.append) is None
    s.run(0.1)
    assert cache.downloads == 10 and s.got == []  # no coalescing: the bimodal pathology
    s.run(2.0)
    # the first answer filled the cache and released every waiting request
    assert len(s.got) == 10 and all(i is not None for i in s.got)
    # each its own key's partition (released in the order of the answers)
    assert sorted(i.pid for i in s.got) == sorted(  # type: ignore[union-attr]
        s.map.partition_for(k).pid for k in KEYS[:10])
    assert s.downloads() == 10  # the metadata table did every one of them


def test_bimodal_ttl_and_stale_route_make_misses() -> None:
    s = Setup(**{"routing.bimodal_ttl_s": 10.0})
    cache = s.bimodal()
    look(cache, "k1", s.got.append)
    s.run(1.0)
    assert look(cache, "k2", s.got.append) is not None
    pid = s.map.partition_for("k2").pid
    cache.stale_route(pid)
    assert look(cache, "k2", s.got.append) is None  # invalidated: a miss
    other = next(k for k in KEYS if s.map.partition_for(k).pid != pid)
    assert look(cache, other, s.got.append) is not None  # other partitions still hit
    s.run(2.0)
    assert look(cache, "k2", s.got.append) is not None  # the download cleared it
    s.run(12.0)
    assert look(cache, "k2", s.got.append) is None  # the TTL ran out


def test_bimodal_download_that_times_out_fails_the_request_and_its_late_answer_is_dropped() -> None:
    s = Setup(**{"routing.lookup_timeout_s": 0.2})  # shorter than one download (0.32 s)
    cache = s.bimodal()
    look(cache, "k1", s.got.append)
    s.run(2.0)
    assert s.got == [None]  # answered: unavailable
    assert cache.partition(s.map.partition_for("k1").pid) is None  # the late answer was dropped
    assert s.downloads() == 1  # though the metadata table did the work


def test_bimodal_slow_metadata_table_queues_fifo() -> None:
    s = Setup(**{"routing.metadata_servers": 1})
    server = s.metadata[0]
    src = s.router
    for i in range(3):
        s.world.network.send(src, server.host, RoutingDownload(i))
    s.run(0.01)
    # three downloads on one handler: the next one would wait for all three
    assert server.backlog_s() > 0.9


def test_constant_work_sends_one_lookup_per_request_hit_or_miss() -> None:
    s = Setup()
    cache = s.constant_work()
    assert look(cache, "k1", s.got.append) is None  # cold
    s.run(0.1)
    assert len(s.got) == 1 and s.got[0] is not None
    assert s.got[0].pid == s.map.partition_for("k1").pid
    hits = 0
    for i, key in enumerate(KEYS):
        hits += look(cache, key, s.got.append) is not None
        s.run(0.1 + 0.01 * (i + 1))
    s.run(2.0)
    # every request sent its lookup, hits included; misses waited for theirs
    assert s.memds_lookups() == 1 + len(KEYS) == cache.lookups
    assert cache.hits == hits and cache.misses == 1 + len(KEYS) - hits
    assert len(s.got) == cache.misses


def test_constant_work_flush_changes_latency_not_load() -> None:
    s = Setup()
    cache = s.constant_work()
    cache.prime(s.map.rows(), 0.0)
    for key in KEYS:
        assert look(cache, key, s.got.append) is not None
    s.run(1.0)
    before = s.memds_lookups()
    cache.flush()
    misses = sum(look(cache, key, s.got.append) is None for key in KEYS)
    s.run(2.0)
    assert misses >= 1 and s.memds_lookups() - before == len(KEYS)


def test_constant_work_batches_lookups_per_tick() -> None:
    s = Setup()
    cache = s.constant_work()
    cache.prime(s.map.rows(), 0.0)
    sent = s.world.network.sent
    for key in KEYS:
        look(cache, key, s.got.append)
    s.run(1.0)
    # 50 lookups in one 20 ms tick: one request message and one answer
    assert s.world.network.sent - sent == 2 and s.memds_lookups() == 50


def test_constant_work_refreshes_from_memds_pushes() -> None:
    s = Setup()
    cache = s.constant_work()
    cache.prime(s.map.rows(), 0.0)
    pid = s.map.partition_for("k1").pid
    s.map.set_leader(pid, "az-2/r1/h1")
    for m in s.memds:  # as if the push had arrived
        m.index.update(pid, s.map.partition(pid).members, "az-2/r1/h1", s.map.version(pid))
    assert look(cache, "k1", s.got.append).leader == "az-1/r1/h1"  # type: ignore[union-attr]
    s.run(1.0)
    assert look(cache, "k1", s.got.append).leader == "az-2/r1/h1"  # type: ignore[union-attr]


def test_constant_work_fails_over_to_another_memds_host() -> None:
    s = Setup()
    cache = s.constant_work()
    local = cache.servers[0]
    assert local.az == s.router.az
    local.power_off(0.0)
    assert look(cache, "k1", s.got.append) is None
    s.run(1.0)
    assert len(s.got) == 1 and s.got[0] is not None  # answered by the next MemDS host
    for host in cache.servers:
        host.power_off(1.0)
    assert look(cache, "k1", s.got.append) is not None  # a hit needs nobody
    cache.flush()
    assert look(cache, "k1", s.got.append) is None
    s.run(3.0)
    assert s.got[-1] is None  # every MemDS host tried: unavailable
