"""Faults as a timed schedule: policy here, mechanisms in ``world``.

A :class:`Fault` says *when* (``t_s``), *what* (``action``) and *to whom*
(``target``, and ``peer`` for a link).  Targets are names from the topology:
an AZ (``az-2``), a rack (``az-1/r2``) or a host (``az-3/r1/h2``) -- or, for
actions on hosts, a *role* resolved when the fault fires: ``leader:p-0003``
(the host leading that partition), ``follower:p-0003`` (a powered storage
replica that does not lead it) or ``log:p-0003`` (a powered log replica of
it).  The undoing action (``power_on``, ``recover``) hits the host its
partner resolved to.

Actions:

* ``power_off`` / ``power_on`` -- every host of the target;
* ``cut`` / ``heal`` -- the link between two AZs or two hosts (``target``
  and ``peer``), both ways unless ``one_way`` (then only target -> peer);
* ``slow`` / ``recover`` -- a gray failure: every host of the target runs
  its disk and CPU ``factor`` times slower, yet stays up (``recover``: back
  to normal);
* ``impair`` / ``restore`` -- lose each message between AZs ``target`` and
  ``peer`` (or across the whole region, target ``region``) with probability
  ``loss`` and delay it by an extra log-normal delay of median ``delay_s``;
* ``crash`` / ``restart`` -- the process of a component that can crash on
  its own (a GAC server, ``admission.policy=gac``) dies, forgetting its
  state, while its host stays up; ``restart`` starts it again, empty.  The
  component exposes the mechanism (``crash()``, ``restart()``); the target
  is a host (or every such host of an AZ or rack);
* ``heal_all`` -- power everything on, heal and restore every link, recover
  every slow host, restart every crashed process (the start of the
  heal-and-check phase).

Helpers build the common shapes: :func:`outage` (off, then on again),
:func:`partition` (cut, then heal), :func:`crash_restart` (crash, then restart).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol, TypeGuard

from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later

ACTIONS = ("power_off", "power_on", "cut", "heal", "slow", "recover", "impair", "restore",
           "crash", "restart", "heal_all")
HOST_ACTIONS = ("power_off", "power_on", "slow", "recover")
PROCESS_ACTIONS = ("crash", "restart")
#: Actions that end a fault; heal_all does them all.
UNDO_ACTIONS = ("power_on", "heal", "recover", "restore", "restart")
ROLES = ("leader", "follower", "log")


class Crashable(Protocol):
    """A component whose process can crash and restart on a host that stays up."""

    def crash(self) -> None: ...

    def restart(self) -> None: ...


#: The crashable component on a host, if any.
Crashables = Callable[[str], Crashable | None]


class FaultError(ValueError):
    """A fault schedule names something that does not exist."""


@dataclass(frozen=True)
class Fault:
    t_s: float
    action: str
    target: str = ""
    peer: str | None = None
    one_way: bool = False
    factor: float | None = None  # slow: how many times slower
    loss: float | None = None  # impair: probability of losing a message
    delay_s: float | None = None  # impair: median extra delay

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name in ("peer", "factor", "loss", "delay_s"):
            if d[name] is None:
                del d[name]
        if not self.one_way:
            del d["one_way"]
        return d

    def describe(self) -> str:
        """One line for a printed schedule."""
        text = f"{self.t_s:8.2f}s  {self.action:<9} {self.target}"
        if self.peer is not None:
            text += f" {'->' if self.one_way else '<->'} {self.peer}"
        if self.factor is not None:
            text += f" x{self.factor:g}"
        if self.loss is not None and self.loss > 0:
            text += f" loss={self.loss:.0%}"
        if self.delay_s is not None and self.delay_s > 0:
            text += f" +{self.delay_s * 1000:.0f}ms"
        return text


def _is_time(value: object) -> TypeGuard[float]:
    """A finite, non-negative number of seconds."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and float(value) >= 0)


def _check_times(what: str, **times: float) -> None:
    for name, value in times.items():
        if not _is_time(value):
            raise FaultError(f"{what}: {name} must be a finite number of seconds, zero or more, "
                             f"got {value!r}")


def outage(target: str, at_s: float, for_s: float) -> list[Fault]:
    _check_times(f"outage({target!r})", at_s=at_s, for_s=for_s)
    return [Fault(at_s, "power_off", target), Fault(at_s + for_s, "power_on", target)]


def partition(a: str, b: str, at_s: float, for_s: float, one_way: bool = False) -> list[Fault]:
    _check_times(f"partition({a!r}, {b!r})", at_s=at_s, for_s=for_s)
    return [Fault(at_s, "cut", a, b, one_way), Fault(at_s + for_s, "heal", a, b, one_way)]


def crash_restart(target: str, at_s: float, for_s: float) -> list[Fault]:
    """The process on ``target`` (a GAC server's host) crashes, and restarts ``for_s`` later."""
    _check_times(f"crash_restart({target!r})", at_s=at_s, for_s=for_s)
    return [Fault(at_s, "crash", target), Fault(at_s + for_s, "restart", target)]


def role_of(target: str) -> tuple[str, str] | None:
    """``("leader", "p-0003")`` for a role target, else None."""
    role, sep, pid = target.partition(":")
    return (role, pid) if sep and role in ROLES else None


def validate(faults: list[Fault], world: World, duration_s: float,
             partitions: list[str] | None = None, crashable: Crashables | None = None) -> None:
    topo = world.topology
    for f in faults:
        where = f"fault at t={f.t_s}s ({f.action} {f.target})"
        if f.action not in ACTIONS:
            raise FaultError(f"{where}: unknown action; use one of {', '.join(ACTIONS)}")
        if not (_is_time(f.t_s) and f.t_s <= duration_s):
            raise FaultError(f"{where}: time is outside the run (0..{duration_s}s)")
        role = role_of(f.target)
        if f.action in HOST_ACTIONS and role is not None:
            if partitions is not None and role[1] not in partitions:
                raise FaultError(f"{where}: no partition named {role[1]!r}")
        elif f.action in HOST_ACTIONS:
            try:
                topo.resolve(f.target)
            except KeyError:
                raise FaultError(f"{where}: no AZ, rack or host named {f.target!r} "
                                 f"(or a role: {', '.join(r + ':PID' for r in ROLES)})") from None
            if f.action == "slow" and not (_is_time(f.factor) and 1.0 <= f.factor):
                raise FaultError(f"{where}: slow needs a factor of 1 or more, got {f.factor}")
        elif f.action in PROCESS_ACTIONS:
            try:
                hosts = topo.resolve(f.target)
            except KeyError:
                raise FaultError(f"{where}: no AZ, rack or host named {f.target!r}") from None
            if crashable is not None and not any(crashable(h.id) is not None for h in hosts):
                raise FaultError(f"{where}: nothing on {f.target!r} can crash (a GAC server "
                                 "can, with admission.policy=gac)")
        elif f.action in ("impair", "restore"):
            region = f.target == "region"
            if not region and not (f.target in topo.azs and f.peer in topo.azs):
                raise FaultError(f"{where}: impair joins two AZs (or target 'region'), "
                                 f"got {f.target!r} and {f.peer!r}")
            if f.action == "impair":
                if f.loss is not None and not (_is_time(f.loss) and f.loss <= 1.0):
                    raise FaultError(f"{where}: loss must be a probability, got {f.loss}")
                if f.delay_s is not None and not _is_time(f.delay_s):
                    raise FaultError(f"{where}: delay_s must be zero or more, got {f.delay_s}")
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
                 role_host: Callable[[str, str], str | None] | None = None,
                 crashable: Crashables | None = None) -> None:
        self.world = world
        self.applied: list[Fault] = []
        self._role_host = role_host
        self._crashable = crashable
        self._crashed: list[Crashable] = []
        # role targets resolve when power_off/slow fires; the undo hits the same host
        self._resolved: dict[str, str] = {}

    def schedule(self, faults: list[Fault]) -> None:
        for f in sorted(faults, key=lambda f: f.t_s):
            call_later(self.world.env, f.t_s - self.world.now, self.apply, f)

    def apply(self, f: Fault) -> None:
        world = self.world
        net = world.network
        topo = world.topology
        now = world.now
        role = role_of(f.target) if f.action in HOST_ACTIONS else None
        if role is not None:
            undo = f.action in ("power_on", "recover")
            host_id = self._resolved.get(f.target) if undo else None
            if host_id is None and self._role_host is not None:
                host_id = self._role_host(*role)
            if host_id is None:
                self.applied.append(replace(f, t_s=round(now, 6), target=f"{f.target} (none)"))
                return
            self._resolved[f.target] = host_id
            f = replace(f, target=host_id)
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
        elif f.action == "slow":
            for host in topo.resolve(f.target):
                host.slowdown = float(f.factor or 1.0)
        elif f.action == "recover":
            for host in topo.resolve(f.target):
                host.slowdown = 1.0
        elif f.action == "impair":
            net.impair(f.target, f.peer, f.loss or 0.0, f.delay_s or 0.0)
        elif f.action == "restore":
            net.restore(f.target, f.peer)
        elif f.action in PROCESS_ACTIONS:
            for host in topo.resolve(f.target):
                component = self._crashable(host.id) if self._crashable is not None else None
                if component is None:
                    continue
                if f.action == "crash":
                    component.crash()
                    self._crashed.append(component)
                else:
                    component.restart()
        elif f.action == "heal_all":
            net.heal_all()
            for host in topo.hosts.values():
                host.slowdown = 1.0
                host.power_on()
            for component in self._crashed:
                component.restart()
            self._crashed.clear()
        self.applied.append(replace(f, t_s=round(now, 6)))
