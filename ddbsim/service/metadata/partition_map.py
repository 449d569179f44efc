"""The authoritative partition map, and the seam routers look it up through.

Paper §3 and §6.6: a table is split into partitions by ranges of the hash of
the partition key; a router finds a key's partition by a *floor* search over
the partitions' start hashes, then the partition's replicas and leader.

In this model the map is updated at once when a leader takes over or a
membership change commits (the storage node's word to the control plane),
and when autoadmin splits a partition for consumption (paper §4.4): the
parent's entry gives way to its two children, split at a hash.  It is the
content of the metadata table.  Every change bumps the partition's routing
*version*, so that copies of the map (MemDS, router caches) can tell newer
routing from older.  A router with ``routing.cache = direct`` reads it
through :class:`RoutingSource` in zero time; the bimodal and constant-work
caches (:mod:`ddbsim.service.routing.route_cache`) reach it only through the
metadata table and MemDS servers, over the network, as :meth:`PartitionMap.rows`.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Protocol

from sortedcontainers import SortedDict

from ddbsim.service.membership import STORAGE, Members
from ddbsim.service.messages import RouteRow
from ddbsim.service.metadata.hashing import HASH_SPACE, key_hash


class PartitionInfo:
    __slots__ = ("pid", "start_hash", "_members", "leader", "_storage_hosts")

    def __init__(self, pid: str, start_hash: int, members: Members, leader: str | None) -> None:
        self.pid = pid
        self.start_hash = start_hash
        self.members = members
        self.leader = leader

    @property
    def members(self) -> Members:
        return self._members

    @members.setter
    def members(self, members: Members) -> None:
        self._members = members
        self._storage_hosts = tuple(h for h, kind in members if kind == STORAGE)

    def storage_hosts(self) -> tuple[str, ...]:
        """The hosts of its storage replicas (those that serve reads)."""
        return self._storage_hosts


class RoutingSource(Protocol):
    def partition_for(self, key: str) -> PartitionInfo: ...

    def partition(self, pid: str) -> PartitionInfo: ...


class PartitionMap:
    """Partitions by start hash, with their membership and leader."""

    def __init__(self, table: str, partitions: int) -> None:
        if partitions < 1:
            raise ValueError("a table needs at least one partition")
        self.table = table
        self._by_start: SortedDict = SortedDict()
        self._by_pid: dict[str, PartitionInfo] = {}
        self._load: dict[str, int] = {}  # host -> replicas the map places there
        self._hashes: dict[str, int] = {}  # key -> its hash (a key's hash never changes)
        self._versions: dict[str, int] = {}  # pid -> routing version, bumped by every change
        step = HASH_SPACE // partitions
        for i in range(partitions):
            info = PartitionInfo(f"p-{i:04d}", i * step, (), None)
            self._by_start[info.start_hash] = info
            self._by_pid[info.pid] = info
        self._index()

    def _index(self) -> None:
        """Plain lists of the start hashes and their partitions, in order,
        for the floor search every request makes (``bisect`` on a list)."""
        self._starts: list[int] = list(self._by_start.keys())
        self._infos: list[PartitionInfo] = list(self._by_start.values())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_start.values())

    def __len__(self) -> int:
        return len(self._by_pid)

    def pids(self) -> list[str]:
        return [info.pid for info in self._by_start.values()]

    def partition_for(self, key: str) -> PartitionInfo:
        h = self._hashes.get(key)
        if h is None:
            h = self._hashes[key] = key_hash(key)
        return self._infos[bisect_right(self._starts, h) - 1]

    def partition_for_hash(self, h: int) -> PartitionInfo:
        return self._infos[bisect_right(self._starts, h) - 1]

    def partition(self, pid: str) -> PartitionInfo:
        return self._by_pid[pid]

    def __contains__(self, pid: object) -> bool:
        return pid in self._by_pid

    def end_hash(self, pid: str) -> int:
        """Where ``pid``'s hash range ends (exclusive)."""
        i = self._infos.index(self._by_pid[pid])
        return self._starts[i + 1] if i + 1 < len(self._starts) else HASH_SPACE

    def split(self, pid: str, at_hash: int, children: tuple[str, str]) -> None:
        """``pid`` is split at ``at_hash``: ``children[0]`` takes its range
        below, ``children[1]`` from ``at_hash`` on, both with its membership
        and leader."""
        info = self._by_pid[pid]
        if not info.start_hash < at_hash < self.end_hash(pid):
            raise ValueError(f"split point {at_hash} is not inside {pid}'s range")
        del self._by_pid[pid]
        del self._by_start[info.start_hash]
        for host, _kind in info.members:
            self._load[host] -= 1
        for child, start in zip(children, (info.start_hash, at_hash), strict=True):
            kid = PartitionInfo(child, start, (), info.leader)
            self._by_start[start] = kid
            self._by_pid[child] = kid
            self.set_members(child, info.members)
        self._index()

    def set_members(self, pid: str, members: Members) -> None:
        info = self._by_pid[pid]
        load = self._load
        for host, _kind in info.members:
            load[host] -= 1
        for host, _kind in members:
            load[host] = load.get(host, 0) + 1
        info.members = members
        self._versions[pid] = self._versions.get(pid, 0) + 1

    def load(self, host: str) -> int:
        """How many partitions have a member on ``host``."""
        return self._load.get(host, 0)

    def holds(self, host: str, pid: str) -> bool:
        """Whether ``host`` is a member of ``pid``."""
        return any(h == host for h, _ in self._by_pid[pid].members)

    def set_leader(self, pid: str, host: str | None) -> None:
        self._by_pid[pid].leader = host
        self._versions[pid] = self._versions.get(pid, 0) + 1

    def key_hash(self, key: str) -> int:
        """The hash of ``key`` (remembered: a key's hash never changes)."""
        h = self._hashes.get(key)
        if h is None:
            h = self._hashes[key] = key_hash(key)
        return h

    def version(self, pid: str) -> int:
        """``pid``'s routing version: how many changes it has seen."""
        return self._versions.get(pid, 0)

    def row(self, pid: str) -> RouteRow:
        """``pid``'s routing as the metadata servers send it."""
        info = self._by_pid[pid]
        i = self._starts.index(info.start_hash)
        end = self._starts[i + 1] if i + 1 < len(self._starts) else HASH_SPACE
        return (pid, info.start_hash, end, info.members, info.leader, self._versions.get(pid, 0))

    def rows(self) -> list[RouteRow]:
        """Every partition's routing, in hash order (a whole-table download)."""
        starts = self._starts
        versions = self._versions
        out: list[RouteRow] = []
        for i, info in enumerate(self._infos):
            end = starts[i + 1] if i + 1 < len(starts) else HASH_SPACE
            out.append((info.pid, info.start_hash, end, info.members, info.leader,
                        versions.get(info.pid, 0)))
        return out
