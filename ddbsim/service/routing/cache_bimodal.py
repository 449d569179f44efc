"""The bimodal router cache: the original design of paper §6.6.

On a table's first request, or on a miss, the router downloads the whole
table's routing from the metadata table
(:class:`~ddbsim.service.metadata.metadata_table.MetadataTableServer`); a hit
needs nothing else.  It trusts a download for ``routing.bimodal_ttl_s``;
the first request after that misses.  A stale-route answer (a storage node
that does not lead, or a leader that did not answer) invalidates that
partition's entry, so its next request misses too.

Every miss sends its own download -- nothing coalesces the lookups of
requests that miss together -- and waits for it; the first download to
arrive fills the cache and releases every request waiting (their own
downloads are still worked on by the metadata table, and their answers
discarded).  A download not back within ``routing.lookup_timeout_s`` is
abandoned: the request waiting for it is answered ``unavailable``, and its
late answer discarded (the call was cancelled).

That is what makes the design *bimodal*: with a warm cache the metadata
table sees ``(1 - hit rate)`` of the traffic -- a hit rate of 99.75% at the
default workload: each refresh costs the requests that arrive during one
download, so the hit rate is about ``1 - download time / TTL`` -- and with a
cold one (a fleet restart, a flush) it sees all of it, up to
``1 / (1 - hit rate)`` = 400 times more.  If the metadata table is too slow
for that, downloads time out, no cache warms, and every request goes on
missing: the spike sustains itself.
"""
from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from ddbsim.config import RoutingConfig
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.messages import Message, RouteRow, RoutingDownload, RoutingTable
from ddbsim.service.metadata.partition_map import PartitionInfo
from ddbsim.service.routing.route_cache import Waiter, info_of
from ddbsim.world.region import World
from ddbsim.world.scheduling import Deadlines
from ddbsim.world.topology import Host, local_first


class BimodalCache:
    kind = "bimodal"

    def __init__(self, host: Host, world: World, cfg: RoutingConfig, servers: Sequence[Host],
                 key_hash: Callable[[str], int], hooks: ServiceHooks) -> None:
        if not servers:
            raise ValueError("a bimodal router cache needs metadata-table servers")
        self.host = host
        self.env = world.env
        self.net = world.network
        self.cfg = cfg
        self.key_hash = key_hash
        self.hooks = hooks
        self.servers = local_first(servers, host.az)
        self._next_server = 0
        self._ids = itertools.count(1)
        self.hits = 0
        self.misses = 0
        self.downloads = 0
        self._clear()
        # lookup id -> the waiter of the request that missed, and its key
        self._waiting: dict[int, tuple[Waiter, str]] = {}
        self._deadlines = Deadlines(self.env, cfg.lookup_timeout_s, self._expired,
                                    pending=self._waiting)

    def _clear(self) -> None:
        self._starts: list[int] = []
        self._infos: list[PartitionInfo] = []
        self._by_pid: dict[str, PartitionInfo] = {}
        self._expires_at = -1.0
        self._invalid: set[str] = set()

    # -- the RouteCache interface ------------------------------------------
    def lookup(self, key: str) -> PartitionInfo | None:
        now = self.env._now  # type: ignore[attr-defined]  # as Environment.now
        if now < self._expires_at:
            info = self._infos[bisect_right(self._starts, self.key_hash(key)) - 1]
            if not self._invalid or info.pid not in self._invalid:
                self.hits += 1
                return info
        self.misses += 1
        self.hooks.route_missed(now, self.host.id)
        return None

    def wait(self, key: str, waiter: Waiter) -> None:
        self._download(waiter, key)

    def partition(self, pid: str) -> PartitionInfo | None:
        return self._by_pid.get(pid)

    def stale_route(self, pid: str) -> None:
        if pid in self._by_pid:
            self._invalid.add(pid)

    def flush(self) -> None:
        self._clear()

    def prime(self, rows: Sequence[RouteRow], age_fraction: float) -> None:
        self._install(rows)
        self._expires_at = self.env.now + (1.0 - age_fraction) * self.cfg.bimodal_ttl_s

    def power_off(self) -> None:
        self._clear()
        self._waiting.clear()
        self._deadlines.clear()

    def in_flight(self) -> int:
        return len(self._waiting)

    def receive(self, src: Host, msg: Message) -> None:
        BIMODAL_HANDLERS[type(msg)](self, src, msg)

    # ------------------------------------------------------------------
    def _download(self, waiter: Waiter, key: str) -> None:
        lookup_id = next(self._ids)
        self._waiting[lookup_id] = (waiter, key)
        server = self.servers[self._next_server % len(self.servers)]
        self._next_server += 1
        self.downloads += 1
        self.net.send(self.host, server, RoutingDownload(lookup_id))
        self._deadlines.add(lookup_id)

    def _expired(self, lookup_id: int) -> None:
        entry = self._waiting.pop(lookup_id, None)
        if entry is not None:
            entry[0](None)

    def _install(self, rows: Sequence[RouteRow]) -> None:
        self._clear()
        for row in rows:
            info = info_of(row)
            self._starts.append(info.start_hash)
            self._infos.append(info)
            self._by_pid[info.pid] = info
        self._expires_at = self.env.now + self.cfg.bimodal_ttl_s

    def _on_table(self, src: Host, msg: RoutingTable) -> None:
        mine = self._waiting.pop(msg.lookup_id, None)
        if mine is None:
            return  # abandoned: the request gave up on it
        self._install(msg.rows)
        waiting = [mine, *self._waiting.values()]
        self._waiting.clear()
        for waiter, key in waiting:
            waiter(self._infos[bisect_right(self._starts, self.key_hash(key)) - 1])


#: What a bimodal cache does with each message, by type.
BIMODAL_HANDLERS: dict[type, Callable[[BimodalCache, Host, Any], None]] = {
    RoutingTable: BimodalCache._on_table,
}
