"""One region-year of the fast failure model, and its figures.

A region-year is the region of the config at hand (its ``topology``,
``table.partitions`` groups of ``replication.replicas``, placement and
healing policy) run through ``nines.horizon_s`` of component failures
(:mod:`.failures`) by :mod:`.groups`.  Its figures, each a plain number so
that a sweep can average them over independent region-years (seeds):

* **availability** -- regional write availability (the mean over groups of
  the fraction of time each serves writes: writes spread evenly over the
  partitions, as the detailed model's client-side figure with no retries),
  and read availability (eventually consistent: a storage replica up);
* **windows** -- per 5-minute window (``metrics.window_s``, paper §6.3) the
  region's write availability; the share of windows under the 99.99%
  target (paper §6.3) and the worst window;
* **downtime** -- the distribution over partitions of their write downtime
  in the year (percentiles, and the share with any);
* **durability** -- write-loss events (acknowledged writes lost) and
  partition-loss events (the whole partition, without an archive); whether
  the year saw any (its mean over region-years is the annual probability of
  data loss, and region-years over events is the MTTDL); and the expected
  number of each from the year's exposure (:func:`exposure_losses`: the
  time groups spent one disk failure from a loss, times the disk failure
  rate), which measures an MTTDL far beyond the years simulated;
* **unavailability events** -- group episodes below a write quorum, and with
  no member up at all (Ford et al.'s "stripe unavailability" for three
  replicas), for the correlated-failure comparison.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ddbsim.config import YEAR_S, Config
from ddbsim.lab.nines.durations import Durations
from ddbsim.lab.nines.failures import CAUSES, StreamSource, draw_outages
from ddbsim.lab.nines.fleet import Fleet, build_fleet
from ddbsim.lab.nines.groups import GroupsOutcome, simulate_groups
from ddbsim.world.streams import Streams

#: DynamoDB's regional availability target (paper §6.3).
TARGET = 0.9999


@functools.lru_cache(maxsize=8)
def _fleet(cfg: Config) -> Fleet:
    return build_fleet(cfg)


def fleet_of(cfg: Config, streams: StreamSource) -> Fleet:
    """The fleet of ``cfg`` (cached when its placement draws nothing)."""
    if cfg.nines.placement == "random":
        return build_fleet(cfg, streams.stream("nines/placement"))
    return _fleet(_fleet_key(cfg))


def _fleet_key(cfg: Config) -> Config:
    """``cfg`` with only what the fleet depends on (a cache key)."""
    return Config().with_overrides({
        **{f"topology.{k}": v for k, v in cfg.to_dict()["topology"].items()},
        "table.partitions": cfg.table.partitions, "replication.replicas": cfg.replication.replicas,
        "replication.write_quorum": cfg.replication.write_quorum})


class _Prefixed:
    """Streams whose names all start with ``prefix`` (one region-year's)."""

    def __init__(self, streams: Streams, prefix: str) -> None:
        self._streams, self._prefix = streams, prefix

    def stream(self, name: str) -> np.random.Generator:
        return self._streams.stream(self._prefix + name)


def region_year(cfg: Config, seed: int, durations: Durations,
                prefix: str = "") -> dict[str, Any]:
    """Figures of one region-year (a plain, JSON-ready dict); its streams are
    named ``{prefix}nines/...`` under root seed ``seed``."""
    streams = _Prefixed(Streams(seed), prefix)
    n = cfg.nines
    fleet = fleet_of(cfg, streams)
    outages = draw_outages(fleet, n, streams)
    outcome = simulate_groups(
        fleet, outages, durations, horizon_s=n.horizon_s,
        write_quorum=cfg.replication.write_quorum, log_replicas=cfg.healing.log_replicas,
        archive=n.archive, same_az=n.placement == "az",
        rng=streams.stream("nines/durations") if n.distribution == "exponential" else None)
    out = figures(outcome, cfg.metrics.window_s)
    out["durability"].update(exposure_losses(outcome, n.disk_afr, n.archive))
    out["outages"] = {cause: outages.count(cause) for cause in CAUSES}
    out["region"] = {"hosts": fleet.hosts, "partitions": fleet.partitions,
                     "years": n.horizon_s / YEAR_S}
    return out


def exposure_losses(o: GroupsOutcome, disk_afr: float, archive: bool) -> dict[str, float]:
    """Expected data-loss events of the region-year from its exposure.

    Every loss is a disk failure that hits the last intact copy of
    something: the one intact member holding the newest acknowledged writes,
    or (without an archive) the one intact storage replica.  Disk failures
    are a Poisson process of ``disk_afr`` per host-year, drawn independently
    of the groups' state, so the expected number of losses is the disk
    failure rate times the group-seconds spent one failure from a loss --
    exact in expectation, and far less noisy than counting the losses
    themselves, which a region-year almost never sees (the rate behind an
    MTTDL of thousands of years)."""
    per_s = disk_afr / YEAR_S
    writes = o.write_exposure_s * per_s
    btrees = o.storage_exposure_s * per_s
    return {"write_exposure_s": o.write_exposure_s, "storage_exposure_s": o.storage_exposure_s,
            "expected_write_losses": writes, "expected_btree_losses": btrees,
            "expected_losses": writes + (0.0 if archive else btrees)}


def figures(o: GroupsOutcome, window_s: float) -> dict[str, Any]:
    horizon, n_p = o.horizon_s, o.partitions
    w_p, w_a, w_b = o.write_down
    r_p, r_a, r_b = o.read_down
    w_total = float(np.sum(w_b - w_a))
    r_total = float(np.sum(r_b - r_a))
    per_partition = np.bincount(w_p, weights=w_b - w_a, minlength=n_p)
    windows = window_availability(w_a, w_b, n_p, horizon, window_s)
    pct = np.percentile(per_partition, [50, 90, 99, 99.9])
    return {
        "availability": {"write": 1.0 - w_total / (n_p * horizon),
                         "read": 1.0 - r_total / (n_p * horizon),
                         "write_unavailability": w_total / (n_p * horizon)},
        "windows": {"count": len(windows),
                    "under_target": float(np.mean(windows < TARGET)) if len(windows) else 0.0,
                    "worst": float(windows.min()) if len(windows) else 1.0},
        "downtime_s": {"p50": float(pct[0]), "p90": float(pct[1]), "p99": float(pct[2]),
                       "p999": float(pct[3]), "max": float(per_partition.max()),
                       "mean": float(per_partition.mean()),
                       "share_with_any": float(np.mean(per_partition > 0))},
        "durability": {"write_losses": len(o.write_losses),
                       "partition_losses": len(o.partition_losses),
                       "any_loss": int(bool(o.write_losses or o.partition_losses))},
        "events": {"quorum_losses": o.quorum_losses, "all_down": o.all_down,
                   "heals": o.heals, "rebuilds": o.rebuilds, "heal_retries": o.heal_retries,
                   "simulated": o.events},
    }


def window_availability(start_s: np.ndarray, end_s: np.ndarray, partitions: int,
                        horizon_s: float, window_s: float) -> np.ndarray:
    """The region's write availability in each window ``[k w, (k+1) w)``: one
    minus the partition-seconds down in it over ``partitions * w``, exactly
    (the integral of the number of groups down, read at the boundaries)."""
    n_w = max(1, math.ceil(horizon_s / window_s - 1e-9))
    edges = np.minimum(np.arange(n_w + 1) * window_s, horizon_s)
    if len(start_s) == 0:
        return np.ones(n_w)
    times = np.concatenate([start_s, end_s])
    steps = np.concatenate([np.ones(len(start_s)), -np.ones(len(end_s))])
    order = np.argsort(times, kind="stable")
    times, steps = times[order], steps[order]
    down = np.cumsum(steps)  # groups down just after each time
    # integral of down(t) up to each time
    area = np.concatenate([[0.0], np.cumsum(down[:-1] * np.diff(times))])
    at_edges = np.interp(edges, times, area, left=0.0, right=area[-1])
    lengths = np.diff(edges)
    return 1.0 - np.diff(at_edges) / (partitions * lengths)
