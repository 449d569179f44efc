"""MemDS: an in-memory, replicated store of the whole partition map.

Paper §6.6: to take the metadata table off the request path, DynamoDB built
MemDS, a fleet of servers each holding the whole partition map in memory,
answering *floor* lookups (the partition whose start hash is the greatest
not above a key's hash; a ceiling search is there for range scans) and kept
current by the storage nodes, which push membership and leader changes to
it.  Here:

* :class:`MemDSServer` -- one MemDS host.  It holds every partition's
  routing row sorted by start hash and answers a batch of floor lookups
  (:class:`~ddbsim.service.messages.MemDSLookup`) after queueing for
  ``routing.memds_lookup_s`` per lookup (its ``routing.memds_servers``
  handlers, FIFO: a :class:`~ddbsim.world.queueing.ServiceQueue`
  reservation of the batch's lookups' work, so its load is proportional to
  lookups, not batches).  It applies a
  :class:`~ddbsim.service.messages.RouteUpdate` only if its version is newer
  than the row it holds (updates may arrive out of order).  A MemDS host
  that reboots loads the map afresh, and every ``routing.memds_refresh_s``
  each host re-reads the whole map (anti-entropy, so that a push it missed
  is mended); both are reads of the metadata table not modelled as its
  traffic.
* :class:`RoutePublisher` -- the control plane as storage nodes see it
  (:class:`~ddbsim.service.storage.node.ControlPlane`): a leader change or a
  committed membership updates the authoritative map at once and is pushed,
  as a message from the storage node's host, to every MemDS host, leaving
  ``routing.memds_propagation_s`` later (the replication of MemDS is folded
  into that delay).  A message lost (a cut, a dead MemDS host) leaves that
  host stale until the partition's next change -- the routers' stale-route
  answers cover the gap.  A split is pushed the same way
  (:class:`~ddbsim.service.messages.RouteSplit`: the parent's row gives way
  to its children's), so that constant-work routers find the children after
  the propagation delay rather than at MemDS's next re-read.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from ddbsim.config import RoutingConfig
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import Members
from ddbsim.service.messages import (
    MemDSAnswer,
    MemDSLookup,
    Message,
    RouteRow,
    RouteSplit,
    RouteUpdate,
)
from ddbsim.service.metadata.partition_map import PartitionMap
from ddbsim.world.queueing import ServiceQueue
from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later
from ddbsim.world.topology import Host


class RouteIndex:
    """Routing rows sorted by start hash, with floor and ceiling lookups."""

    def __init__(self, rows: Sequence[RouteRow] = ()) -> None:
        self.load(rows)

    def load(self, rows: Sequence[RouteRow]) -> None:
        ordered = sorted(rows, key=lambda r: r[1])
        self._starts = [r[1] for r in ordered]
        self._rows: list[RouteRow] = list(ordered)
        self._at = {r[0]: i for i, r in enumerate(ordered)}

    def __len__(self) -> int:
        return len(self._rows)

    def floor(self, h: int) -> RouteRow | None:
        """The row of the partition with the greatest start hash <= ``h``."""
        i = bisect_right(self._starts, h) - 1
        return self._rows[i] if i >= 0 else None

    def ceiling(self, h: int) -> RouteRow | None:
        """The row of the partition with the least start hash >= ``h``."""
        i = bisect_left(self._starts, h)
        return self._rows[i] if i < len(self._rows) else None

    def row(self, pid: str) -> RouteRow | None:
        i = self._at.get(pid)
        return None if i is None else self._rows[i]

    def update(self, pid: str, members: Members, leader: str | None, version: int) -> bool:
        """Apply a change if it is newer than the row held; whether it was."""
        i = self._at.get(pid)
        if i is None:
            return False
        old = self._rows[i]
        if version <= old[5]:
            return False
        self._rows[i] = (pid, old[1], old[2], members, leader, version)
        return True

    def split(self, parent: str, rows: Sequence[RouteRow]) -> bool:
        """``parent`` gave way to the children of ``rows``: whether that
        changed the index (a re-read of the map may have brought them
        already; then each child row is applied as an update)."""
        i = self._at.get(parent)
        if i is None:
            for row in rows:
                self.update(row[0], row[3], row[4], row[5])
            return False
        self.load(self._rows[:i] + list(rows) + self._rows[i + 1:])  # rare: rebuild
        return True


class MemDSServer:
    def __init__(self, host: Host, world: World, cfg: RoutingConfig, source: PartitionMap,
                 hooks: ServiceHooks) -> None:
        self.host = host
        self.env = world.env
        self.net = world.network
        self.cfg = cfg
        self.source = source
        self.hooks = hooks
        self.index = RouteIndex()
        self.queue = ServiceQueue(self.env, cfg.memds_servers, cfg.memds_lookup_s,
                                  world.streams.draws(f"memds/{host.id}/queue"), host)
        self.lookups = 0
        host.listen(on_off=self._power_off, on_on=self._power_on)
        self.net.register(host, self.receive)

    def load(self) -> None:
        """Load the whole map (at start, and when the host boots)."""
        self.index.load(self.source.rows())

    def start_refresh(self) -> None:
        """Re-read the whole map every ``routing.memds_refresh_s``."""
        call_later(self.env, self.cfg.memds_refresh_s, self._refresh)

    def _refresh(self) -> None:
        if self.host.powered:
            self.load()
        call_later(self.env, self.cfg.memds_refresh_s, self._refresh)

    def _power_off(self, _host: Host) -> None:
        self.queue.reset()
        self.index.load(())

    def _power_on(self, _host: Host) -> None:
        self.load()


    def receive(self, src: Host, msg: Message) -> None:
        MEMDS_HANDLERS[type(msg)](self, src, msg)

    def _on_lookup(self, src: Host, msg: MemDSLookup) -> None:
        n = len(msg.hashes)
        self.lookups += n
        self.hooks.routing_load(self.env.now, "memds", n)
        after_s = self.queue.reserve(n)
        floor = self.index.floor
        rows = [floor(h) for h in msg.hashes]
        if None in rows:
            return  # an empty index (just booted): no answer; the router asks another
        self.net.send(self.host, src, MemDSAnswer(msg.batch_id, rows), after_s)  # type: ignore[arg-type]

    def _on_update(self, src: Host, msg: RouteUpdate) -> None:
        self.index.update(msg.pid, msg.members, msg.leader, msg.version)

    def _on_split(self, src: Host, msg: RouteSplit) -> None:
        self.index.split(msg.parent, msg.rows)


#: What a MemDS server does with each message, by type.
MEMDS_HANDLERS: dict[type, Callable[[MemDSServer, Host, Any], None]] = {
    MemDSLookup: MemDSServer._on_lookup,
    RouteUpdate: MemDSServer._on_update,
    RouteSplit: MemDSServer._on_split,
}


class RoutePublisher:
    """The control plane of the storage nodes (see the module docstring):
    the authoritative map at once, MemDS after the propagation delay."""

    def __init__(self, world: World, cfg: RoutingConfig, partition_map: PartitionMap,
                 memds_hosts: Sequence[Host], publish: bool) -> None:
        self._map = partition_map
        self._net = world.network
        self._hosts = world.topology.hosts
        self._memds = list(memds_hosts)
        self._delay_s = cfg.memds_propagation_s
        # With routing.cache = direct nobody reads MemDS: nothing is pushed
        # (so the network's draws are those of a region without MemDS).
        self._publish = publish

    def leader_changed(self, pid: str, host_id: str) -> None:
        self._map.set_leader(pid, host_id)
        self._push(pid, host_id)

    def membership_committed(self, pid: str, members: Members) -> None:
        self._map.set_members(pid, members)
        leader = self._map.partition(pid).leader
        if leader is not None:
            self._push(pid, leader)

    def partition_split(self, parent: str, children: Sequence[str]) -> None:
        """The map already holds ``parent``'s children (the split wrote it):
        push their rows to every MemDS host, from the children's leader."""
        if not self._publish:
            return
        rows = [self._map.row(child) for child in children]
        leader = rows[0][4]
        if leader is None:
            return  # nobody to send it: MemDS's re-read of the map brings it
        src = self._hosts[leader]
        for dst in self._memds:
            self._net.send(src, dst, RouteSplit(parent, rows), self._delay_s)

    def _push(self, pid: str, from_host: str) -> None:
        if not self._publish:
            return
        info = self._map.partition(pid)
        src = self._hosts[from_host]
        version = self._map.version(pid)
        for dst in self._memds:
            self._net.send(src, dst, RouteUpdate(pid, info.members, info.leader, version),
                           self._delay_s)
