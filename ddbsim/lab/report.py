"""The printed summary of a result: one screen, figures not adjectives.

It formats plain result data -- each variant's ``Result.data``, the dicts
``--json`` writes -- so it needs no :class:`~ddbsim.lab.result.Result` and
can summarise a JSON file read back.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ddbsim.config import Config, format_value
from ddbsim.lab.faults import UNDO_ACTIONS, Fault
from ddbsim.lab.frames import variant_name
from ddbsim.lab.metrics import THROTTLING_THRESHOLD

#: How many faults of a fixed schedule the summary lists before "... N more".
MAX_FAULT_LINES = 12
#: One letter per check verdict in the comparison's checks column.
VERDICT_LETTERS = {"valid": "v", "INVALID": "X", "unknown": "?"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.4f}%"


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}s"


def _check(c: dict[str, Any]) -> str:
    v = c["valid"]
    return "valid" if v is True else ("INVALID" if v is False else "unknown")


def overrides_of(config: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The config keys of a result that differ from the defaults (the
    scenario's overrides and the command line's ``--set``), by dotted key."""
    defaults = Config().to_dict()
    out = {}
    for section, values in config.items():
        for name, value in values.items():
            default = defaults.get(section, {}).get(name)
            # a range is a tuple in memory and a list in a JSON file read back
            if _listed(value) != _listed(default):
                out[f"{section}.{name}"] = value
    return out


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _setup_lines(d: Mapping[str, Any]) -> list[str]:
    """What was done: the description, the config overrides, the faults."""
    lines = []
    if d.get("description"):
        lines.append(f"scenario     {d['description']}")
    changed = overrides_of(d["config"])
    shown = "  ".join(f"{k}={format_value(tuple(v) if isinstance(v, list) else v)}"
                      for k, v in changed.items())
    lines.append(f"overrides    {shown}  (the keys not at their default)" if shown
                 else "overrides    none (every config key at its default)")
    faults = [f for f in d["faults"] if f["action"] != "heal_all"]
    if d.get("nemesis") is None:  # a fixed schedule (a nemesis' is listed with its draw)
        if not faults:
            lines.append("faults       none: traffic only")
        else:
            lines.append(f"faults       {len(faults)} applied, then everything healed at "
                         f"{d['duration_s']:.0f}s:")
            lines += ["  " + Fault(**f).describe() for f in faults[:MAX_FAULT_LINES]]
            if len(faults) > MAX_FAULT_LINES:
                lines.append(f"  ... {len(faults) - MAX_FAULT_LINES} more (the result's faults)")
    return lines


def split_failovers(d: Mapping[str, Any]) -> tuple[list[float], list[float]]:
    """The times without a leader after each leader lost, in two lists:
    failovers (a new leader before any fault ended) and waits (a new leader
    only after a power-on, heal or recovery: the time until the hosts came
    back, not a failover)."""
    undo = [f["t_s"] for f in d["faults"] if f["action"] in (*UNDO_ACTIONS, "heal_all")]
    failovers: list[float] = []
    waits: list[float] = []
    for f in d["leaders"]["failovers"]:
        if f["failover_s"] is None:
            continue
        waited = any(f["lost_at_s"] < t <= f["elected_at_s"] for t in undo)
        (waits if waited else failovers).append(f["failover_s"])
    return failovers, waits


def _leader_line(d: Mapping[str, Any]) -> str:
    lf = d["leaders"]
    failovers, waits = split_failovers(d)
    never = sum(1 for f in lf["failovers"] if f["failover_s"] is None)
    text = (f"leaders      {lf['changes']} changes, {len(lf['failovers'])} leaders lost; "
            f"failover (a new leader while the faults lasted) {_stat(failovers)}")
    if waits:
        text += (f"; {len(waits)} got a new leader only after a fault ended (the time until the "
                 f"hosts came back, not a failover) {_stat(waits)}")
    if never:
        text += f"; {never} without a leader at the end"
    return text


def _stat(xs: Sequence[float]) -> str:
    if not xs:
        return "none"
    xs = sorted(xs)
    return f"median {xs[len(xs) // 2]:.1f}s, max {xs[-1]:.1f}s (n={len(xs)})"


def _healing_lines(heal: Sequence[Mapping[str, Any]]) -> list[str]:
    """The healing episodes: how many, how each ended, and how fast the
    replacements came, saying "none" only of what did not happen."""
    if not heal:
        return ["healing      no replica lost: nothing to heal"]
    n = len(heal)
    # by kind of end: "replacement lost: its replica on HOST ..." counts as one
    ends = Counter((h["end"] or "still open at the end").split(":")[0] for h in heal)
    log = [h["log_replica_after_s"] for h in heal if h["log_replica_after_s"] is not None]
    sto = [h["storage_replica_after_s"] for h in heal
           if h["storage_replica_after_s"] is not None]
    deg = [h["degraded_s"] for h in heal if h["degraded_s"] is not None]
    return [f"healing      {n} replicas lost; ended: "
            + ", ".join(f"{k} {v}" for k, v in ends.most_common()),
            f"             log replica placed in {len(log)} of {n}{_after(log, 'detection')}; "
            f"storage replica in {len(sto)} of {n}{_after(sto, 'detection')}; "
            f"write quorum short of a replica until a replacement in {len(deg)} of {n}"
            f"{f', for {_range(deg)}' if deg else ''}"]


def _after(xs: list[float], since: str) -> str:
    return f", {_range(xs)} after {since}" if xs else ""


def one(d: Mapping[str, Any]) -> list[str]:
    """The summary of one result's (one variant's) data."""
    if d.get("model") == "nines":  # the fast failure model's result
        from ddbsim.lab.nines.report import summary_lines
        return summary_lines(d, overrides_of(d["config"]))
    title = d["scenario"] + (f" [{d['variant']}]" if d["variant"] else "")
    lines = [f"== {title}  seed {d['seed']}  {d['duration_s']:.0f}s of traffic =="]
    lines += _setup_lines(d)
    if d["requests"] is None:  # metrics.enabled off
        lines.append("metrics      off (metrics.enabled=false): no requests, availability, latency, "
                     "partition errors, canaries or server counts")
    else:
        lines += _figures(d)
    lines.append(_leader_line(d))
    pe = d["partition_errors"]
    if pe is not None:
        span = max((p["error_span_s"] for p in pe), default=0.0)
        lines.append(f"errors       {len(pe)} of {d['config']['table']['partitions']} partitions "
                     f"saw client errors; longest error span {span:.1f}s")
    lines += _healing_lines(d["healing"])
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
                     f"{live['bound_s']:.0f}s bound after the heal"
                     + (f" with {len(live['minority_down'])} storage hosts still down"
                        if live.get("minority_down") else "")
                     + f" (median {_s(served['median'])}, "
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
    corrupt, arch = ck.get("corruption"), ck.get("archive")
    parts = []
    if corrupt is not None:
        parts.append(f"corruption {_check(corrupt)} ({corrupt['injected']} injected, "
                     f"{corrupt['missed']} missed, {corrupt['unrepaired']} unrepaired, "
                     f"{corrupt['false_positives']} false positives)")
    if arch is not None:
        agree = arch["partitions"] - len(arch["mismatched"]) - len(arch["unknown_partitions"])
        parts.append(f"archive {_check(arch)} ({agree} of {arch['partitions']} partitions' "
                     f"leaders agree with the archive)")
    if parts:
        lines.append("             " + "  ".join(parts))
    shown = {"durability", "convergence", "single_leader", "liveness", "placement", "healing",
             "corruption", "archive", "linearizable", "eventual_reads", "restore"}
    for name, c in ck.items():  # a check this summary has no line for still shows its verdict
        if name not in shown:
            lines.append(f"             {name} {_check(c)}")
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
    rs = ck.get("restore")
    if rs is not None:
        rows = rs.get("instants") or []
        done = [r for r in rows if "error" not in r]
        mutants = rs.get("mutants") or {}
        lines.append(f"             restore {_check(rs)} ({len(done)} of {len(rows)} instants "
                     f"restored; {sum(r['acked_found'] for r in done):,} of "
                     f"{sum(r['acked_before_t'] for r in done):,} writes acknowledged before "
                     f"them found, {sum(r['invoked_after_t_found'] for r in done)} invoked after "
                     f"found, {sum(r['mismatches'] for r in done)} mismatches; restores "
                     f"{mutants.get('delta_s', 0):g}s late caught {mutants.get('caught', 0)} of "
                     f"{mutants.get('tried', 0)}, {mutants.get('differ', 0)} changing a key)")
        for r in rows:
            if "error" in r:
                lines.append(f"             restore to {r['t_s']:g}s: {r['error']}")
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
        points = nem.get("fault_points")
        if points is not None:
            lines.append("fault points " + (", ".join(
                f"{name} (p={spec['p']:g}, up to {spec['delay_s']:g}s)"
                for name, spec in points.items()) or "none enabled"))
        for f in d["faults"]:
            lines.append("  " + Fault(**f).describe())
    net = d.get("network") or {}
    if net.get("corrupted"):
        lines.append(f"network      {net['corrupted']:,} messages corrupted in flight; "
                     f"{net['corrupt_dropped']:,} dropped by their receivers for a bad "
                     f"checksum (the rest were lost before arriving)")
    if d.get("probes"):
        lines.append("code probes  " + ", ".join(f"{k} {v:,}" for k, v in d["probes"].items()))
    if d["alarms"]:
        threshold = d["config"]["metrics"]["alarm_error_rate"]
        windows = ", ".join(f"{a['start_s']:.0f}-{a['end_s']:.0f}s ({100 * a['error_rate']:.2f}%)"
                            for a in d["alarms"][:6])
        more = f", ... {len(d['alarms']) - 6} more" if len(d["alarms"]) > 6 else ""
        lines.append(f"alarms       {len(d['alarms'])} of {len(d['availability']['windows'])} "
                     f"windows had an error rate above {100 * threshold:g}% "
                     f"(metrics.alarm_error_rate): {windows}{more}")
    if d.get("admission"):
        lines += admission_lines(d["admission"])
    if d.get("analysis"):
        lines += analysis_lines(d["analysis"])
    return lines


def admission_lines(a: Mapping[str, Any]) -> list[str]:
    """Admission control: the policy, the table's capacity and what was
    admitted and throttled."""
    t, tot = a["table"], a["totals"]
    grown = (f" (table.partitions {t['partitions_configured']}, doubled for the throughput)"
             if t["partitions"] != t["partitions_configured"] else "")
    if t.get("partitions_at_end", t["partitions"]) != t["partitions"]:
        grown += f", {t['partitions_at_end']} at the end (split)"
    lines = [f"admission    policy {a['policy']}: {t['mode']} table of {t['partitions']} partitions"
             f"{grown}, {t['provisioned_rcu']:g} RCU / {t['provisioned_wcu']:g} WCU provisioned "
             f"({t['partition_share_rcu']:g} / {t['partition_share_wcu']:g} per partition)",
             f"             {tot['admitted']:,.0f} requests admitted by storage nodes; throttled "
             f"{tot['throttled_at_storage']:,.0f} there and {tot['throttled_at_routers']:,.0f} at "
             f"routers; consumed {tot['consumed_rcu']:,.1f} RCU, {tot['consumed_wcu']:,.1f} WCU "
             f"({tot['burst_units']:,.1f} units from burst buckets)"]
    if a.get("adaptive") is not None:
        changes = a["adaptive"]["changes"]
        first = f", the first at {changes[0]['t_s']:.0f}s" if changes else ""
        lines.append(f"             adaptive capacity: {len(changes)} rate changes in "
                     f"{a['adaptive']['periods']} periods{first}")
    if a.get("splits") is not None:
        done = ", ".join(f"{r['partition']} at {r['split_at_s']:.0f}s (decided "
                         f"{r['decided_at_s']:.0f}s)" if r["split_at_s"] is not None
                         else f"{r['partition']} (decided {r['decided_at_s']:.0f}s, not done)"
                         for r in a["splits"]["done"]) or "none"
        declined = ", ".join(f"{r['partition']} ({r['reason']}, {r['t_s']:.0f}s)"
                             for r in a["splits"]["declined"]) or "none"
        lines.append(f"             splits for consumption: {done}; declined: {declined}")
    if a.get("gac") is not None:
        g = a["gac"]
        lines.append(f"             GAC: {g['servers']} servers; routers asked {g['asks']:,} times, "
                     f"got {g['grants']:,} grants, {g['timeouts']:,} asks timed out")
    return lines


def phase_lines(parts: Sequence[Mapping[str, Any]]) -> list[str]:
    """One table of every variant's workload phases: throttled attempts and
    operations, p99 latency, when throttling started and stopped."""
    rows = [(d, name, p) for d in parts for name, p in (d.get("phases") or {}).items()]
    if not rows:
        return []
    several = len(parts) > 1
    series_s = parts[0]["config"]["metrics"]["series_s"]
    lines = ["", f"{'variant' if several else 'phase':<12}{'phase' if several else '':<13}"
                 f"{'window (s)':>13}  {'rate/s':>7}  {'keys':<22}{'throttled':>10}"
                 f"{'(ops)':>9}  {'p99 ms':>9}  throttling"]
    for d, name, p in rows:
        th = p["throttling"]
        if th["first_after_s"] is None:
            when = "none"
        elif th["stopped_after_s"] is None:
            when = f"from +{th['first_after_s']:.0f}s until the phase ended"
        else:
            when = f"from +{th['first_after_s']:.0f}s, stopped after {th['stopped_after_s']:.0f}s"
        rate = "-" if p["rate_per_s"] is None else f"{p['rate_per_s']:g}"
        p99 = p["latency_ms"]["p99"] if p["latency_ms"]["count"] else None
        head = (f"{variant_name(d):<12}{name:<13}" if several else f"{name:<25}")
        lines.append(f"{head}{p['start_s']:>6.0f}-{p['end_s']:<6.0f}  {rate:>7}  "
                     f"{p['keys']:<22}{100 * p['throttle_rate']:>9.2f}%"
                     f"{100 * p['throttled_ops_rate']:>8.2f}%  "
                     f"{'-' if p99 is None else f'{p99:.1f}':>9}  {when}")
    lines += ["  throttled: % of the phase's attempts throttled (ops: % of its operations still "
              "throttled after the client's retries); p99: latency of its successes;",
              f"  throttling: from when until when a {series_s:g} s sample had more than "
              f"{100 * THROTTLING_THRESHOLD:g}% of the phase's attempts throttled "
              "(from the phase's start)"]
    return lines


def _figures(d: Mapping[str, Any]) -> list[str]:
    """Requests, availability per window and latency."""
    req = d["requests"]
    av = d["availability"]
    lat = d["latency_ms"]
    lines = [f"requests     total {req['total']:,}  ok {req['ok']:,}  error {req['error']:,}  "
             f"throttled {req['throttled']:,}"]
    if req["total"] == 0:
        return lines + ["availability no requests: nothing to measure",
                        "latency ms   no requests"]
    kinds = req.get("by_kind", {})
    reads = sum(kinds.get(k, {}).get(x, 0) for k in READS for x in ("ok", "error"))
    writes = sum(kinds.get(k, {}).get(x, 0) for k in WRITES for x in ("ok", "error"))
    lines.append(f"availability overall {_pct(av['overall'])}  "
                 f"read {_pct(av['read']) if reads else 'no reads'}  "
                 f"write {_pct(av['write']) if writes else 'no writes'}")
    lines.append("  window (s)      read        write       requests  errors   "
                 "strong get  eventual get")
    blank = False
    for w in av["windows"]:
        bk = w.get("by_kind", {})
        has_reads = any(k in bk for k in READS)
        has_writes = any(k in bk for k in WRITES)
        blank = blank or not (has_reads and has_writes and all(k in bk for k in READS))
        lines.append(f"  {w['start_s']:6.0f}-{w['end_s']:<6.0f}  "
                     f"{_pct(w['read']) if has_reads else '-':>10}  "
                     f"{_pct(w['write']) if has_writes else '-':>10}  {w['requests']:>9,}  "
                     f"{w['errors']:>6,}   {_pct(bk.get('get_strong')):>10}  "
                     f"{_pct(bk.get('get_eventual')):>10}")
    if blank:
        lines.append("  (-: no requests of that kind in the window)")
    lines.append(f"latency ms   get {_latency(lat['get'])} | put {_latency(lat['put'])}")
    return lines


#: Operation kinds that read, and that write.
READS = ("get_strong", "get_eventual")
WRITES = ("put", "cond_put", "delete")


def _latency(p: Mapping[str, Any]) -> str:
    if not p.get("count"):
        return "no requests"
    return f"p50 {p['p50']:.2f} p99 {p['p99']:.2f} p99.9 {p['p999']:.2f}"


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
    """One line per variant's data, side by side, then a legend."""
    if all(d.get("model") == "nines" for d in parts):  # the fast failure model's variants
        from ddbsim.lab.nines.report import comparison_lines
        return comparison_lines(parts)
    lines = ["", "variant               availability  read        write       lost  "
             "failover(max)  hosts back(max)  degraded(max)  checks"]
    for d in parts:
        deg = [h["degraded_s"] for h in d["healing"] if h["degraded_s"] is not None]
        failovers, waits = split_failovers(d)
        checks = "/".join(VERDICT_LETTERS[_check(c)] for c in d["checks"].values())
        av = d["availability"] or dict.fromkeys(("overall", "read", "write"))  # None: metrics off
        lines.append(f"{d['variant']:<22}{_pct(av['overall']):>12}  "
                     f"{_pct(av['read']):>10}  {_pct(av['write']):>10}"
                     f"  {d['checks']['durability']['lost_writes']:>4}  "
                     f"{_s(max(failovers, default=None)):>13}  {_s(max(waits, default=None)):>15}  "
                     f"{_s(max(deg) if deg else None):>13}  {checks}")
    lines += ["  lost: acknowledged writes lost; failover: longest time to a new leader while the "
              "faults lasted;",
              "  hosts back: longest time without a leader that ended only after a fault ended "
              "(not a failover);",
              "  degraded: longest time a write quorum ran short of a replica until a replacement;",
              f"  checks: {'/'.join(parts[0]['checks'])} "
              "(v valid, X invalid, ? unknown)"]
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
        lines += row_table(parts)
    lines += phase_lines(parts)
    if parts[0].get("comparison"):
        lines += [""] + ["comparison" + line[len("analysis"):]
                         for line in analysis_lines(parts[0]["comparison"])]
    return "\n".join(lines).rstrip() + "\n"


def row_table(parts: Sequence[Mapping[str, Any]]) -> list[str]:
    """When every variant's analysis has a ``row`` (a dict of column ->
    value, the same columns), one table of them, a line per variant."""
    rows = [(d["variant"], (d.get("analysis") or {}).get("row")) for d in parts]
    if not all(isinstance(r, dict) for _v, r in rows):
        return []
    columns = list(rows[0][1])  # type: ignore[arg-type]
    cells = [[str(v)] + [_value(r[c]) for c in columns] for v, r in rows]  # type: ignore[index]
    head = ["variant"] + [c.replace("_", " ") for c in columns]
    widths = [max(len(x) for x in col) for col in zip(head, *cells, strict=True)]
    out = ["", "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return out
