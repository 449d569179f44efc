"""Many independent region-years, and the nines and durability table with
95% intervals; the runner that makes it a scenario.

Region-year ``i`` of a run with seed ``s`` draws from the streams named
``year{i}/nines/...`` of root seed ``s``, so every region-year is
independent of the others and of the other seeds' (a sweep over seeds with
``years=1`` gives independent region-years too, in parallel).

The table (:func:`table`):

* regional write and read availability, the share of 5-minute windows under
  99.99%, per-partition downtime percentiles: mean over region-years with a
  95% t interval;
* annual probability of data loss: the share of region-years with a loss,
  with its exact (Clopper-Pearson) interval;
* MTTDL: region-years over loss events, with the exact Poisson interval of
  the event rate inverted (infinite above when no loss was seen);
* the expected losses per region-year from exposure (the time groups spent
  one disk failure from a loss, times the disk failure rate; t interval),
  for acknowledged writes, for B-trees (lost only without the archive),
  and the MTTDL they give: the figures that can tell two configs apart when
  neither loses anything in the years simulated;
* MTTF of quorum loss (the region's mean time between group episodes below
  a write quorum), the figure Ford et al. compare with and without bursts.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ddbsim.config import YEAR_S, Config
from ddbsim.lab.nines.durations import Durations
from ddbsim.lab.nines.stats import mean_interval, proportion_interval, rate_interval
from ddbsim.lab.nines.year import region_year
from ddbsim.lab.result import Result

#: The figures averaged with a t interval: (name, path in a year's figures).
MEANS = (("write_availability", ("availability", "write")),
         ("read_availability", ("availability", "read")),
         ("windows_under_target", ("windows", "under_target")),
         ("worst_window", ("windows", "worst")),
         ("downtime_p50_s", ("downtime_s", "p50")),
         ("downtime_p99_s", ("downtime_s", "p99")),
         ("downtime_max_s", ("downtime_s", "max")),
         ("quorum_losses", ("events", "quorum_losses")))


def run_years(cfg: Config, seed: int, years: int, durations: Durations,
              progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """The figures of ``years`` independent region-years."""
    out = []
    for i in range(years):
        out.append(region_year(cfg, seed, durations, prefix=f"year{i}/"))
        if progress is not None:
            progress(i + 1)
    return out


def table(years: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95% interval of every headline figure over the region-years."""
    n = len(years)
    exposure = sum(y["region"]["years"] for y in years)
    out: dict[str, Any] = {"region_years": exposure}
    for name, (a, b) in MEANS:
        mean, lo, hi = mean_interval([float(y[a][b]) for y in years])
        # every figure is 0 or more, an availability at most 1: the t interval
        # of a skewed figure over few years may cross those bounds
        lo, hi = max(lo, 0.0), (min(hi, 1.0) if a in ("availability", "windows") else hi)
        out[name] = {"mean": mean, "lo": lo, "hi": hi}
    losses = sum(y["durability"]["write_losses"] + y["durability"]["partition_losses"]
                 for y in years)
    with_loss = sum(y["durability"]["any_loss"] for y in years)
    p, lo, hi = proportion_interval(with_loss, n)
    out["p_data_loss_per_year"] = {"mean": p, "lo": lo, "hi": hi, "years_with_loss": with_loss}
    rate, r_lo, r_hi = rate_interval(losses, exposure)
    out["mttdl_years"] = {"mean": _inv(rate), "lo": _inv(r_hi), "hi": _inv(r_lo),
                          "losses": losses}
    # From exposure (year.exposure_losses): the expected losses per region-year.
    for name, key in (("expected_losses_per_year", "expected_losses"),
                      ("expected_write_losses_per_year", "expected_write_losses"),
                      ("expected_btree_losses_per_year", "expected_btree_losses")):
        mean, lo, hi = mean_interval([float(y["durability"][key]) for y in years])
        out[name] = {"mean": mean, "lo": max(lo, 0.0), "hi": hi}
    e = out["expected_losses_per_year"]
    # No year was ever one failure from a loss: the rate is below what these
    # years can measure, and only the counted bound (no loss seen) holds.
    mttdl_lo = _inv(e["hi"]) if e["hi"] > 0 else out["mttdl_years"]["lo"]
    out["mttdl_exposure_years"] = {"mean": _inv(e["mean"]), "lo": mttdl_lo, "hi": _inv(e["lo"])}
    q = sum(y["events"]["quorum_losses"] for y in years)
    rate, r_lo, r_hi = rate_interval(q, exposure)
    out["quorum_loss_mttf_years"] = {"mean": _inv(rate), "lo": _inv(r_hi), "hi": _inv(r_lo),
                                     "events": q}
    return out


def _inv(rate: float) -> float | None:
    """1/rate; None (infinite, as JSON has no infinity) for a rate of 0."""
    return None if rate == 0 else 1.0 / rate


def nines_data(name: str, description: str, cfg: Config, seed: int, years: list[dict[str, Any]],
               durations: Durations, variant: str = "") -> dict[str, Any]:
    """A result's data in the contract of docs/results.md: the keys a detailed
    run has (the traffic ones null: no requests are simulated) and the
    model's own under ``nines``."""
    t = table(years)
    write, read = t["write_availability"]["mean"], t["read_availability"]["mean"]
    return {
        "scenario": name, "variant": variant, "description": description, "seed": seed,
        "model": "nines", "duration_s": cfg.nines.horizon_s * len(years),
        "simulated_s": cfg.nines.horizon_s * len(years), "config": cfg.to_dict(),
        "requests": None,
        "availability": {"overall": write, "read": read, "write": write, "windows": []},
        "latency_ms": None,
        "checks": {"durability": {"valid": "unknown", "lost_writes": None,
                                  "note": "a failure model: no writes to check"}},
        "faults": [], "nemesis": None, "healing": [],
        "leaders": {"changes": None, "failovers": [], "failover_s": None},
        "partition_errors": None, "canaries": None, "server": None, "alarms": None,
        "network": None,
        "nines": {"table": t, "durations": durations.to_dict(),
                  "region": years[0]["region"] if years else None,
                  "outages": {k: sum(y["outages"][k] for y in years)
                              for k in (years[0]["outages"] if years else {})},
                  "years": years},
    }


def runner(years: int, resolve: Callable[[Config], Durations]) -> Callable[..., Result]:
    """A scenario runner: ``years`` region-years of the scenario's config, the
    durations from ``resolve(config)``."""

    def run(scenario: Any, cfg: Config, seed: int) -> Result:
        dur = resolve(cfg)
        ys = run_years(cfg, seed, years, dur)
        return Result(nines_data(scenario.name, scenario.description, cfg, seed, ys, dur,
                                 scenario.variant))

    return run


def nines_of(availability: float) -> float:
    """The number of nines of an availability (0.9999 -> 4.0)."""
    return math.inf if availability >= 1 else -math.log10(1.0 - availability)


__all__ = ["YEAR_S", "nines_of", "run_years", "runner", "table"]
