"""Clients: open-loop Poisson traffic, canaries, and the SDK's retries.

Each client lives on a client host in an AZ (an AZ outage takes its clients
with it) and sends to a request router in its own AZ; a retry goes to the
next router in the region, and a router that timed out is avoided for
``client.router_suspect_s``, as a health-checking load balancer would.  Arrivals are Poisson
and open-loop: a slow service does not slow the offered load.

An operation is drawn from the mix in :class:`~ddbsim.config.WorkloadConfig`
(strong get, eventual get, put, conditional put, delete); keys are uniform or
Zipf over ``key_count`` keys; every put writes a value unique in the run, so
the checkers can tell writes apart.  A conditional put expects the version
the client last saw for the key (0 if none: "must not exist").  Items have a
size (``workload.item_size_bytes``, exponential or fixed): a write carries
the size of the item it writes, a read the size of the item it expects to
read, drawn from the same distribution (the service charges capacity units
by size, :mod:`ddbsim.service.admission.capacity`).

Besides this base traffic, a scenario's phases (:mod:`ddbsim.lab.phases`)
add traffic of their own for a while -- a hot key range, a spike, a single
hot key -- each a *source* of the client with its own arrivals, keys, mix
and sizes, and its own random streams.  With phases, the figures keep
outcomes, latency and throttled attempts per source
(:meth:`~ddbsim.lab.metrics.Figures.record_source`).

Retries follow the client's SDK retry mode (``client.retry_mode``,
:mod:`ddbsim.lab.retry_modes`), by default the AWS SDKs' standard mode: up
to ``max_attempts`` attempts, full-jitter exponential back-off
(``base_backoff_s``, capped at ``max_backoff_s``), and a retry quota of 500
tokens that a retry spends (5, or 10 after a timeout) and a success refills.
A throttled attempt (``ProvisionedThroughputExceeded``) is retried like any
other, after a back-off from ``throttled_base_backoff_s``.  An operation
ends ``ok``, ``error`` (after its last attempt) or ``throttled`` (its last
attempt was throttled: never an availability error).

With ``metrics.history`` on, every operation is recorded as invoke, then
``ok``, ``fail`` or ``info`` (:mod:`ddbsim.lab.history`); a write whose
attempt timed out and was retried is recorded once more, as an ``info``
operation of its own, because both attempts may take effect.

Canary clients run in every AZ at a fixed rate, alternating strong reads and
puts on keys of their own, and are reported per AZ.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ddbsim.config import Config
from ddbsim.lab.checkers.durability import ACKED, FAILED, WriteLedger
from ddbsim.lab.history import History
from ddbsim.lab.metrics import Figures
from ddbsim.lab.phases import BACKGROUND, Keys, Phase
from ddbsim.lab.retry_modes import retry_policy
from ddbsim.service.messages import (
    COND_PUT,
    DELETE,
    GET_EVENTUAL,
    GET_STRONG,
    PUT,
    READS,
    THROTTLED,
    ClientReply,
    ClientRequest,
)
from ddbsim.service.metadata.hashing import HASH_SPACE, key_hash
from ddbsim.world.region import World
from ddbsim.world.scheduling import Deadlines, call_later
from ddbsim.world.topology import Host, local_first

OP_KINDS = (GET_STRONG, GET_EVENTUAL, PUT, COND_PUT, DELETE)


def key_name(index: int) -> str:
    """The workload's key number ``index``."""
    return f"k{index:07d}"


class KeyChooser:
    """Draws keys as :class:`~ddbsim.lab.phases.Keys` say (the config's
    distribution when none is given), in batches."""

    def __init__(self, cfg: Config, gen: np.random.Generator, keys: Keys | None = None) -> None:
        w = cfg.workload
        self.gen = gen
        if keys is None:
            keys = Keys.zipf(w.zipf_exponent) if w.key_distribution == "zipf" else Keys.uniform()
        self.single = keys.key if keys.kind == "single" else None
        if keys.kind == "hash_range":
            lo, hi = keys.lo * HASH_SPACE, keys.hi * HASH_SPACE
            self._indices: list[int] | None = [
                i for i in range(w.key_count) if lo <= key_hash(key_name(i)) < hi]
            if not self._indices:
                raise ValueError(f"no key of the workload's {w.key_count} has a hash in "
                                 f"{keys.lo:g}-{keys.hi:g}: widen the range or add keys")
        else:
            self._indices = None
        self.n = len(self._indices) if self._indices is not None else w.key_count
        if keys.kind == "zipf":
            ranks = np.arange(1, self.n + 1, dtype=float)
            p = ranks ** -keys.exponent
            self._cdf: np.ndarray | None = np.cumsum(p / p.sum())
        else:
            self._cdf = None
        self._buf: list[int] = []
        self._names: dict[int, str] = {}  # index -> key_name(index), as drawn

    def next(self) -> str:
        if self.single is not None:
            return self.single
        if not self._buf:
            if self._cdf is None:
                draws = self.gen.integers(0, self.n, 1024)
            else:
                draws = np.minimum(np.searchsorted(self._cdf, self.gen.random(1024)), self.n - 1)
            self._buf = draws.tolist()[::-1]
        index = self._buf.pop()
        if self._indices is not None:
            index = self._indices[index]
        # key_name(index), made once per key: formatting it (and hashing the new
        # string in every dict on its way) cost every request
        name = self._names.get(index)
        if name is None:
            name = self._names[index] = key_name(index)
        return name


class Source:
    """One stream of a client's traffic: Poisson arrivals at ``rate_per_s``
    from ``start_s`` until ``end_s``, with its keys, operation mix and item
    sizes, each drawn from streams of its own (``client/<host>/...`` for the
    base traffic, ``client/<host>/<phase>/...`` for a phase's)."""

    __slots__ = ("name", "rate_per_s", "start_s", "end_s", "arrival_draws", "op_draws",
                 "size_draws", "keys", "mix", "size_bytes", "fixed_size")

    def __init__(self, world: World, cfg: Config, client: str, rate_per_s: float,
                 phase: Phase | None = None) -> None:
        w = cfg.workload
        streams = world.streams
        prefix = f"client/{client}" if phase is None else f"client/{client}/{phase.name}"
        self.name = BACKGROUND if phase is None else phase.name
        self.rate_per_s = rate_per_s
        self.start_s = 0.0 if phase is None else phase.start_s
        self.end_s = math.inf if phase is None else phase.end_s
        self.arrival_draws = streams.draws(f"{prefix}/arrivals")  # inter-arrival times
        self.op_draws = streams.draws(f"{prefix}/ops")  # operation kinds, written item sizes
        self.size_draws = streams.draws(f"{prefix}/sizes")  # sizes of the items read
        self.keys = KeyChooser(cfg, streams.stream(f"{prefix}/keys"),
                               None if phase is None else phase.keys)
        mix = phase.mix if phase is not None and phase.mix is not None else {
            GET_STRONG: w.get_strong, GET_EVENTUAL: w.get_eventual, PUT: w.put,
            COND_PUT: w.cond_put, DELETE: w.delete}
        self.mix = np.cumsum([mix.get(kind, 0.0) for kind in OP_KINDS]).tolist()
        self.size_bytes = (phase.item_size_bytes if phase is not None
                           and phase.item_size_bytes is not None else w.item_size_bytes)
        self.fixed_size = w.item_size_distribution == "fixed"

    def draw_op(self) -> tuple[str, str]:
        # the first kind whose cumulative share exceeds u (the last if rounding
        # left the shares a hair under 1)
        kind = OP_KINDS[min(bisect_right(self.mix, self.op_draws.uniform()), len(OP_KINDS) - 1)]
        return kind, self.keys.next()

    def written_size(self) -> float:
        return self.size_bytes if self.fixed_size else self.op_draws.exponential(self.size_bytes)

    def read_size(self) -> float:
        return self.size_bytes if self.fixed_size else self.size_draws.exponential(self.size_bytes)


class _Operation:
    __slots__ = ("kind", "key", "value", "expected", "invoke_s", "attempts", "maybe_applied",
                 "last_cost", "hist", "size_bytes", "write", "source")

    def __init__(self, kind: str, key: str, value: Any, expected: int | None, invoke_s: float,
                 size_bytes: float, source: Source | None) -> None:
        self.kind = kind
        self.key = key
        self.value = value
        self.expected = expected
        self.invoke_s = invoke_s
        self.attempts = 0
        self.maybe_applied = False
        self.last_cost = 0
        self.hist: Any = None
        self.size_bytes = size_bytes
        self.write: Any = None
        self.source = source


class Client:
    """One client process: Poisson arrivals at ``rate_per_s``, plus the
    traffic of each phase it is given (its share of the phase's rate).

    It is handed its collaborators: the world (clock, network, random
    streams, routers), the config, the figures it records outcomes in (None
    when ``metrics.enabled`` is off), the write ledger, the history (None
    when ``metrics.history`` is off), a source of request ids unique in the
    run, and the partition a key belongs to (to charge an error that came
    back without one).  Neither figures nor history change what it does."""

    def __init__(self, world: World, cfg: Config, host: Host, name: str, rate_per_s: float, *,
                 figures: Figures | None, ledger: WriteLedger, history: History | None,
                 next_request_id: Callable[[], int], partition_of: Callable[[str], str],
                 canary: bool = False, phases: Sequence[tuple[Phase, float]] = ()) -> None:
        self.host = host
        self.name = name
        self.rate_per_s = rate_per_s
        self.canary = canary
        self.figures = figures
        self.ledger = ledger
        self.history = history
        self.next_request_id = next_request_id
        self.partition_of = partition_of
        self.env = world.env
        self.net = world.network
        self.cfg = cfg
        # One random stream per concern: retries drawing more never shift arrivals.
        self.retry_draws = world.streams.draws(f"client/{name}/retry")  # back-off jitter
        self.base = Source(world, cfg, name, rate_per_s)
        #: the base traffic's source, then each phase's (phase, its rate here)
        self.sources = [self.base] + [Source(world, cfg, name, rate, phase)
                                      for phase, rate in phases]
        #: outcomes per source are kept only when there are phases
        self._by_source = bool(phases) and figures is not None
        self._topology = world.topology
        standby = set(world.topology.standby_routers)
        self.routers = local_first([r for r in world.topology.of_kind("router")
                                    if r.id not in standby], host.az)
        #: routers in the client's own AZ (the first of ``routers``): a first
        #: attempt goes to them in turn, as a load balancer in front of them would
        self._local = sum(1 for r in self.routers if r.az == host.az)
        self._turn = 0
        self.pending: dict[int, tuple[_Operation, Host]] = {}
        self.router_suspect_until: dict[str, float] = {}
        self._deadlines = Deadlines(self.env, cfg.client.attempt_timeout_s, self._timeout,
                                    pending=self.pending)
        self.versions: dict[str, int] = {}
        self.seq = 0
        self.retry = retry_policy(cfg.client.retry_mode, cfg.client, self.retry_draws)
        self._series = figures is not None and figures.traffic_series_s > 0
        # only the adaptive mode has a rate limiter: the others skip the call
        self._limiter = self.retry.send_delay if self.retry.name == "adaptive" else None
        self.active = False
        self.net.register(host, self.receive)

    # ------------------------------------------------------------------
    def start(self) -> None:
        self.active = True
        for source in self.sources:
            if source.rate_per_s > 0:
                call_later(self.env, source.start_s
                           + source.arrival_draws.exponential(1.0 / source.rate_per_s),
                           self._arrive, source)

    def stop(self) -> None:
        self.active = False

    def _arrive(self, source: Source) -> None:
        if not self.active or self.env._now >= source.end_s:  # type: ignore[attr-defined]
            return
        call_later(self.env, source.arrival_draws.exponential(1.0 / source.rate_per_s),
                   self._arrive, source)
        if self.host.powered:
            if self.canary:
                self.seq += 1
                self.issue(PUT if self.seq % 2 else GET_STRONG,
                           f"canary-{self.name}-{self.seq % 16}")
            else:
                kind, key = source.draw_op()
                self.issue(kind, key, source)

    def issue(self, kind: str, key: str, source: Source | None = None) -> None:
        """Invoke one operation now (of ``source``'s traffic; the base's if None)."""
        self.seq += 1
        now = self.env._now  # type: ignore[attr-defined]  # as Environment.now
        value = f"{self.name}:{self.seq}" if kind in (PUT, COND_PUT) else None
        expected = self.versions.get(key, 0) if kind == COND_PUT else None
        source = source or self.base
        if value:
            size = source.written_size()
        elif kind in READS:
            size = source.read_size()
        else:
            size = 0.0
        op = _Operation(kind, key, value, expected, now, size, source)
        if self.history is not None:
            op.hist = self.history.invoke(self.name, kind, key, value, now, expected)
        if kind not in READS:
            op.write = self.ledger.invoke(key, value, now)
        self._attempt(op)

    def _attempt(self, op: _Operation, held: bool = False) -> None:
        if not self.host.powered:
            return  # the client died with its host: the operation never completes
        if self._limiter is not None and not held:
            wait_s = self._limiter(self.env._now)  # type: ignore[attr-defined]
            if wait_s > 0.0:  # the adaptive mode's rate limiter holds it back
                call_later(self.env, wait_s, self._attempt, op, True)
                return
        if self._series:
            assert self.figures is not None
            now = self.env.now
            self.figures.count("attempts", now)
            if op.attempts == 0:
                self.figures.count("first_attempts", now)
        attempt = op.attempts
        if self._local > 1 and attempt == 0:  # several local routers: the next in turn
            self._turn = (self._turn + 1) % self._local
        if self.router_suspect_until:
            router = self._router(attempt + self._turn)
        else:  # no router suspected (as usual): _router's answer without the call
            router = self.routers[(attempt + self._turn) % len(self.routers)]
        op.attempts = attempt + 1
        req_id = self.next_request_id()
        self.pending[req_id] = (op, router)
        self.net.send(self.host, router,
                      ClientRequest(req_id, op.kind, op.key, op.value, op.expected, op.size_bytes))
        self._deadlines.add(req_id)

    def add_routers(self, ids: list[str]) -> None:
        """Routers brought into service: the load balancer sends to them too
        (those in the client's AZ join the local ones, the others the rest)."""
        known = {r.id for r in self.routers} | set(ids)
        self.routers = local_first([r for r in self._topology.of_kind("router")
                                    if r.id in known], self.host.az)
        self._local = sum(1 for r in self.routers if r.az == self.host.az)

    def _router(self, attempt: int) -> Host:
        """The local router first, the next one on each retry, skipping
        routers that recently timed out (as a health-checking load balancer
        would), unless all of them have."""
        n = len(self.routers)
        if not self.router_suspect_until:
            return self.routers[attempt % n]
        now = self.env.now
        for k in range(n):
            router = self.routers[(attempt + k) % n]
            if self.router_suspect_until.get(router.id, -1.0) <= now:
                return router
        return self.routers[attempt % n]

    def _timeout(self, req_id: int) -> None:
        entry = self.pending.pop(req_id, None)
        if entry is not None:
            op, router = entry
            self.router_suspect_until[router.id] = self.env.now + self.cfg.client.router_suspect_s
            self._failed(op, "timeout")

    def receive(self, src: Host, msg: Any) -> None:
        if not isinstance(msg, ClientReply):
            return
        entry = self.pending.pop(msg.req_id, None)
        if entry is None:
            return  # a late reply to an attempt we already gave up on
        op = entry[0]
        self.router_suspect_until.pop(src.id, None)
        status = msg.status
        if self._by_source:
            self.figures.attempt(self.env.now, op.source.name,  # type: ignore[union-attr]
                                 status == THROTTLED)
        if status == "ok":
            self._succeeded(op, msg)
        else:
            self._failed(op, status, msg.pid)

    # ------------------------------------------------------------------
    def _succeeded(self, op: _Operation, msg: ClientReply) -> None:
        now = self.env._now  # type: ignore[attr-defined]
        self.retry.succeeded(op.attempts, op.last_cost, now)
        if op.kind in READS:
            if msg.value is not None:
                self.versions[op.key] = msg.version
        elif msg.applied:
            self.versions[op.key] = msg.version
        if self.figures is not None:
            self.figures.record(op.invoke_s, op.kind, "ok", now - op.invoke_s, msg.pid,
                                self.host.az if self.canary else None)
            if self._by_source:
                self.figures.record_source(op.source.name, "ok",  # type: ignore[union-attr]
                                           now - op.invoke_s)
        if op.write is not None:
            if op.kind != COND_PUT or msg.applied:
                self.ledger.resolve(op.write, ACKED, now)
            elif not op.maybe_applied:
                # the condition failed; unless an earlier timed-out attempt
                # applied it, the write certainly did not happen
                self.ledger.resolve(op.write, FAILED)
        if op.hist is not None:
            result = msg.value if op.kind in READS else msg.applied
            History.complete(op.hist, "ok", now, result, msg.version, op.attempts)

    def _failed(self, op: _Operation, status: str, pid: str | None = None) -> None:
        if status == "timeout":
            op.maybe_applied = True
        step = self.retry.retry(op.attempts, status, self.env._now)  # type: ignore[attr-defined]
        if step is not None:
            delay, op.last_cost = step
            if status == "timeout" and self.history is not None and op.kind not in READS:
                # The timed-out attempt may have taken effect, and the retry
                # may take effect again (nothing deduplicates retries): in the
                # history it is an operation of its own, forever "info".
                attempt = self.history.invoke(self.name, op.kind, op.key, op.value, op.invoke_s,
                                              op.expected)
                History.complete(attempt, "info", None, None, 0, op.attempts)
            call_later(self.env, delay, self._attempt, op)
            return
        now = self.env.now
        outcome = "throttled" if status == "throttled" else "error"
        if self.figures is not None:
            if pid is None:
                pid = self.partition_of(op.key)
            self.figures.record(op.invoke_s, op.kind, outcome, now - op.invoke_s, pid,
                                self.host.az if self.canary else None)
            if self._by_source:
                self.figures.record_source(op.source.name, outcome,  # type: ignore[union-attr]
                                           now - op.invoke_s)
        if op.write is not None and not op.maybe_applied:
            self.ledger.resolve(op.write, FAILED)
        if op.hist is not None:
            hist_outcome = "info" if (op.maybe_applied and op.kind not in READS) else "fail"
            History.complete(op.hist, hist_outcome, now, None, 0, op.attempts)
