"""The result of a run: the contract that scenarios, tests and plots share.

``Result.to_json()`` writes the keys that docs/results.md describes, each
figure with its unit: scenario, seed, duration_s, config, requests,
availability, latency_ms, checks, faults, healing, leader changes and
failover times, the partitions that saw client errors and for how long,
canaries per AZ, server-side outcomes, alarms.  Nothing in it depends on the wall clock, so
the same scenario, config and seed give the same JSON byte for byte.

With ``metrics.enabled`` off the performance figures are not collected, and
the keys of :data:`FIGURE_KEYS` (requests, availability, latency_ms,
partition_errors, canaries, server, alarms, routing) are present and None
(and so is ``series``, which also needs ``metrics.traffic_series_s`` above 0) (null in
the JSON); ``config.metrics.enabled`` says why.  Everything else -- checks,
faults, nemesis, healing, leaders, network, the history -- is there either
way, and the same as with the figures on.

A result is built from a run by :mod:`ddbsim.lab.experiment`, which reads
the run's parts; this module only holds it and its views.
"""
from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

import ddbsim.lab.frames as frames
import ddbsim.lab.plots as plots
from ddbsim.lab.report import summary_text

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

#: The keys of a result's data that the performance figures produce: None
#: when ``metrics.enabled`` is off.
FIGURE_KEYS = ("requests", "availability", "latency_ms", "partition_errors", "canaries", "server",
               "alarms", "routing")


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

    @property
    def parts(self) -> list[Result]:
        """Each variant's result, the headline first (it is ``variants[0]``);
        a result without variants is its only part."""
        return self.variants or [self]

    def _part_data(self) -> list[dict[str, Any]]:
        return [r.data for r in self.parts]

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per availability window and variant, for tables
        (see :func:`ddbsim.lab.frames.window_records`); none for a result
        without figures (``metrics.enabled`` off)."""
        return frames.window_records(self._part_data())

    def to_frame(self) -> pd.DataFrame:
        """Availability per window as a pandas DataFrame (pandas is an
        optional extra): columns ``scenario``, ``variant`` (the scenario's
        name when it has no variants), ``seed``, ``start_s``, ``end_s``,
        ``read``, ``write`` (fractions), ``requests``, ``errors``,
        ``throttled`` (operations whose last attempt was throttled: never in
        ``read`` or ``write``), ``throttled_rate`` (of the window's
        requests) and ``by_kind.<kind>`` per request kind.  The admission
        time series is :meth:`admission_frame`, the phases
        :meth:`phases_frame`."""
        return frames.windows_frame(self._part_data())

    def series_frame(self) -> pd.DataFrame:
        """The time series (with ``metrics.traffic_series_s`` on) as a DataFrame: one
        row per bucket and variant, each series a rate per second --
        attempts against goodput, the metadata table's and MemDS's load,
        router cache misses."""
        return frames.series_frame(self._part_data())
    def admission_frame(self) -> pd.DataFrame:
        """With admission control: the time series of throttling, consumed
        and allocated capacity, bucket levels and GAC refreshes, one row per
        ``metrics.series_s`` sample, per partition and for the table
        (``partition == "table"``), per variant."""
        return frames.admission_frame(self._part_data())

    def phases_frame(self) -> pd.DataFrame:
        """One row per workload phase (and the background) and variant:
        throttled attempts and operations, latency, when throttling started
        and stopped."""
        return frames.phases_frame(self._part_data())

    def failovers_frame(self) -> pd.DataFrame:
        """One row per leader lost: when, why, and how long until the
        partition had a leader again (``failover_s``; None if never)."""
        return frames.list_frame(self._part_data(), "leaders.failovers", frames.FAILOVER_COLUMNS,
                                 "failovers_frame()")

    def healing_frame(self) -> pd.DataFrame:
        """One row per healing episode (a replica lost and replaced)."""
        return frames.list_frame(self._part_data(), "healing", frames.HEALING_COLUMNS,
                                 "healing_frame()")

    def partition_errors_frame(self) -> pd.DataFrame:
        """One row per partition that saw client errors (none with
        ``metrics.enabled`` off)."""
        return frames.list_frame(self._part_data(), "partition_errors",
                                 frames.PARTITION_ERROR_COLUMNS, "partition_errors_frame()")

    def plot_availability(self, ax: Axes | None = None) -> Axes:
        """Write and read availability in % per window, every variant, the
        fault windows shaded (see :mod:`ddbsim.lab.plots`)."""
        return plots.plot_availability(self._part_data(), ax)

    def plot_latency(self, ax: Axes | None = None) -> Axes:
        """p50, p99 and p99.9 client latency per request kind, every variant."""
        return plots.plot_latency(self._part_data(), ax)

    def plot_throttling(self, ax: Axes | None = None) -> Axes:
        """The table's throttle rate over time, one line per variant (with
        admission control on), the workload phases shaded."""
        return plots.plot_throttling(self._part_data(), ax)

    def plot_healing(self, ax: Axes | None = None) -> Axes:
        """The healing episodes on a timeline, the fault windows shaded."""
        return plots.plot_healing(self._part_data(), ax)

    def summary(self) -> str:
        return summary_text(self._part_data())

    # -- display -----------------------------------------------------------
    def __repr__(self) -> str:
        head = self.data
        parts = []
        for d in self._part_data():
            av = d["availability"]
            figure = "metrics off" if av is None else f"availability {_pct(av['overall'])}"
            name = f"{d['variant']}: " if self.variants else ""
            parts.append(f"{name}{figure}, checks {_verdict(d['checks'])}")
        return (f"<Result {head['scenario']} seed {head['seed']}, {head['duration_s']:g}s: "
                f"{'; '.join(parts)}>")

    def _repr_html_(self) -> str:
        """The headline figures of every variant as an HTML table (Jupyter)."""
        head = self.data
        rows = []
        for d in self._part_data():
            av = d["availability"] or dict.fromkeys(("overall", "read", "write"))
            req = d["requests"] or dict.fromkeys(("total", "error"))
            lat = d["latency_ms"] or {"get": {"p99": None}, "put": {"p99": None}}
            failover = d["leaders"]["failover_s"]["max"]
            cells = [frames.variant_name(d), _pct(av["overall"]), _pct(av["read"]),
                     _pct(av["write"]), _count(req["total"]), _count(req["error"]),
                     _ms(lat["get"]["p99"]), _ms(lat["put"]["p99"]),
                     str(d["leaders"]["changes"]), "-" if failover is None else f"{failover:.1f}",
                     str(d["checks"]["durability"]["lost_writes"]), _verdict(d["checks"])]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        header = ("variant", "availability", "read", "write", "requests", "errors",
                  "get p99 (ms)", "put p99 (ms)", "leader changes", "max failover (s)",
                  "lost writes", "checks")
        caption = (f"{head['scenario']}, seed {head['seed']}, {head['duration_s']:g} s of traffic"
                   + ("" if head["requests"] is not None else " (metrics.enabled off)"))
        return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.4f}%"


def _count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def _verdict(checks: dict[str, Any]) -> str:
    """``valid``, or the checks that are not (``durability INVALID``, ``liveness unknown``)."""
    bad = [f"{name} {'INVALID' if c['valid'] is False else 'unknown'}"
           for name, c in checks.items() if c["valid"] is not True]
    return ", ".join(bad) or "valid"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")
