"""The service of one region, composed: storage nodes, routers, partitions.

Builds a table's partitions on the storage hosts (three replicas in three
AZs, paper §3), makes the first replica of each partition its leader by
fiat (round-robin over the AZs, as if the table had been running), starts
every node's heartbeats, and puts a request router on every router host,
with the router cache ``routing.cache`` names; the metadata table's
servers and the MemDS fleet run on their own hosts (paper §6.6), and the
caches start warm, as if the region had been running.

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
from ddbsim.service.metadata.memds import MemDSServer, RoutePublisher
from ddbsim.service.metadata.metadata_table import MetadataTableServer
from ddbsim.service.metadata.partition_map import PartitionMap
from ddbsim.service.object_store import STORE_HOST, ObjectStore
from ddbsim.service.routing.cache_bimodal import BimodalCache
from ddbsim.service.routing.cache_constant_work import ConstantWorkCache
from ddbsim.service.routing.route_cache import RouteCache
from ddbsim.service.routing.router import Router
from ddbsim.service.storage.node import StorageNode
from ddbsim.service.storage.paxos import Member
from ddbsim.service.storage.replica import ALWAYS
from ddbsim.world.region import World
from ddbsim.world.topology import Host


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
        routing = cfg.routing
        self.metadata_servers = {
            h.id: MetadataTableServer(h, world, routing, self.partition_map, self.hooks)
            for h in topo.of_kind("metadata")}
        memds_hosts = topo.of_kind("memds")
        self.memds = {h.id: MemDSServer(h, world, routing, self.partition_map, self.hooks)
                      for h in memds_hosts}
        control = RoutePublisher(world, routing, self.partition_map, memds_hosts,
                                 publish=routing.cache == "constant_work")
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
            h.id: Router(h, world, cfg.router, self._cache(h)) for h in topo.of_kind("router")}
        self._place_partitions()
        for memds in self.memds.values():
            memds.load()
            if routing.cache == "constant_work":
                memds.start_refresh()
        if routing.cache != "direct":
            # Warm caches, downloaded at uniformly random ages: the steady state.
            ages = world.streams.draws("routing/prime")
            rows = self.partition_map.rows()
            for router in self.routers.values():
                router.cache.prime(rows, ages.uniform())
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

    def _cache(self, host: Host) -> PartitionMap | RouteCache:
        """The router cache ``routing.cache`` names, for the router on ``host``."""
        routing = self.cfg.routing
        topo = self.world.topology
        if routing.cache == "bimodal":
            return BimodalCache(host, self.world, routing, topo.of_kind("metadata"),
                                self.partition_map.key_hash, self.hooks)
        if routing.cache == "constant_work":
            return ConstantWorkCache(host, self.world, routing, topo.of_kind("memds"),
                                     self.partition_map.key_hash, self.hooks)
        return self.partition_map

    # -- mechanisms for the lab's faults ----------------------------------
    def flush_caches(self, router: str | None) -> None:
        """Every router's cache (None) or one router's forgets everything."""
        for rid, r in self.routers.items():
            if router is None or rid == router:
                r.cache.flush()

    def leader_storm(self, hosts: list[str]) -> int:
        """Every leader on ``hosts`` steps down (in partition order); how many did."""
        count = 0
        for host in hosts:
            node = self.nodes.get(host)
            if node is None or not node.host.powered:
                continue
            for pid in sorted(node.members):
                member = node.members[pid]
                if member.is_leader:
                    member.step_down("leader_storm")
                    count += 1
        return count

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
