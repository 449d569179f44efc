"""The service of one region: storage nodes, routers, partitions, healing.

Builds a table's partitions on the storage hosts (three replicas in three
AZs, paper §3), elects the first leaders by fiat (round-robin over the AZs,
as if the table had been running), starts every node's heartbeats, and
puts a request router on every router host.
"""
from __future__ import annotations

import itertools

from ddbsim.config import Config
from ddbsim.service.bugs import KNOWN_BUGS
from ddbsim.service.healing import Healing
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.partition_map import PartitionMap
from ddbsim.service.paxos import LEADER, Member
from ddbsim.service.placement import Placement
from ddbsim.service.replica import STORAGE, Members, ReplicaState
from ddbsim.service.router import Router
from ddbsim.service.storage_node import StorageNode
from ddbsim.world.region import World


class Service:
    def __init__(self, world: World, cfg: Config, hooks: ServiceHooks | None = None) -> None:
        self.world = world
        self.cfg = cfg
        self.hooks = hooks or ServiceHooks()
        self.bugs: set[str] = set()
        self._ids = itertools.count(1)
        topo = world.topology
        self.partition_map = PartitionMap(cfg.table.name, cfg.table.partitions)
        self.nodes: dict[str, StorageNode] = {
            h.id: StorageNode(self, h) for h in topo.of_kind("storage")}
        self.placement = Placement(topo, load=lambda h: len(self.nodes[h].members),
                                   holds=lambda h, pid: pid in self.nodes[h].members)
        self.healing = Healing(self)
        self.routers: dict[str, Router] = {
            h.id: Router(self, h, self.partition_map) for h in topo.of_kind("router")}
        self._place_partitions()
        for node in self.nodes.values():
            node.start()

    def _place_partitions(self) -> None:
        replicas = self.cfg.replication.replicas
        for index, info in enumerate(self.partition_map):
            hosts = self.placement.initial(index, replicas)
            members = tuple((h.id, STORAGE) for h in hosts)
            leader_host = hosts[0].id
            ballot = (1, leader_host)
            for h in hosts:
                state = ReplicaState(info.pid, h.id, STORAGE, members)
                state.promise(ballot)
                state.promise_persisted(ballot)
                member = self.nodes[h.id].add_replica(state)
                if h.id == leader_host:
                    self._crown(member, ballot, [x.id for x in hosts if x.id != leader_host])
            self.partition_map.set_members(info.pid, members)
            self.partition_map.set_leader(info.pid, leader_host)

    def _crown(self, member: Member, ballot: tuple[int, str], followers: list[str]) -> None:
        member.role = LEADER
        member.active = True
        member.ballot = ballot
        member.next_lsn = 1
        member.supporters = set(followers)
        self.hooks.leader_elected(self.world.now, member.pid, ballot, member.me)

    # ------------------------------------------------------------------
    def next_id(self) -> int:
        return next(self._ids)

    def inject_bug(self, name: str) -> None:
        """Switch on a deliberate protocol bug (tests only)."""
        if name not in KNOWN_BUGS:
            raise ValueError(f"unknown bug {name!r}; known: {', '.join(sorted(KNOWN_BUGS))}")
        self.bugs.add(name)

    def members_of(self, pid: str) -> list[Member]:
        """The replicas of ``pid`` in the membership the partition map names."""
        return self._replicas(pid, self.partition_map.partition(pid).members)

    def replicas_in_config(self, member: Member) -> list[Member]:
        """The replicas of ``member``'s partition in the membership it knows."""
        return self._replicas(member.pid, member.state.config)

    def _replicas(self, pid: str, members: Members) -> list[Member]:
        out = []
        for host, _kind in members:
            replica = self.nodes[host].members.get(pid)
            if replica is not None:
                out.append(replica)
        return out

    def leader_of(self, pid: str) -> Member | None:
        leaders = [m for node in self.nodes.values()
                   for m in [node.members.get(pid)] if m is not None and m.is_leader]
        return max(leaders, key=lambda m: m.ballot) if leaders else None
