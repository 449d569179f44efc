"""The service of one region, composed: storage nodes, routers, partitions.

Builds a table's partitions on the storage hosts (three replicas in three
AZs, paper §3), makes the first replica of each partition its leader by
fiat (round-robin over the AZs, as if the table had been running), starts
every node's heartbeats, and puts a request router on every router host,
with the router cache ``routing.cache`` names; the metadata table's
servers and the MemDS fleet run on their own hosts (paper §6.6), and the
caches start warm, as if the region had been running.  With admission
control on (``admission.policy``), it also sizes the table for its
provisioned throughput (legacy allocation, which may double the partition
count), gives every storage node its admission state, starts adaptive
capacity, and puts a GAC server on every GAC host and GAC tokens in every
router (:mod:`ddbsim.service.admission`).

:class:`Service` only wires components together -- each is handed the
collaborators it needs (the world's clock and network, its config section,
the hooks, the partition map as a routing source or a control plane), never
the service itself -- and offers the lab read-only views for its checks.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from sortedcontainers import SortedDict

from ddbsim.config import Config
from ddbsim.service.admission.adaptive import AdaptiveCapacity
from ddbsim.service.admission.allocation import Allocation, grown
from ddbsim.service.admission.gac import GacRing, GacServer
from ddbsim.service.admission.on_demand import OnDemandCapacity
from ddbsim.service.admission.policy import Policy
from ddbsim.service.admission.router_tokens import RouterTokens
from ddbsim.service.admission.storage import StorageAdmission
from ddbsim.service.autoadmin.placement import Placement
from ddbsim.service.autoadmin.split import SplitForConsumption, children_of
from ddbsim.service.bugs import Bugs
from ddbsim.service.fault_points import FaultPoints
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE, Ballot, Members
from ddbsim.service.metadata.hashing import key_hash
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
        self.policy = Policy(cfg.admission.policy)
        #: the table's partitions at the start (legacy allocation may double table.partitions)
        self.initial_partitions = self._partition_count()
        self.partition_map = PartitionMap(cfg.table.name, self.initial_partitions)
        routing = cfg.routing
        self.metadata_servers = {
            h.id: MetadataTableServer(h, world, routing, self.partition_map, self.hooks)
            for h in topo.of_kind("metadata")}
        memds_hosts = topo.of_kind("memds")
        self.memds = {h.id: MemDSServer(h, world, routing, self.partition_map, self.hooks)
                      for h in memds_hosts}
        control = RoutePublisher(world, routing, self.partition_map, memds_hosts,
                                 publish=routing.cache == "constant_work")
        self._publisher = control
        self.placement = Placement(topo, load=self.partition_map.load,
                                   holds=self.partition_map.holds)
        adm = cfg.admission
        #: each partition's allocated rates (None without admission control)
        self.allocation: Allocation | None = (
            Allocation(*self._capacity(), self.partition_map.pids(), adm.partition_max_rcu,
                       adm.partition_max_wcu)
            if self.policy.throttles else None)
        pmap = self.partition_map

        def partition_of(key: str) -> str:
            return pmap.partition_for(key).pid

        self.nodes: dict[str, StorageNode] = {
            h.id: StorageNode(h, world, cfg, self.hooks, self.bugs, control, self.placement,
                              partition_of=partition_of, points=self.fault_points,
                              admission=self._storage_admission(h.id))
            for h in topo.of_kind("storage")}
        #: the S3-like archive of every partition's WAL (paper §5.1)
        self.object_store = ObjectStore(topo.hosts[STORE_HOST], world, cfg.durability)
        self.routers: dict[str, Router] = {
            h.id: Router(h, world, cfg.router, self._cache(h)) for h in topo.of_kind("router")}
        #: routers built out of service, until add_routers brings them in
        self.standby_routers: set[str] = set(topo.standby_routers)
        self.adaptive: AdaptiveCapacity | None = None
        self.on_demand: OnDemandCapacity | None = None
        self.splitter: SplitForConsumption | None = None
        self.gac_servers: dict[str, GacServer] = {}
        self._start_admission()
        self._place_partitions()
        for memds in self.memds.values():
            memds.load()
            if routing.cache == "constant_work":
                memds.start_refresh()
        if routing.cache != "direct":
            # Warm caches, downloaded at uniformly random ages: the steady state.
            ages = world.streams.draws("routing/prime")
            rows = self.partition_map.rows()
            for rid, router in self.routers.items():
                if rid not in self.standby_routers:  # a standby router starts cold
                    router.cache.prime(rows, ages.uniform())
        for node in self.nodes.values():
            node.start()

    # -- admission control -------------------------------------------------
    def _capacity(self) -> tuple[float, float]:
        """The table's (RCU, WCU) to start with: provisioned, or for an
        on-demand table twice its initial peak."""
        table, adm = self.cfg.table, self.cfg.admission
        if table.mode == "on_demand":
            return 2 * adm.on_demand_peak_rcu, 2 * adm.on_demand_peak_wcu
        return table.provisioned_rcu, table.provisioned_wcu

    def _partition_count(self) -> int:
        """``table.partitions``; with admission control, doubled until the
        partitions can serve the table's throughput (paper §4)."""
        table, adm = self.cfg.table, self.cfg.admission
        if not self.policy.throttles:
            return table.partitions
        rcu, wcu = self._capacity()
        return grown(table.partitions, rcu, wcu, 0.0, adm.partition_max_rcu,
                     adm.partition_max_wcu, self.cfg.healing.partition_size_bytes)

    def _storage_admission(self, host_id: str) -> StorageAdmission | None:
        if self.allocation is None:
            return None
        return StorageAdmission(host_id, self.cfg.admission, self.policy, self.allocation)

    def _start_admission(self) -> None:
        if self.allocation is None:
            return
        adm = self.cfg.admission
        if self.cfg.table.mode == "on_demand":
            self.on_demand = OnDemandCapacity(self.world.env, adm, self.allocation,
                                              self.partition_counters)
            self.on_demand.start()
        if adm.split:
            self.splitter = SplitForConsumption(self.world.env, adm, self.partition_map,
                                                self.partition_counters, self.key_counts,
                                                self.split_partition)
            self.splitter.start()
        if self.policy.adaptive:
            self.adaptive = AdaptiveCapacity(self.world.env, adm, self.allocation,
                                             self.partition_counters)
            self.adaptive.start()
        if self.policy.gac:
            allocation = self.allocation
            self.gac_servers = {
                h.id: GacServer(h, self.world, adm,
                                lambda _table: (allocation.provisioned_rcu,
                                                allocation.provisioned_wcu))
                for h in self.world.topology.of_kind("gac")}
            ring = GacRing(list(self.gac_servers))
            for router in self.routers.values():
                router.tokens = RouterTokens(router.host, self.world, adm, self.cfg.table.name,
                                             ring, router._admitted)

    def partition_counters(self) -> dict[str, list[float]]:
        """Each partition's admission counters, summed over the storage nodes
        (see :mod:`ddbsim.service.admission.storage`): what the nodes report
        to the control plane."""
        return _summed(node.admission.counters for node in self.nodes.values()
                       if node.admission is not None)

    def key_counts(self) -> dict[str, dict[str, int]]:
        """Each partition's requests per key since the last call, summed over
        the storage nodes (what they report to autoadmin for splits)."""
        out: dict[str, dict[str, int]] = {}
        for node in self.nodes.values():
            if node.admission is None:
                continue
            for pid, counts in node.admission.take_key_counts().items():
                total = out.setdefault(pid, {})
                for key, n in counts.items():
                    total[key] = total.get(key, 0) + n
        return out

    def split_partition(self, pid: str, at_hash: int) -> str | None:
        """Cut ``pid`` over to two children split at ``at_hash`` (paper §4.4),
        or say why not now.  The children are new replication groups on the
        parent's hosts, each a copy of the leader's committed B-tree for its
        half, led by the parent's leader under its ballot; the parent's
        replicas retire, and the partition map, the allocation and the WAL
        archive (a snapshot of each child) learn the children.  The copy's
        minutes are spent before (autoadmin waits ``admission.split_copy_s``);
        the cut-over itself is one instant, as if the control plane had held
        the partition's writes for it."""
        leader = self.leader_of(pid)
        if leader is None or not leader.is_leader:
            return "no leader"
        st = leader.state
        members = st.config
        if (st.config_lsn > st.commit_lsn or len(members) != self.cfg.replication.replicas
                or any(kind != STORAGE for _h, kind in members)):
            return "its membership is changing"
        if st.applied_lsn != st.commit_lsn or st.btree is None:
            return "its leader has not applied every committed record"
        lnode = self.nodes[leader.me]
        hosts = [h for h, _kind in members]
        if any(h != leader.me and (not lnode.is_healthy(h) or h in lnode.suspected)
               for h in hosts):
            return "a replica is not healthy"
        low, high = SortedDict(), SortedDict()
        for key, item in st.btree.items():
            (low if key_hash(key) < at_hash else high)[key] = item
        # What the parent's leader proposed and has not committed never will
        # be: tell those routers at once, so they find the children now.
        for lsn, proposal in leader.proposals.items():
            if lsn > st.commit_lsn and proposal.origin is not None:
                src, op = proposal.origin
                lnode.reply(src, op, "not_leader")
                proposal.origin = None
        for host in hosts:
            self.nodes[host].retire(pid, "split")
        children = children_of(pid)
        for child, tree in zip(children, (low, high), strict=True):
            self._found_group(child, members, leader.me, leader.ballot, tree)
            self.object_store.seed(child, tree)
        self.partition_map.split(pid, at_hash, children)
        self._publisher.partition_split(pid, children)
        if self.allocation is not None:
            self.allocation.split(pid, children)
        return None

    def router_counters(self) -> dict[str, list[float]]:
        """Each partition's GAC counters, summed over the routers (see
        :mod:`ddbsim.service.admission.router_tokens`)."""
        return _summed(router.tokens.counters for router in self.routers.values()
                       if router.tokens is not None)

    def crashable(self, host_id: str) -> GacServer | None:
        """The component on ``host_id`` that a crash/restart fault acts on
        (a GAC server), if any."""
        return self.gac_servers.get(host_id)

    def buckets_of(self, pid: str) -> Mapping[str, float] | None:
        """The buckets of ``pid`` at its leader now, without changing them:
        allocated and burst tokens for reads and writes (None without
        admission control or a leader)."""
        leader = self.leader_of(pid)
        if leader is None or self.allocation is None:
            return None
        admission = self.nodes[leader.me].admission
        assert admission is not None
        now = self.world.env.now
        out: dict[str, float] = {}
        for kind, table in (("read", admission.reads), ("write", admission.writes)):
            pb = table.get(pid)
            if pb is not None:
                out[f"{kind}_allocated"], out[f"{kind}_burst"] = pb.levels(now)
        return out

    def _place_partitions(self) -> None:
        replicas = self.cfg.replication.replicas
        for index, info in enumerate(self.partition_map):
            hosts = self.placement.initial(index, replicas)
            members = tuple((h.id, STORAGE) for h in hosts)
            leader_host = hosts[0].id
            self._found_group(info.pid, members, leader_host, (1, leader_host))
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

    def add_routers(self, target: str) -> list[str]:
        """Bring standby routers into service (``target``: ``routers`` for
        every one, else an AZ, a rack or a router host): new router
        processes, their caches cold.  The ids brought in, in host order."""
        topo = self.world.topology
        named = ([topo.hosts[r] for r in topo.standby_routers] if target == "routers"
                 else topo.resolve(target))
        added = [h.id for h in named if h.id in self.standby_routers]
        for rid in added:
            self.standby_routers.discard(rid)
            self.routers[rid].cache.flush()
        return added

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
    def _found_group(self, pid: str, members: Members, leader_host: str, ballot: Ballot,
                     btree: SortedDict | None = None) -> None:
        """A new replication group of ``pid`` on the hosts of ``members``,
        every replica promised ``ballot`` and holding ``btree`` (a copy; empty
        if None), the one on ``leader_host`` leading by fiat."""
        hosts = [h for h, _kind in members]
        for host in hosts:
            node = self.nodes[host]
            state = node.new_state(pid, STORAGE, members)
            if btree is not None:
                state.install(0, SortedDict(btree), [])
            state.promise(ballot, ALWAYS)
            member = node.add_replica(state)
            if host == leader_host:
                member.assume_leadership(ballot, [h for h in hosts if h != host])

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


def _summed(counters: Iterable[Mapping[str, list[float]]]) -> dict[str, list[float]]:
    """Per-partition counters added up over the components that keep them."""
    out: dict[str, list[float]] = {}
    for per_partition in counters:
        for pid, c in per_partition.items():
            total = out.get(pid)
            if total is None:
                out[pid] = list(c)
            else:
                for i, x in enumerate(c):
                    total[i] += x
    return out
