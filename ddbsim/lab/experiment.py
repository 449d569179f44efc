"""Running experiments: :func:`run` (one scenario on one seed), :func:`run_all`
(variants on the same seed), and :class:`Run`, one run of a scenario, in
phases, from a seed to a :class:`~ddbsim.lab.result.Result`, which
:func:`build_result` assembles from the run's parts.  ``ddbsim.lab`` exports
``run`` and ``run_all``.

The shape of TigerBeetle's simulator and Jepsen: a **safety phase** (traffic
plus the fault schedule for ``duration_s``), then **heal** (every host on,
every link up and unimpaired, every slow host recovered; traffic stops),
**quiesce** (``run.quiesce_s``: elections, catch-up) while a **liveness
probe** strong-reads one key of every partition until each has answered,
then **final reads** (a strong read of every key ever written, retried until
it succeeds or ``run.final_read_timeout_s`` passes), then **settle**: the
run goes on (without traffic) until every partition's group is whole again
-- healing may be half-way through a rebuild that takes minutes -- or until
detection + log copy + rebuild + margin + a boot have passed since the heal;
and then the **checks** (:mod:`ddbsim.lab.checkers`):

* durability, convergence, single leader;
* liveness: every partition served a strong read within
  ``run.liveness_bound_s`` of the heal;
* placement: every partition ends with its storage replicas on distinct
  hosts, racks and AZs; healing: every lost replica was replaced (or says
  why not), and no log replica outstayed its bound;
* with ``metrics.history`` on, linearizability of strong reads and writes,
  and what eventual reads promise;
* with ``restore_at_s`` in the scenario, restore: the table restored from
  the archive as of each of those instants holds what the history allows
  there (:mod:`ddbsim.lab.restore`);
* with ``durability.scrub`` on, corruption: every bit rot injected was found
  and repaired, and nothing else was reported (:mod:`ddbsim.lab.corruption`).
  Before it, the run goes on (without traffic) until every injected
  corruption is found and repaired, for at most two scrub intervals and an
  archive interval.

A safety check that finds a problem fails, whatever the faults were, unless
the schedule went beyond what the design promises to survive (a nemesis with
its bound lifted, see :mod:`ddbsim.lab.nemesis`) *and* a fault in it
destroyed data (:data:`~ddbsim.lab.faults.DESTROYS_DATA`: a lost disk, bit
rot): then it reports ``valid: "unknown"`` with the note "data loss
expected", naming that fault.  Power and network faults never destroy a
disk, so under them -- bounded or not, a whole region powered off included --
the correct protocol must lose nothing.

A run also counts the code probes it hit (:mod:`ddbsim.service.probes`;
the result's ``probes``), and enables the fault points its nemesis drew
(:mod:`ddbsim.service.fault_points`; disabled at the heal).
"""
from __future__ import annotations

import itertools
import math
import numbers
import os
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any, Union

from ddbsim.config import Config
from ddbsim.lab.checkers import (
    ReplicaView,
    WriteLedger,
    check_archive,
    check_convergence,
    check_durability,
    check_healing,
    check_placement,
    check_single_leader,
)
from ddbsim.lab.checkers.linearizability import check_eventual_reads, check_linearizable
from ddbsim.lab.corruption import match as match_corruptions
from ddbsim.lab.faults import DESTROYS_DATA, UNDO_ACTIONS, Fault, FaultInjector, validate
from ddbsim.lab.history import History
from ddbsim.lab.metrics import (
    ERROR,
    OK,
    THROTTLED,
    THROTTLING_THRESHOLD,
    Figures,
    LatencyHistogram,
    Observation,
)
from ddbsim.lab.phases import BACKGROUND, Phase
from ddbsim.lab.restore import RestoredTable, restore_table, verify_restores
from ddbsim.lab.result import FIGURE_KEYS, Result
from ddbsim.lab.retry_modes import Standard
from ddbsim.lab.scenario import Scenario, ScenarioError, load_scenarios
from ddbsim.lab.throttling import AdmissionSeries, admission_data
from ddbsim.lab.workload import Client
from ddbsim.service import probes
from ddbsim.service.membership import LOG, STORAGE, Members
from ddbsim.service.messages import GET_STRONG, ClientReply, ClientRequest
from ddbsim.service.service import Service
from ddbsim.service.storage.digest import pick_bounds, range_digests
from ddbsim.service.storage.paxos import LEADER
from ddbsim.service.storage.replica import CorruptItem
from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later
from ddbsim.world.topology import Host

#: ``progress(phase, now_s)``: a run's phase ("traffic", "quiesce", "liveness
#: probe", "final reads", "settle", "checks") and its simulated time.
Progress = Callable[[str, float], None]
#: Wall seconds a progress slice aims at, and the bounds of its simulated length.
PROGRESS_WALL_S = 0.1
MIN_SLICE_S = 2.0 ** -10
MAX_SLICE_S = 64.0


class Run:
    def __init__(self, scenario: Scenario, cfg: Config, seed: int,
                 bugs: tuple[str, ...] = ()) -> None:
        self.scenario = scenario
        self.cfg = cfg
        self.seed = seed
        self._progress: Progress | None = None  # set by execute
        self.world = World(cfg, seed)
        # The figures only with metrics.enabled; the observation always.
        self.figures: Figures | None = (Figures(cfg.metrics.window_s, cfg.metrics.series_s,
                                                  cfg.metrics.traffic_series_s)
                                        if cfg.metrics.enabled else None)
        self.observation = Observation(self.figures)
        self.history: History | None = History() if cfg.metrics.history else None
        self.ledger = WriteLedger(compact=True)  # memory flat in the run's length
        # Request ids, unique in the run: clients on one host (the az-1
        # canary and the final reader) share its replies.
        self._request_ids = itertools.count(1)
        self.service = Service(self.world, cfg, hooks=self.observation)
        for bug in bugs:
            self.service.inject_bug(bug)
        topo = self.world.topology
        workers = [h for h in topo.of_kind("client") if not h.id.endswith("/canary")]
        rate = cfg.workload.rate_per_s / len(workers)
        phases = [(p, p.rate_per_s / len(workers)) for p in scenario.phases]
        self.clients = [self._client(h, rate, phases=phases) for h in workers]
        self.clients += [self._client(h, cfg.workload.canary_rate_per_s, canary=True)
                         for h in topo.of_kind("client") if h.id.endswith("/canary")]
        drawn = scenario.fault_schedule(self.world)
        #: what a nemesis drew (its swarm, whether it kept to the bound), if any
        self.nemesis: dict[str, Any] | None = getattr(drawn, "info", None)
        # An undo due after the traffic ends is done by the heal anyway.
        schedule = [f for f in drawn
                    if not (f.action in UNDO_ACTIONS and isinstance(f.t_s, numbers.Real)
                            and f.t_s > scenario.duration_s)]
        validate(schedule, self.world, scenario.duration_s,
                 self.service.partition_map.pids(), self.service.crashable)
        points = self.service.fault_points
        self.injector = FaultInjector(self.world, self._role_host, self._group_hosts,
                                      arm=points.arm, quiet=points.quiet, routing=self.service,
                                      crashable=self.service.crashable,
                                      routers_added=self._routers_added)
        self.injector.schedule(schedule)
        enabled = (self.nemesis or {}).get("fault_points") or {}
        if enabled:
            points.enable({name: (spec["p"], spec["delay_s"]) for name, spec in enabled.items()},
                          self.world.streams.draws("service/fault_points"))
        #: the admission time series (admission control and figures on)
        self.admission_series: AdmissionSeries | None = None
        if self.figures is not None and self.service.allocation is not None:
            self.admission_series = AdmissionSeries(self.service, cfg.metrics.series_s,
                                                    scenario.duration_s)
            self.admission_series.start()

    def next_request_id(self) -> int:
        return next(self._request_ids)

    def _client(self, host: Host, rate_per_s: float, canary: bool = False,
                phases: list[tuple[Phase, float]] | None = None) -> Client:
        pmap = self.service.partition_map
        return Client(self.world, self.cfg, host, host.id, rate_per_s, figures=self.figures,
                      ledger=self.ledger, history=self.history,
                      # the counter's own __next__, as next_request_id: a call less per request
                      next_request_id=self._request_ids.__next__,
                      partition_of=lambda key: pmap.partition_for(key).pid, canary=canary,
                      phases=phases or ())

    def _sample_lookups(self) -> None:
        """At each series bucket's end: the routing lookups the routers
        still wait on (``series.lookups_in_flight``)."""
        figures = self.figures
        assert figures is not None
        now = self.world.env.now
        figures.sample("lookups_in_flight", now,
                       sum(r.cache.in_flight() for r in self.service.routers.values()))
        if now + figures.traffic_series_s <= self.scenario.duration_s + 1e-9:
            call_later(self.world.env, figures.traffic_series_s, self._sample_lookups)

    def _routers_in_service(self) -> list[Host]:
        """The routers in service now (standby ones not yet added are not)."""
        standby = self.service.standby_routers
        return [h for h in self.world.topology.of_kind("router") if h.id not in standby]

    def _routers_added(self, ids: list[str]) -> None:
        """Routers brought into service: every client's load balancer learns them."""
        for client in self.clients:
            client.add_routers(ids)

    def _role_host(self, role: str, pid: str) -> str | None:
        """The host that plays ``role`` for ``pid`` now (a fault target)."""
        if pid not in self.service.partition_map:
            return None  # split since
        leader = self.service.leader_of(pid)
        if role == "leader":
            return leader.me if leader is not None else None
        members = (self.service.replicas_in_config(leader) if leader is not None
                   else self.service.members_of(pid))
        kind = STORAGE if role == "follower" else LOG
        # A powered one: "leader" then "follower" at one instant are two hosts.
        for m in members:
            if m.state.kind == kind and m.role != LEADER and self.world.topology.hosts[m.me].powered:
                return m.me
        return None

    def _minority(self) -> list[str]:
        """The storage hosts the liveness phase keeps down: those of one AZ
        (drawn from the ``lab/liveness`` stream), each only if every group
        it holds a replica of can spare it -- at most one member down per
        group, a write quorum and a storage replica of it up."""
        topo = self.world.topology
        rng = self.world.streams.stream("lab/liveness")
        az = topo.azs[int(rng.integers(len(topo.azs)))]
        pmap = self.service.partition_map
        groups = [pmap.partition(pid).members for pid in pmap.pids()]
        quorum = self.cfg.replication.write_quorum
        down: list[str] = []
        for host in topo.of_kind("storage", az):
            trial = {*down, host.id}
            if all(sum(1 for h, _ in g if h in trial) <= 1
                   and len(g) - sum(1 for h, _ in g if h in trial) >= min(quorum, len(g))
                   and any(k == STORAGE and h not in trial for h, k in g)
                   for g in groups if any(h == host.id for h, _ in g)):
                down.append(host.id)
        return down

    def _group_hosts(self, pid: str) -> list[str]:
        """The hosts of every replica of ``pid`` now (a group fault target)."""
        leader = self.service.leader_of(pid)
        members = (self.service.replicas_in_config(leader) if leader is not None
                   else self.service.members_of(pid))
        return [m.me for m in members]

    def execute(self, progress: Progress | None = None) -> Result:
        """Run every phase and check; ``progress(phase, now_s)``, if given, is
        called between slices of simulated time (see :meth:`_advance`)."""
        self._progress = progress
        probes.reset()  # a process runs one simulation at a time: its count starts here
        env = self.world.env
        duration = self.scenario.duration_s
        for client in self.clients:
            client.start()
        figures = self.figures
        if figures is not None and figures.traffic_series_s and self.cfg.routing.cache != "direct":
            call_later(env, figures.traffic_series_s, self._sample_lookups)
        self._advance(duration, "traffic")
        # Heal everything and stop the traffic.
        for client in self.clients:
            client.stop()
        self.injector.apply(Fault(duration, "heal_all"))
        minority = self._minority() if self.cfg.run.liveness_minority_down else []
        for host_id in minority:
            self.injector.apply(Fault(duration, "power_off", host_id))
        probe = self._liveness_probe()
        bound = self.cfg.run.liveness_bound_s
        env.run(until=duration + self.cfg.run.quiesce_s)
        self._report("quiesce")
        while not probe.done() and env.now < duration + bound:
            env.run(until=min(duration + bound, env.now + 1.0))
            self._report("liveness probe")
        probe.stop()
        for host_id in minority:  # back for the final reads and the checks
            self.injector.apply(Fault(round(env.now, 6), "power_on", host_id))
        self.minority_down = minority
        healed_s = env.now if minority else duration  # when the last host came back
        if minority:  # let them boot and catch up, as the heal let the others
            env.run(until=env.now + self.cfg.run.quiesce_s)
            self._report("quiesce")
        final = self._final_reads()
        self._settle_healing(healed_s)
        self._settle_verification()
        # Let the last commit points reach every follower.
        env.run(until=env.now + self.cfg.run.commit_settle_s)
        self._report("checks")
        healing = self.cfg.healing
        whole = {pid: self._whole_membership(pid) if self._is_whole(pid) else None
                 for pid in self.service.partition_map.pids()}
        checks: dict[str, Any] = {
            "durability": check_durability(self.ledger, final),
            "convergence": check_convergence(self._replica_views(), self.cfg.replication.replicas),
            "single_leader": check_single_leader(
                (pid, ballot, span[0], span[1])
                for (pid, ballot), span in self.observation.lease_spans.items()),
            "liveness": self._check_liveness(probe, duration, bound),
            "placement": check_placement(
                {pid: self._whole_membership(pid) for pid in whole},
                {h.id: (h.rack, h.az) for h in self.world.topology.of_kind("storage")},
                self.cfg.replication.replicas),
            "healing": check_healing(
                self.observation.healing,
                # A leader that dropped its repairs for want of a quorum, and
                # took them up again, restarts a copy as a new leader would.
                [*((c["partition"], c["t_s"]) for c in self.observation.leader_changes),
                 *self.observation.repair_resumes], whole,
                env.now, healing.detection_s, healing.log_copy_s, healing.rebuild_s,
                healing.check_margin_s,
                losses=[*((c["partition"], c["t_s"]) for c in self.observation.leader_losses),
                        *self.observation.repair_pauses]),
        }
        if self.cfg.durability.scrub:
            checks["corruption"] = self.verification()["check"]
        if self.cfg.durability.archive:
            checks["archive"] = check_archive(self._archive_views())
        if self.history is not None:
            checks["linearizable"] = check_linearizable(self.history.ops)
            checks["eventual_reads"] = check_eventual_reads(self.history.ops)
        if self.scenario.restore_at_s:
            checks["restore"] = verify_restores(
                self.service, self.history.ops if self.history is not None else None,
                sorted(float(t) for t in self.scenario.restore_at_s))
        destroyed = [f for f in self.injector.applied if f.action in DESTROYS_DATA]
        if self.nemesis is not None and self.nemesis.get("bound_exceeded") and destroyed:
            for name in ("durability", "convergence", "linearizable", "eventual_reads",
                         "corruption", "restore"):
                check = checks.get(name)
                if check is not None and check["valid"] is False:
                    check["valid"] = "unknown"
                    check["note"] = (f"data loss expected: {destroyed[0].describe().strip()} "
                                     f"destroyed data while the fault schedule took down more "
                                     f"than one AZ's worth of replicas at once")
        self.probes = probes.counts()
        return build_result(self, checks, end_s=env.now)

    def restore(self, t_s: float) -> RestoredTable:
        """The table as of ``t_s``, restored from the archive into a new table
        (``durability.pitr`` on; see :mod:`ddbsim.lab.restore`): a
        RestoreError if it cannot be."""
        return restore_table(self.service, t_s)

    # ------------------------------------------------------------------
    def _advance(self, until_s: float, phase: str) -> None:
        """Run the simulation from time 0 to ``until_s``.  With a progress
        callback, in slices that end on multiples of a power of two of a
        second, sized so that a slice takes about :data:`PROGRESS_WALL_S` of
        wall time, reporting after each.  From 0, every slice ends exactly
        where it says in floating point (its start and end are multiples of
        2**-10 s), and the last exactly at ``until_s``, as one ``env.run``
        would.  A slice adds one stop event to SimPy's queue and no draw: the
        run's events and their order are the same as without slices."""
        env = self.world.env
        assert env.now == 0, "slices are exact only from time 0"
        if self._progress is None:
            env.run(until=until_s)
            return
        step = MIN_SLICE_S  # doubled while slices are quick: a heavy run still moves
        while env.now < until_s:
            started = time.perf_counter()  # wall-clock ok: sizes the slices, not the run
            env.run(until=min(until_s, (math.floor(env.now / step) + 1) * step))
            self._report(phase)
            took = time.perf_counter() - started  # wall-clock ok
            if took > 2 * PROGRESS_WALL_S and step > MIN_SLICE_S:
                step /= 2
            elif took < PROGRESS_WALL_S / 2 and step < MAX_SLICE_S:
                step *= 2

    def _report(self, phase: str) -> None:
        if self._progress is not None:
            self._progress(phase, self.world.env.now)

    def _settle_healing(self, healed_s: float) -> None:
        """Run on until every group is whole, within the healing bound."""
        healing = self.cfg.healing
        until = healed_s + (healing.detection_s + healing.log_copy_s + healing.rebuild_s
                            + healing.check_margin_s + self.cfg.storage.boot_s)
        env = self.world.env
        pids = self.service.partition_map.pids()
        while env.now < until and not all(self._is_whole(pid) for pid in pids):
            env.run(until=min(until, env.now + 1.0))
            self._report("settle")

    def verification(self) -> dict[str, Any]:
        """The corruptions injected, matched with what the service found and repaired."""
        m = self.observation
        return match_corruptions(self.injector.corruptions, m.corruptions_found,
                                 m.corruptions_repaired, self._corruption_present)

    def _archive_views(self) -> dict[str, tuple[int, list[int] | None, list[int] | None]]:
        """Per partition: the leader's applied position, its digests, and the
        archive's reference replica's digests there."""
        store = self.service.object_store
        out: dict[str, tuple[int, list[int] | None, list[int] | None]] = {}
        for pid in self.service.partition_map.pids():
            leader = self.service.leader_of(pid)
            st = leader.state if leader is not None else None
            if st is None or st.btree is None:
                out[pid] = (0, None, None)
                continue
            bounds = pick_bounds(st.btree, self.cfg.durability.scrub_ranges)
            records = [(i, r) for i, _b, r in st.entries_from(st.trimmed_lsn + 1, st.applied_lsn)]
            out[pid] = (st.applied_lsn, range_digests(st.btree, bounds),
                        store.reference_digests(pid, st.applied_lsn, records, bounds))
        return out

    def _corruption_present(self, inj: dict[str, Any]) -> bool:
        """Whether an injected corruption is still on its replica's disk."""
        node = self.service.nodes.get(inj["host"])
        member = node.members.get(inj["partition"]) if node is not None else None
        if member is None or all(h != inj["host"] for h, _k in
                                 self.service.partition_map.partition(inj["partition"]).members):
            return False  # the replica is gone (replaced, retired, or its disk lost)
        st = member.state
        if inj["what"] == "item":
            if st.btree is None or inj["where"] not in st.btree:
                return False
            try:
                st.read(inj["where"])
            except CorruptItem:
                return True
            return False
        entry = st.log.get(int(inj["where"]))
        return entry is not None and not entry.record.verify()

    def _settle_verification(self) -> None:
        """Run on until every injected corruption is found and repaired."""
        durability = self.cfg.durability
        if not durability.scrub or not self.injector.corruptions:
            return
        env = self.world.env
        until = env.now + 2 * durability.scrub_interval_s + durability.archive_interval_s
        while env.now < until:
            v = self.verification()
            if v["repaired"] + v["vanished"] == v["injected"]:
                break
            env.run(until=min(until, env.now + 1.0))
            self._report("settle")

    def _whole_membership(self, pid: str) -> Members | None:
        """The committed membership of ``pid``'s leader (None without a leader)."""
        leader = self.service.leader_of(pid)
        if leader is None or leader.state.config_lsn > leader.state.commit_lsn:
            return None
        return leader.state.config

    def _is_whole(self, pid: str) -> bool:
        members = self._whole_membership(pid)
        return (members is not None and len(members) == self.cfg.replication.replicas
                and all(kind == STORAGE for _, kind in members))

    def _liveness_probe(self) -> _StrongReader:
        """From the heal on, strong-read one key of every partition, retrying
        until each partition has answered once."""
        pmap = self.service.partition_map
        keys = []
        for pid in pmap.pids():
            i = 0
            while pmap.partition_for(f"liveness-{pid}-{i}").pid != pid:
                i += 1
            keys.append(f"liveness-{pid}-{i}")
        probe = _StrongReader(self.world, self.cfg, self.next_request_id, self._routers_in_service(),
                              retry_s=self.cfg.run.liveness_retry_s)
        probe.start(keys)
        return probe

    def _check_liveness(self, probe: _StrongReader, healed_s: float, bound_s: float) -> dict[str, Any]:
        pmap = self.service.partition_map
        after = {pmap.partition_for(k).pid: round(t - healed_s, 3) for k, t in probe.first_ok_s.items()}
        late = sorted(pid for pid in pmap.pids() if after.get(pid, math.inf) > bound_s)
        served = sorted(after.values())
        return {"valid": not late, "bound_s": bound_s, "partitions": len(pmap),
                "minority_down": list(getattr(self, "minority_down", [])),
                "served_after_heal_s": {"median": served[len(served) // 2] if served else None,
                                        "max": served[-1] if served else None},
                "late_partitions": late}

    # ------------------------------------------------------------------
    def _final_reads(self) -> dict[str, tuple[bool, Any]]:
        """Strong-read every key written, through the routers."""
        reader = _StrongReader(self.world, self.cfg, self.next_request_id, self._routers_in_service(),
                               retry_s=self.cfg.run.final_read_retry_s)
        reader.start(self.ledger.keys())
        env = self.world.env
        deadline = env.now + self.cfg.run.final_read_timeout_s
        while not reader.done() and env.now < deadline:
            env.run(until=min(deadline, env.now + 1.0))
            self._report("final reads")
        reader.stop()
        return reader.results

    def _replica_views(self) -> dict[str, list[ReplicaView]]:
        groups: dict[str, list[ReplicaView]] = {}
        for pid in self.service.partition_map.pids():
            leader = self.service.leader_of(pid)
            if leader is None:
                groups[pid] = []
                continue
            views = []
            ordered = [leader] + [m for m in self.service.replicas_in_config(leader)
                                  if m is not leader]
            for m in ordered:
                st = m.state
                if m is leader:
                    log = {lsn: e.record for lsn, e in st.log.items() if lsn <= st.commit_lsn}
                    views.append(ReplicaView(m.me, STORAGE, st.applied_lsn, st.checksum(), log))
                elif st.kind == STORAGE:
                    views.append(ReplicaView(m.me, STORAGE, st.applied_lsn, st.checksum(), {}))
                else:
                    upto = min(st.commit_lsn, leader.state.commit_lsn)
                    log = {lsn: e.record for lsn, e in st.log.items() if lsn <= upto}
                    views.append(ReplicaView(m.me, st.kind, st.applied_lsn, None, log))
            groups[pid] = views
        return groups


class _StrongReader:
    """Reads keys with strong reads through the routers, a window at a time,
    retrying failures, from the az-1 canary host.  It chains to the handler
    already registered there (the canary client's), so late replies to the
    clients still reach them."""

    def __init__(self, world: World, cfg: Config, next_request_id: Callable[[], int],
                 routers: list[Host], retry_s: float) -> None:
        self.cfg = cfg
        self.next_request_id = next_request_id
        self.env = world.env
        self.net = world.network
        self.retry_s = retry_s
        topo = world.topology
        self.host: Host = topo.hosts[f"{topo.azs[0]}/canary"]
        self.routers = routers
        self.results: dict[str, tuple[bool, Any]] = {}
        self.first_ok_s: dict[str, float] = {}
        self.pending: dict[int, str] = {}
        self.todo: list[str] = []
        self.total = 0
        self.attempts = 0
        self.stopped = False
        self._previous = self.net.handler(self.host)
        self.net.register(self.host, self.receive)

    def start(self, keys: list[str]) -> None:
        self.todo = list(reversed(keys))
        self.total = len(keys)
        for _ in range(min(self.cfg.run.final_read_window, len(keys))):
            self._next()

    def done(self) -> bool:
        return len(self.results) >= self.total

    def stop(self) -> None:
        """Stop retrying and give the host back to whoever had it."""
        self.stopped = True
        if self._previous is not None:
            self.net.register(self.host, self._previous)

    def _next(self) -> None:
        if self.todo:
            self._send(self.todo.pop())

    def _send(self, key: str) -> None:
        if self.stopped:
            return
        self.attempts += 1
        router = self.routers[self.attempts % len(self.routers)]
        req_id = self.next_request_id()
        self.pending[req_id] = key
        self.net.send(self.host, router, ClientRequest(req_id, GET_STRONG, key))
        call_later(self.env, self.cfg.client.attempt_timeout_s, self._timeout, req_id)

    def _timeout(self, req_id: int) -> None:
        key = self.pending.pop(req_id, None)
        if key is not None:
            call_later(self.env, self.retry_s, self._send, key)

    def receive(self, src: Host, msg: Any) -> None:
        if not isinstance(msg, ClientReply) or msg.req_id not in self.pending:
            if self._previous is not None:
                self._previous(src, msg)
            return
        key = self.pending.pop(msg.req_id)
        if msg.status == "ok":
            self.results[key] = (True, msg.value)
            self.first_ok_s.setdefault(key, self.env.now)
            self._next()
        else:
            call_later(self.env, self.retry_s, self._send, key)


def check_setup(scenario: Scenario, cfg: Config, seed: int) -> None:
    """Set a run up without running it, as :func:`run` does first: the fault
    schedule is drawn from ``seed`` and validated (a FaultError or
    ScenarioError for a fault naming nothing).  Runs nothing, draws nothing
    from any other run's streams."""
    if scenario.runner is None:  # a scenario's own runner checks its own setup
        Run(scenario, cfg, seed)


#: What :func:`run` and :func:`run_all` take as a scenario: a Scenario, or
#: the path of a scenario script (loaded as ``ddbsim run`` loads it).
ScenarioArg = Union[Scenario, str, os.PathLike]


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a whole number, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be zero or more, got {seed}")
    return int(seed)


def _check_overrides(overrides: Any) -> dict[str, Any]:
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError("overrides must be a dict of config keys to values "
                        f"({{'replication.lease_s': 3}}), got {type(overrides).__name__}")
    return dict(overrides)


def _scenarios(scenario: Any, what: str) -> list[Scenario]:
    """The scenarios ``scenario`` names: itself, a list of them, or a script's."""
    if isinstance(scenario, (str, os.PathLike)):
        return load_scenarios(scenario)
    items = scenario if isinstance(scenario, (list, tuple)) else [scenario]
    if not items:
        raise ValueError(f"{what}: no scenario given")
    for item in items:
        if not isinstance(item, Scenario):
            raise TypeError(f"{what}: scenario must be a Scenario or the path of a scenario "
                            f"script, got {type(item).__name__}")
    return list(items)


def run(scenario: ScenarioArg, seed: int = 1, overrides: dict[str, Any] | None = None,
        bugs: tuple[str, ...] = (), progress: Progress | None = None) -> Result:
    """Run one scenario on one seed.

    ``scenario`` is a :class:`Scenario` or the path (str or Path) of a
    scenario script; a script that builds several variants runs them all,
    as :func:`run_all` does.  ``progress(phase, now_s)`` is called between
    slices of simulated time (it changes nothing in the result).
    """
    seed = _check_seed(seed)
    overrides = _check_overrides(overrides)
    scenarios = _scenarios(scenario, "run")
    if len(scenarios) > 1:
        return _run_variants(scenarios, seed, overrides, bugs,
                             None if progress is None else lambda _s: progress)
    return _run_one(scenarios[0], seed, overrides, bugs, progress)


def _run_one(scenario: Scenario, seed: int, overrides: dict[str, Any],
             bugs: tuple[str, ...], progress: Progress | None = None) -> Result:
    if scenario.runner is not None:
        result = scenario.runner(scenario, scenario.config(overrides), seed)
    else:
        result = Run(scenario, scenario.config(overrides), seed, bugs).execute(progress)
    if scenario.analyse is not None:
        analysis = scenario.analyse(result.data)
        if not isinstance(analysis, dict):
            raise ScenarioError(f"scenario {scenario.name}: analyse must return a dict, "
                                f"got {type(analysis).__name__}")
        result.data["analysis"] = analysis
    return result


def _run_variants(scenarios: list[Scenario], seed: int, overrides: dict[str, Any],
                  bugs: tuple[str, ...] = (),
                  progress: Callable[[Scenario], Progress | None] | None = None) -> Result:
    results = [_run_one(s, seed, overrides, bugs, progress(s) if progress else None)
               for s in scenarios]
    head = results[0]
    if len(results) > 1:
        head.variants = results
    compare = scenarios[0].compare
    if compare is not None:
        comparison = compare([r.data for r in results])
        if not isinstance(comparison, dict):
            raise ScenarioError(f"scenario {scenarios[0].name}: compare must return a dict, "
                                f"got {type(comparison).__name__}")
        head.data["comparison"] = comparison
    return head


def run_all(scenarios: list[Scenario] | ScenarioArg, seed: int = 1,
            overrides: dict[str, Any] | None = None,
            progress: Callable[[Scenario], Progress | None] | None = None) -> Result:
    """Run variants on the same seed; the first is the headline result.
    ``scenarios``: a list of Scenario, one, or the path of a scenario script;
    ``progress(scenario)`` gives each variant's progress callback (or None)."""
    seed = _check_seed(seed)
    overrides = _check_overrides(overrides)
    return _run_variants(_scenarios(scenarios, "run_all"), seed, overrides, progress=progress)


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def build_result(run: Run, checks: dict[str, Any], end_s: float) -> Result:
    """The result of a finished run, from its parts.  Without figures
    (``metrics.enabled`` off) the keys of :data:`~ddbsim.lab.result.FIGURE_KEYS`
    are None."""
    m = run.observation
    scenario = run.scenario
    duration = scenario.duration_s
    figures = (figure_data(run.figures, duration, run.cfg.metrics.alarm_error_rate)
               if run.figures is not None else dict.fromkeys(FIGURE_KEYS))

    failovers = _failovers(m.leader_losses, m.leader_changes)
    healing = []
    for rec in m.healing:
        r = dict(rec)
        first_back = r["log_replica_at_s"] if r["log_replica_at_s"] is not None else r[
            "storage_replica_at_s"]
        r["log_replica_after_s"] = _r(None if r["log_replica_at_s"] is None
                                      else r["log_replica_at_s"] - r["detected_at_s"])
        r["storage_replica_after_s"] = _r(None if r["storage_replica_at_s"] is None
                                          else r["storage_replica_at_s"] - r["detected_at_s"])
        r["degraded_s"] = _r(None if first_back is None else first_back - r["lost_at_s"])
        healing.append(r)
    healing.sort(key=lambda r: (r["detected_at_s"], r["partition"]))

    data: dict[str, Any] = {
        "scenario": scenario.name,
        "variant": scenario.variant,
        "description": scenario.description,
        "seed": run.seed,
        "duration_s": duration,
        "simulated_s": _r(end_s),
        "config": run.cfg.to_dict(),
        "requests": figures["requests"],
        "availability": figures["availability"],
        "latency_ms": figures["latency_ms"],
        "checks": checks,
        "faults": [f.to_dict() for f in run.injector.applied],
        "nemesis": run.nemesis,
        "healing": healing,
        # the first leader of every partition (and of every split's children) is no change
        "leaders": {"changes": len(m.leader_changes) - len(run.service.partition_map)
                    - sum(s["split_at_s"] is not None
                          for s in (run.service.splitter.splits if run.service.splitter else [])),
                    "failovers": failovers,
                    "failover_s": _stats([f["failover_s"] for f in failovers
                                          if f["failover_s"] is not None])},
        "partition_errors": figures["partition_errors"],
        "canaries": figures["canaries"],
        "server": figures["server"],
        "alarms": figures["alarms"],
        "phases": (phase_data(run.figures, scenario.phases, duration)
                   if run.figures is not None else None),
        "admission": admission_data(run.service, run.admission_series),
        "network": {"sent": run.world.network.sent, "dropped": run.world.network.dropped,
                    # corrupted in flight, and dropped by their receivers for it
                    "corrupted": run.world.network.corrupted,
                    "corrupt_dropped": sum(run.world.network.corrupt_dropped.values())},
        "verification": _verification(run),
        "probes": dict(getattr(run, "probes", {})),
        "routing": (run.figures.routing_data(run.cfg.routing.cache, {
            rid: (r.cache.hits, r.cache.misses) for rid, r in run.service.routers.items()
            if r.cache.kind != "direct"}) if run.figures is not None else None),
        "series": run.figures.series_data(duration) if run.figures is not None else None,
        "clients": _client_data(run),
    }
    history = run.history.to_records() if run.history is not None else None
    return Result(data, history)


def _client_data(run: Run) -> dict[str, Any]:
    """The workload's clients (canaries apart) at the end of the traffic:
    how many, their retry mode, and where the retry quotas stand (for a
    mode with one: the SDK keeps a quota per client, so a fleet of many
    clients each seeing few failures drains none of them)."""
    workers = [c for c in run.clients if not c.canary]
    out: dict[str, Any] = {"count": len(workers), "retry_mode": run.cfg.client.retry_mode,
                           "retry_quota": None}
    policies = [c.retry for c in workers if isinstance(c.retry, Standard)]
    if policies:
        quotas = [p.quota for p in policies]
        out["retry_quota"] = {
            "capacity": policies[0].capacity, "mean": round(sum(quotas) / len(quotas), 2),
            "min": min(quotas),
            # too few tokens left for another retry after a failure
            "drained": sum(1 for p in policies if p.quota < p.cost)}
    return out


def _verification(run: Run) -> dict[str, Any]:
    """The archive, the scrub, the corruptions and the WAL each replica holds."""
    m = run.observation
    v = run.verification()
    del v["check"]
    wal: dict[str, list[int]] = {STORAGE: [], LOG: []}
    for node in run.service.nodes.values():
        for member in node.members.values():
            wal.setdefault(member.state.kind, []).append(member.state.wal_records())
    store = run.service.object_store
    return {
        "archive": {**m.archive, "head_lsn": {pid: store.head(pid) for pid in sorted(store.archives)},
                    "store_refused": store.refused},
        "scrub": dict(m.scrubs),
        **v,
        "wal_records": {kind: {"replicas": len(xs), "max": max(xs) if xs else None,
                               "mean": round(statistics.fmean(xs), 1) if xs else None,
                               "max_after_trim": m.wal_max_after_trim.get(kind)}
                        for kind, xs in sorted(wal.items())},
    }


def figure_data(f: Figures, duration_s: float, alarm_error_rate: float) -> dict[str, Any]:
    """The result's figure keys (:data:`~ddbsim.lab.result.FIGURE_KEYS`) from the figures."""
    latency: dict[str, Any] = {}
    for group, kinds in (("get", ("get_strong", "get_eventual")), ("put", ("put", "cond_put")),
                         ("delete", ("delete",))):
        h = LatencyHistogram()
        for k in kinds:
            if k in f.latency:
                h.merge(f.latency[k])
        latency[group] = _percentiles(h)
    by_kind = {k: _percentiles(h) for k, h in sorted(f.latency.items())}
    latency["by_kind"] = by_kind

    availability = f.availability(duration_s)
    alarms = [
        {"start_s": w["start_s"], "end_s": w["end_s"],
         "error_rate": round(w["errors"] / max(1, w["requests"] - w["throttled"]), 6)}
        for w in availability["windows"]
        if w["requests"] - w["throttled"] > 0
        and w["errors"] / (w["requests"] - w["throttled"]) > alarm_error_rate]

    partition_errors = sorted(
        ({"partition": pid, "errors": int(e[0]), "first_error_s": _r(e[1]),
          "last_error_s": _r(e[2]), "error_span_s": _r(e[2] - e[1])}
         for pid, e in f.partition_errors.items()), key=lambda d: str(d["partition"]))

    totals = f.totals
    return {
        "requests": {"total": sum(totals.values()), "ok": totals["ok"],
                     "error": totals["error"], "throttled": totals["throttled"],
                     "by_kind": {k: dict(v) for k, v in sorted(f.by_kind.items())}},
        "availability": availability,
        "latency_ms": latency,
        "partition_errors": partition_errors,
        "canaries": {az: {"ok": v[0], "error": v[1], "availability": _r(
            v[0] / (v[0] + v[1]) if v[0] + v[1] else 1.0, 6)} for az, v in sorted(f.canary.items())},
        "server": dict(sorted(f.server.items())),
        "alarms": alarms,
    }


def phase_data(f: Figures, phases: list[Phase], duration_s: float) -> dict[str, Any] | None:
    """The result's ``phases`` key: per traffic source (the background and
    each phase), its operations by outcome, latency, attempts and throttled
    attempts, when throttling started and stopped, and its series of
    attempts and throttled attempts per ``metrics.series_s``; None without
    phases."""
    if not phases:
        return None
    dt = f.series_s
    out: dict[str, Any] = {}
    windows = [(BACKGROUND, 0.0, duration_s, None)] + [
        (p.name, p.start_s, min(p.end_s, duration_s), p) for p in phases]
    for name, start, end, phase in windows:
        src = f.sources.get(name)
        attempts = src.attempts if src else 0
        throttled = src.throttled_attempts if src else 0
        series = sorted(src.series.items()) if src else []
        hot = [i for i, (n, t) in series if n and t / n > THROTTLING_THRESHOLD
               and start <= i * dt < end]
        first = hot[0] * dt if hot else None
        last = (hot[-1] + 1) * dt if hot else None
        ops = src.outcomes if src else {OK: 0, ERROR: 0, THROTTLED: 0}
        n_ops = sum(ops.values())
        out[name] = {
            "start_s": start, "end_s": end,
            "rate_per_s": phase.rate_per_s if phase is not None else None,
            "keys": phase.keys.describe() if phase is not None else "the workload's",
            "ops": n_ops, "ok": ops[OK], "error": ops[ERROR], "throttled": ops[THROTTLED],
            "throttled_ops_rate": round(ops[THROTTLED] / n_ops, 6) if n_ops else 0.0,
            "attempts": attempts, "throttled_attempts": throttled,
            "throttle_rate": round(throttled / attempts, 6) if attempts else 0.0,
            "latency_ms": _percentiles(src.latency if src else LatencyHistogram()),
            "throttling": {
                "first_after_s": _r(None if first is None else first - start),
                "last_until_s": _r(last),
                # throttling stopped before the phase's last sample
                "stopped_after_s": _r(None if last is None or last >= end - dt else last - start),
                "throttled_s": round(len(hot) * dt, 3)},
            "series": {"t_s": [round((i + 1) * dt, 6) for i, _ in series],
                       "attempts": [n for _i, (n, _t) in series],
                       "throttled": [t for _i, (_n, t) in series]},
        }
    return out


def _percentiles(h: Any) -> dict[str, float]:
    return {"p50": h.percentile_ms(0.50), "p99": h.percentile_ms(0.99),
            "p999": h.percentile_ms(0.999), "count": h.n}


def _stats(xs: list[float]) -> dict[str, Any]:
    if not xs:
        return {"count": 0, "median": None, "max": None}
    return {"count": len(xs), "median": _r(statistics.median(xs)), "max": _r(max(xs))}


def _failovers(losses: list[dict[str, Any]], elected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each leader lost, how long until the partition had a leader again."""
    out = []
    for loss in losses:
        if loss["reason"] == "split":
            continue  # the partition was split: its children have leaders of their own
        nxt = next((e for e in elected if e["partition"] == loss["partition"]
                    and e["t_s"] >= loss["t_s"]), None)
        out.append({"partition": loss["partition"], "lost_at_s": loss["t_s"],
                    "reason": loss["reason"], "old_host": loss["host"],
                    "new_host": nxt["host"] if nxt else None,
                    "elected_at_s": nxt["t_s"] if nxt else None,
                    "failover_s": _r(nxt["t_s"] - loss["t_s"]) if nxt else None})
    return out
