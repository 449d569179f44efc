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
extra log-normal delay with a given median (a delay spike).  Impairments
apply to messages between different hosts only, and cost nothing while none
is set.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from ddbsim.config import NetworkConfig
from ddbsim.world.scheduling import call_later
from ddbsim.world.streams import Draws
from ddbsim.world.topology import Host, Topology

Handler = Callable[[Host, Any], None]

#: The key of a region-wide impairment.
REGION = ("region", "region")


class Network:
    def __init__(self, env: simpy.Environment, topology: Topology, cfg: NetworkConfig,
                 draws: Draws) -> None:
        self.env = env
        self.topology = topology
        self.cfg = cfg
        self._draws = draws
        self._handlers: dict[str, Handler] = {}
        self._cut_hosts: set[tuple[str, str]] = set()
        self._cut_azs: set[tuple[str, str]] = set()
        #: (src AZ, dst AZ) or REGION -> (loss probability, extra delay median s)
        self._impaired: dict[tuple[str, str], tuple[float, float]] = {}
        self.sent = 0
        self.dropped = 0
        self._log_sigma = cfg.latency_sigma

    # -- wiring ----------------------------------------------------------
    def register(self, host: Host, handler: Handler) -> None:
        """Deliver messages addressed to ``host`` to ``handler(src, msg)``."""
        self._handlers[host.id] = handler

    def handler(self, host: Host) -> Handler | None:
        """The handler registered for ``host``, if any (to chain to it)."""
        return self._handlers.get(host.id)

    # -- sending ---------------------------------------------------------
    def latency_s(self, src: Host, dst: Host) -> float:
        cfg = self.cfg
        if src is dst:
            median = cfg.same_host_latency_s
        elif src.az == dst.az:
            median = cfg.same_az_latency_s
        else:
            median = cfg.cross_az_latency_s
        return self._draws.lognormal(median, self._log_sigma)

    def send(self, src: Host, dst: Host, msg: Any, after_s: float = 0.0) -> None:
        """Send ``msg`` from ``src`` to ``dst``; it may be silently dropped.

        ``after_s`` delays the departure (the sender is still busy with it);
        the sender must then still be up, unrebooted, when it would leave --
        checked at delivery, which comes later still.
        """
        self.sent += 1
        if not src.powered or not self.reachable(src, dst):
            self.dropped += 1
            return
        delay_s = after_s + self.latency_s(src, dst)
        if self._impaired and src is not dst:
            impairment = self._impaired.get((src.az, dst.az)) or self._impaired.get(REGION)
            if impairment is not None:
                loss, extra_s = impairment
                if loss > 0.0 and self._draws.uniform() < loss:
                    self.dropped += 1
                    return
                if extra_s > 0.0:
                    delay_s += self._draws.lognormal(extra_s, self.cfg.impair_delay_sigma)
        call_later(self.env, delay_s, self._deliver, src, dst, msg,
                   dst.epoch, src.epoch if after_s else -1)

    def _deliver(self, src: Host, dst: Host, msg: Any, epoch: int, src_epoch: int) -> None:
        if not dst.powered or dst.epoch != epoch or not self.reachable(src, dst) or (
                src_epoch >= 0 and src.epoch != src_epoch):
            self.dropped += 1
            return
        handler = self._handlers.get(dst.id)
        if handler is None:
            self.dropped += 1
            return
        handler(src, msg)

    # -- links -----------------------------------------------------------
    def reachable(self, src: Host, dst: Host) -> bool:
        """Whether the link from ``src`` to ``dst`` is up (power aside)."""
        if self._cut_hosts and (src.id, dst.id) in self._cut_hosts:
            return False
        if self._cut_azs and (src.az, dst.az) in self._cut_azs:
            return False
        return True

    def cut_hosts(self, a: str, b: str, one_way: bool = False) -> None:
        self._check_host(a), self._check_host(b)
        self._cut_hosts.add((a, b))
        if not one_way:
            self._cut_hosts.add((b, a))

    def heal_hosts(self, a: str, b: str) -> None:
        self._cut_hosts.discard((a, b))
        self._cut_hosts.discard((b, a))

    def cut_azs(self, a: str, b: str, one_way: bool = False) -> None:
        self._check_az(a), self._check_az(b)
        if a == b:
            raise ValueError(f"cannot cut {a} from itself")
        self._cut_azs.add((a, b))
        if not one_way:
            self._cut_azs.add((b, a))

    def heal_azs(self, a: str, b: str) -> None:
        self._cut_azs.discard((a, b))
        self._cut_azs.discard((b, a))

    def impair(self, a: str, b: str | None = None, loss: float = 0.0, extra_delay_s: float = 0.0) -> None:
        """Lose messages with probability ``loss`` and add a delay with median
        ``extra_delay_s``, between AZs ``a`` and ``b`` (both ways), or across
        the whole region when ``a`` is :data:`REGION`.  Replaces any
        impairment already set there."""
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss must be a probability, got {loss}")
        if extra_delay_s < 0.0:
            raise ValueError(f"extra delay must be zero or more, got {extra_delay_s}")
        for key in self._impairment_keys(a, b):
            self._impaired[key] = (loss, extra_delay_s)

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

    def _check_host(self, name: str) -> None:
        if name not in self.topology.hosts:
            raise KeyError(name)

    def _check_az(self, name: str) -> None:
        if name not in self.topology.azs:
            raise KeyError(name)


