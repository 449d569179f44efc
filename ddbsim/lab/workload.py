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
the client last saw for the key (0 if none: "must not exist").

Retries follow the client's SDK retry mode (``client.retry_mode``,
:mod:`ddbsim.lab.retry_modes`), by default the AWS SDKs' standard mode: up
to ``max_attempts`` attempts, full-jitter exponential back-off
(``base_backoff_s``, capped at ``max_backoff_s``), and a retry quota of 500
tokens that a retry spends (5, or 10 after a timeout) and a success refills.
An operation ends ``ok``, ``error`` (after its last attempt) or
``throttled``.

With ``metrics.history`` on, every operation is recorded as invoke, then
``ok``, ``fail`` or ``info`` (:mod:`ddbsim.lab.history`); a write whose
attempt timed out and was retried is recorded once more, as an ``info``
operation of its own, because both attempts may take effect.

Canary clients run in every AZ at a fixed rate, alternating strong reads and
puts on keys of their own, and are reported per AZ.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

import numpy as np

from ddbsim.config import Config
from ddbsim.lab.checkers.durability import ACKED, FAILED, WriteLedger
from ddbsim.lab.history import History
from ddbsim.lab.metrics import Figures
from ddbsim.lab.retry_modes import retry_policy
from ddbsim.service.messages import (
    COND_PUT,
    DELETE,
    GET_EVENTUAL,
    GET_STRONG,
    PUT,
    READS,
    ClientReply,
    ClientRequest,
)
from ddbsim.world.region import World
from ddbsim.world.scheduling import Deadlines, call_later
from ddbsim.world.topology import Host

OP_KINDS = (GET_STRONG, GET_EVENTUAL, PUT, COND_PUT, DELETE)


class KeyChooser:
    """Draws keys, uniform or Zipf, in batches."""

    def __init__(self, cfg: Config, gen: np.random.Generator) -> None:
        w = cfg.workload
        self.n = w.key_count
        self.gen = gen
        if w.key_distribution == "zipf":
            ranks = np.arange(1, self.n + 1, dtype=float)
            p = ranks ** -w.zipf_exponent
            self._cdf: np.ndarray | None = np.cumsum(p / p.sum())
        else:
            self._cdf = None
        self._buf: list[int] = []

    def next(self) -> str:
        if not self._buf:
            if self._cdf is None:
                draws = self.gen.integers(0, self.n, 1024)
            else:
                draws = np.minimum(np.searchsorted(self._cdf, self.gen.random(1024)), self.n - 1)
            self._buf = draws.tolist()[::-1]
        return f"k{self._buf.pop():07d}"


class _Operation:
    __slots__ = ("kind", "key", "value", "expected", "invoke_s", "attempts", "maybe_applied",
                 "last_cost", "hist", "size_bytes", "write")

    def __init__(self, kind: str, key: str, value: Any, expected: int | None, invoke_s: float,
                 size_bytes: float) -> None:
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


class Client:
    """One client process: Poisson arrivals at ``rate_per_s``.

    It is handed its collaborators: the world (clock, network, random
    streams, routers), the config, the figures it records outcomes in (None
    when ``metrics.enabled`` is off), the write ledger, the history (None
    when ``metrics.history`` is off), a source of request ids unique in the
    run, and the partition a key belongs to (to charge an error that came
    back without one).  Neither figures nor history change what it does."""

    def __init__(self, world: World, cfg: Config, host: Host, name: str, rate_per_s: float, *,
                 figures: Figures | None, ledger: WriteLedger, history: History | None,
                 next_request_id: Callable[[], int], partition_of: Callable[[str], str],
                 canary: bool = False) -> None:
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
        streams = world.streams
        self.arrival_draws = streams.draws(f"client/{name}/arrivals")  # inter-arrival times
        self.op_draws = streams.draws(f"client/{name}/ops")  # operation kinds, item sizes
        self.retry_draws = streams.draws(f"client/{name}/retry")  # back-off jitter
        self.keys = KeyChooser(cfg, streams.stream(f"client/{name}/keys"))
        routers = world.topology.of_kind("router")
        local = [r for r in routers if r.az == host.az]
        self.routers = local + [r for r in routers if r.az != host.az]
        self.pending: dict[int, tuple[_Operation, Host]] = {}
        self.router_suspect_until: dict[str, float] = {}
        self._deadlines = Deadlines(self.env, cfg.client.attempt_timeout_s, self._timeout,
                                    pending=self.pending)
        self.versions: dict[str, int] = {}
        self.seq = 0
        self.retry = retry_policy(cfg.client.retry_mode, cfg.client, self.retry_draws)
        self._series = figures is not None and figures.series_s > 0
        # only the adaptive mode has a rate limiter: the others skip the call
        self._limiter = self.retry.send_delay if self.retry.name == "adaptive" else None
        self.active = False
        w = cfg.workload
        self._mix = np.cumsum([w.get_strong, w.get_eventual, w.put, w.cond_put, w.delete]).tolist()
        self.net.register(host, self.receive)

    # ------------------------------------------------------------------
    def start(self) -> None:
        if self.rate_per_s <= 0:
            return
        self.active = True
        call_later(self.env, self.arrival_draws.exponential(1.0 / self.rate_per_s), self._arrive)

    def stop(self) -> None:
        self.active = False

    def _arrive(self) -> None:
        if not self.active:
            return
        call_later(self.env, self.arrival_draws.exponential(1.0 / self.rate_per_s), self._arrive)
        if self.host.powered:
            self.issue(*self._draw_op())

    def _draw_op(self) -> tuple[str, str]:
        if self.canary:
            self.seq += 1
            return (PUT if self.seq % 2 else GET_STRONG), f"canary-{self.name}-{self.seq % 16}"
        # the first kind whose cumulative share exceeds u (the last if rounding
        # left the shares a hair under 1)
        kind = OP_KINDS[min(bisect_right(self._mix, self.op_draws.uniform()), len(OP_KINDS) - 1)]
        return kind, self.keys.next()

    def issue(self, kind: str, key: str) -> None:
        """Invoke one operation now."""
        self.seq += 1
        now = self.env._now  # type: ignore[attr-defined]  # as Environment.now
        value = f"{self.name}:{self.seq}" if kind in (PUT, COND_PUT) else None
        expected = self.versions.get(key, 0) if kind == COND_PUT else None
        size = self.op_draws.exponential(self.cfg.workload.item_size_bytes) if value else 0.0
        op = _Operation(kind, key, value, expected, now, size)
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
        router = self._router(op.attempts)
        op.attempts += 1
        req_id = self.next_request_id()
        self.pending[req_id] = (op, router)
        self.net.send(self.host, router,
                      ClientRequest(req_id, op.kind, op.key, op.value, op.expected, op.size_bytes))
        self._deadlines.add(req_id)

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
        if msg.status == "ok":
            self._succeeded(op, msg)
        else:
            self._failed(op, msg.status, msg.pid)

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
        if op.write is not None and not op.maybe_applied:
            self.ledger.resolve(op.write, FAILED)
        if op.hist is not None:
            hist_outcome = "info" if (op.maybe_applied and op.kind not in READS) else "fail"
            History.complete(op.hist, hist_outcome, now, None, 0, op.attempts)
