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
==============  ==============================================================

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
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ddbsim.config import NEMESIS_KINDS, NemesisConfig
from ddbsim.lab.faults import Fault
from ddbsim.world.region import World

SOFT = ("loss", "delay")
HARD = tuple(k for k in NEMESIS_KINDS if k not in SOFT)


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


def draw_swarm(rng: np.random.Generator, options: NemesisConfig) -> dict[str, float]:
    """Which kinds are enabled, each with its mean gap between faults (s)."""
    candidates = options.kind_list()
    enabled = [k for k in candidates if rng.random() < options.enable_p]
    if not enabled:
        enabled = [candidates[int(rng.integers(len(candidates)))]]
    lo, hi = np.log(options.mean_gap_s[0]), np.log(options.mean_gap_s[1])
    return {k: round(float(np.exp(rng.uniform(lo, hi))), 3) for k in enabled}


def draw_schedule(world: World, rng: np.random.Generator,
                  options: NemesisConfig | None = None) -> FaultSchedule:
    """Draw a swarm, then a timed schedule from it (see the module docstring).
    The options default to the run's ``nemesis`` config section."""
    options = options or world.cfg.nemesis
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

    rots, rot_azs = _draw_bit_rot(world, options, storage, azs)
    faults = sorted([*(f for e in episodes for f in e.faults), *rots], key=lambda f: f.t_s)
    exceeded = _bound_exceeded(episodes) or len(rot_azs) > 1
    info = {
        "bounded": options.bounded,
        "swarm": {k: {"mean_gap_s": swarm[k]} for k in sorted(swarm)},
        "episodes": len(episodes),
        "by_kind": {k: sum(1 for e in episodes if e.kind == k) for k in sorted(swarm)},
        "bound_exceeded": exceeded,
    }
    if rots:
        info["bit_rot"] = {"count": len(rots), "azs": rot_azs}
    return FaultSchedule(faults, info)


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
