"""One run of a scenario, in phases, from a seed to a :class:`Result`.

The shape of TigerBeetle's simulator and Jepsen: a **safety phase** (traffic
plus the fault schedule for ``duration_s``), then **heal** (every host on,
every link up, traffic stops), **quiesce** (``run.quiesce_s``: elections,
catch-up), **final reads** (a strong read of every key ever written,
retried until it succeeds or ``final_read_timeout_s`` passes), and then the
**checks**: durability, convergence, single leader.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddbsim.config import Config
from ddbsim.lab import faults as faults_mod
from ddbsim.lab.checkers import (
    ReplicaView,
    WriteLedger,
    check_convergence,
    check_durability,
    check_single_leader,
)
from ddbsim.lab.history import History
from ddbsim.lab.metrics import Metrics
from ddbsim.lab.result import Result, build_result
from ddbsim.lab.workload import Client
from ddbsim.service.messages import GET_STRONG, ClientReply, ClientRequest
from ddbsim.service.region import Service
from ddbsim.service.replica import STORAGE
from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later
from ddbsim.world.topology import Host

if TYPE_CHECKING:
    from ddbsim.lab.scenario import Scenario

_FINAL_READ_WINDOW = 64
_FINAL_READ_RETRY_S = 0.5


class Run:
    def __init__(self, scenario: Scenario, cfg: Config, seed: int,
                 bugs: tuple[str, ...] = ()) -> None:
        self.scenario = scenario
        self.cfg = cfg
        self.seed = seed
        self.world = World(cfg, seed)
        self.metrics = Metrics(cfg.metrics.window_s)
        self.history: History | None = History() if cfg.metrics.history else None
        self.ledger = WriteLedger()
        self.service = Service(self.world, cfg, hooks=self.metrics)
        for bug in bugs:
            self.service.inject_bug(bug)
        topo = self.world.topology
        workers = [h for h in topo.of_kind("client") if not h.id.endswith("/canary")]
        rate = cfg.workload.rate_per_s / len(workers)
        self.clients = [Client(self, h, h.id, rate) for h in workers]
        self.clients += [Client(self, h, h.id, cfg.workload.canary_rate_per_s, canary=True)
                         for h in topo.of_kind("client") if h.id.endswith("/canary")]
        schedule = scenario.fault_schedule(self.world)
        faults_mod.validate(schedule, self.world, scenario.duration_s,
                            self.service.partition_map.pids())
        self.injector = faults_mod.FaultInjector(self.world, self._leader_host)
        self.injector.schedule(schedule)

    def _leader_host(self, pid: str) -> str | None:
        leader = self.service.leader_of(pid)
        return leader.me if leader is not None else None

    def execute(self) -> Result:
        env = self.world.env
        duration = self.scenario.duration_s
        for client in self.clients:
            client.start()
        env.run(until=duration)
        # Heal everything and stop the traffic.
        for client in self.clients:
            client.stop()
        self.injector.apply(faults_mod.Fault(duration, "heal_all"))
        env.run(until=duration + self.cfg.run.quiesce_s)
        final = self._final_reads()
        # Let the last commit points reach every follower.
        env.run(until=env.now + 4 * self.cfg.replication.heartbeat_interval_s)
        checks = {
            "durability": check_durability(self.ledger, final),
            "convergence": check_convergence(self._replica_views(), self.cfg.replication.replicas),
            "single_leader": check_single_leader(
                (pid, ballot, span[0], span[1])
                for (pid, ballot), span in self.metrics.lease_spans.items()),
        }
        return build_result(self, checks, end_s=env.now)

    # ------------------------------------------------------------------
    def _final_reads(self) -> dict[str, tuple[bool, Any]]:
        """Strong-read every key written, through the routers."""
        reader = _FinalReader(self)
        reader.start(self.ledger.keys())
        env = self.world.env
        deadline = env.now + self.scenario.final_read_timeout_s
        while not reader.done() and env.now < deadline:
            env.run(until=min(deadline, env.now + 1.0))
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
                    log = {lsn: e.cmd for lsn, e in st.log.items() if lsn <= st.commit_lsn}
                    views.append(ReplicaView(m.me, STORAGE, st.applied_lsn, st.checksum(), log))
                elif st.kind == STORAGE:
                    views.append(ReplicaView(m.me, STORAGE, st.applied_lsn, st.checksum(), {}))
                else:
                    upto = min(st.commit_lsn, leader.state.commit_lsn)
                    log = {lsn: e.cmd for lsn, e in st.log.items() if lsn <= upto}
                    views.append(ReplicaView(m.me, st.kind, st.applied_lsn, None, log))
            groups[pid] = views
        return groups


class _FinalReader:
    """Reads keys with strong reads, a window at a time, retrying failures."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.env = run.world.env
        self.net = run.world.network
        topo = run.world.topology
        self.host: Host = topo.hosts[f"{topo.azs[0]}/canary"]
        self.routers = topo.of_kind("router")
        self.results: dict[str, tuple[bool, Any]] = {}
        self.pending: dict[int, str] = {}
        self.todo: list[str] = []
        self.outstanding = 0
        self.attempts = 0
        self.net.register(self.host, self.receive)

    def start(self, keys: list[str]) -> None:
        self.todo = list(reversed(keys))
        self.total = len(keys)
        for _ in range(min(_FINAL_READ_WINDOW, len(keys))):
            self._next()

    def done(self) -> bool:
        return len(self.results) >= self.total

    def _next(self) -> None:
        if self.todo:
            self._send(self.todo.pop())

    def _send(self, key: str) -> None:
        self.attempts += 1
        router = self.routers[self.attempts % len(self.routers)]
        req_id = self.run.service.next_id()
        self.pending[req_id] = key
        self.net.send(self.host, router, ClientRequest(req_id, GET_STRONG, key))
        call_later(self.env, self.run.cfg.client.attempt_timeout_s, self._timeout, req_id)

    def _timeout(self, req_id: int) -> None:
        key = self.pending.pop(req_id, None)
        if key is not None:
            call_later(self.env, _FINAL_READ_RETRY_S, self._send, key)

    def receive(self, _src: Host, msg: Any) -> None:
        if not isinstance(msg, ClientReply):
            return
        key = self.pending.pop(msg.req_id, None)
        if key is None:
            return
        if msg.status == "ok":
            self.results[key] = (True, msg.value)
            self._next()
        else:
            call_later(self.env, _FINAL_READ_RETRY_S, self._send, key)


