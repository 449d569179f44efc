"""The service of one region, composed: storage nodes, routers, partitions.

Builds a table's partitions on the storage hosts (three replicas in three
AZs, paper §3), makes the first replica of each partition its leader by
fiat (round-robin over the AZs, as if the table had been running), starts
every node's heartbeats, and puts a request router on every router host.

:class:`Service` only wires components together -- each is handed the
collaborators it needs (the world's clock and network, its config section,
the hooks, the partition map as a routing source or a control plane), never
the service itself -- and offers the lab read-only views for its checks.
"""
from __future__ import annotations

from ddbsim.config import Config
from ddbsim.service.autoadmin.placement import Placement
from ddbsim.service.bugs import Bugs
from ddbsim.service.fault_points import FaultPoints
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE, Members
from ddbsim.service.metadata.partition_map import PartitionMap
from ddbsim.service.object_store import STORE_HOST, ObjectStore
from ddbsim.service.routing.router import Router
from ddbsim.service.storage.node import StorageNode
from ddbsim.service.storage.paxos import Member
from ddbsim.service.storage.replica import ALWAYS
from ddbsim.world.region import World


class _MapControlPlane:
    """The control plane as storage nodes see it: today their word updates
    the authoritative partition map at once."""

    def __init__(self, partition_map: PartitionMap) -> None:
        self._map = partition_map

    def leader_changed(self, pid: str, host_id: str) -> None:
        self._map.set_leader(pid, host_id)

    def membership_committed(self, pid: str, members: Members) -> None:
        self._map.set_members(pid, members)


class Service:
    def __init__(self, world: World, cfg: Config, hooks: ServiceHooks | None = None) -> None:
        self.world = world
        self.cfg = cfg
        self.hooks = hooks or ServiceHooks()
        self.bugs = Bugs()
        #: where the nemesis reaches into the service (traps, buggify points)
        self.fault_points = FaultPoints()
        topo = world.topology
        self.partition_map = PartitionMap(cfg.table.name, cfg.table.partitions)
        control = _MapControlPlane(self.partition_map)
        self.placement = Placement(topo, load=self.partition_map.load,
                                   holds=self.partition_map.holds)
        pmap = self.partition_map

        def partition_of(key: str) -> str:
            return pmap.partition_for(key).pid

        self.nodes: dict[str, StorageNode] = {
            h.id: StorageNode(h, world, cfg, self.hooks, self.bugs, control, self.placement,
                              partition_of, self.fault_points)
            for h in topo.of_kind("storage")}
        #: the S3-like archive of every partition's WAL (paper §5.1)
        self.object_store = ObjectStore(topo.hosts[STORE_HOST], world, cfg.durability)
        self.routers: dict[str, Router] = {
            h.id: Router(h, world, cfg.router, self.partition_map) for h in topo.of_kind("router")}
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
                node = self.nodes[h.id]
                state = node.new_state(info.pid, STORAGE, members)
                state.promise(ballot, ALWAYS)
                member = node.add_replica(state)
                if h.id == leader_host:
                    member.assume_leadership(ballot, [x.id for x in hosts if x.id != leader_host])
            self.partition_map.set_members(info.pid, members)
            self.partition_map.set_leader(info.pid, leader_host)

    # ------------------------------------------------------------------
    def inject_bug(self, name: str) -> None:
        """Switch on a deliberate protocol bug (tests only)."""
        self.bugs.enable(name)

    # -- read-only views for the lab's checks and role targets ------------
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
