"""The printed summary of a result: one screen, figures not adjectives.

It formats plain result data -- each variant's ``Result.data``, the dicts
``--json`` writes -- so it needs no :class:`~ddbsim.lab.result.Result` and
can summarise a JSON file read back.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ddbsim.lab.faults import Fault


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.4f}%"


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}s"


def _check(c: dict[str, Any]) -> str:
    v = c["valid"]
    return "valid" if v is True else ("INVALID" if v is False else "unknown")


def one(d: Mapping[str, Any]) -> list[str]:
    """The summary of one result's (one variant's) data."""
    title = d["scenario"] + (f" [{d['variant']}]" if d["variant"] else "")
    lines = [f"== {title}  seed {d['seed']}  {d['duration_s']:.0f}s of traffic =="]
    if d["requests"] is None:  # metrics.enabled off
        lines.append("metrics      off (metrics.enabled=false): no requests, availability, latency, "
                     "partition errors, canaries or server counts")
    else:
        lines += _figures(d)
    lf = d["leaders"]
    lines.append(f"leaders      {lf['changes']} changes; failover median "
                 f"{_s(lf['failover_s']['median'])} max {_s(lf['failover_s']['max'])} "
                 f"over {lf['failover_s']['count']} lost leaders")
    pe = d["partition_errors"]
    if pe is not None:
        span = max((p["error_span_s"] for p in pe), default=0.0)
        lines.append(f"errors       {len(pe)} of {d['config']['table']['partitions']} partitions "
                     f"saw client errors; longest error span {span:.1f}s")
    heal = d["healing"]
    if heal:
        log = [h["log_replica_after_s"] for h in heal if h["log_replica_after_s"] is not None]
        sto = [h["storage_replica_after_s"] for h in heal
               if h["storage_replica_after_s"] is not None]
        deg = [h["degraded_s"] for h in heal if h["degraded_s"] is not None]
        lines.append(f"healing      {len(heal)} replicas lost; log replica {_range(log)} after "
                     f"detection; storage replica {_range(sto)}; degraded write quorum {_range(deg)}")
    ck = d["checks"]
    dur = ck["durability"]
    lines.append(f"checks       durability {_check(dur)} ({dur['lost_writes']} lost of "
                 f"{dur['acked_writes']:,} acked writes, {dur['keys_checked']:,} keys read)  "
                 f"convergence {_check(ck['convergence'])}  "
                 f"single_leader {_check(ck['single_leader'])}")
    live = ck.get("liveness")
    if live is not None:
        served = live["served_after_heal_s"]
        late = live["late_partitions"]
        lines.append(f"             liveness {_check(live)} ({live['partitions'] - len(late)} of "
                     f"{live['partitions']} partitions served a strong read within the "
                     f"{live['bound_s']:.0f}s bound after the heal (median {_s(served['median'])}, "
                     f"max {_s(served['max'])}{' of those served' if late else ''}); "
                     f"late: {', '.join(late) or 'none'})")
    place, heal_ck = ck.get("placement"), ck.get("healing")
    if place is not None and heal_ck is not None:
        age = heal_ck["log_replica_age_s"]
        whole = place["partitions"] - place["misplaced_count"] - len(place["unknown_partitions"])
        lines.append(f"             placement {_check(place)} ({whole}"
                     f" of {place['partitions']} partitions whole on distinct hosts, racks and AZs)"
                     f"  healing {_check(heal_ck)} ({heal_ck['ended']} of {heal_ck['episodes']} "
                     f"episodes ended; log replicas lived median {_s(age['median'])}, max "
                     f"{_s(age['max'])}, bound {_s(heal_ck['bound_s'])} + a rebuild per leader change)")
        for problem in (place["misplaced"] + heal_ck["problems"])[:5]:
            lines.append(f"             {problem['partition']}: "
                         f"{problem.get('problem') or '; '.join(problem.get('problems', []))}")
    lin = ck.get("linearizable")
    if lin is not None:
        lines.append(f"             linearizable {_check(lin)} ({lin['ops']:,} strong reads and "
                     f"writes on {lin['keys']:,} keys; {lin.get('unknown_count', 0)} keys "
                     f"unknown)")
    ev = ck.get("eventual_reads")
    if ev is not None:
        st = ev["staleness"]
        behind = st["versions_behind"]
        secs = st["seconds_stale"]
        lines.append(f"             eventual_reads {_check(ev)} ({ev['reads']:,} reads; "
                     f"{st['stale']:,} stale ({100 * st['stale_fraction']:.2f}%): versions behind "
                     f"p50 {behind['p50']} p99 {behind['p99']} max {behind['max']}, "
                     f"seconds p50 {_s(secs['p50'])} p99 {_s(secs['p99'])} max {_s(secs['max'])}; "
                     f"read-your-writes misses {ev['read_your_writes_misses']:,})")
    for name, c in ck.items():
        if c["valid"] is not True and c.get("note"):
            lines.append(f"             {name}: {c['note']}")
    for name, c in ck.items():
        for failure in (c.get("failures") or c.get("violations") or [])[:3]:
            if isinstance(failure, dict) and "reason" in failure:
                lines.append(f"             {name} failure on {failure.get('key', '?')}: "
                             f"{failure['reason']}")
    nem = d.get("nemesis")
    if nem is not None:
        swarm = ", ".join(f"{k} every ~{v['mean_gap_s']:.0f}s" for k, v in nem["swarm"].items())
        lines.append(f"nemesis      {'bounded to one AZ' if nem['bounded'] else 'UNBOUNDED'}"
                     f"{' (bound exceeded)' if nem['bound_exceeded'] else ''}; swarm: {swarm}; "
                     f"{nem['episodes']} faults")
        for f in d["faults"]:
            lines.append("  " + Fault(**f).describe())
    if d["alarms"]:
        lines.append(f"alarms       {len(d['alarms'])} windows above the alarm error rate")
    if d.get("analysis"):
        lines += analysis_lines(d["analysis"])
    return lines


def _figures(d: Mapping[str, Any]) -> list[str]:
    """Requests, availability per window and latency."""
    req = d["requests"]
    av = d["availability"]
    lat = d["latency_ms"]
    lines = [f"requests     total {req['total']:,}  ok {req['ok']:,}  error {req['error']:,}  "
             f"throttled {req['throttled']:,}",
             f"availability overall {_pct(av['overall'])}  read {_pct(av['read'])}  "
             f"write {_pct(av['write'])}"]
    lines.append("  window          read        write       requests  errors   "
                 "strong get  eventual get")
    for w in av["windows"]:
        bk = w.get("by_kind", {})
        lines.append(f"  {w['start_s']:6.0f}-{w['end_s']:<6.0f}  {_pct(w['read']):>10}  "
                     f"{_pct(w['write']):>10}  {w['requests']:>9,}  {w['errors']:>6,}   "
                     f"{_pct(bk.get('get_strong', 1.0)):>10}  {_pct(bk.get('get_eventual', 1.0)):>10}")
    lines.append(f"latency ms   get p50 {lat['get']['p50']:.2f} p99 {lat['get']['p99']:.2f} "
                 f"p99.9 {lat['get']['p999']:.2f} | put p50 {lat['put']['p50']:.2f} "
                 f"p99 {lat['put']['p99']:.2f} p99.9 {lat['put']['p999']:.2f}")
    return lines


def analysis_lines(analysis: dict[str, Any]) -> list[str]:
    """A scenario's own analysis: one labelled line per top-level key, a
    dict's entries side by side (``measured 0.98  markov 0.998``)."""
    lines = []
    for i, (key, value) in enumerate(analysis.items()):
        head = "analysis     " if i == 0 else "             "
        lines.append(f"{head}{str(key).replace('_', ' ')}: {_value(value)}")
    return lines


def _value(v: Any) -> str:
    if isinstance(v, dict):
        return "  ".join(f"{k} {f'({_value(x)})' if isinstance(x, dict) else _value(x)}"
                         for k, x in v.items())
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _range(xs: list[float]) -> str:
    if not xs:
        return "none"
    xs = sorted(xs)
    return f"{xs[0]:.1f}-{xs[-1]:.1f}s (median {xs[len(xs) // 2]:.1f}s)"


def comparison(parts: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per variant's data, side by side."""
    lines = ["", "variant               availability  read        write       lost  "
             "failover(max)  degraded(max)  checks"]
    for d in parts:
        deg = [h["degraded_s"] for h in d["healing"] if h["degraded_s"] is not None]
        checks = "/".join(_check(c)[0] for c in d["checks"].values())
        av = d["availability"] or dict.fromkeys(("overall", "read", "write"))  # None: metrics off
        lines.append(f"{d['variant']:<22}{_pct(av['overall']):>12}  "
                     f"{_pct(av['read']):>10}  {_pct(av['write']):>10}"
                     f"  {d['checks']['durability']['lost_writes']:>4}  "
                     f"{_s(d['leaders']['failover_s']['max']):>13}  {_s(max(deg) if deg else None):>13}"
                     f"  {checks}")
    return lines


def summary_text(parts: Sequence[Mapping[str, Any]]) -> str:
    """The summary of a run's results: each variant's data (a result without
    variants is one part), then a comparison when there are several.  From
    a ``--json`` file: ``list(data["variants"].values())`` or ``[data]``."""
    lines: list[str] = []
    for d in parts:
        lines += one(d) + [""]
    if len(parts) > 1:
        lines += comparison(parts)
    return "\n".join(lines).rstrip() + "\n"
