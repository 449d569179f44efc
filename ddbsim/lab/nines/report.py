"""The printed summary of a fast-failure-model result: the nines and
durability table with 95% intervals, the durations used, the failures seen.

It formats the plain data of :func:`.estimate.nines_data` (the ``--json``
dict), so a JSON file read back summarises the same.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ddbsim.lab.report import overrides_of


def pct(x: float | None, digits: int = 5) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def nines(x: float | None) -> str:
    if x is None:
        return "-"
    return "inf" if x >= 1 else f"{-math.log10(1 - x):.2f}"


def years(x: float | None) -> str:
    return "inf" if x is None else f"{x:,.3g}"


def interval(f: Mapping[str, Any], fmt: Any) -> str:
    return f"{fmt(f['mean'])}  [{fmt(f['lo'])}, {fmt(f['hi'])}]"


def table_lines(t: Mapping[str, Any]) -> list[str]:
    """The table: figure, mean and 95% interval."""
    w, r = t["write_availability"], t["read_availability"]
    loss, mttdl, q = t["p_data_loss_per_year"], t["mttdl_years"], t["quorum_loss_mttf_years"]
    return [
        f"  {'figure':<34} mean  [95% interval]",
        f"  {'write availability':<34} {interval(w, pct)}  ({nines(w['mean'])} nines)",
        f"  {'read availability (eventual)':<34} {interval(r, pct)}",
        f"  {'5-min windows under 99.99%':<34} {interval(t['windows_under_target'], pct)}",
        f"  {'worst 5-min window':<34} {interval(t['worst_window'], pct)}",
        f"  {'partition downtime p50 (s/year)':<34} "
        f"{interval(t['downtime_p50_s'], lambda x: f'{x:.1f}')}",
        f"  {'partition downtime p99 (s/year)':<34} "
        f"{interval(t['downtime_p99_s'], lambda x: f'{x:.1f}')}",
        f"  {'partition downtime max (s/year)':<34} "
        f"{interval(t['downtime_max_s'], lambda x: f'{x:.0f}')}",
        f"  {'P(data loss) per region-year':<34} "
        f"{interval(loss, lambda x: f'{x:.3g}')}  ({loss['years_with_loss']} years with loss)",
        f"  {'MTTDL (region-years)':<34} {interval(mttdl, years)}  ({mttdl['losses']} losses)",
        f"  {'MTTF of a quorum loss (years)':<34} {interval(q, years)}  ({q['events']} episodes)",
    ]


def summary_lines(d: Mapping[str, Any]) -> list[str]:
    n = d["nines"]
    t, region, dur = n["table"], n["region"] or {}, n["durations"]
    lines = [f"== {d['scenario']}  seed {d['seed']}  {t['region_years']:g} region-years of "
             f"{region.get('hosts', 0):,} hosts and {region.get('partitions', 0):,} partitions "
             f"(fast failure model, no requests) =="]
    if d.get("description"):
        lines.append(f"scenario     {d['description']}")
    changed = overrides_of(d["config"])
    lines.append("overrides    " + ("  ".join(f"{k}={v}" for k, v in changed.items()) or "none"))
    lines.append(f"durations    ({dur['source']}) failover {dur['failover_s']:.2f}s  detection "
                 f"{dur['detection_s']:.2f}s  log replica join {dur['log_join_s']:.2f}s  rebuild "
                 f"{dur['rebuild_s']:.1f}s  boot {dur['boot_s']:.1f}s")
    lines.append("outages      " + "  ".join(f"{k} {v:,}" for k, v in n["outages"].items())
                 + "  (host outages, all region-years)")
    lines.append("nines and durability, over independent region-years:")
    lines += table_lines(t)
    if d.get("analysis"):
        from ddbsim.lab.report import analysis_lines
        lines += analysis_lines(d["analysis"])
    return lines
