"""The metadata table's servers: the authoritative partition map, served
with a real cost.

Paper §6.6: the partition map lives in a metadata table; the original
request routers downloaded a table's whole routing from it when their cache
missed.  The table is a capacity-limited service: each metadata host has
``routing.metadata_servers`` request handlers, and a whole-table download
keeps one busy for ``routing.metadata_row_s`` per partition row (times the
host's slowdown: a brownout that leaves a fraction f of the capacity is a
slowdown of 1/f, see :mod:`ddbsim.lab.faults`).
Requests wait their turn in FIFO order (the handlers' next free times kept
as a heap, as :class:`~ddbsim.world.queueing.ServiceQueue` does), so an
overload shows as a growing queue: longer and longer downloads, lookups
that time out at the router, work done for callers that already gave up --
never as a cap on what is accepted.  The service time is deterministic
(the work is a scan of the rows, not a random amount): what varies is the
wait.

The content served is the authoritative map as it is when the download
request arrives (:meth:`~ddbsim.service.metadata.partition_map.PartitionMap.rows`);
storage nodes' changes reach it at once (the metadata table is itself a
replicated table; its write path is not modelled).
"""
from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Protocol

from ddbsim.config import RoutingConfig
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.messages import Message, RouteRow, RoutingDownload, RoutingTable
from ddbsim.world.region import World
from ddbsim.world.topology import Host


class RouteRows(Protocol):
    """What a metadata server reads: the authoritative map's rows."""

    def rows(self) -> list[RouteRow]: ...


class MetadataTableServer:
    """One metadata-table host: FIFO handlers with deterministic service."""

    def __init__(self, host: Host, world: World, cfg: RoutingConfig, table: RouteRows,
                 hooks: ServiceHooks) -> None:
        self.host = host
        self.env = world.env
        self.net = world.network
        self.cfg = cfg
        self.table = table
        self.hooks = hooks
        self._free_at = [0.0] * cfg.metadata_servers
        self.served = 0
        host.listen(on_off=self._power_off)
        self.net.register(host, self.receive)

    def _power_off(self, _host: Host) -> None:
        self._free_at = [0.0] * self.cfg.metadata_servers


    def reserve(self, work_s: float) -> float:
        """Queue ``work_s`` of work arriving now; the delay until it is done."""
        now = self.env.now
        free = heapq.heappop(self._free_at)
        start = free if free > now else now
        done = start + work_s * self.host.slowdown
        heapq.heappush(self._free_at, done)
        return done - now

    def backlog_s(self) -> float:
        """How long a request arriving now would wait before it is served."""
        return max(0.0, min(self._free_at) - self.env.now)

    def receive(self, src: Host, msg: Message) -> None:
        METADATA_HANDLERS[type(msg)](self, src, msg)

    def _on_download(self, src: Host, msg: RoutingDownload) -> None:
        self.hooks.routing_load(self.env.now, "metadata", 1)
        rows = self.table.rows()
        after_s = self.reserve(len(rows) * self.cfg.metadata_row_s)
        self.served += 1
        self.net.send(self.host, src, RoutingTable(msg.lookup_id, rows), after_s)


#: What a metadata-table server does with each message, by type.
METADATA_HANDLERS: dict[type, Callable[[MetadataTableServer, Host, Any], None]] = {
    RoutingDownload: MetadataTableServer._on_download,
}
