"""The metastability monitor: after a trigger ends, does the system recover?

Bronson et al. (HotOS'21) and Huang et al. (OSDI'22) define a metastable
failure by what happens *after* the trigger: a system in a vulnerable state
is pushed over by a trigger (a load spike, a capacity loss, a cold cache)
into a bad state that a *sustaining effect* (retries above all; here also
the metadata lookups of cold router caches) keeps it in after the trigger is
gone.  The monitor reads a run's time series (``metrics.traffic_series_s`` on: the
result's ``series``) and says, for a trigger window ``[start_s, end_s)``:

* the pre-trigger goodput (operations succeeding per second, over
  ``baseline_s`` before the trigger);
* whether goodput dipped below ``tolerance`` of the offered load -- the
  operations first sent in the same stretch -- (averaged over ``hold_s``)
  at any time from the trigger on: ``degraded``, with the lowest share
  (``min_goodput_of_offered``).  Arrivals are random, so against a level
  fixed before the trigger a 5-s stretch of 100 requests/s falls 10% short
  by chance alone now and then; against what was sent at the time it does
  not.  (Data without the ``first_attempts`` series is judged against the
  pre-trigger level.);
* ``recovered at t``: the first time from the trigger's end at which
  goodput stays at or above ``tolerance`` of the pre-trigger level for
  ``hold_s``; ``metastable`` when that has not happened ``within_s`` after
  the trigger's end; ``unknown`` when the run ended sooner;
* the sustaining load over the time from the trigger's end until recovery
  (or the end of the run): attempts per second against goodput (the work
  done per useful result), and where the extra work comes from -- client
  retries (attempts that were not first attempts), metadata-table and MemDS
  lookups -- each per second and per unit of goodput.

It is a pure function of a result's data: it can be a scenario's
``analyse``, and it runs again on a ``--json`` file.
"""
from __future__ import annotations

import math
from typing import Any

RECOVERED = "recovered"
METASTABLE = "metastable"
UNKNOWN = "unknown"


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def assess(data: dict[str, Any], start_s: float, end_s: float, *, baseline_s: float = 60.0,
           within_s: float = 600.0, hold_s: float = 10.0, tolerance: float = 0.9) -> dict[str, Any]:
    """The monitor's verdict on one result's data (see the module docstring)."""
    series = data.get("series")
    if not series:
        raise ValueError("the metastability monitor needs the result's time series: "
                         "run with --set metrics.traffic_series_s=1 (or another bucket width)")
    b = float(series["bucket_s"])
    goodput = series.get("goodput", [])
    n = len(goodput)

    def window(name: str, lo_s: float, hi_s: float) -> list[float]:
        xs = series.get(name) or [0.0] * n
        return xs[max(0, int(lo_s / b)):max(0, min(n, int(math.ceil(hi_s / b - 1e-9))))]

    base = _mean(window("goodput", start_s - baseline_s, start_s))
    hold = max(1, int(round(hold_s / b)))
    floor = tolerance * base
    first = int(start_s / b)
    starts = range(first, max(first, n - hold + 1))
    held = [_mean(goodput[i:i + hold]) for i in starts]
    offered = series.get("first_attempts")
    if offered:  # against what was sent in the same stretch: arrivals are random
        shares = [g / o for g, o in zip(held, (_mean(offered[i:i + hold]) for i in starts),
                                        strict=True) if o > 0]
        degraded = any(x < tolerance for x in shares)
        min_share = min(shares) if shares else None
    else:
        degraded = any(g < floor for g in held)
        min_share = None
    min_goodput = min(held) if held else None
    verdict = UNKNOWN
    recovered_at = None
    i = int(math.ceil(end_s / b - 1e-9))
    last = min(n - hold, int((end_s + within_s) / b))
    while i <= last:
        if _mean(goodput[i:i + hold]) >= floor:
            recovered_at = i * b
            verdict = RECOVERED
            break
        i += 1
    if verdict == UNKNOWN and n * b >= end_s + within_s + hold_s - 1e-9:
        verdict = METASTABLE
    after_hi = recovered_at if recovered_at is not None and recovered_at > end_s else n * b
    if after_hi <= end_s:
        after_hi = min(n * b, end_s + hold_s)
    g = _mean(window("goodput", end_s, after_hi))
    attempts = _mean(window("attempts", end_s, after_hi))
    first_attempts = _mean(window("first_attempts", end_s, after_hi))
    metadata = _mean(window("metadata", end_s, after_hi))
    memds = _mean(window("memds", end_s, after_hi))

    def per_goodput(x: float) -> float | None:
        return round(x / g, 3) if g > 0 else None

    return {
        "verdict": verdict,
        "recovered_at_s": None if recovered_at is None else round(recovered_at, 3),
        "recovered_after_s": None if recovered_at is None else round(recovered_at - end_s, 3),
        "degraded": degraded,
        "baseline_goodput_per_s": round(base, 3),
        "min_goodput_per_s": None if min_goodput is None else round(min_goodput, 3),
        "min_goodput_of_offered": None if min_share is None else round(min_share, 4),
        "sustaining": {
            "from_s": round(end_s, 3), "to_s": round(after_hi, 3),
            "goodput_per_s": round(g, 3),
            "attempts_per_s": round(attempts, 3),
            "attempts_per_goodput": per_goodput(attempts),
            "retries_per_s": round(attempts - first_attempts, 3),
            "retries_per_goodput": per_goodput(attempts - first_attempts),
            "metadata_lookups_per_s": round(metadata, 3),
            "memds_lookups_per_s": round(memds, 3),
        },
    }


def describe(verdict: dict[str, Any]) -> str:
    """One line: ``recovered at 312.0 s (12.0 s after the trigger)`` or ``metastable``."""
    if verdict["verdict"] == RECOVERED:
        return (f"recovered at {verdict['recovered_at_s']:g} s "
                f"({verdict['recovered_after_s']:g} s after the trigger)")
    return str(verdict["verdict"])
