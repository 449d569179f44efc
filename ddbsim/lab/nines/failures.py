"""The component failures of one region-year: hosts, bursts, racks, AZs, disks.

What is modelled (the ``nines`` config section; every rate overridable with
``--set``):

* **host failures** (Ford et al., OSDI'10: node MTTF ~4.3 months, so
  ``nines.host_failures_per_year`` = 12/4.3 = 2.79) -- a host goes down and
  comes back after an exponential ``nines.host_off_s`` with its disk intact
  (a restart, a kernel panic, a power supply);
* **bursts** (Ford et al.: 37% of node failures arrive in bursts, failures
  within 2 minutes of each other) -- a fraction ``nines.burst_fraction`` of
  the host failure rate arrives as bursts of ``1 + Geometric`` hosts (mean
  ``nines.burst_mean_hosts``) that fail within ``nines.burst_window_s`` of
  the burst's start: with probability ``nines.burst_rack_share`` all in one
  rack (a top-of-rack switch, a rack PDU), otherwise anywhere in the region
  (a bad rollout, a shared dependency).  The independent failures keep the
  rest, so the total host failure rate does not change with bursts;
* **rack failures** (Ford et al.: rack MTTF ~10 years) -- every host of
  the rack down for an exponential ``nines.rack_off_s``;
* **AZ power events** (``[chosen]``: nothing is public) -- every host of
  one AZ down for an exponential ``nines.az_off_s``;
* **disk failures** (Schroeder & Gibson, FAST'07, and Backblaze: an annual
  failure rate of 1.5-4%) -- the host's data is gone for good; the host
  returns empty after ``nines.host_replace_s``.

Each kind is a Poisson process over the horizon, drawn vectorised from its
own named stream (``nines/hosts``, ``nines/bursts``, ``nines/racks``,
``nines/azs``, ``nines/disks``), so switching one kind off or on never moves
another's draws.  The result is one row per host outage, sorted by start.

Simplifications: failure times are Poisson, not the heavier-tailed
inter-arrivals Ford et al. measured; a down host can fail again (outages
overlap; the host is up when all have ended); an outage's length does not
depend on its cause beyond the means above.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ddbsim.config import YEAR_S, NinesConfig
from ddbsim.lab.nines.fleet import Fleet


@dataclass(frozen=True)
class Outages:
    """Host outages, one row each, sorted by start."""

    start_s: np.ndarray
    end_s: np.ndarray
    host: np.ndarray
    data_lost: np.ndarray  # bool: the host's disk is gone
    cause: np.ndarray  # index into CAUSES

    def __len__(self) -> int:
        return len(self.start_s)

    def count(self, cause: str) -> int:
        return int((self.cause == CAUSES.index(cause)).sum())


CAUSES = ("host", "burst", "rack", "az", "disk")


class StreamSource(Protocol):
    def stream(self, name: str) -> np.random.Generator: ...


def draw_outages(fleet: Fleet, cfg: NinesConfig, streams: StreamSource,
                 horizon_s: float | None = None) -> Outages:
    """Every host outage of one horizon (default ``nines.horizon_s``)."""
    horizon = cfg.horizon_s if horizon_s is None else horizon_s
    years = horizon / YEAR_S
    n_hosts = fleet.hosts
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool, int]] = []

    def add(start: np.ndarray, dur: np.ndarray, hosts: np.ndarray, lost: bool, cause: str) -> None:
        parts.append((start, start + dur, hosts, lost, CAUSES.index(cause)))

    # independent host failures
    rng = streams.stream("nines/hosts")
    rate = cfg.host_failures_per_year * (1.0 - cfg.burst_fraction)
    n = rng.poisson(rate * n_hosts * years)
    add(rng.uniform(0, horizon, n), rng.exponential(cfg.host_off_s, n),
        rng.integers(0, n_hosts, n), False, "host")

    # bursts: the rest of the host failure rate, in groups
    rng = streams.stream("nines/bursts")
    burst_rate = cfg.host_failures_per_year * cfg.burst_fraction / cfg.burst_mean_hosts
    n_bursts = rng.poisson(burst_rate * n_hosts * years) if cfg.burst_fraction > 0 else 0
    for _ in range(n_bursts):
        t0 = rng.uniform(0, horizon)
        size = 1 + int(rng.geometric(1.0 / (cfg.burst_mean_hosts - 1.0)))
        if rng.random() < cfg.burst_rack_share:
            pool = fleet.racks[int(rng.integers(0, len(fleet.racks)))]
        else:
            pool = np.arange(n_hosts)
        hosts = rng.choice(pool, min(size, len(pool)), replace=False)
        add(t0 + rng.uniform(0, cfg.burst_window_s, len(hosts)),
            rng.exponential(cfg.host_off_s, len(hosts)), hosts, False, "burst")

    # rack failures
    rng = streams.stream("nines/racks")
    n = rng.poisson(cfg.rack_failures_per_year * len(fleet.racks) * years)
    for _ in range(n):
        hosts = fleet.racks[int(rng.integers(0, len(fleet.racks)))]
        t0, dur = rng.uniform(0, horizon), rng.exponential(cfg.rack_off_s)
        add(np.full(len(hosts), t0), np.full(len(hosts), dur), hosts, False, "rack")

    # AZ power events
    rng = streams.stream("nines/azs")
    n = rng.poisson(cfg.az_events_per_year * years)
    for _ in range(n):
        hosts = fleet.az_hosts[int(rng.integers(0, len(fleet.az_hosts)))]
        t0, dur = rng.uniform(0, horizon), rng.exponential(cfg.az_off_s)
        add(np.full(len(hosts), t0), np.full(len(hosts), dur), hosts, False, "az")

    # disk failures: the data is lost
    rng = streams.stream("nines/disks")
    n = rng.poisson(cfg.disk_afr * n_hosts * years)
    add(rng.uniform(0, horizon, n), np.full(n, cfg.host_replace_s),
        rng.integers(0, n_hosts, n), True, "disk")

    start = np.concatenate([p[0] for p in parts])
    end = np.concatenate([p[1] for p in parts])
    host = np.concatenate([p[2] for p in parts]).astype(np.int64)
    lost = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    cause = np.concatenate([np.full(len(p[0]), p[4]) for p in parts]).astype(np.int64)
    keep = start < horizon
    order = np.lexsort((host[keep], start[keep]))
    return Outages(start[keep][order], end[keep][order], host[keep][order], lost[keep][order],
                   cause[keep][order])


def churn_outages(fleet: Fleet, mtbf_s: float, off_s: float, horizon_s: float,
                  rng: np.random.Generator) -> Outages:
    """The host churn of :func:`ddbsim.lab.churn.draw_churn` (every host up
    for an exponential ``mtbf_s``, then off for an exponential ``off_s``, in
    turn) as outages: the failure process of the ``host_churn`` scenario and
    of the Markov model, for the cross-checks."""
    from ddbsim.lab.churn import draw_churn

    index = {h: i for i, h in enumerate(fleet.host_ids)}
    faults = draw_churn(fleet.host_ids, mtbf_s, off_s, horizon_s, rng)
    open_at: dict[int, float] = {}
    rows: list[tuple[float, float, int]] = []
    for f in faults:
        h = index[f.target]
        if f.action == "power_off":
            open_at[h] = f.t_s
        else:
            rows.append((open_at.pop(h), f.t_s, h))
    rows += [(t, horizon_s + off_s, h) for h, t in open_at.items()]
    rows.sort(key=lambda r: (r[0], r[2]))
    n = len(rows)
    return Outages(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]),
                   np.array([r[2] for r in rows], dtype=np.int64), np.zeros(n, dtype=bool),
                   np.full(n, CAUSES.index("host"), dtype=np.int64))
