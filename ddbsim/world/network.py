"""The region's network: one-way latency by locality, and cuttable links.

Every message between hosts goes through :meth:`Network.send`, so a dead
host, a cut link or (later) a slow link applies to every component alike.

Latency is log-normal with a median per locality (same host, same AZ,
across AZs) and one shape parameter, all ``[chosen]`` in
:class:`~ddbsim.config.NetworkConfig`.  A message is dropped if its sender
is off when it is sent, or if at delivery its receiver is off, has been
power-cycled since the send, or the link between them is cut.  Links are cut
one way or both, between two hosts or between two whole AZs.

Links can also be *impaired* rather than cut, between two AZs or across the
whole region: each message is lost with a probability, and/or delayed by an
extra log-normal delay with a given median (a delay spike).  An impaired
link can also *duplicate* messages (each copy with its own latency, so the
copies arrive apart), *reorder* them (an extra delay uniform in a window, so
that later messages overtake earlier ones), and hold some back for seconds
(*stale* messages: sent under one leader, delivered after the next one is
elected -- the messages Paxos ballots exist for).  Those three strike only
messages between two storage hosts (the replication transport, datagrams in
effect); a client's or a router's request rides a connection that delivers
it once and in order, or not at all.  Impairments apply to messages between
different hosts only, and cost nothing while none is set.

An impaired link can also **corrupt** messages (any message, on any link
between two hosts): bits flip in flight.  Every message carries a
``checksum`` slot (:mod:`ddbsim.service.messages`), which holds the
difference between the checksum the message carries and the checksum of
its content -- 0 when they agree.  The model never computes a CRC of every
message's content (it would cost every message and change nothing): a
corrupted message is a copy whose slot has one bit flipped, and the
receiving host's transport checks the slot on arrival, drops a message
whose checksum does not match, and counts it (:attr:`Network.corrupt_dropped`,
per receiving host).  A CRC-32 misses a random corruption with probability
2^-32; the model catches every one.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL

from ddbsim.config import NetworkConfig
from ddbsim.world.streams import Draws
from ddbsim.world.topology import Host, Topology

Handler = Callable[[Host, Any], None]
#: The kind of host whose messages to each other may be duplicated, reordered
#: and held back (see the module docstring).
STORAGE = "storage"


class _Delivery:
    """One message on its way: an entry in SimPy's event queue whose one
    callback (shared by all deliveries) is :meth:`Network._deliver`.  Made
    with ``object.__new__`` and filled in by :meth:`Network.send`."""

    __slots__ = ("callbacks", "src", "dst", "msg", "epoch", "src_epoch")
    _ok = True  # what SimPy's step() checks after the callbacks
    _value = None
    callbacks: list[Callable[[_Delivery], None]]
    src: Host
    dst: Host
    msg: Any
    epoch: int
    src_epoch: int


_new = object.__new__

#: The key of a region-wide impairment.
REGION = ("region", "region")
#: (duplicate probability, reorder window s, stale probability, stale hold s)
Messy = tuple[float, float, float, float]
#: (loss probability, extra delay median s, the messy part or None,
#: corruption probability)
Impairment = tuple[float, float, Messy | None, float]


class Network:
    def __init__(self, env: simpy.Environment, topology: Topology, cfg: NetworkConfig,
                 draws: Draws, impairment_draws: Draws | None = None,
                 messy_draws: Draws | None = None, corrupt_draws: Draws | None = None) -> None:
        self.env = env
        self.topology = topology
        self.cfg = cfg
        self._draws = draws  # latencies
        # losses and extra delays on impaired links: their own stream, so an
        # impairment does not move the latencies of every later message
        self._impairment_draws = impairment_draws or draws
        # duplicates, reordering and stale messages: a stream of their own,
        # so that adding them moved no draw of the losses and delays
        self._messy_draws = messy_draws or self._impairment_draws
        # corruption in flight: a stream of its own too
        self._corrupt_draws = corrupt_draws or self._impairment_draws
        self._corrupting = False  # a message may be corrupt (set once corruption is on)
        self.corrupted = 0  # messages corrupted in flight
        #: receiving host -> messages it dropped for a checksum that did not match
        self.corrupt_dropped: dict[str, int] = {}
        self._handlers: dict[str, Handler] = {}
        self._cut_hosts: set[tuple[str, str]] = set()
        self._cut_azs: set[tuple[str, str]] = set()
        #: (src AZ, dst AZ) or REGION -> :class:`Impairment`
        self._impaired: dict[tuple[str, str], Impairment] = {}
        self._any_cut = False  # any link cut (the fast path skips the check)
        self.sent = 0
        self.dropped = 0
        self._log_sigma = cfg.latency_sigma
        self._same_host_s = cfg.same_host_latency_s
        self._same_az_s = cfg.same_az_latency_s
        self._cross_az_s = cfg.cross_az_latency_s
        self._factors: list[float] = []  # log-normal latency factors, drawn in batches
        # shared by every delivery event
        self._deliver_callbacks: list[Callable[[_Delivery], None]] = [self._deliver]

    # -- wiring ----------------------------------------------------------
    def register(self, host: Host, handler: Handler) -> None:
        """Deliver messages addressed to ``host`` to ``handler(src, msg)``."""
        self._handlers[host.id] = handler

    def handler(self, host: Host) -> Handler | None:
        """The handler registered for ``host``, if any (to chain to it)."""
        return self._handlers.get(host.id)

    # -- sending ---------------------------------------------------------
    def latency_s(self, src: Host, dst: Host) -> float:
        """A one-way latency from ``src`` to ``dst`` (a draw)."""
        factors = self._factors
        if not factors:
            factors = self._factors = self._draws.lognormal_factors(self._log_sigma)
        return self._median_s(src, dst) * factors.pop()

    def _median_s(self, src: Host, dst: Host) -> float:
        if src is dst:
            return self._same_host_s
        return self._same_az_s if src.az == dst.az else self._cross_az_s

    def send(self, src: Host, dst: Host, msg: Any, after_s: float = 0.0) -> None:
        """Send ``msg`` from ``src`` to ``dst``; it may be silently dropped.

        ``after_s`` delays the departure (the sender is still busy with it);
        the sender must then still be up, unrebooted, when it would leave --
        checked at delivery, which comes later still.

        This is the hottest function of a run: it inlines the latency draw
        and the scheduling, and costs one event per message.
        """
        self.sent += 1
        if not src.powered or (self._any_cut and not self.reachable(src, dst)):
            self.dropped += 1
            return
        factors = self._factors
        if not factors:
            factors = self._factors = self._draws.lognormal_factors(self._log_sigma)
        if src is dst:
            delay_s = after_s + self._same_host_s * factors.pop()
        elif src.az == dst.az:
            delay_s = after_s + self._same_az_s * factors.pop()
        else:
            delay_s = after_s + self._cross_az_s * factors.pop()
        if self._impaired and src is not dst:
            impairment = self._impaired.get((src.az, dst.az)) or self._impaired.get(REGION)
            if impairment is not None:
                loss, extra_s, messy, corrupt = impairment
                if loss > 0.0 and self._impairment_draws.uniform() < loss:
                    self.dropped += 1
                    return
                if extra_s > 0.0:
                    delay_s += self._impairment_draws.lognormal(extra_s, self.cfg.impair_delay_sigma)
                if messy is not None and src.kind == STORAGE and dst.kind == STORAGE:
                    delay_s = self._mess_up(src, dst, msg, after_s, delay_s, messy)
                if corrupt > 0.0 and self._corrupt_draws.uniform() < corrupt:
                    msg = self._corrupt(msg)
        d = _new(_Delivery)  # no __init__ frame: this runs for every message
        d.callbacks = self._deliver_callbacks
        d.src = src
        d.dst = dst
        d.msg = msg
        d.epoch = dst.epoch
        d.src_epoch = src.epoch if after_s else -1
        env = self.env
        heappush(env._queue, (env._now + delay_s, NORMAL, next(env._eid), d))  # type: ignore[attr-defined,misc]

    def _mess_up(self, src: Host, dst: Host, msg: Any, after_s: float, delay_s: float,
                 messy: Messy) -> float:
        """Reorder, hold back and duplicate one message on an impaired link
        (draws from the impairment's own stream, ``world/network/messy``);
        returns the original's delay."""
        draws = self._messy_draws
        duplicate, window_s, stale, hold_s = messy
        if window_s > 0.0:
            delay_s += draws.uniform() * window_s
        if stale > 0.0 and draws.uniform() < stale:
            delay_s += hold_s * (0.5 + 0.5 * draws.uniform())
        if duplicate > 0.0 and draws.uniform() < duplicate:
            again_s = after_s + self._median_s(src, dst) * draws.lognormal(1.0, self._log_sigma)
            if window_s > 0.0:
                again_s += draws.uniform() * window_s
            self._schedule(src, dst, msg, after_s, again_s)
        return delay_s

    def _corrupt(self, msg: Any) -> Any:
        """A copy of ``msg`` with one bit of its checksum flipped (the
        original may be on its way to other hosts too).  A payload without a
        checksum slot cannot be checked, so it is left as it is."""
        if not hasattr(msg, "checksum"):
            return msg
        bad = copy.copy(msg)
        bad.checksum = msg.checksum ^ (1 << min(int(self._corrupt_draws.uniform() * 32), 31))
        self.corrupted += 1
        self._corrupting = True
        return bad

    def _schedule(self, src: Host, dst: Host, msg: Any, after_s: float, delay_s: float) -> None:
        d = _new(_Delivery)
        d.callbacks = self._deliver_callbacks
        d.src = src
        d.dst = dst
        d.msg = msg
        d.epoch = dst.epoch
        d.src_epoch = src.epoch if after_s else -1
        env = self.env
        heappush(env._queue, (env._now + delay_s, NORMAL, next(env._eid), d))  # type: ignore[attr-defined,misc]

    def _deliver(self, d: _Delivery) -> None:
        dst = d.dst
        src = d.src
        if not dst.powered or dst.epoch != d.epoch or (
                d.src_epoch >= 0 and src.epoch != d.src_epoch) or (
                self._any_cut and not self.reachable(src, dst)):
            self.dropped += 1
            return
        handler = self._handlers.get(dst.id)
        if handler is None:
            self.dropped += 1
            return
        if self._corrupting and getattr(d.msg, "checksum", 0) != 0:
            # the receiver's transport: the checksum does not match, drop it
            self.dropped += 1
            self.corrupt_dropped[dst.id] = self.corrupt_dropped.get(dst.id, 0) + 1
            return
        handler(src, d.msg)

    # -- links -----------------------------------------------------------
    def reachable(self, src: Host, dst: Host) -> bool:
        """Whether the link from ``src`` to ``dst`` is up (power aside)."""
        if self._cut_hosts and (src.id, dst.id) in self._cut_hosts:
            return False
        if self._cut_azs and (src.az, dst.az) in self._cut_azs:
            return False
        return True

    def cut_hosts(self, a: str, b: str, one_way: bool = False) -> None:
        self._check_host(a)
        self._check_host(b)
        self._cut_hosts.add((a, b))
        if not one_way:
            self._cut_hosts.add((b, a))
        self._cuts_changed()

    def heal_hosts(self, a: str, b: str) -> None:
        self._cut_hosts.discard((a, b))
        self._cut_hosts.discard((b, a))
        self._cuts_changed()

    def cut_azs(self, a: str, b: str, one_way: bool = False) -> None:
        self._check_az(a)
        self._check_az(b)
        if a == b:
            raise ValueError(f"cannot cut {a} from itself")
        self._cut_azs.add((a, b))
        if not one_way:
            self._cut_azs.add((b, a))
        self._cuts_changed()

    def heal_azs(self, a: str, b: str) -> None:
        self._cut_azs.discard((a, b))
        self._cut_azs.discard((b, a))
        self._cuts_changed()

    def _cuts_changed(self) -> None:
        self._any_cut = bool(self._cut_hosts or self._cut_azs)

    def impair(self, a: str, b: str | None = None, loss: float = 0.0, extra_delay_s: float = 0.0,
               duplicate: float = 0.0, reorder_window_s: float = 0.0, stale: float = 0.0,
               stale_hold_s: float = 0.0, corrupt: float = 0.0) -> None:
        """Lose messages with probability ``loss`` and add a delay with median
        ``extra_delay_s``, between AZs ``a`` and ``b`` (both ways), or across
        the whole region when ``a`` is :data:`REGION`; deliver a message twice
        with probability ``duplicate``; add a delay uniform in
        ``[0, reorder_window_s]``; hold a message back for 1/2 to 1 times
        ``stale_hold_s`` with probability ``stale``; corrupt a message in
        flight with probability ``corrupt``.  Replaces any impairment
        already set there."""
        for name, p in (("loss", loss), ("duplicate", duplicate), ("stale", stale),
                        ("corrupt", corrupt)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability, got {p}")
        for name, s in (("extra delay", extra_delay_s), ("reorder window", reorder_window_s),
                        ("stale hold", stale_hold_s)):
            if not s >= 0.0:
                raise ValueError(f"{name} must be zero or more, got {s}")
        messy: Messy | None = None
        if duplicate > 0.0 or reorder_window_s > 0.0 or (stale > 0.0 and stale_hold_s > 0.0):
            messy = (duplicate, reorder_window_s, stale, stale_hold_s)
        for key in self._impairment_keys(a, b):
            self._impaired[key] = (loss, extra_delay_s, messy, corrupt)

    def restore(self, a: str, b: str | None = None) -> None:
        """Remove the impairment between ``a`` and ``b`` (or region-wide)."""
        for key in self._impairment_keys(a, b):
            self._impaired.pop(key, None)

    def _impairment_keys(self, a: str, b: str | None) -> list[tuple[str, str]]:
        if a == REGION[0]:
            return [REGION]
        self._check_az(a)
        if b is None:
            raise ValueError("an impaired link between AZs needs two AZs")
        self._check_az(b)
        if a == b:
            return [(a, a)]
        return [(a, b), (b, a)]

    def heal_all(self) -> None:
        self._cut_hosts.clear()
        self._cut_azs.clear()
        self._impaired.clear()
        self._cuts_changed()

    def _check_host(self, name: str) -> None:
        if name not in self.topology.hosts:
            raise KeyError(name)

    def _check_az(self, name: str) -> None:
        if name not in self.topology.azs:
            raise KeyError(name)


