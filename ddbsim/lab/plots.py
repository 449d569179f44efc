"""Figures of a result (matplotlib): availability per window, latency
percentiles, the healing episodes on a timeline, and (with admission
control) the table's throttle rate over time.

Each function takes plain result data -- each variant's ``Result.data``, the
dicts ``--json`` writes -- and an optional matplotlib ``Axes`` to draw on;
without one it makes a figure (through pyplot, so a notebook shows it) and
returns the axes.  Every figure has a title naming the scenario and the
seed, units on its axes, and the fault windows shaded (:func:`fault_windows`).
pyplot is imported only when a figure is made without axes.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ddbsim.lab.frames import variant_name

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

#: A fault's starting action -> the action that ends it.
FAULT_ENDS = {"power_off": "power_on", "cut": "heal", "slow": "recover", "impair": "restore",
              "crash": "restart"}
_VERBS = {"power_off": "off", "cut": "cut", "slow": "slow", "impair": "impaired",
          "crash": "crashed"}
#: The request kinds in the order the latency figure shows them.
KIND_ORDER = ("get_strong", "get_eventual", "put", "cond_put", "delete")
#: Fault windows are labelled on the figure up to this many (shaded always).
MAX_LABELLED_WINDOWS = 6
_FAULT_COLOR = "tab:red"


def _new_axes(figsize: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt

    _fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _title(parts: Sequence[Mapping[str, Any]], what: str) -> str:
    head = parts[0]
    return f"{head['scenario']}, seed {head['seed']}: {what}"


def _fault_label(f: Mapping[str, Any]) -> str:
    target = f["target"]
    if f.get("peer") is not None:
        target += ("->" if f.get("one_way") else "<->") + f["peer"]
    verb = _VERBS[f["action"]]
    if f["action"] == "slow" and f.get("factor") is not None:
        verb += f" x{f['factor']:g}"
    return f"{target} {verb}"


def fault_windows(parts: Sequence[Mapping[str, Any]]) -> list[tuple[float, float, str]]:
    """The time windows in which a fault was in force, over every variant:
    ``(start_s, end_s, label)``, one per distinct window, the labels of the
    faults that share it joined (``az-2 off; az-3 off (only two_azs)``: a fault
    not in every variant names the variants it was in).  A fault starts
    with ``power_off``, ``cut``, ``slow`` or ``impair`` and ends with its
    undoing action on the same target, with ``heal_all``, or at the end of
    the traffic (``duration_s``).  A role target that resolved to no host
    (``leader:p-0003 (none)``) did nothing and has no window."""
    windows: dict[tuple[float, float], dict[str, list[str]]] = {}  # -> label -> variants
    for data in parts:
        duration = data["duration_s"]
        started: dict[tuple[str, str, str | None], tuple[float, str]] = {}
        closed: list[tuple[float, float, str]] = []
        for f in sorted(data["faults"], key=lambda f: f["t_s"]):
            action, t_s = f["action"], f["t_s"]
            if action in FAULT_ENDS:
                if not f["target"].endswith("(none)"):
                    started.setdefault((action, f["target"], f.get("peer")), (t_s, _fault_label(f)))
            elif action == "heal_all":
                closed += [(t0, t_s, label) for t0, label in started.values()]
                started.clear()
            else:
                start = next((k for k in started if FAULT_ENDS[k[0]] == action
                              and k[1:] == (f["target"], f.get("peer"))), None)
                if start is not None:
                    t0, label = started.pop(start)
                    closed.append((t0, t_s, label))
        closed += [(t0, duration, label) for t0, label in started.values()]
        for t0, t1, label in closed:
            labels = windows.setdefault((round(t0, 3), round(min(t1, duration), 3)), {})
            variants = labels.setdefault(label, [])
            if variant_name(data) not in variants:
                variants.append(variant_name(data))
    every = len({variant_name(d) for d in parts})
    return [(t0, t1, "; ".join(label if len(variants) == every or every == 1
                               else f"{label} (only {', '.join(variants)})"
                               for label, variants in labels.items()))
            for (t0, t1), labels in sorted(windows.items())]


def shade_faults(ax: Axes, parts: Sequence[Mapping[str, Any]]) -> None:
    """One shaded span per fault window (labelled when there are few)."""
    from matplotlib.transforms import blended_transform_factory

    windows = fault_windows(parts)
    on_top = blended_transform_factory(ax.transData, ax.transAxes)
    for i, (t0, t1, label) in enumerate(windows):
        ax.axvspan(t0, t1, color=_FAULT_COLOR, alpha=0.12, linewidth=0, zorder=0,
                   label="fault in force" if i == 0 else None)
        if len(windows) <= MAX_LABELLED_WINDOWS:
            ax.text(t0, 0.98 - 0.09 * (i % 3), f" {label}", transform=on_top, fontsize="small",
                    color=_FAULT_COLOR, va="top", ha="left", clip_on=True)


def _legend_outside(ax: Axes) -> None:
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def plot_availability(parts: Sequence[Mapping[str, Any]], ax: Axes | None = None) -> Axes:
    """Write (solid) and read (dashed) availability in % per window, one
    colour per variant, over the whole traffic (0 to ``duration_s``); the
    legend gives each line's availability over the whole run."""
    for data in parts:
        if data["availability"] is None:
            raise ValueError("no availability to plot: the run had metrics.enabled off")
    if ax is None:
        ax = _new_axes((9.0, 3.6))
    lowest = 100.0
    for i, data in enumerate(parts):
        windows = data["availability"]["windows"]
        edges = [w["start_s"] for w in windows] + [windows[-1]["end_s"]]
        for kind, style in (("write", "-"), ("read", "--")):
            pct = [100.0 * w[kind] for w in windows]
            lowest = min(lowest, *pct)
            overall = data["availability"][kind]
            ax.step(edges, [*pct, pct[-1]], where="post", color=f"C{i}", linestyle=style,
                    label=f"{variant_name(data)} {kind} ({100 * overall:.4f}% overall)")
    margin = max(100.0 - lowest, 0.01) * 0.12
    ax.set_ylim(max(lowest - margin, -2.0), 100.0 + margin)
    window_s = parts[0]["config"]["metrics"]["window_s"]
    return _over_the_traffic(ax, parts, f"availability per {window_s:g} s window",
                             "availability (%)")


def _over_the_traffic(ax: Axes, parts: Sequence[Mapping[str, Any]], what: str,
                      ylabel: str) -> Axes:
    """A figure over the traffic's time (0 to ``duration_s``): the faults
    shaded, the title, the axes' labels, a grid and the legend outside."""
    shade_faults(ax, parts)
    ax.set_xlim(0.0, max(d["duration_s"] for d in parts))
    ax.set_title(_title(parts, what))
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    return ax


def has_throttling(parts: Sequence[Mapping[str, Any]]) -> bool:
    """Whether every part has an admission time series to plot."""
    return all((d.get("admission") or {}).get("series") for d in parts)


def plot_throttling(parts: Sequence[Mapping[str, Any]], ax: Axes | None = None) -> Axes:
    """The table's throttle rate in % of requests (attempts) per sample of
    ``metrics.series_s``, one line per variant (with admission control, one
    per policy); the workload phases shaded and named, faults shaded.  The
    legend gives each variant's policy and its throttled share over the run."""
    for data in parts:
        if not (data.get("admission") or {}).get("series"):
            raise ValueError("no throttling to plot: the run had no admission control "
                             "(admission.policy=none) or metrics.enabled off")
    if ax is None:
        ax = _new_axes((10.0, 4.0))
    for i, data in enumerate(parts):
        series = data["admission"]["series"]
        table = series["table"]
        t = [0.0] + series["t_s"]
        pct = [100.0 * x for x in table["throttle_rate"]]
        requests = sum(table["requests_per_s"])
        share = sum(table["throttled_per_s"]) / requests if requests else 0.0
        policy = data["admission"]["policy"]
        name = variant_name(data) if variant_name(data) == policy else \
            f"{variant_name(data)} ({policy})"
        ax.step(t, [pct[0] if pct else 0.0, *pct], where="pre", color=f"C{i}",
                label=f"{name}: {100 * share:.2f}% throttled")
    phases = parts[0].get("phases") or {}
    on_top = None
    for j, (name, p) in enumerate(ph for ph in phases.items() if ph[0] != "background"):
        from matplotlib.transforms import blended_transform_factory

        on_top = on_top or blended_transform_factory(ax.transData, ax.transAxes)
        ax.axvspan(p["start_s"], p["end_s"], color="0.5", alpha=0.10, linewidth=0, zorder=0)
        ax.text(p["start_s"], 0.98 - 0.08 * (j % 2), f" {name}", transform=on_top,
                fontsize="small", color="0.25", va="top", ha="left", clip_on=True)
    ax.set_ylim(-2.0, 102.0)
    series_s = parts[0]["admission"]["series"]["series_s"]
    return _over_the_traffic(ax, parts, f"throttled requests per {series_s:g} s",
                             "throttled (% of requests)")


def plot_latency(parts: Sequence[Mapping[str, Any]], ax: Axes | None = None) -> Axes:
    """Client latency per request kind over the whole run: p50 (circle),
    p99 (square) and p99.9 (triangle) in ms on a log scale, joined by a line,
    one colour per variant."""
    from matplotlib.lines import Line2D

    for data in parts:
        if data["latency_ms"] is None:
            raise ValueError("no latency to plot: the run had metrics.enabled off")
    if ax is None:
        ax = _new_axes((9.0, 3.6))
    seen = {k for d in parts for k in d["latency_ms"]["by_kind"]}
    kinds = [k for k in KIND_ORDER if k in seen] + sorted(seen - set(KIND_ORDER))
    step = 0.7 / max(1, len(parts))
    markers = (("p50", "o"), ("p99", "s"), ("p999", "^"))
    for i, data in enumerate(parts):
        by_kind = data["latency_ms"]["by_kind"]
        for x, kind in enumerate(kinds):
            p = by_kind.get(kind)
            if not p or not p["count"]:
                continue
            xi = x + (i - (len(parts) - 1) / 2) * step
            ys = [p[name] for name, _m in markers if p[name] and p[name] > 0]
            if ys:
                ax.vlines(xi, min(ys), max(ys), color=f"C{i}", linewidth=1.5)
            for name, marker in markers:
                if p[name] and p[name] > 0:
                    ax.plot([xi], [p[name]], marker=marker, color=f"C{i}", linestyle="none")
    ax.set_yscale("log")
    ax.set_xticks(range(len(kinds)), kinds)
    ax.set_xlim(-0.5, len(kinds) - 0.5)
    ax.set_xlabel("request kind")
    ax.set_ylabel("latency (ms)")
    duration = max(d["duration_s"] for d in parts)
    ax.set_title(_title(parts, f"client latency over {duration:g} s of traffic"))
    ax.grid(True, axis="y", which="both", alpha=0.3)
    handles = [Line2D([], [], color=f"C{i}", label=variant_name(d)) for i, d in enumerate(parts)]
    handles += [Line2D([], [], color="0.4", marker=m, linestyle="none",
                       label="p99.9" if name == "p999" else name) for name, m in markers]
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    return ax


def plot_healing(parts: Sequence[Mapping[str, Any]], ax: Axes | None = None) -> Axes:
    """The healing episodes on a timeline, one row per lost replica: a bar
    from the loss to the end of the episode (or of the run), a tick at
    detection, a circle when a log replica joined and a square when a
    storage replica took its place; one colour per variant.  The dotted line
    is the end of the traffic (the heal)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    episodes = [(i, data, h) for i, data in enumerate(parts) for h in data["healing"]]
    if ax is None:
        ax = _new_axes((9.0, min(12.0, max(2.8, 1.4 + 0.22 * len(episodes)))))
    duration = max(d["duration_s"] for d in parts)
    end_of_run = max(d.get("simulated_s") or d["duration_s"] for d in parts)
    several = len(parts) > 1
    labels = []
    for y, (i, data, h) in enumerate(episodes):
        ended = h["ended_at_s"] if h["ended_at_s"] is not None else end_of_run
        ax.hlines(y, h["lost_at_s"], ended, color=f"C{i}", linewidth=3, alpha=0.6)
        ax.plot([h["detected_at_s"]], [y], marker="|", color="black", markersize=9)
        if h["log_replica_at_s"] is not None:
            ax.plot([h["log_replica_at_s"]], [y], marker="o", color=f"C{i}", markersize=5)
        if h["storage_replica_at_s"] is not None:
            ax.plot([h["storage_replica_at_s"]], [y], marker="s", color=f"C{i}", markersize=5)
        labels.append(f"{variant_name(data) + ' ' if several else ''}{h['partition']} "
                      f"{h['lost_host']}")
    shade_faults(ax, parts)
    ax.axvline(duration, color="0.3", linestyle=":", linewidth=1)
    last = max([duration] + [h["ended_at_s"] or end_of_run for _i, _d, h in episodes])
    ax.set_xlim(0.0, last * 1.02)  # room for a mark at the very end
    if episodes:
        ax.set_yticks(range(len(episodes)), labels, fontsize="x-small")
        ax.set_ylim(len(episodes) - 0.5, -0.5)  # the first episode on top
    else:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no replica was lost", transform=ax.transAxes, ha="center",
                va="center")
    plural = "" if len(episodes) == 1 else "s"
    ax.set_title(_title(parts, f"healing: {len(episodes)} lost replica{plural}"))
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("partition, lost host")
    ax.grid(True, axis="x", alpha=0.3)
    handles: list[Artist] = [Line2D([], [], color=f"C{i}", linewidth=3, alpha=0.6,
                                    label=f"{variant_name(d)}: lost until ended" if several
                                    else "lost until ended")
                             for i, d in enumerate(parts)]
    handles += [Line2D([], [], color="black", marker="|", linestyle="none", label="detected"),
                Line2D([], [], color="0.4", marker="o", linestyle="none", label="log replica"),
                Line2D([], [], color="0.4", marker="s", linestyle="none", label="storage replica"),
                Line2D([], [], color="0.3", linestyle=":", label="traffic ends")]
    if fault_windows(parts):
        handles.append(Patch(color=_FAULT_COLOR, alpha=0.12, label="fault in force"))
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0)
    return ax
