"""The router cache seam: how a request router finds a key's partition.

Paper §6.6.  A router looks a key up in its cache; the cache either answers
at once (a hit) or starts a lookup over the network and calls the router
back when the routing arrives (or with None when it could not be had, and
the router answers the client ``unavailable``).  The router also tells the
cache when a storage node said the routing was stale (a ``not_leader``
answer, with the leader it knows where it knows one) or did not answer, and
the lab can flush a cache (a fleet restart or deployment).  Three caches sit
behind this one interface, chosen by ``routing.cache``:

* ``direct`` (:class:`DirectRoutes`) -- the authoritative map itself, read
  in zero time: the idealised router of the earlier model, and the default
  (see :class:`~ddbsim.config.RoutingConfig` for why);
* ``bimodal`` (:mod:`ddbsim.service.routing.cache_bimodal`) -- the original
  design: whole-table downloads from the metadata table;
* ``constant_work`` (:mod:`ddbsim.service.routing.cache_constant_work`) --
  the MemDS design: an asynchronous MemDS lookup on every request.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ddbsim.service.messages import Message, RouteRow
from ddbsim.service.metadata.partition_map import PartitionInfo, PartitionMap
from ddbsim.world.topology import Host

#: Called with the routing a missed lookup found (None: it could not be had).
Waiter = Callable[[PartitionInfo | None], None]


class RouteCache(Protocol):
    """What a router asks of its cache (see the module docstring)."""

    #: the cache's kind: direct, bimodal or constant_work
    kind: str
    hits: int
    misses: int

    def lookup(self, key: str) -> PartitionInfo | None:
        """The routing of ``key``'s partition now, or None (a miss): then
        the caller hands :meth:`wait` the waiter of that request."""

    def wait(self, key: str, waiter: Waiter) -> None:
        """After a miss of ``key``: call ``waiter`` with its routing when it
        arrives (or with None).  (Two calls, so that a hit -- nearly every
        request -- makes no waiter.)"""

    def partition(self, pid: str) -> PartitionInfo | None:
        """The routing of ``pid`` the cache holds, if any."""

    def stale_route(self, pid: str) -> None:
        """A storage node said the routing of ``pid`` was stale, or the
        leader it names did not answer."""

    def flush(self) -> None:
        """Forget every entry (a router restart or deployment)."""

    def prime(self, rows: Sequence[RouteRow], age_fraction: float) -> None:
        """Start warm, as if the router had been running: the cache holds
        ``rows``, downloaded ``age_fraction`` of a refresh period ago."""

    def power_off(self) -> None:
        """The router host lost power: everything volatile is gone."""

    def in_flight(self) -> int:
        """Lookups the cache still waits on: sent, and neither answered nor
        given up on yet."""

    def receive(self, src: Host, msg: Message) -> None:
        """An answer from a routing metadata server."""


class DirectRoutes:
    """The authoritative map, read in zero time (``routing.cache = direct``).

    The router reads :meth:`PartitionMap.partition_for` itself on its hot
    path; this class is the same source behind the cache interface."""

    kind = "direct"

    def __init__(self, partition_map: PartitionMap) -> None:
        self.map = partition_map
        self.hits = 0
        self.misses = 0

    def lookup(self, key: str) -> PartitionInfo | None:
        return self.map.partition_for(key)

    def wait(self, key: str, waiter: Waiter) -> None:
        waiter(self.map.partition_for(key))

    def partition(self, pid: str) -> PartitionInfo | None:
        return self.map.partition(pid)

    def stale_route(self, pid: str) -> None:
        pass

    def flush(self) -> None:
        pass

    def prime(self, rows: Sequence[RouteRow], age_fraction: float) -> None:
        pass

    def power_off(self) -> None:
        pass

    def in_flight(self) -> int:
        return 0

    def receive(self, src: Host, msg: Message) -> None:
        raise TypeError(f"a direct router cache receives nothing, got {type(msg).__name__}")


def info_of(row: RouteRow) -> PartitionInfo:
    """A router's copy of one routing row."""
    pid, start, _end, members, leader, _version = row
    return PartitionInfo(pid, start, members, leader)
