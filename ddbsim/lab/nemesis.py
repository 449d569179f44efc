"""The nemesis: a random fault schedule drawn from the seed, swarm-style.

Swarm testing (Groce et al., ISSTA 2012; TigerBeetle's VOPR and
FoundationDB's simulation do the same): rather than every run facing every
kind of fault at one fixed rate, each seed first draws *which* kinds of
fault are enabled and *how often* each strikes, then draws a timed schedule
from that.  Some runs see only one-way cuts at a high rate, others slow
disks and message loss together; bugs that need one fault to be frequent
and another to be absent are found that way.

Fault kinds (each becomes ordinary :class:`~ddbsim.lab.faults.Fault`
records, so a drawn schedule can be printed, saved and replayed):

==============  ==============================================================
``host_power``  a storage host loses power, and comes back
``rack_power``  a whole rack loses power, and comes back
``az_power``    a whole AZ loses power, and comes back
``router_power`` a request router loses power, and comes back
``az_cut``      an AZ is cut off from every other AZ, or the link between two
                AZs is cut, both ways or one way
``host_cut``    the link between two storage hosts in different AZs is cut,
                both ways or one way
``slow_host``   a storage host's disk and CPU run 5-200x slower (gray failure)
``loss``        messages are lost with probability 1-30%, region-wide or
                between two AZs
``delay``       messages get 5-200 ms of extra delay (median), region-wide or
                between two AZs
``group_power`` every replica of one partition loses power at once
``row_power``   a rack row (rack ``rN`` of every AZ) loses power at once
``region_power`` the whole region loses power at once
``blip``        a crash-restart at a protocol boundary: the next storage host
                that promises, accepts, acknowledges a write or prepares loses
                power at once, for 1 ms to 3 s
``duplicate``   messages are delivered twice with probability 1-30%
``reorder``     messages get an extra delay uniform in a 5-500 ms window, so
                later ones overtake earlier ones
``stale``       0.1-5% of messages are held back for 2-20 s: they arrive
                after an election, from an older ballot
==============  ==============================================================

The newer kinds strike less often (``chaos_mean_gap_s``, 30-180 s by
default).  After a correlated power loss the hosts come back one by one, each up to
``power_back_s`` (0-30 s) after the outage's drawn length, in a random
order -- a quorum may form from any subset.

**Fault points.**  Each seed also enables some of the fault points inside
the service (:mod:`ddbsim.service.fault_points`, FoundationDB's BUGGIFY),
each with a firing probability and a longest delay; the schedule's ``info``
lists them (``fault_points``) and the run prints them with the schedule.

The numbers (the defaults above) are options too: how long a fault of each
kind lasts (``nemesis.<kind>_s``, a range lo,hi), the mean gap between faults
of a kind (``mean_gap_s``), a slow host's slowdown (``slowdown``), a lossy
link's loss (``loss``) and a delay fault's median extra delay
(``extra_delay_s``) -- see :class:`~ddbsim.config.NemesisConfig`.

**The bound.**  The design promises to survive the loss of one AZ's worth
of replicas of every partition at once -- each partition has one replica
per AZ (paper §3), so that means: at any moment, every *hard* fault (power,
cut, slow host) impairs hosts of one AZ only.  A cut between two AZs (or two
hosts) impairs the first one named; a one-way cut, its source.  By default
the nemesis keeps to the bound: a hard fault that would start while another
one impairs a different AZ either moves into that AZ or waits until that
AZ is clear (a coin flip each time, so that runs see both long single-AZ
storms and faults that move from AZ to AZ).  Loss and delay are soft:
they slow the protocol down but take nothing away, and may overlap
anything.  With ``bounded=False`` faults fall where they are drawn; the
schedule then says whether the bound was actually exceeded, and the run's
checks report "data loss expected" instead of failing when it was.  The
options are the ``nemesis`` config section (``--set nemesis.bounded=false``,
``--set nemesis.kinds=az_cut,slow_host``).

**Bit rot** (``nemesis.bit_rot``, a count; none by default) is drawn apart
from the swarm, from its own stream ``lab/nemesis/bit_rot`` (so turning it on
leaves every other fault where it was): that many silent corruptions of a
stored item or a WAL record (``nemesis.bit_rot_what``), at uniform random
times, on random storage hosts.  Bounded, they all fall on hosts of one AZ,
so at most one replica of any partition is ever corrupt and a good copy is
always left to repair from (TigerBeetle's fault atlas: never the same data
on every replica); unbounded, they fall anywhere, and a schedule that put
corruptions in two AZs counts as exceeding the bound.

Faults that overlap on the same target end when the first of them ends (a
second power-off of a host that is already off changes nothing; the first
power-on restores it).  All times are drawn from the run's ``lab/faults`` stream, so the schedule is
a function of the seed alone (and of the options and topology).

The kinds from ``group_power`` on (:data:`CHAOS`) are drawn after the others,
from a stream of their own (``lab/faults/chaos``), so that adding them moved
no fault of the others: a seed draws the same ``host_power`` ... ``delay``
faults as before, and the new ones besides.  They are not held to the bound:
they are exactly what the bound leaves out, and since power and network
faults never destroy a disk, the correct protocol must lose nothing under
them (see :data:`~ddbsim.lab.faults.DESTROYS_DATA`).  The fault points are
drawn from ``lab/faults/points``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ddbsim.config import NEMESIS_KINDS, NemesisConfig
from ddbsim.lab.faults import Fault
from ddbsim.service.fault_points import POINTS, STEPS
from ddbsim.world.region import World

#: Kinds drawn from their own stream, after the others (see the module docstring).
CHAOS = ("group_power", "row_power", "region_power", "blip", "duplicate", "reorder", "stale")
SOFT = ("loss", "delay")
HARD = tuple(k for k in NEMESIS_KINDS if k not in SOFT and k not in CHAOS)


class FaultSchedule(list):
    """A list of faults that also carries what the nemesis drew (``info``)."""

    info: dict[str, Any]

    def __init__(self, faults: list[Fault], info: dict[str, Any]) -> None:
        super().__init__(faults)
        self.info = info


@dataclass
class _Episode:
    kind: str
    start_s: float
    end_s: float
    az: str | None  # the AZ a hard fault impairs; None for soft ones
    faults: list[Fault] = field(default_factory=list)


def draw_swarm(rng: np.random.Generator, options: NemesisConfig,
               candidates: tuple[str, ...] | None = None, at_least_one: bool = True,
               mean_gap_s: tuple[float, float] | None = None) -> dict[str, float]:
    """Which kinds are enabled, each with its mean gap between faults (s)."""
    candidates = tuple(k for k in options.kind_list() if k not in CHAOS) \
        if candidates is None else candidates
    if not candidates:
        return {}
    enabled = [k for k in candidates if rng.random() < options.enable_p]
    if not enabled and at_least_one:
        enabled = [candidates[int(rng.integers(len(candidates)))]]
    gap_lo, gap_hi = mean_gap_s or options.mean_gap_s
    lo, hi = np.log(gap_lo), np.log(gap_hi)
    return {k: round(float(np.exp(rng.uniform(lo, hi))), 3) for k in enabled}


def draw_schedule(world: World, rng: np.random.Generator,
                  options: NemesisConfig | None = None) -> FaultSchedule:
    """Draw a swarm, then a timed schedule from it (see the module docstring).
    The options default to the run's ``nemesis`` config section."""
    options = options or world.cfg.nemesis
    chaos_kinds = tuple(k for k in options.kind_list() if k in CHAOS)
    swarm = draw_swarm(rng, options)
    topo = world.topology
    azs = topo.azs
    storage = topo.of_kind("storage")
    racks = sorted({h.rack for h in storage})
    routers = topo.of_kind("router")

    # Poisson starts per enabled kind, then one time line.
    starts: list[tuple[float, int, str]] = []
    for order, kind in enumerate(sorted(swarm)):
        t = options.start_s
        while True:
            t += float(rng.exponential(swarm[kind]))
            if t >= options.end_s:
                break
            starts.append((round(t, 3), order, kind))
    starts.sort()

    episodes: list[_Episode] = []
    for drawn_s, _order, kind in starts:
        lo, hi = options.duration_range(kind)
        length_s = float(rng.uniform(lo, hi))
        az = azs[int(rng.integers(len(azs)))]
        start_s = drawn_s
        if kind in HARD and options.bounded:
            # Keep to the bound: join the AZ already impaired (half the time),
            # or wait until it is clear.
            join = bool(rng.random() < 0.5)
            while (busy := _impaired_az(episodes, start_s, start_s + length_s, az)) is not None:
                if join and busy.az is not None and _impaired_az(
                        episodes, start_s, start_s + length_s, busy.az) is None:
                    az = busy.az
                    break
                start_s = round(busy.end_s + 1.0, 3)
            if start_s >= options.end_s:
                continue
        end_s = round(start_s + length_s, 3)
        episodes.append(_build(kind, start_s, end_s, az, rng, options, azs, storage, racks,
                               routers))

    # The newer kinds, from their own stream (see the module docstring).
    chaos_rng = world.streams.stream("lab/faults/chaos")
    chaos_swarm = draw_swarm(chaos_rng, options, chaos_kinds, at_least_one=not swarm,
                             mean_gap_s=options.chaos_mean_gap_s)
    chaos_starts: list[tuple[float, int, str]] = []
    for order, kind in enumerate(sorted(chaos_swarm)):
        t = options.start_s
        while True:
            t += float(chaos_rng.exponential(chaos_swarm[kind]))
            if t >= options.end_s:
                break
            chaos_starts.append((round(t, 3), order, kind))
    chaos_starts.sort()
    chaos_episodes = [_build_chaos(kind, start_s, world, chaos_rng, options, storage, azs)
                      for start_s, _order, kind in chaos_starts]
    points = draw_fault_points(world.streams.stream("lab/faults/points"), options)
    rots, rot_azs = _draw_bit_rot(world, options, storage, azs)

    faults = sorted([*(f for e in episodes + chaos_episodes for f in e.faults), *rots],
                    key=lambda f: f.t_s)
    exceeded = _bound_exceeded(episodes) or len(rot_azs) > 1
    swarm = {**swarm, **chaos_swarm}
    episodes = episodes + chaos_episodes
    info = {
        "bounded": options.bounded,
        "swarm": {k: {"mean_gap_s": swarm[k]} for k in sorted(swarm)},
        "episodes": len(episodes),
        "by_kind": {k: sum(1 for e in episodes if e.kind == k) for k in sorted(swarm)},
        "bound_exceeded": exceeded,
        "fault_points": points,
    }
    if rots:
        info["bit_rot"] = {"count": len(rots), "azs": rot_azs}
    return FaultSchedule(faults, info)


def draw_fault_points(rng: np.random.Generator,
                      options: NemesisConfig) -> dict[str, dict[str, float]]:
    """Which fault points inside the service this seed enables, each with its
    firing probability ``p`` and longest delay ``delay_s``."""
    out = {}
    for name in POINTS:
        enabled = bool(rng.random() < options.buggify_enable_p)
        p = float(np.exp(rng.uniform(np.log(options.buggify_fire_p[0]),
                                     np.log(options.buggify_fire_p[1]))))
        delay_s = float(np.exp(rng.uniform(np.log(options.buggify_delay_s[0]),
                                           np.log(options.buggify_delay_s[1]))))
        if enabled:
            out[name] = {"p": round(p, 4), "delay_s": round(delay_s, 4)}
    return out


def _build_chaos(kind: str, start_s: float, world: World, rng: np.random.Generator,
                 options: NemesisConfig, storage: list, azs: list[str]) -> _Episode:
    """One episode of a newer kind (see the module docstring)."""
    lo, hi = options.duration_range(kind)
    if kind == "blip":
        length_s = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    else:
        length_s = float(rng.uniform(lo, hi))
    end_s = round(start_s + length_s, 3)
    e = _Episode(kind, start_s, end_s, None)

    def back_s() -> float:  # when one host's power returns
        return round(end_s + float(rng.uniform(*options.power_back_s)), 3)

    if kind == "group_power":
        cfg = world.cfg
        target = f"group:p-{int(rng.integers(cfg.table.partitions)):04d}"
        e.faults = [Fault(start_s, "power_off", target)]
        e.faults += [Fault(back_s(), "power_on", f"{target}#{i}")
                     for i in range(cfg.replication.replicas)]
    elif kind == "row_power":
        row = int(rng.integers(world.cfg.topology.racks_per_az)) + 1
        e.faults = [Fault(start_s, "power_off", f"{az}/r{row}") for az in azs]
        e.faults += [Fault(back_s(), "power_on", h.id) for h in storage
                     if h.rack.endswith(f"/r{row}")]
    elif kind == "region_power":
        e.faults = [Fault(start_s, "power_off", az) for az in azs]
        e.faults += [Fault(back_s(), "power_on", h.id) for h in storage]
        others = sorted({h.rack for h in world.topology.hosts.values() if h.kind != "storage"})
        e.faults += [Fault(back_s(), "power_on", rack) for rack in others]
    elif kind == "blip":
        step = STEPS[int(rng.integers(len(STEPS)))]
        e.faults = [Fault(start_s, "blip", step, for_s=round(length_s, 4))]
    else:  # duplicate, reorder, stale: region-wide or between two AZs
        if rng.random() < 0.5:
            target, peer = "region", None
        else:
            i = int(rng.integers(len(azs)))
            target = azs[i]
            peer = azs[(i + 1 + int(rng.integers(len(azs) - 1))) % len(azs)]
        if kind == "duplicate":
            impair = Fault(start_s, "impair", target, peer,
                           duplicate=round(float(rng.uniform(*options.duplicate)), 3))
        elif kind == "reorder":
            w_lo, w_hi = options.reorder_window_s
            window_s = float(np.exp(rng.uniform(np.log(w_lo), np.log(w_hi))))
            impair = Fault(start_s, "impair", target, peer, window_s=round(window_s, 4))
        else:
            impair = Fault(start_s, "impair", target, peer,
                           stale=round(float(rng.uniform(*options.stale)), 4),
                           hold_s=round(float(rng.uniform(*options.stale_hold_s)), 3))
        e.faults = [impair, Fault(end_s, "restore", target, peer)]
    return e
def _draw_bit_rot(world: World, options: NemesisConfig, storage: list,
                  azs: list[str]) -> tuple[list[Fault], list[str]]:
    """The bit rots of the schedule, from their own stream, and the AZs they hit."""
    if options.bit_rot <= 0:
        return [], []
    rng = world.streams.stream("lab/nemesis/bit_rot")
    whats = [w.strip() for w in options.bit_rot_what.split(",") if w.strip()]
    az = azs[int(rng.integers(len(azs)))]
    hosts = [h for h in storage if h.az == az] if options.bounded else storage
    rots = []
    for _ in range(options.bit_rot):
        t = round(float(rng.uniform(options.start_s, options.end_s)), 3)
        host = hosts[int(rng.integers(len(hosts)))]
        what = whats[int(rng.integers(len(whats)))]
        rots.append(Fault(t, "bit_rot", host.id, what=what))
    return rots, sorted({f.target.split("/")[0] for f in rots})


def _impaired_az(episodes: list[_Episode], start_s: float, end_s: float,
                 az: str) -> _Episode | None:
    """A hard fault overlapping [start_s, end_s) that impairs an AZ other than ``az``."""
    for e in episodes:
        if e.az is not None and e.az != az and e.start_s < end_s and start_s < e.end_s:
            return e
    return None


def _bound_exceeded(episodes: list[_Episode]) -> bool:
    hard = [e for e in episodes if e.az is not None]
    for i, a in enumerate(hard):
        for b in hard[i + 1:]:
            if a.az != b.az and a.start_s < b.end_s and b.start_s < a.end_s:
                return True
    return False


def _build(kind: str, start_s: float, end_s: float, az: str, rng: np.random.Generator,
           options: NemesisConfig, azs: list[str], storage: list, racks: list[str],
           routers: list) -> _Episode:
    def pick(items: list) -> Any:
        return items[int(rng.integers(len(items)))]

    def log_uniform(bounds: tuple[float, float]) -> float:
        return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))

    e = _Episode(kind, start_s, end_s, az if kind in HARD else None)
    if kind in ("host_power", "slow_host", "host_cut"):
        host = pick([h for h in storage if h.az == az]).id
        if kind == "host_power":
            e.faults = [Fault(start_s, "power_off", host), Fault(end_s, "power_on", host)]
        elif kind == "slow_host":
            factor = round(log_uniform(options.slowdown), 1)
            e.faults = [Fault(start_s, "slow", host, factor=factor), Fault(end_s, "recover", host)]
        else:
            peer = pick([h for h in storage if h.az != az]).id
            one_way = bool(rng.random() < 0.5)
            e.faults = [Fault(start_s, "cut", host, peer, one_way),
                        Fault(end_s, "heal", host, peer, one_way)]
    elif kind == "rack_power":
        rack = pick([r for r in racks if r.startswith(az + "/")])
        e.faults = [Fault(start_s, "power_off", rack), Fault(end_s, "power_on", rack)]
    elif kind == "az_power":
        e.faults = [Fault(start_s, "power_off", az), Fault(end_s, "power_on", az)]
    elif kind == "router_power":
        router = pick([r for r in routers if r.az == az]).id
        e.faults = [Fault(start_s, "power_off", router), Fault(end_s, "power_on", router)]
    elif kind == "az_cut":
        shape = rng.random()
        if shape < 1 / 3:  # the AZ is cut off from every other AZ
            e.faults = [Fault(start_s, "cut", az, peer) for peer in azs if peer != az]
            e.faults += [Fault(end_s, "heal", az, peer) for peer in azs if peer != az]
        else:  # one pair of AZs, both ways or one way
            peer = pick([a for a in azs if a != az])
            one_way = bool(shape < 2 / 3)
            e.faults = [Fault(start_s, "cut", az, peer, one_way),
                        Fault(end_s, "heal", az, peer, one_way)]
    else:  # loss or delay: region-wide or between two AZs
        if rng.random() < 0.5:
            target, peer = "region", None
        else:
            target, peer = az, pick([a for a in azs if a != az])
        if kind == "loss":
            loss = round(float(rng.uniform(*options.loss)), 3)
            impair = Fault(start_s, "impair", target, peer, loss=loss)
        else:
            delay_s = round(log_uniform(options.extra_delay_s), 4)
            impair = Fault(start_s, "impair", target, peer, delay_s=delay_s)
        e.faults = [impair, Fault(end_s, "restore", target, peer)]
    return e


def describe(schedule: list[Fault]) -> str:
    """The schedule as printed lines."""
    return "\n".join(f.describe() for f in schedule)
