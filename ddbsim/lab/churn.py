"""Host churn: every storage host fails and returns on its own, as a fault plan.

What is modelled: each storage host is an independent *alternating renewal
process* -- up for an exponential time of mean ``mtbf_s``, then off (power
lost: volatile state gone, WAL and checkpoint kept) for an exponential time
of mean ``off_s``, then up again -- from t = 0, every host up, until the run
ends.  So failures across the region form a Poisson-like stream of rate
``hosts / (mtbf_s + off_s)``, and, in the long run, a host is off a fraction
``off_s / (mtbf_s + off_s)`` of the time.  This is the failure model of the
CTMC in :mod:`ddbsim.lab.markov`, given to the simulator as ``power_off`` /
``power_on`` faults.  Nothing correlates the hosts: no rack or AZ failures
(other fault plans do those).

The plan draws only from the generator the run gives it (its ``lab/faults``
stream), host by host in sorted host order, each host's whole timeline
before the next host's: the same seed, rates and horizon give the same plan.
A host still off when the run ends gets no ``power_on``: the run's heal
powers everything on.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from ddbsim.lab.faults import Fault, FaultError
from ddbsim.world.region import World

FaultPlanFn = Callable[[World, np.random.Generator], list[Fault]]


def draw_churn(hosts: Iterable[str], mtbf_s: float, off_s: float, until_s: float,
               rng: np.random.Generator) -> list[Fault]:
    """Every host of ``hosts`` alternates up (mean ``mtbf_s``) and off (mean
    ``off_s``) from t = 0 to ``until_s``; the faults sorted by time (host
    order among equal times)."""
    _check(mtbf_s=mtbf_s, off_s=off_s, until_s=until_s)
    faults: list[Fault] = []
    for host in sorted(hosts):
        t = 0.0
        while True:
            t += float(rng.exponential(mtbf_s))
            if t > until_s:
                break
            faults.append(Fault(round(t, 6), "power_off", host))
            t += float(rng.exponential(off_s))
            if t > until_s:
                break
            faults.append(Fault(round(t, 6), "power_on", host))
    faults.sort(key=lambda f: f.t_s)  # stable: per host, off before on
    return faults


def churn_plan(until_s: float, mtbf_s: float | None = None,
               off_s: float | None = None) -> FaultPlanFn:
    """A fault plan ``(world, rng) -> [Fault, ...]``: every storage host of the
    world churns until ``until_s`` (the scenario's duration).  Rates left as
    None come from the run's config (``churn.mtbf_s``, ``churn.off_s``), so
    ``--set churn.mtbf_s=...`` reaches them."""
    _check(until_s=until_s)
    if mtbf_s is not None or off_s is not None:
        _check(**{k: v for k, v in (("mtbf_s", mtbf_s), ("off_s", off_s)) if v is not None})

    def plan(world: World, rng: np.random.Generator) -> list[Fault]:
        cfg = world.cfg.churn
        hosts = [h.id for h in world.topology.of_kind("storage")]
        return draw_churn(hosts, cfg.mtbf_s if mtbf_s is None else mtbf_s,
                          cfg.off_s if off_s is None else off_s, until_s, rng)

    return plan


def _check(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not (math.isfinite(value) and value > 0):
            raise FaultError(f"host churn: {name} must be a positive number of seconds, "
                             f"got {value!r}")
