"""Calibration: the fast model's outage and repair durations, measured by
short runs of the detailed simulator for the config at hand, and cached.

**What is measured.**  A detailed run of the config's protocol -- its
``replication``, ``healing``, ``storage`` and ``network`` sections as given
-- on a small region (the default topology and table: durations are per
group, not per region) whose storage hosts churn at an accelerated rate
(:mod:`ddbsim.lab.churn`, host MTBF ``nines.calibration_mtbf_s``, for
``nines.calibration_duration_s``), with a trickle of traffic and the
performance metrics off (leader changes and healing episodes are observed
either way).  From its result:

* ``failover_s`` -- a leader lost to a power-off until another host leads
  (the ``host_churn`` scenario's definition: waits that only the old
  leader's return ended are left out);
* ``detection_s`` -- a member's loss until its leader detects it;
* ``log_join_s`` -- detection until the log replica serves;
* ``rebuild_s`` -- the log replica until its storage replica (the median:
  a copy interrupted by a leadership move shows as a long one);
* ``boot_s`` -- ``storage.boot_s`` from the config (not measured: the
  result does not time a member's return).

A failover or a join that overlapped another member's outage is left out:
the group may have had no quorum, and then it waited for a host to return
(no election, no healing), which the fast model simulates itself --
counted in the duration as well, the wait would count twice.  One such
failover (90 s, while a second member was down) among 25 moved the mean
from 2.2 s to 5.7 s.  Which members a group had is rebuilt from the
initial placement and the healing episodes, and when a host was down from
the run's power faults (off until on plus ``storage.boot_s``).

Each is printed with its spread (count, mean, standard deviation, median,
90th percentile, max).  The durations the fast model uses are the means
(the rebuild's median).

**Reproducible and cached.**  A calibration is a function of the detailed
config it ran and its seed (``nines.calibration_seed``): the same inputs
give the same figures in any process, so a cached one is exactly what a
new run would give.  The cache key is a SHA-256 of the calibration run's
full resolved config (seed included) and of the source of the simulator
that runs it (``world``, ``service``, this module): any change to a key
the detailed run reads, or to the simulator's code, recalibrates; a change
to the fast model's own inputs does not.  The cache is one JSON file per key, in
``$DDBSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/ddbsim``, else
``~/.cache/ddbsim`` (or a directory given); only files named
``calibration-<key>.json`` are ever written there (atomically, through a
temporary file renamed), and nothing is ever deleted.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddbsim.config import Config
from ddbsim.lab.churn import churn_plan
from ddbsim.lab.nines.durations import Durations
from ddbsim.lab.scenario import source_hash

#: The calibration run's traffic and observation (what is not the protocol).
RUN_OVERRIDES: dict[str, Any] = {
    "workload.rate_per_s": 2.0, "workload.canary_rate_per_s": 0.0, "metrics.enabled": False,
    "client.max_attempts": 1}
#: The sections a calibration run takes from the config at hand, as given.
PROTOCOL_SECTIONS = ("network", "storage", "replication", "healing", "router", "run")


@dataclass(frozen=True)
class Calibration:
    key: str
    seed: int
    spreads: dict[str, dict[str, Any]]  # name -> {n, mean, sd, p50, p90, max, source}
    durations: Durations

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "seed": self.seed, "spreads": self.spreads,
                "durations": self.durations.to_dict()}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Calibration:
        return Calibration(d["key"], d["seed"], d["spreads"], Durations(**d["durations"]))


def calibration_config(cfg: Config) -> Config:
    """The detailed config a calibration of ``cfg`` runs: its protocol
    sections, the default region, accelerated churn, a trickle of traffic."""
    data = cfg.to_dict()
    keep = {f"{s}.{k}": v for s in PROTOCOL_SECTIONS for k, v in data[s].items()}
    return Config().with_overrides({
        **keep, **RUN_OVERRIDES, "churn.mtbf_s": cfg.nines.calibration_mtbf_s,
        "nines.calibration_seed": cfg.nines.calibration_seed,
        "nines.calibration_duration_s": cfg.nines.calibration_duration_s,
        "nines.calibration_mtbf_s": cfg.nines.calibration_mtbf_s})


def cache_key(cfg: Config) -> str:
    """The SHA-256 of what a calibration of ``cfg`` depends on."""
    cal = calibration_config(cfg)
    blob = json.dumps({"config": cal.to_dict(), "code": _code_hash()}, sort_keys=True,
                      default=list)
    return hashlib.sha256(blob.encode()).hexdigest()


@functools.cache
def _code_hash() -> str:
    """SHA-256 of the simulator's source: world/, service/ and this module,
    file by file in sorted order of their paths."""
    root = Path(__file__).resolve().parents[2]  # the ddbsim package
    files = sorted([*root.joinpath("world").rglob("*.py"), *root.joinpath("service").rglob("*.py"),
                    Path(__file__).resolve()])
    return source_hash(root, files)


def default_cache_dir() -> Path:
    env = os.environ.get("DDBSIM_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ddbsim"


def spread(xs: Sequence[float], source: str) -> dict[str, Any]:
    if not xs:
        return {"n": 0, "mean": None, "sd": None, "p50": None, "p90": None, "max": None,
                "source": source}
    s = sorted(xs)
    return {"n": len(s), "mean": statistics.fmean(s),
            "sd": statistics.stdev(s) if len(s) > 1 else 0.0, "p50": statistics.median(s),
            "p90": s[min(len(s) - 1, int(0.9 * len(s)))], "max": s[-1], "source": source}


class _Outages:
    """Who was a member of each group, and when each host was down, in a
    calibration run's result."""

    def __init__(self, cal: Config, data: dict[str, Any]) -> None:
        from ddbsim.lab.nines.fleet import build_fleet

        fleet = build_fleet(cal)
        self._initial = {f"p-{i:04d}": [fleet.host_ids[h] for h in row]
                         for i, row in enumerate(fleet.placement.tolist())}
        self._swaps: dict[str, list[tuple[float, str, str]]] = {}
        for e in data["healing"]:
            if e["log_replica_at_s"] is not None and e["log_replica_host"] is not None:
                self._swaps.setdefault(e["partition"], []).append(
                    (e["log_replica_at_s"], e["lost_host"], e["log_replica_host"]))
        boot_s = cal.storage.boot_s
        self._down: dict[str, list[tuple[float, float]]] = {}
        off: dict[str, float] = {}
        for f in sorted(data["faults"], key=lambda f: f["t_s"]):
            if f["action"] == "power_off":
                off.setdefault(f["target"], f["t_s"])
            elif f["action"] == "power_on" and f["target"] in off:
                self._down.setdefault(f["target"], []).append(
                    (off.pop(f["target"]), f["t_s"] + boot_s))
        for host, t in off.items():
            self._down.setdefault(host, []).append((t, math.inf))

    def members_at(self, pid: str, t: float) -> list[str]:
        members = list(self._initial.get(pid, []))
        for at, old, new in sorted(self._swaps.get(pid, [])):
            if at <= t and old in members:
                members[members.index(old)] = new
        return members

    def other_member_down(self, pid: str, host: str, start_s: float, end_s: float) -> bool:
        """Whether a member of ``pid`` other than ``host`` was down at some
        time in ``[start_s, end_s)``."""
        return any(a < end_s and start_s < b
                   for m in self.members_at(pid, start_s) if m != host
                   for a, b in self._down.get(m, []))


def measure(cfg: Config) -> Calibration:
    """Run the detailed simulator and measure the durations (no cache)."""
    from ddbsim.lab.experiment import run  # the detailed simulator, only when calibrating
    from ddbsim.lab.scenario import Scenario

    cal = calibration_config(cfg)
    duration = cal.nines.calibration_duration_s
    scenario = Scenario(name="calibrate", duration_s=duration, faults=churn_plan(duration),
                        overrides={}, description="calibration of the fast failure model")
    overrides = {k: v for s, sec in cal.to_dict().items() for k, v in
                 ((f"{s}.{k}", v) for k, v in sec.items())}
    data = run(scenario, seed=cal.nines.calibration_seed, overrides=overrides).data
    lost = [f for f in data["leaders"]["failovers"] if f["reason"] == "power_off"]
    heal = data["healing"]
    waited = _Outages(cal, data)
    moved = [f for f in lost if f["new_host"] is not None and f["new_host"] != f["old_host"]]
    failover = [f["failover_s"] for f in moved
                if not waited.other_member_down(f["partition"], f["old_host"], f["lost_at_s"],
                                                f["elected_at_s"])]
    detection = [h["detected_at_s"] - h["lost_at_s"] for h in heal]
    joined = [h for h in heal if h["log_replica_after_s"] is not None]
    join = [h["log_replica_after_s"] for h in joined
            if not waited.other_member_down(h["partition"], h["lost_host"], h["detected_at_s"],
                                            h["log_replica_at_s"])]

    def measured(kept: list[float], of: list[Any]) -> str:
        left = len(of) - len(kept)
        return f"measured ({left} left out: another member was down)" if left else "measured"
    rebuild = [h["storage_replica_after_s"] - h["log_replica_after_s"] for h in heal
               if h["storage_replica_after_s"] is not None
               and h["log_replica_after_s"] is not None]
    if not cal.healing.log_replicas:  # the slow path: detection to storage replica
        rebuild = [h["storage_replica_after_s"] for h in heal
                   if h["storage_replica_after_s"] is not None]
    spreads = {"failover_s": spread(failover, measured(failover, moved)),
               "detection_s": spread(detection, "measured"),
               "log_join_s": spread(join, measured(join, joined)),
               "rebuild_s": spread(rebuild, "measured (median used)"),
               "boot_s": spread([cal.storage.boot_s], "config storage.boot_s")}
    missing = [k for k, v in spreads.items() if v["n"] == 0]
    fallback = _fallback(cal)
    if missing:  # too short a run: say so, use the config's value
        for k in missing:
            spreads[k]["source"] = "none measured: the config's"
    dur = Durations(
        failover_s=_or(spreads["failover_s"]["mean"], fallback["failover_s"]),
        detection_s=_or(spreads["detection_s"]["mean"], fallback["detection_s"]),
        log_join_s=_or(spreads["log_join_s"]["mean"], fallback["log_join_s"]),
        rebuild_s=_or(spreads["rebuild_s"]["p50"], fallback["rebuild_s"]),
        boot_s=cal.storage.boot_s, retry_s=cal.healing.retry_s, source="calibrated")
    return Calibration(cache_key(cfg), cal.nines.calibration_seed, spreads, dur)


def _fallback(cal: Config) -> dict[str, float]:
    from ddbsim.lab.nines.durations import derived

    return derived(cal).to_dict()


def _or(x: float | None, default: float) -> float:
    return default if x is None else round(float(x), 6)


def calibrate(cfg: Config, cache_dir: str | os.PathLike[str] | None = None,
              refresh: bool = False) -> tuple[Calibration, bool]:
    """The calibration of ``cfg``: from the cache, else measured and cached.
    Returns it and whether it came from the cache."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    key = cache_key(cfg)
    path = folder / f"calibration-{key[:24]}.json"
    if not refresh and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") == key:
                return Calibration.from_dict(data), True
        except (OSError, ValueError, KeyError, TypeError):
            pass  # unreadable: measure again and replace it
    cal = measure(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".calibration-", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(cal.to_dict(), fh, indent=2)
    os.replace(tmp, path)
    return cal, False


def durations_for(cfg: Config, cache_dir: str | os.PathLike[str] | None = None) -> Durations:
    """The durations ``cfg.nines.durations`` asks for: calibrated (cached) or
    derived from the config."""
    if cfg.nines.durations == "derived":
        from ddbsim.lab.nines.durations import derived

        return derived(cfg)
    return calibrate(cfg, cache_dir)[0].durations


def format_calibration(cal: Calibration, cached: bool) -> str:
    lines = [f"calibration {cal.key[:24]}  seed {cal.seed}  "
             f"({'from the cache' if cached else 'measured now'})",
             f"  {'duration':<13} {'n':>4} {'mean':>9} {'sd':>9} {'p50':>9} {'p90':>9} "
             f"{'max':>9}  source"]
    for name, s in cal.spreads.items():
        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:9.3f}"
        lines.append(f"  {name:<13} {s['n']:>4} {f(s['mean'])} {f(s['sd'])} {f(s['p50'])} "
                     f"{f(s['p90'])} {f(s['max'])}  {s['source']}")
    d = cal.durations
    lines.append(f"used: failover {d.failover_s:.3f}s  detection {d.detection_s:.3f}s  log join "
                 f"{d.log_join_s:.3f}s  rebuild {d.rebuild_s:.3f}s  boot {d.boot_s:.3f}s")
    return "\n".join(lines) + "\n"
