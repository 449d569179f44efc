"""The result of a run: the contract that scenarios, tests and plots share.

``Result.to_json()`` writes at least the keys of DESIGN.md §5 (scenario,
seed, duration_s, config, requests, availability, latency_ms, checks,
faults, healing) and more: leader changes and failover times, the
partitions that saw client errors and for how long, canaries per AZ,
server-side outcomes, alarms.  Nothing in it depends on the wall clock, so
the same scenario, config and seed give the same JSON byte for byte.
"""
from __future__ import annotations

import json
import statistics
from typing import TYPE_CHECKING, Any

from ddbsim.lab.metrics import LatencyHistogram
from ddbsim.lab.report import summary_text

if TYPE_CHECKING:
    from ddbsim.lab.run import Run


class Result:
    def __init__(self, data: dict[str, Any], history: list[dict[str, Any]] | None = None) -> None:
        self.data = data
        self.history = history
        self.variants: list[Result] = []

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    # -- views -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = dict(self.data)
        if self.variants:
            out["variants"] = {v.data["variant"]: v.data for v in self.variants}
        return out

    def to_json(self, path: str | None = None, indent: int | None = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent, sort_keys=False, default=_jsonable)
        if path is not None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return text

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per availability window (per variant), for tables."""
        out = []
        for r in [self, *self.variants] if self.variants else [self]:
            for w in r.data["availability"]["windows"]:
                out.append({"scenario": r.data["scenario"], "variant": r.data["variant"],
                            "seed": r.data["seed"], **w})
        return out

    def to_frame(self) -> Any:
        """The records as a pandas DataFrame (pandas is an optional extra)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise RuntimeError("to_frame() needs pandas: pip install 'ddbsim[frames]'") from None
        return pd.DataFrame(self.to_records())

    def plot_availability(self, ax: Any = None) -> Any:
        """Read and write availability per window (matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        for r in [self, *self.variants] if self.variants else [self]:
            ws = r.data["availability"]["windows"]
            mids = [(w["start_s"] + w["end_s"]) / 2 for w in ws]
            label = r.data["variant"] or r.data["scenario"]
            ax.step(mids, [w["write"] for w in ws], where="mid", label=f"{label} write")
            ax.step(mids, [w["read"] for w in ws], where="mid", label=f"{label} read",
                    linestyle="--")
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel("availability")
        ax.legend(fontsize="small")
        return ax

    def summary(self) -> str:
        return summary_text([r.data for r in self.variants or [self]])


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def build_result(run: Run, checks: dict[str, Any], end_s: float) -> Result:
    m = run.metrics
    scenario = run.scenario
    duration = scenario.duration_s
    latency = {}
    for group, kinds in (("get", ("get_strong", "get_eventual")), ("put", ("put", "cond_put")),
                         ("delete", ("delete",))):
        h = LatencyHistogram()
        for k in kinds:
            if k in m.latency:
                h.merge(m.latency[k])
        latency[group] = _percentiles(h)
    by_kind = {k: _percentiles(h) for k, h in sorted(m.latency.items())}
    latency["by_kind"] = by_kind

    availability = m.availability(duration)
    alarms = [
        {"start_s": w["start_s"], "end_s": w["end_s"],
         "error_rate": round(w["errors"] / max(1, w["requests"] - w["throttled"]), 6)}
        for w in availability["windows"]
        if w["requests"] - w["throttled"] > 0
        and w["errors"] / (w["requests"] - w["throttled"]) > run.cfg.metrics.alarm_error_rate]

    failovers = _failovers(m.leader_losses, m.leader_changes)
    healing = []
    for rec in m.healing:
        r = dict(rec)
        first_back = r["log_replica_at_s"] if r["log_replica_at_s"] is not None else r[
            "storage_replica_at_s"]
        r["log_replica_after_s"] = _r(None if r["log_replica_at_s"] is None
                                      else r["log_replica_at_s"] - r["detected_at_s"])
        r["storage_replica_after_s"] = _r(None if r["storage_replica_at_s"] is None
                                          else r["storage_replica_at_s"] - r["detected_at_s"])
        r["degraded_s"] = _r(None if first_back is None else first_back - r["lost_at_s"])
        healing.append(r)
    healing.sort(key=lambda r: (r["detected_at_s"], r["partition"]))

    partition_errors = sorted(
        ({"partition": pid, "errors": int(e[0]), "first_error_s": _r(e[1]),
          "last_error_s": _r(e[2]), "error_span_s": _r(e[2] - e[1])}
         for pid, e in m.partition_errors.items()), key=lambda d: d["partition"])

    totals = m.totals
    data: dict[str, Any] = {
        "scenario": scenario.name,
        "variant": scenario.variant,
        "description": scenario.description,
        "seed": run.seed,
        "duration_s": duration,
        "simulated_s": _r(end_s),
        "config": run.cfg.to_dict(),
        "requests": {"total": sum(totals.values()), "ok": totals["ok"],
                     "error": totals["error"], "throttled": totals["throttled"],
                     "by_kind": {k: dict(v) for k, v in sorted(m.by_kind.items())}},
        "availability": availability,
        "latency_ms": latency,
        "checks": checks,
        "faults": [f.to_dict() for f in run.injector.applied],
        "nemesis": run.nemesis,
        "healing": healing,
        "leaders": {"changes": len(m.leader_changes) - len(run.service.partition_map),
                    "failovers": failovers,
                    "failover_s": _stats([f["failover_s"] for f in failovers
                                          if f["failover_s"] is not None])},
        "partition_errors": partition_errors,
        "canaries": {az: {"ok": v[0], "error": v[1], "availability": _r(
            v[0] / (v[0] + v[1]) if v[0] + v[1] else 1.0, 6)} for az, v in sorted(m.canary.items())},
        "server": dict(sorted(m.server.items())),
        "alarms": alarms,
        "network": {"sent": run.world.network.sent, "dropped": run.world.network.dropped},
    }
    history = run.history.to_records() if run.history is not None else None
    return Result(data, history)


def _percentiles(h: Any) -> dict[str, float]:
    return {"p50": h.percentile_ms(0.50), "p99": h.percentile_ms(0.99),
            "p999": h.percentile_ms(0.999), "count": h.n}


def _stats(xs: list[float]) -> dict[str, Any]:
    if not xs:
        return {"count": 0, "median": None, "max": None}
    return {"count": len(xs), "median": _r(statistics.median(xs)), "max": _r(max(xs))}


def _failovers(losses: list[dict[str, Any]], elected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each leader lost, how long until the partition had a leader again."""
    out = []
    for loss in losses:
        nxt = next((e for e in elected if e["partition"] == loss["partition"]
                    and e["t_s"] >= loss["t_s"]), None)
        out.append({"partition": loss["partition"], "lost_at_s": loss["t_s"],
                    "reason": loss["reason"], "old_host": loss["host"],
                    "new_host": nxt["host"] if nxt else None,
                    "elected_at_s": nxt["t_s"] if nxt else None,
                    "failover_s": _r(nxt["t_s"] - loss["t_s"]) if nxt else None})
    return out
