"""A request router's local, time-limited tokens, refilled from GAC
(paper §4.2).

Each router keeps a stock of read tokens (RCU) and write tokens (WCU) for
its table, granted by a GAC server (:mod:`.gac`) and valid for
``admission.gac_token_lifetime_s`` from their grant.  A request that finds
enough tokens spends them and goes on at once.  The router asks for more
every ``admission.gac_refresh_s`` ("every few seconds") or as soon as its
stock falls below ``admission.gac_low_water`` of its last grant -- in the
background, while it goes on spending what it has -- telling GAC its
demand since it last asked (units wanted per second, admitted or not) and
the tokens it still holds, which the grant tops up (nothing granted is
thrown away); the whole stock is then valid for the token lifetime.

A request that finds the stock short waits for the answer to the ask in
flight (or makes one) and is then admitted if the new stock covers it, and
throttled if not; a router that ran out asks at most every
``admission.gac_min_ask_s``, and in between throttles at once.  Asks go to
the table's owner on the GAC ring; one unanswered within
``admission.gac_timeout_s`` makes the router avoid that server for
``admission.gac_suspect_s`` and ask the next one on the ring, which starts
from nothing and learns the demands as the routers ask -- so a GAC server's
crash costs a router one timeout, not its table's capacity.  An answer that
comes after its ask was given up on (a slow server, not a dead one) is
taken all the same, if nothing newer is in stock.  Only when no server
answers are the waiting requests throttled.

Everything is volatile: a router that loses power starts with no tokens.
The counters (asks, grants, timeouts; units and requests throttled, per
partition) are never reset.
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from ddbsim.config import AdmissionConfig
from ddbsim.service.admission.bucket import EPSILON
from ddbsim.service.admission.capacity import units
from ddbsim.service.admission.gac import GacRing
from ddbsim.service.messages import READS, TokenGrant, TokenRequest
from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later
from ddbsim.world.topology import Host

# Counter slots per partition: units throttled (RCU, WCU), requests throttled.
READ_THROTTLED, WRITE_THROTTLED, THROTTLED = range(3)
COUNTERS = 3

#: ``resume(item, admitted)``: what the router does with a request that waited.
Resume = Callable[[Any, bool], None]


class RouterTokens:
    def __init__(self, host: Host, world: World, cfg: AdmissionConfig, table: str, ring: GacRing,
                 resume: Resume) -> None:
        self.host = host
        self.env = world.env
        self.net = world.network
        self._hosts = world.topology.hosts
        self.cfg = cfg
        self.table = table
        self.ring = ring
        self._owners = ring.owners(table)
        self._resume = resume
        self._seq = 0
        self.asks = 0  # token requests sent (refreshes and asks on running out)
        self.grants = 0  # answers received
        self.timeouts = 0  # asks a GAC server did not answer in time
        #: pid -> the counters above
        self.counters: dict[str, list[float]] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every token and ask (the router lost power)."""
        self.tokens = [0.0, 0.0]  # read, write
        self._low_water = [0.0, 0.0]  # ask early below these (a share of the last grant)
        self.expires_s = -math.inf
        self.next_refresh_s = -math.inf
        self.answered_s = -math.inf
        self.wanted = [0.0, 0.0]  # units wanted since the last ask
        self.asked_s = self.env.now
        self.in_flight: int | None = None  # the seq of the ask awaiting an answer
        self._granted_seq = self._seq  # the newest ask whose answer is in stock
        self._tried: list[str] = []  # servers asked for the ask in flight
        self.waiting: deque[tuple[Any, str, float, int]] = deque()  # (item, pid, cost, slot)
        self.suspect_until: dict[str, float] = {}

    # ------------------------------------------------------------------
    def admit(self, item: Any, pid: str, kind: str, size_bytes: float) -> bool | None:
        """True: admitted (tokens spent); False: throttled; None: waiting
        for GAC -- ``resume(item, admitted)`` will say.  On every request's
        path: the admitted case is a few comparisons."""
        now = self.env._now  # type: ignore[attr-defined]  # as Environment.now
        cost = units(kind, size_bytes)
        slot = 0 if kind in READS else 1
        self.wanted[slot] += cost
        tokens = self.tokens
        if now >= self.expires_s:
            tokens[0] = tokens[1] = 0.0
        if tokens[slot] + EPSILON >= cost and not self.waiting:
            tokens[slot] -= cost
            if self.in_flight is None and (now >= self.next_refresh_s
                                           or tokens[slot] < self._low_water[slot]):
                self._ask(now)
            return True
        if self.in_flight is None:
            if now - self.answered_s < self.cfg.gac_min_ask_s:
                self._throttled(pid, slot, cost)
                return False
            self._ask(now)
        self.waiting.append((item, pid, cost, slot))
        return None

    def _throttled(self, pid: str, slot: int, cost: float) -> None:
        c = self.counters.get(pid)
        if c is None:
            c = self.counters[pid] = [0.0] * COUNTERS
        c[READ_THROTTLED + slot] += cost
        c[THROTTLED] += 1

    # -- asking GAC --------------------------------------------------------
    def _ask(self, now: float) -> None:
        self._tried = []
        elapsed = max(now - self.asked_s, self.cfg.gac_min_ask_s)
        demand = (self.wanted[0] / elapsed, self.wanted[1] / elapsed)
        self.wanted = [0.0, 0.0]
        self.asked_s = now
        self._send(demand)

    def _stock(self, now: float) -> tuple[float, float]:
        """The unexpired tokens in stock."""
        if now >= self.expires_s:
            return 0.0, 0.0
        return max(0.0, self.tokens[0]), max(0.0, self.tokens[1])

    def _send(self, demand: tuple[float, float]) -> None:
        server = self._server()
        self._tried.append(server)
        self._seq += 1
        seq = self.in_flight = self._seq
        self.asks += 1
        stock = self._stock(self.env.now)
        self.net.send(self.host, self._hosts[server],
                      TokenRequest(seq, self.table, demand[0], demand[1], stock[0], stock[1]))
        call_later(self.env, self.cfg.gac_timeout_s, self._timed_out, seq, demand)

    def _server(self) -> str:
        """The first server on the ring not yet tried for this ask and not
        suspected; else the first not yet tried."""
        now = self.env.now
        untried = [s for s in self._owners if s not in self._tried]
        for server in untried:
            if self.suspect_until.get(server, -math.inf) <= now:
                return server
        return untried[0]

    def _timed_out(self, seq: int, demand: tuple[float, float]) -> None:
        if self.in_flight != seq:
            return
        self.timeouts += 1
        now = self.env.now
        self.suspect_until[self._tried[-1]] = now + self.cfg.gac_suspect_s
        if len(self._tried) < len(self._owners):
            self._send(demand)  # the next server on the ring
            return
        self.in_flight = None
        self.answered_s = now
        self._drain()

    def on_grant(self, src: Host, msg: TokenGrant) -> None:
        if msg.seq <= self._granted_seq:
            return  # older than the tokens in stock
        # A late answer to an ask given up on (its server was slow, not down)
        # is as good as the answer to the ask in flight: take it.
        self._granted_seq = msg.seq
        now = self.env.now
        self.in_flight = None
        self.grants += 1
        self.suspect_until.pop(src.id, None)
        read, write = self._stock(now)
        self.tokens = [read + msg.read_units, write + msg.write_units]
        low = self.cfg.gac_low_water
        self._low_water = [low * self.tokens[0], low * self.tokens[1]]
        self.expires_s = now + msg.valid_s
        self.next_refresh_s = now + self.cfg.gac_refresh_s
        self.answered_s = now
        self._drain()

    def _drain(self) -> None:
        """Admit the waiting requests the stock covers, in order; throttle the rest."""
        waiting = self.waiting
        tokens = self.tokens
        while waiting:
            item, pid, cost, slot = waiting.popleft()
            admitted = tokens[slot] + EPSILON >= cost
            if admitted:
                tokens[slot] -= cost
            else:
                self._throttled(pid, slot, cost)
            self._resume(item, admitted)

    def levels(self, now_s: float) -> tuple[float, float]:
        """(read, write) tokens in stock now (0 once expired)."""
        return self._stock(now_s)
