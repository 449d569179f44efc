"""The result of a run: the contract that scenarios, tests and plots share.

``Result.to_json()`` writes the keys that docs/results.md describes, each
figure with its unit: scenario, seed, duration_s, config, requests,
availability, latency_ms, checks, faults, healing, leader changes and
failover times, the partitions that saw client errors and for how long,
canaries per AZ, server-side outcomes, alarms.  Nothing in it depends on the wall clock, so
the same scenario, config and seed give the same JSON byte for byte.

With ``metrics.enabled`` off the performance figures are not collected, and
the keys of :data:`FIGURE_KEYS` (requests, availability, latency_ms,
partition_errors, canaries, server, alarms) are present and None (null in
the JSON); ``config.metrics.enabled`` says why.  Everything else -- checks,
faults, nemesis, healing, leaders, network, the history -- is there either
way, and the same as with the figures on.

A result is built from a run by :mod:`ddbsim.lab.experiment`, which reads
the run's parts; this module only holds it and its views.
"""
from __future__ import annotations

import json
from typing import Any

from ddbsim.lab.report import summary_text

#: The keys of a result's data that the performance figures produce: None
#: when ``metrics.enabled`` is off.
FIGURE_KEYS = ("requests", "availability", "latency_ms", "partition_errors", "canaries", "server",
               "alarms")


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
        """One plain dict per availability window (per variant), for tables;
        none for a result without figures (``metrics.enabled`` off)."""
        out = []
        for r in [self, *self.variants] if self.variants else [self]:
            for w in (r.data["availability"] or {}).get("windows", []):
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
            if r.data["availability"] is None:
                raise ValueError("no availability to plot: the run had metrics.enabled off")
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
