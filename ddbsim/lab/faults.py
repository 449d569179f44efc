"""Faults as a timed schedule: policy here, mechanisms in ``world``.

A :class:`Fault` says *when* (``t_s``), *what* (``action``) and *to whom*
(``target``, and ``peer`` for a link).  Targets are names from the topology:
an AZ (``az-2``), a rack (``az-1/r2``) or a host (``az-3/r1/h2``) -- or, for
actions on hosts, a *role* resolved when the fault fires: ``leader:p-0003``
(the host leading that partition), ``follower:p-0003`` (a powered storage
replica that does not lead it) or ``log:p-0003`` (a powered log replica of
it).  The undoing action (``power_on``, ``recover``) hits the host its
partner resolved to.  ``group:p-0003`` names every replica of the partition
at once (a correlated power loss); ``power_on`` of ``group:p-0003#i`` brings
back the ``i``-th of the hosts its ``power_off`` resolved to, so that they
can come back one by one, in any order.

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
  deliver it twice with probability ``duplicate``; delay it by up to
  ``window_s`` more (uniform: messages overtake each other); hold it back for
  1/2 to 1 times ``hold_s`` with probability ``stale`` (it arrives after an
  election: a message from an older ballot); flip bits in it with
  probability ``corrupt`` (its receiver finds the checksum wrong, drops it
  and counts it: ``network.corrupt_dropped`` in the result);
* ``blip`` -- a crash-restart at a protocol boundary: arm the step named by
  ``target`` (``promised``, ``accepted``, ``acknowledged``, ``prepared``; see
  :mod:`ddbsim.service.fault_points`), and power off the next storage host
  that passes it, at once, for ``for_s`` (its volatile state and its WAL
  writes not yet durable are lost);
* ``bit_rot`` -- silently corrupt one thing on a storage host's disk:
  ``what`` is ``item`` (a stored item) or ``wal`` (a WAL record); which
  replica and which item or record is drawn from the ``lab/bitrot`` stream.
  What was hit is recorded in :attr:`FaultInjector.corruptions` (a host that
  holds nothing of that kind records nothing);
* ``lose_disk`` -- the host's disk is lost: the host is powered off (if it
  is on) and comes back empty at its next ``power_on``;
* ``crash`` / ``restart`` -- the process of a component that can crash on
  its own (a GAC server, ``admission.policy=gac``) dies, forgetting its
  state, while its host stays up; ``restart`` starts it again, empty.  The
  component exposes the mechanism (``crash()``, ``restart()``); the target
  is a host (or every such host of an AZ or rack);
* ``heal_all`` -- power everything on, heal and restore every link, recover
  every slow host, restart every crashed process (the start of the
  heal-and-check phase);
* ``flush_caches`` -- every router's cache (target ``routers``) or one
  router's (a router host) forgets everything, as after a fleet restart or a
  deployment (paper §6.6);
* ``brownout`` / ``end_brownout`` -- the routing metadata servers (target
  ``metadata``: the metadata table; ``memds``: the MemDS fleet) keep only
  ``factor`` of their capacity (a slowdown of ``1/factor`` on each of their
  hosts), and get it back;
* ``leader_storm`` -- every partition whose leader is on the target (an AZ,
  rack or host) has it step down at once: a storm of leader changes, each
  pushed to MemDS and each a stale route for the routers;
* ``add_routers`` -- the standby routers (``topology.standby_routers_per_az``)
  of the target (``routers``: all of them; or an AZ, or one router host) go
  into service with cold caches, and the clients' load balancers start
  sending to them: router capacity added (paper §6.6: with the bimodal
  cache, metadata traffic spiked by up to 75% when routers were added).

Helpers build the common shapes: :func:`outage` (off, then on again),
:func:`partition` (cut, then heal), :func:`brownout` (capacity cut, then
back), :func:`crash_restart` (crash, then restart).  The routing actions
reach the service through :class:`RoutingControls`, the mechanisms it exposes.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol, TypeGuard

from ddbsim.service.fault_points import STEPS
from ddbsim.world.disk import ROT_TARGETS
from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later

ACTIONS = ("power_off", "power_on", "cut", "heal", "slow", "recover", "impair", "restore",
           "heal_all", "bit_rot", "lose_disk", "blip", "flush_caches", "brownout",
           "end_brownout", "leader_storm", "add_routers", "crash", "restart")
HOST_ACTIONS = ("power_off", "power_on", "slow", "recover", "bit_rot", "lose_disk")
PROCESS_ACTIONS = ("crash", "restart")
#: Actions on a storage host's disk.
DISK_ACTIONS = ("bit_rot", "lose_disk")
#: Actions that end a fault; heal_all does them all.
UNDO_ACTIONS = ("power_on", "heal", "recover", "restore", "end_brownout", "restart")
ROLES = ("leader", "follower", "log", "group")
#: Actions that destroy data on a disk (a lost disk, bit rot): only a schedule
#: with one of these may excuse lost writes as "data loss expected".  Power
#: and network faults never destroy a disk, so under them, bounded or not,
#: the correct protocol must lose nothing.
DESTROYS_DATA: tuple[str, ...] = DISK_ACTIONS
#: What a brownout's target may be: the kind of routing metadata host.
BROWNOUT_TARGETS = ("metadata", "memds")


class RoutingControls(Protocol):
    """The routing mechanisms the service exposes to faults."""

    def flush_caches(self, router: str | None) -> None:
        """Flush every router's cache (None) or one router's."""

    def leader_storm(self, hosts: list[str]) -> int:
        """Every leader on ``hosts`` steps down; how many did."""

    def add_routers(self, target: str) -> list[str]:
        """Bring the standby routers named by ``target`` into service, cold;
        their ids."""


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
    what: str | None = None  # bit_rot: item or wal
    duplicate: float | None = None  # impair: probability of delivering a message twice
    window_s: float | None = None  # impair: extra delay uniform in [0, window_s] (reordering)
    stale: float | None = None  # impair: probability of holding a message back
    hold_s: float | None = None  # impair: how long a held message waits, at most
    corrupt: float | None = None  # impair: probability of corrupting a message in flight
    for_s: float | None = None  # blip: how long the power stays off

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name in ("peer", "factor", "loss", "delay_s", "what", "duplicate", "window_s",
                     "stale", "hold_s", "for_s", "corrupt"):
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
        if self.what is not None:
            text += f" ({self.what})"
        if self.duplicate:
            text += f" dup={self.duplicate:.0%}"
        if self.window_s:
            text += f" reorder<{self.window_s * 1000:.0f}ms"
        if self.stale:
            text += f" stale={self.stale:.1%} hold<{self.hold_s or 0:g}s"
        if self.corrupt:
            text += f" corrupt={self.corrupt:.1%}"
        if self.for_s is not None:
            text += f" for {self.for_s:.3g}s"
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


def brownout(target: str, at_s: float, for_s: float, factor: float) -> list[Fault]:
    """``target`` (``metadata`` or ``memds``) keeps ``factor`` of its
    capacity from ``at_s`` for ``for_s`` seconds."""
    _check_times(f"brownout({target!r})", at_s=at_s, for_s=for_s)
    return [Fault(at_s, "brownout", target, factor=factor),
            Fault(at_s + for_s, "end_brownout", target)]


def crash_restart(target: str, at_s: float, for_s: float) -> list[Fault]:
    """The process on ``target`` (a GAC server's host) crashes, and restarts ``for_s`` later."""
    _check_times(f"crash_restart({target!r})", at_s=at_s, for_s=for_s)
    return [Fault(at_s, "crash", target), Fault(at_s + for_s, "restart", target)]


def role_of(target: str) -> tuple[str, str] | None:
    """``("leader", "p-0003")`` for a role target, else None (``group:p-0003#1``
    gives ``("group", "p-0003")``)."""
    role, sep, pid = target.partition(":")
    return (role, pid.partition("#")[0]) if sep and role in ROLES else None


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
        if f.action == "blip":
            if f.target not in STEPS:
                raise FaultError(f"{where}: a blip arms a protocol step: one of {', '.join(STEPS)}")
            if not (_is_time(f.for_s) and f.for_s > 0):
                raise FaultError(f"{where}: a blip needs for_s above 0 s, got {f.for_s}")
        elif f.action in HOST_ACTIONS and role is not None:
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
            if f.action in DISK_ACTIONS and any(
                    h.id not in world.disks for h in topo.resolve(f.target)):
                raise FaultError(f"{where}: {f.action} needs storage hosts (only they have disks)")
            if f.action == "bit_rot" and f.what not in ROT_TARGETS:
                raise FaultError(f"{where}: bit_rot needs what= one of {', '.join(ROT_TARGETS)}, "
                                 f"got {f.what!r}")
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
                for name in ("duplicate", "stale", "corrupt"):
                    p = getattr(f, name)
                    if p is not None and not (_is_time(p) and p <= 1.0):
                        raise FaultError(f"{where}: {name} must be a probability, got {p}")
                for name in ("window_s", "hold_s"):
                    if getattr(f, name) is not None and not _is_time(getattr(f, name)):
                        raise FaultError(f"{where}: {name} must be zero or more, "
                                         f"got {getattr(f, name)}")
        elif f.action == "flush_caches":
            if f.target != "routers" and not (f.target in topo.hosts
                                               and topo.hosts[f.target].kind == "router"):
                raise FaultError(f"{where}: flush_caches takes 'routers' or a router host, "
                                 f"got {f.target!r}")
        elif f.action in ("brownout", "end_brownout"):
            if f.target not in BROWNOUT_TARGETS:
                raise FaultError(f"{where}: a brownout is of {' or '.join(BROWNOUT_TARGETS)}, "
                                 f"got {f.target!r}")
            if f.action == "brownout" and not (_is_time(f.factor) and 0 < f.factor <= 1):
                raise FaultError(f"{where}: brownout needs the capacity left as a factor in "
                                 f"(0, 1], got {f.factor}")
        elif f.action == "add_routers":
            standby = set(topo.standby_routers)
            if not standby:
                raise FaultError(f"{where}: add_routers needs standby routers "
                                 "(topology.standby_routers_per_az > 0)")
            if f.target != "routers":
                try:
                    named = {h.id for h in topo.resolve(f.target)}
                except KeyError:
                    raise FaultError(f"{where}: add_routers takes 'routers', an AZ, a rack or a "
                                     f"router host, got {f.target!r}") from None
                if not named & standby:
                    raise FaultError(f"{where}: no standby router in {f.target!r}")
        elif f.action == "leader_storm":
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
                 role_host: Callable[[str, str], str | None] | None = None,
                 group_hosts: Callable[[str], list[str]] | None = None,
                 arm: Callable[[str, Callable[[str], None]], None] | None = None,
                 quiet: Callable[[], None] | None = None,
                 routing: RoutingControls | None = None,
                 crashable: Crashables | None = None,
                 routers_added: Callable[[list[str]], None] | None = None) -> None:
        """``role_host(role, pid)`` resolves a role target, ``group_hosts(pid)``
        a group target; ``arm(step, fire)`` and ``quiet()`` are the service's
        fault points (:mod:`ddbsim.service.fault_points`): arm a trap, and
        disarm everything (at ``heal_all``); ``routing`` flushes router caches
        and storms leaders;
        ``crashable(host)`` is the component on a host that can crash on its own;
        ``routers_added(ids)`` tells the clients of routers brought into service."""
        self.world = world
        self.applied: list[Fault] = []
        self._role_host = role_host
        self._group_hosts = group_hosts
        self._arm = arm
        self._quiet = quiet
        self._routing = routing
        self._crashable = crashable
        self._routers_added = routers_added
        self._crashed: list[Crashable] = []
        # role targets resolve when power_off/slow fires; the undo hits the same host
        self._resolved: dict[str, str] = {}
        #: each bit rot that hit something: t_s, host, partition, what, where
        self.corruptions: list[dict[str, Any]] = []
        self._rot_draws = world.streams.draws("lab/bitrot")
        self._resolved_groups: dict[str, list[str]] = {}

    def schedule(self, faults: list[Fault]) -> None:
        for f in sorted(faults, key=lambda f: f.t_s):
            call_later(self.world.env, f.t_s - self.world.now, self.apply, f)

    def apply(self, f: Fault) -> None:
        world = self.world
        net = world.network
        topo = world.topology
        now = world.now
        role = role_of(f.target) if f.action in HOST_ACTIONS else None
        if f.action == "blip":
            if self._arm is not None:
                self._arm(f.target, lambda host_id: call_later(world.env, 0.0, self._blip, f, host_id))
            self.applied.append(replace(f, t_s=round(now, 6)))
            return
        if role is not None and role[0] == "group":
            self._apply_to_group(f, role[1])
            return
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
            net.impair(f.target, f.peer, f.loss or 0.0, f.delay_s or 0.0, f.duplicate or 0.0,
                       f.window_s or 0.0, f.stale or 0.0, f.hold_s or 0.0, f.corrupt or 0.0)
        elif f.action == "restore":
            net.restore(f.target, f.peer)
        elif f.action == "bit_rot":
            assert f.what is not None
            for host in topo.resolve(f.target):
                hit = world.disks[host.id].rot(f.what, self._rot_draws.uniform(),
                                               self._rot_draws.uniform())
                if hit is not None:
                    self.corruptions.append({"t_s": round(now, 6), "host": host.id, **hit})
        elif f.action == "lose_disk":
            for host in topo.resolve(f.target):
                host.power_off(now)
                world.disks[host.id].lose()
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
            if self._quiet is not None:
                self._quiet()
            net.heal_all()
            for host in topo.hosts.values():
                host.slowdown = 1.0
                host.power_on()
            for component in self._crashed:
                component.restart()
            self._crashed.clear()
        elif f.action == "flush_caches":
            if self._routing is not None:
                self._routing.flush_caches(None if f.target == "routers" else f.target)
        elif f.action in ("brownout", "end_brownout"):
            slowdown = 1.0 / float(f.factor or 1.0) if f.action == "brownout" else 1.0
            for host in topo.of_kind(f.target):
                host.slowdown = slowdown
        elif f.action == "add_routers":
            if self._routing is not None:
                added = self._routing.add_routers(f.target)
                if added and self._routers_added is not None:
                    self._routers_added(added)
        elif f.action == "leader_storm":
            if self._routing is not None:
                self._routing.leader_storm([h.id for h in topo.resolve(f.target)])
        self.applied.append(replace(f, t_s=round(now, 6)))

    def _apply_to_group(self, f: Fault, pid: str) -> None:
        """Power off every replica of ``pid`` (``group:PID``), or power on
        the ``i``-th of them (``group:PID#i``)."""
        now = self.world.now
        hosts = self.world.topology.hosts
        if f.action == "power_off":
            group = self._group_hosts(pid) if self._group_hosts is not None else []
            self._resolved_groups[f.target] = group
            for host_id in group:
                hosts[host_id].power_off(now)
            self.applied.append(replace(f, t_s=round(now, 6),
                                        target=f"{f.target} ({', '.join(group) or 'none'})"))
            return
        base, _, index = f.target.partition("#")
        group = self._resolved_groups.get(base, [])
        i = int(index) if index.isdigit() else -1
        if f.action in ("power_on", "recover") and 0 <= i < len(group):
            host = hosts[group[i]]
            if f.action == "power_on":
                host.power_on()
            else:
                host.slowdown = 1.0
            self.applied.append(replace(f, t_s=round(now, 6), target=group[i]))
        elif f.action == "slow":
            group = self._group_hosts(pid) if self._group_hosts is not None else []
            self._resolved_groups[f.target] = group
            for host_id in group:
                hosts[host_id].slowdown = float(f.factor or 1.0)
            self.applied.append(replace(f, t_s=round(now, 6)))
        else:
            self.applied.append(replace(f, t_s=round(now, 6), target=f"{f.target} (none)"))

    def _blip(self, f: Fault, host_id: str) -> None:
        """A trap armed by ``f`` sprang on ``host_id``: power it off now, and
        on again ``f.for_s`` later."""
        host = self.world.topology.hosts[host_id]
        now = self.world.now
        if not host.power_off(now):
            return
        self.applied.append(Fault(round(now, 6), "power_off", host_id))
        call_later(self.world.env, f.for_s or 0.0, self._blip_over, host_id)

    def _blip_over(self, host_id: str) -> None:
        if self.world.topology.hosts[host_id].power_on():
            self.applied.append(Fault(round(self.world.now, 6), "power_on", host_id))
