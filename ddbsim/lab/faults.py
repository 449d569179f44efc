"""Faults as a timed schedule: policy here, mechanisms in ``world``.

A :class:`Fault` says *when* (``t_s``), *what* (``action``) and *to whom*
(``target``, and ``peer`` for a link).  Targets are names from the topology:
an AZ (``az-2``), a rack (``az-1/r2``) or a host (``az-3/r1/h2``) -- or, for
power actions, ``leader:p-0003``: the host that leads that partition at the
moment the fault fires.

Actions:

* ``power_off`` / ``power_on`` -- every host of the target;
* ``cut`` / ``heal`` -- the link between two AZs or two hosts (``target``
  and ``peer``), both ways unless ``one_way`` (then only target -> peer);
* ``heal_all`` -- power everything on and heal every link (the start of
  the heal-and-check phase).

Helpers build the common shapes: :func:`outage` (off, then on again),
:func:`partition` (cut, then heal).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later

ACTIONS = ("power_off", "power_on", "cut", "heal", "heal_all")


class FaultError(ValueError):
    """A fault schedule names something that does not exist."""


@dataclass(frozen=True)
class Fault:
    t_s: float
    action: str
    target: str = ""
    peer: str | None = None
    one_way: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.peer is None:
            del d["peer"]
        if not self.one_way:
            del d["one_way"]
        return d


def outage(target: str, at_s: float, for_s: float) -> list[Fault]:
    return [Fault(at_s, "power_off", target), Fault(at_s + for_s, "power_on", target)]


def partition(a: str, b: str, at_s: float, for_s: float, one_way: bool = False) -> list[Fault]:
    return [Fault(at_s, "cut", a, b, one_way), Fault(at_s + for_s, "heal", a, b, one_way)]


LEADER_PREFIX = "leader:"


def validate(faults: list[Fault], world: World, duration_s: float,
             partitions: list[str] | None = None) -> None:
    topo = world.topology
    for f in faults:
        where = f"fault at t={f.t_s}s ({f.action} {f.target})"
        if f.action not in ACTIONS:
            raise FaultError(f"{where}: unknown action; use one of {', '.join(ACTIONS)}")
        if f.t_s < 0 or f.t_s > duration_s:
            raise FaultError(f"{where}: time is outside the run (0..{duration_s}s)")
        if f.action in ("power_off", "power_on") and f.target.startswith(LEADER_PREFIX):
            if partitions is not None and f.target[len(LEADER_PREFIX):] not in partitions:
                raise FaultError(f"{where}: no partition named {f.target[len(LEADER_PREFIX):]!r}")
        elif f.action in ("power_off", "power_on"):
            try:
                topo.resolve(f.target)
            except KeyError:
                raise FaultError(f"{where}: no AZ, rack or host named {f.target!r}") from None
        elif f.action in ("cut", "heal"):
            if f.peer is None:
                raise FaultError(f"{where}: a link needs a peer")
            both_azs = f.target in topo.azs and f.peer in topo.azs
            both_hosts = f.target in topo.hosts and f.peer in topo.hosts
            if not (both_azs or both_hosts) or f.target == f.peer:
                raise FaultError(f"{where}: a link joins two different AZs or two hosts, "
                                 f"got {f.target!r} and {f.peer!r}")


class FaultInjector:
    """Applies a schedule to a world and records what it did."""

    def __init__(self, world: World,
                 leader_host: Callable[[str], str | None] | None = None) -> None:
        self.world = world
        self.applied: list[Fault] = []
        self._leader_host = leader_host
        # leader:pid targets resolve when powered off; power_on hits the same host
        self._resolved: dict[str, str] = {}

    def schedule(self, faults: list[Fault]) -> None:
        for f in sorted(faults, key=lambda f: f.t_s):
            call_later(self.world.env, f.t_s - self.world.now, self.apply, f)

    def apply(self, f: Fault) -> None:
        world = self.world
        net = world.network
        topo = world.topology
        now = world.now
        if f.target.startswith(LEADER_PREFIX) and f.action in ("power_off", "power_on"):
            host = self._resolved.get(f.target) if f.action == "power_on" else None
            if host is None and self._leader_host is not None:
                host = self._leader_host(f.target[len(LEADER_PREFIX):])
            if host is None:
                self.applied.append(Fault(round(now, 6), f.action, f.target + " (no leader)"))
                return
            self._resolved[f.target] = host
            f = Fault(f.t_s, f.action, host)
        if f.action == "power_off":
            for host in topo.resolve(f.target):
                host.power_off(now)
        elif f.action == "power_on":
            for host in topo.resolve(f.target):
                host.power_on()
        elif f.action in ("cut", "heal"):
            assert f.peer is not None
            azs = f.target in topo.azs
            if f.action == "cut":
                (net.cut_azs if azs else net.cut_hosts)(f.target, f.peer, f.one_way)
            else:
                (net.heal_azs if azs else net.heal_hosts)(f.target, f.peer)
        elif f.action == "heal_all":
            net.heal_all()
            for host in topo.hosts.values():
                host.power_on()
        self.applied.append(Fault(round(now, 6), f.action, f.target, f.peer, f.one_way))
