"""The region's network: one-way latency by locality, and cuttable links.

Every message between hosts goes through :meth:`Network.send`, so a dead
host, a cut link or (later) a slow link applies to every component alike.

Latency is log-normal with a median per locality (same host, same AZ,
across AZs) and one shape parameter, all ``[chosen]`` in
:class:`~ddbsim.config.NetworkConfig`.  A message is dropped if its sender
is off when it is sent, or if at delivery its receiver is off, has been
power-cycled since the send, or the link between them is cut.  Links are cut
one way or both, between two hosts or between two whole AZs.
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
        self.sent = 0
        self.dropped = 0
        self._log_sigma = cfg.latency_sigma

    # -- wiring ----------------------------------------------------------
    def register(self, host: Host, handler: Handler) -> None:
        """Deliver messages addressed to ``host`` to ``handler(src, msg)``."""
        self._handlers[host.id] = handler

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
        call_later(self.env, after_s + self.latency_s(src, dst), self._deliver, src, dst, msg,
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

    def heal_all(self) -> None:
        self._cut_hosts.clear()
        self._cut_azs.clear()

    def _check_host(self, name: str) -> None:
        if name not in self.topology.hosts:
            raise KeyError(name)

    def _check_az(self, name: str) -> None:
        if name not in self.topology.azs:
            raise KeyError(name)


