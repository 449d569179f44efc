"""Results as pandas DataFrames: the tables behind ``Result.to_frame()`` and
friends and :func:`ddbsim.lab.sweep.load_frame`.

pandas is an optional extra (``pip install 'ddbsim[frames]'``): it is
imported when a frame is made, never when ddbsim is.  Every function here
takes plain result data -- each variant's ``Result.data``, the dicts
``--json`` writes -- so a JSON file read back gives the same frames.

Every frame of a run starts with the columns ``scenario``, ``variant`` and
``seed``: one row set per variant, the headline result once.  A scenario
without variants has its name as ``variant`` (what the plots' legends say),
so frames of several runs concatenate and group the same way.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

PANDAS_HINT = "needs pandas: pip install 'ddbsim[frames]'"

#: The columns that say which run (and variant) a row comes from.
RUN_COLUMNS = ("scenario", "variant", "seed")

#: Columns of the frames, for a run that has no rows of that kind.
WINDOW_COLUMNS = ("start_s", "end_s", "read", "write", "requests", "errors", "throttled",
                  "throttled_rate")
FAILOVER_COLUMNS = ("partition", "lost_at_s", "reason", "old_host", "new_host", "elected_at_s",
                    "failover_s")
HEALING_COLUMNS = ("partition", "lost_host", "lost_at_s", "detected_at_s", "log_replica_host",
                   "log_replica_at_s", "storage_replica_host", "storage_replica_at_s",
                   "ended_at_s", "end", "blocked", "log_replica_after_s",
                   "storage_replica_after_s", "degraded_s")
PARTITION_ERROR_COLUMNS = ("partition", "errors", "first_error_s", "last_error_s", "error_span_s")
#: The admission frame's own columns (then one per figure of the series).
ADMISSION_COLUMNS = ("policy", "t_s", "partition")
PHASE_COLUMNS = ("phase", "start_s", "end_s", "rate_per_s", "keys", "ops", "ok", "error",
                 "throttled", "throttled_ops_rate", "attempts", "throttled_attempts",
                 "throttle_rate", "p50_ms", "p99_ms", "throttling_first_after_s",
                 "throttling_stopped_after_s", "throttled_s")


def require_pandas(what: str) -> Any:
    """The pandas module, or a RuntimeError that says how to install it."""
    try:
        import pandas
    except ImportError:  # pragma: no cover - depends on the environment
        raise RuntimeError(f"{what} {PANDAS_HINT}") from None
    return pandas


def variant_name(data: Mapping[str, Any]) -> str:
    """A part's variant, or the scenario's name when it has no variants."""
    return str(data["variant"] or data["scenario"])


def _run_columns(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"scenario": data["scenario"], "variant": variant_name(data), "seed": data["seed"]}


def _frame(rows: list[dict[str, Any]], columns: Sequence[str], what: str) -> pd.DataFrame:
    pd = require_pandas(what)
    if rows:
        return pd.DataFrame(rows)
    return pd.DataFrame(columns=[*RUN_COLUMNS, *columns])


def admission_records(parts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One plain dict per admission sample and variant: the table
    (``partition`` is ``"table"``) and each partition, every figure of the
    series as a column (``throttle_rate``, ``consumed_wcu_per_s``,
    ``write_burst_tokens``, ...; see :mod:`ddbsim.lab.throttling`).  None for
    a run without admission control or figures."""
    out = []
    for data in parts:
        admission = data.get("admission") or {}
        series = admission.get("series")
        if not series:
            continue
        groups = [("table", series["table"])] + sorted(series["partitions"].items())
        for name, columns in groups:
            for i, t in enumerate(series["t_s"]):
                row = _run_columns(data)
                row.update({"policy": admission["policy"], "t_s": t, "partition": name})
                row.update({c: values[i] for c, values in columns.items()})
                out.append(row)
    return out


def phase_records(parts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One plain dict per workload phase (and the background) and variant:
    its operations, throttled attempts and operations, p50/p99 latency, and
    when throttling started and stopped."""
    out = []
    for data in parts:
        for name, p in (data.get("phases") or {}).items():
            row = _run_columns(data)
            row["phase"] = name
            row.update({k: v for k, v in p.items()
                        if k not in ("latency_ms", "throttling", "series")})
            row.update({"p50_ms": p["latency_ms"]["p50"], "p99_ms": p["latency_ms"]["p99"],
                        "throttling_first_after_s": p["throttling"]["first_after_s"],
                        "throttling_stopped_after_s": p["throttling"]["stopped_after_s"],
                        "throttled_s": p["throttling"]["throttled_s"]})
            out.append(row)
    return out


def window_records(parts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One plain dict per availability window and variant; ``by_kind`` spread
    into one column per request kind (``by_kind.get_strong``: that kind's
    availability in the window, a fraction).  None for a run without figures."""
    out = []
    for data in parts:
        for w in (data["availability"] or {}).get("windows", []):
            row = _run_columns(data)
            row.update({k: v for k, v in w.items() if k != "by_kind"})
            row["throttled_rate"] = w["throttled"] / w["requests"] if w["requests"] else 0.0
            row.update({f"by_kind.{k}": v for k, v in sorted(w.get("by_kind", {}).items())})
            out.append(row)
    return out


def windows_frame(parts: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Availability per window (fractions, 0..1), one row per window and variant."""
    return _frame(window_records(parts), WINDOW_COLUMNS, "to_frame()")


def admission_frame(parts: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The admission time series, one row per sample, partition (and the
    table) and variant (see :func:`admission_records`)."""
    return _frame(admission_records(parts), ADMISSION_COLUMNS, "admission_frame()")


def phases_frame(parts: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per workload phase and variant (see :func:`phase_records`)."""
    return _frame(phase_records(parts), PHASE_COLUMNS, "phases_frame()")


def list_frame(parts: Iterable[Mapping[str, Any]], key: str, columns: Sequence[str],
               what: str) -> pd.DataFrame:
    """One row per item of the list ``data[key]`` (``leaders.failovers``: a
    dotted path) of every variant, after the run columns."""
    rows = []
    for data in parts:
        items: Any = data
        for name in key.split("."):
            items = items.get(name) if isinstance(items, Mapping) else None
        for item in items or []:
            rows.append({**_run_columns(data), **item})
    return _frame(rows, columns, what)


def _grid_value(text: Any) -> Any:
    """A grid value as the command line gave it, as a number when it is one."""
    if not isinstance(text, str):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def sweep_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per sweep record: ``key``, ``seed``, ``status``, the grid
    values (one column per grid key, numbers when they parse as numbers),
    ``failed_checks`` (comma separated), every figure (``availability.overall``,
    ``one_az/latency_ms.get.p99``, ...), each check's verdict as
    ``checks.<name>.valid`` (``<variant>/checks.<name>.valid`` with
    variants), ``error`` (the traceback's last line) and ``wall_s``."""
    pd = require_pandas("load_frame()")
    rows = []
    for rec in records:
        row: dict[str, Any] = {"scenario": rec.get("scenario"), "name": rec.get("name"),
                               "key": rec["key"], "seed": rec.get("seed"),
                               "status": rec["status"]}
        row.update({k: _grid_value(v) for k, v in (rec.get("grid") or {}).items()})
        row["failed_checks"] = ", ".join(rec.get("failed_checks") or [])
        row.update(rec.get("figures") or {})
        for name, valid in (rec.get("checks") or {}).items():
            variant, _, check = name.rpartition("/")
            row[f"{variant}/checks.{check}.valid" if variant else f"checks.{check}.valid"] = valid
        error = [ln for ln in (rec.get("error") or "").strip().splitlines() if ln.strip()]
        row["error"] = error[-1].strip() if error else None
        row["wall_s"] = rec.get("wall_s")
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["scenario", "name", "key", "seed", "status",
                                     "failed_checks", "error", "wall_s"])
    return pd.DataFrame(rows)


def summary_frame(summary: Mapping[str, Any], all_figures: bool = False) -> pd.DataFrame:
    """A sweep's summary (``Outcome.summary()``, or ``--summary-json`` read
    back) as a table: one row per grid point and figure, with ``n``,
    ``mean``, ``ci95`` (the half-width of the 95% interval; None with one
    seed), ``low`` and ``high`` (mean -+ ci95), ``min`` and ``max``.  Only
    the headline figures unless ``all_figures``."""
    pd = require_pandas("summary_frame()")
    rows = []
    for point in summary["points"]:
        names = list(point["figures"]) if all_figures else point["headline"]
        for name in names:
            f = point["figures"][name]
            half = f["ci95"]
            rows.append({"point": point["label"],
                         **{k: _grid_value(v) for k, v in point["grid"].items()},
                         "figure": name, "n": f["n"], "mean": f["mean"], "ci95": half,
                         "low": None if half is None else f["mean"] - half,
                         "high": None if half is None else f["mean"] + half,
                         "min": f["min"], "max": f["max"]})
    if not rows:
        return pd.DataFrame(columns=["point", "figure", "n", "mean", "ci95", "low", "high",
                                     "min", "max"])
    return pd.DataFrame(rows)


def series_frame(parts: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The time series of every variant (``metrics.traffic_series_s`` on): one row
    per bucket, columns ``t_s`` (the bucket's start) and each series as a
    rate per second (``attempts``, ``goodput``, ``metadata``, ``memds``,
    ``misses``, ...; 0 where a series has no events)."""
    rows: list[dict[str, Any]] = []
    names = sorted({name for d in parts for name in (d.get("series") or {}) if name != "bucket_s"})
    for d in parts:
        series = d.get("series")
        if not series:
            continue
        b = series["bucket_s"]
        n = max(len(v) for k, v in series.items() if k != "bucket_s")
        for i in range(n):
            row = {**_run_columns(d), "t_s": round(i * b, 6)}
            for name in names:
                values = series.get(name) or []
                row[name] = values[i] if i < len(values) else 0.0
            rows.append(row)
    return _frame(rows, ("t_s", *names), "series_frame()")
