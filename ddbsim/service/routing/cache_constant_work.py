"""The constant-work router cache: the MemDS design of paper §6.6.

Every request, hit or miss, also sends a lookup of its key to MemDS
(:class:`~ddbsim.service.metadata.memds.MemDSServer`), whose answer refreshes
the cache.  A hit is served from the cache at once, and its lookup only
refreshes; a miss waits for its lookup's answer.  So MemDS sees one lookup
per request whatever the hit rate: a cold cache (a flush, a restart, new
routers) changes the latency of some requests, not the load on the
metadata fleet -- there is no second mode to fall into.

**Batching, and why.**  A lookup per request as its own message would add
two network events to every request, the cost of a whole hop on the hot
path.  Instead a router gathers the lookups of ``routing.memds_batch_s``
(20 ms) and sends them as one :class:`~ddbsim.service.messages.MemDSLookup`
to one MemDS host, which reserves its handlers once *per lookup*: the
work MemDS does, and its load as measured, stay proportional to the traffic
(what the paper's argument rests on), while the simulator pays two events
per router per 20 ms rather than two per request.  A miss's lookup rides the
same batch, so a miss waits up to 20 ms more (misses are rare: a cold or
flushed cache); the batching is a cost model, not a claim that MemDS
clients batch.

The cache holds routing rows (a partition's hash range, members, leader,
version) and keeps the newest version of each.  A batch not answered within
``routing.memds_timeout_s`` (a dead, cut-off or drowned MemDS host) is sent
again, for its misses only, to the next MemDS host (those in the router's
AZ first), at most once per MemDS host; then the waiting requests are
answered ``unavailable``.  A stale-route answer needs no action here: the
next request's lookup brings the newer routing, once the storage node's
push has reached MemDS (``routing.memds_propagation_s``).
"""
from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from ddbsim.config import RoutingConfig
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.messages import MemDSAnswer, MemDSLookup, Message, RouteRow
from ddbsim.service.metadata.partition_map import PartitionInfo
from ddbsim.service.routing.route_cache import Waiter, info_of
from ddbsim.world.region import World
from ddbsim.world.scheduling import Deadlines, call_later
from ddbsim.world.topology import Host, local_first


class _Batch:
    __slots__ = ("hashes", "waiters", "tries")

    def __init__(self, hashes: list[int], waiters: list[tuple[int, Waiter]], tries: int) -> None:
        self.hashes = hashes
        self.waiters = waiters  # (index in hashes, waiter) of the misses
        self.tries = tries


class ConstantWorkCache:
    kind = "constant_work"

    def __init__(self, host: Host, world: World, cfg: RoutingConfig, servers: Sequence[Host],
                 key_hash: Callable[[str], int], hooks: ServiceHooks) -> None:
        if not servers:
            raise ValueError("a constant-work router cache needs MemDS servers")
        self.host = host
        self.env = world.env
        self.net = world.network
        self.cfg = cfg
        self.key_hash = key_hash
        self.hooks = hooks
        self.servers = local_first(servers, host.az)
        self._server = 0  # the MemDS host in use; the next one after a timeout
        self._ids = itertools.count(1)
        self.hits = 0
        self.misses = 0
        self.lookups = 0
        self._clear()
        self._hashes: list[int] = []  # the lookups of the batch being gathered
        self._misses: list[tuple[int, Waiter]] = []
        self._armed = False
        self._inflight: dict[int, _Batch] = {}
        self._deadlines = Deadlines(self.env, cfg.memds_timeout_s, self._expired,
                                    pending=self._inflight)

    def _clear(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._infos: list[PartitionInfo] = []
        self._versions: list[int] = []
        self._at: dict[str, int] = {}

    # -- the RouteCache interface ------------------------------------------
    def lookup(self, key: str) -> PartitionInfo | None:
        h = self.key_hash(key)
        self._hashes.append(h)
        if not self._armed:
            self._armed = True
            call_later(self.env, self.cfg.memds_batch_s, self._send_batch)
        i = bisect_right(self._starts, h) - 1
        if i >= 0 and h < self._ends[i]:
            self.hits += 1
            return self._infos[i]
        self.misses += 1
        self.hooks.route_missed(self.env._now, self.host.id)  # type: ignore[attr-defined]
        return None

    def wait(self, key: str, waiter: Waiter) -> None:
        # the lookup just made (the last of the batch) answers it
        self._misses.append((len(self._hashes) - 1, waiter))

    def partition(self, pid: str) -> PartitionInfo | None:
        i = self._at.get(pid)
        return None if i is None else self._infos[i]

    def stale_route(self, pid: str) -> None:
        pass  # the next request's lookup refreshes it

    def flush(self) -> None:
        self._clear()

    def prime(self, rows: Sequence[RouteRow], age_fraction: float) -> None:
        for row in rows:
            self._install(row)

    def power_off(self) -> None:
        self._clear()
        self._hashes = []
        self._misses = []
        self._inflight.clear()
        self._deadlines.clear()

    def in_flight(self) -> int:
        return sum(len(batch.hashes) for batch in self._inflight.values())

    def receive(self, src: Host, msg: Message) -> None:
        CONSTANT_WORK_HANDLERS[type(msg)](self, src, msg)

    # ------------------------------------------------------------------
    def _send_batch(self) -> None:
        self._armed = False
        if not self.host.powered or not self._hashes:
            return
        batch = _Batch(self._hashes, self._misses, 1)
        self._hashes = []
        self._misses = []
        self._send(batch)

    def _send(self, batch: _Batch) -> None:
        batch_id = next(self._ids)
        self._inflight[batch_id] = batch
        self.lookups += len(batch.hashes)
        server = self.servers[self._server % len(self.servers)]
        self.net.send(self.host, server, MemDSLookup(batch_id, batch.hashes))
        self._deadlines.add(batch_id)

    def _expired(self, batch_id: int) -> None:
        batch = self._inflight.pop(batch_id, None)
        if batch is None:
            return
        self._server += 1  # that MemDS host did not answer: use the next one
        if not batch.waiters:
            return  # refreshes only: the next requests' lookups will do
        if batch.tries >= len(self.servers):
            for _i, waiter in batch.waiters:
                waiter(None)
            return
        hashes = [batch.hashes[i] for i, _w in batch.waiters]
        waiters = [(j, w) for j, (_i, w) in enumerate(batch.waiters)]
        self._send(_Batch(hashes, waiters, batch.tries + 1))

    def _install(self, row: RouteRow) -> int:
        """Keep ``row`` if it is newer than what the cache holds; its index."""
        pid = row[0]
        i = self._at.get(pid)
        if i is not None:
            if row[5] > self._versions[i]:
                self._infos[i] = info_of(row)
                self._versions[i] = row[5]
            return i
        i = bisect_right(self._starts, row[1])
        self._starts.insert(i, row[1])
        self._ends.insert(i, row[2])
        self._infos.insert(i, info_of(row))
        self._versions.insert(i, row[5])
        self._at = {info.pid: j for j, info in enumerate(self._infos)}
        return i

    def _on_answer(self, src: Host, msg: MemDSAnswer) -> None:
        batch = self._inflight.pop(msg.batch_id, None)
        if batch is None:
            return  # answered after its timeout: sent again already
        rows = msg.rows
        # Many lookups of a batch share a row (MemDS answers with the one
        # tuple it holds per partition): install each distinct row once, in
        # the order first seen.
        for row in {id(r): r for r in rows}.values():
            self._install(row)
        for i, waiter in batch.waiters:
            waiter(self._infos[self._at[rows[i][0]]])


#: What a constant-work cache does with each message, by type.
CONSTANT_WORK_HANDLERS: dict[type, Callable[[ConstantWorkCache, Host, Any], None]] = {
    MemDSAnswer: ConstantWorkCache._on_answer,
}
