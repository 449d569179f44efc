"""The printed summary of a fast-failure-model result: the nines and
durability table with 95% intervals, the durations used, the failures seen.

It formats the plain data of :func:`.estimate.nines_data` (the ``--json``
dict), so a JSON file read back summarises the same.  It imports nothing
of ddbsim: ``ddbsim.lab.report`` calls it, with the config keys not at
their default.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


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
    ] + exposure_lines(t)


def exposure_lines(t: Mapping[str, Any]) -> list[str]:
    """The durability figures from exposure (absent from older results)."""
    if "expected_losses_per_year" not in t:
        return []
    def g(x: float) -> str:
        return f"{x:.3g}"

    w, b = t["expected_write_losses_per_year"], t["expected_btree_losses_per_year"]
    e = t["expected_losses_per_year"]
    note = ("  (no group was one disk failure from a loss in any year: below what these "
            "years measure)" if e["hi"] == 0 else
            "  (from exposure: group-time one disk failure from a loss x disk failure rate)")
    return [
        f"  {'E[data losses] per region-year':<34} {interval(e, g)}{note}",
        f"  {'MTTDL from exposure (region-years)':<34} {interval(t['mttdl_exposure_years'], years)}",
        f"  {'  of which acknowledged writes':<34} {interval(w, g)}",
        f"  {'  B-trees (lost without archive)':<34} {interval(b, g)}",
    ]


def summary_lines(d: Mapping[str, Any], changed: Mapping[str, Any]) -> list[str]:
    """The summary of a fast-model result; ``changed``: its config keys not
    at their default."""
    n = d["nines"]
    if "cross_check" in n:
        return cross_check_lines(d, changed)
    t, region, dur = n["table"], n["region"] or {}, n["durations"]
    title = d["scenario"] + (f" [{d['variant']}]" if d.get("variant") else "")
    lines = [f"== {title}  seed {d['seed']}  {t['region_years']:g} region-years of "
             f"{region.get('hosts', 0):,} hosts and {region.get('partitions', 0):,} partitions "
             f"(fast failure model, no requests) =="]
    if d.get("description"):
        lines.append(f"scenario     {d['description']}")
    lines.append("overrides    " + ("  ".join(f"{k}={v}" for k, v in changed.items()) or "none"))
    lines.append(f"durations    ({dur['source']}) failover {dur['failover_s']:.2f}s  detection "
                 f"{dur['detection_s']:.2f}s  log replica join {dur['log_join_s']:.2f}s  rebuild "
                 f"{dur['rebuild_s']:.1f}s  boot {dur['boot_s']:.1f}s")
    lines.append("outages      " + "  ".join(f"{k} {v:,}" for k, v in n["outages"].items())
                 + "  (host outages, all region-years)")
    lines.append("nines and durability, over independent region-years:")
    lines += table_lines(t)
    return lines


def cross_check_lines(d: Mapping[str, Any], changed: Mapping[str, Any]) -> list[str]:
    n = d["nines"]
    dur = n["durations"]
    rows = n["cross_check"]
    lines = [f"== {d['scenario']}  seed {d['seed']}  (fast failure model vs Markov and detailed) =="]
    if d.get("description"):
        lines.append(f"scenario     {d['description']}")
    lines.append("overrides    " + ("  ".join(f"{k}={v}" for k, v in changed.items()) or "none"))
    lines.append(f"durations    ({dur['source']}) failover {dur['failover_s']:.2f}s  detection "
                 f"{dur['detection_s']:.2f}s  log replica join {dur['log_join_s']:.2f}s  rebuild "
                 f"{dur['rebuild_s']:.1f}s  boot {dur['boot_s']:.1f}s")
    lines.append("write availability, mean [95% interval]:")
    lines += rows_table(rows)
    passed = sum(r["pass"] for r in rows)
    lines.append(f"{passed} of {len(rows)} cross-checks agree within their 95% intervals")
    return lines


def rows_table(rows: list[dict[str, Any]]) -> list[str]:
    def iv(f: dict[str, Any]) -> str:
        if f["lo"] == f["hi"]:
            return f"{100 * f['mean']:.4f}% (exact)"
        return (f"{100 * f['mean']:.4f}% [{100 * f['lo']:.4f}, {100 * f['hi']:.4f}] "
                f"n={f['n']}")
    lines = [f"  {'cross-check':<62} {'fast model':<38} {'other':<38} result"]
    for r in rows:
        lines.append(f"  {r['row']:<62} {iv(r['fast']):<38} "
                     f"{r['other_name'] + ' ' + iv(r['other']):<38} "
                     f"{'PASS' if r['pass'] else 'FAIL'}")
        if "fast_band" in r:
            b = r["fast_band"]
            lines.append(f"    pass test: the detailed mean within the fast model's 95% band of the "
                         f"mean of {b['n']} stretches [{100 * b['lo']:.4f}, {100 * b['hi']:.4f}] "
                         f"(bootstrap); t intervals agree: "
                         f"{'yes' if r['t_intervals_agree'] else 'no'}")
    return lines




def comparison_lines(parts: Sequence[Mapping[str, Any]]) -> list[str]:
    """The variants side by side (a sensitivity table): each figure's mean
    and 95% interval, and the unavailability and quorum-loss rate as a
    multiple of the first variant's."""
    if any("table" not in d["nines"] for d in parts):
        return []
    base = parts[0]["nines"]["table"]
    base_u = 1 - base["write_availability"]["mean"]
    base_q = base["quorum_loss_mttf_years"]["mean"]
    lines = ["", f"{'variant':<22} {'write availability [95%]':<36} {'nines':>5} "
                 f"{'x unavail':>9} {'windows<99.99%':>14} {'p99 down s':>10} "
                 f"{'quorum-loss MTTF y':>18} {'x rate':>7} {'P(loss)/y [95%]':>18} "
                 f"{'E[write loss]/y':>15} {'E[B-tree loss]/y':>16} {'x':>6}"]
    base_b = base.get("expected_btree_losses_per_year", {}).get("mean")
    for d in parts:
        t = d["nines"]["table"]
        w = t["write_availability"]
        u = 1 - w["mean"]
        q = t["quorum_loss_mttf_years"]["mean"]
        loss = t["p_data_loss_per_year"]
        lines.append(
            f"{d['variant'] or d['scenario']:<22} {interval(w, lambda x: pct(x, 6)):<36} "
            f"{nines(w['mean']):>5} {(u / base_u if base_u > 0 else math.nan):>9.2f} "
            f"{pct(t['windows_under_target']['mean'], 4):>14} "
            f"{t['downtime_p99_s']['mean']:>10.1f} {years(q):>18} "
            f"{(base_q / q if q and base_q else math.nan):>7.2f} "
            f"{loss_text(loss):<18}{_exposure_columns(t, base_b)}")
    lines += ["  x unavail: write unavailability as a multiple of the first variant's; x rate: "
              "quorum-loss episodes per year, likewise",
              "  quorum-loss MTTF: mean time between group episodes below a write quorum, "
              "region-wide; P(loss): region-years with data loss (Clopper-Pearson)",
              "  E[... loss]/y: expected losses per region-year from exposure, of acknowledged "
              "writes and of B-trees (a loss only without the archive); x: the B-tree figure as "
              "a multiple of the first variant's"]
    return lines


def loss_text(loss: Mapping[str, Any]) -> str:
    return f"{loss['mean']:.2g} [{loss['lo']:.2g}, {loss['hi']:.2g}]"


def _exposure_columns(t: Mapping[str, Any], base_b: float | None) -> str:
    if "expected_btree_losses_per_year" not in t:
        return ""
    w = t["expected_write_losses_per_year"]["mean"]
    b = t["expected_btree_losses_per_year"]["mean"]
    ratio = b / base_b if base_b else math.nan
    return f" {w:>15.3g} {b:>16.3g} {ratio:>6.2f}"
