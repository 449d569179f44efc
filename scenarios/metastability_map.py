"""Where the bimodal cache's collapse begins: metadata brownouts by size and length, recovered or metastable.

Huang et al. (OSDI'22, Fig. 5) map metastable failures by trigger size and
duration: small or short triggers recover, large and long ones do not, and
the boundary moves with what sustains the bad state.  Here the region runs
the bimodal router cache (paper §6.6) in front of a metadata table sized
for the fleet going cold at 100 requests/s with half again to spare
(``metadata_servers`` 16 per host: ~150 whole-table downloads/s).  The
trigger at ``trigger_at_s``: every router cache is flushed and the metadata
table (and MemDS) keeps only ``1 - cut`` of its capacity for ``trigger_s``
seconds.  ``--param cache=constant_work`` runs the same cells with the
constant-work cache, for comparison.  A
download slower than a lookup may wait is abandoned, so while the trigger
lasts no router warms; the misses, and the client retries of the requests
they fail, queue up at the metadata table.  When the trigger ends, the
table works through a backlog of downloads nobody waits for any more while
every cold request adds another: the monitor
(:mod:`ddbsim.lab.metastability`) says whether goodput came back within
``within_s``.

Each variant is one cell (cut x trigger duration); the retry mode is the
config key ``client.retry_mode``, so the map of every mode is one sweep::

    ddbsim sweep scenarios/metastability_map.py --seeds 1 \\
        --grid client.retry_mode=none,standard,legacy --workers 3 --out map.jsonl

(or ``ddbsim run ... --set client.retry_mode=legacy`` for one mode's map,
printed as a table).  ``plot_map(results)`` draws the cells of each mode.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddbsim.lab import Scenario
from ddbsim.lab.faults import Fault, brownout
from ddbsim.lab.metastability import assess, describe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CUTS = (0.2, 0.5, 0.8, 0.95)
TRIGGERS_S = (1.0, 10.0, 60.0)


def analyse(data: dict[str, Any], cut: float, trigger_at_s: float, trigger_s: float,
            within_s: float) -> dict[str, Any]:
    verdict = assess(data, trigger_at_s, trigger_at_s + trigger_s,
                     baseline_s=trigger_at_s - 5.0, within_s=within_s, hold_s=5.0)
    s = verdict["sustaining"]
    return {"retry_mode": data["config"]["client"]["retry_mode"],
            "row": {"cut": cut, "trigger_s": trigger_s, "verdict": verdict["verdict"],
                    "after_trigger": describe(verdict),
                    "attempts_per_s": s["attempts_per_s"], "retries_per_s": s["retries_per_s"],
                    "metadata_lookups_per_s": s["metadata_lookups_per_s"],
                    "goodput_per_s": s["goodput_per_s"]},
            "metastability": verdict}


def build_scenario(cuts: str = ",".join(map(str, CUTS)),
                   triggers_s: str = ",".join(f"{t:g}" for t in TRIGGERS_S),
                   trigger_at_s: float = 30.0, within_s: float = 120.0,
                   metadata_servers: int = 16, cache: str = "bimodal",
                   **overrides: Any) -> list[Scenario]:
    out = []
    for cut in (float(c) for c in cuts.split(",")):
        for trigger_s in (float(t) for t in triggers_s.split(",")):
            # A cell that stays down is still down when the traffic stops:
            # the liveness probe then waits for the metadata table to work
            # off its backlog (minutes), which is the finding, not a bug.
            settings = {"routing.cache": cache, "metrics.traffic_series_s": 1.0,
                        "routing.metadata_servers": metadata_servers, "run.quiesce_s": 5.0,
                        "run.liveness_bound_s": 600.0, **overrides}
            faults = [Fault(trigger_at_s, "flush_caches", "routers")]
            for target in ("metadata", "memds"):  # MemDS too: the same trigger for both caches
                faults += brownout(target, trigger_at_s, trigger_s, round(1.0 - cut, 6))
            out.append(Scenario(
                name="metastability_map", variant=f"cut {cut:g} for {trigger_s:g}s",
                duration_s=trigger_at_s + trigger_s + within_s + 5.0, overrides=settings,
                description=f"{cache} caches flushed and the metadata table and MemDS cut by "
                            f"{cut:.0%} for {trigger_s:g}s at {trigger_at_s:g}s",
                faults=faults,
                analyse=lambda d, c=cut, t=trigger_s: analyse(d, c, trigger_at_s, t, within_s)))
    return out


def cells(datas: list[dict[str, Any]]) -> dict[str, dict[tuple[float, float], str]]:
    """retry mode -> (cut, trigger_s) -> verdict, from variants' data."""
    out: dict[str, dict[tuple[float, float], str]] = {}
    for d in datas:
        a = d["analysis"]
        out.setdefault(a["retry_mode"], {})[(a["row"]["cut"], a["row"]["trigger_s"])] = \
            a["row"]["verdict"]
    return out


def plot_map(datas: list[dict[str, Any]]) -> Figure:
    """One panel per retry mode: recovered (o) and metastable (x) cells."""
    import matplotlib.pyplot as plt

    by_mode = cells(datas)
    fig, axes = plt.subplots(1, len(by_mode), figsize=(3.2 * len(by_mode), 3), sharey=True,
                             squeeze=False)
    for ax, (mode, grid) in zip(axes[0], sorted(by_mode.items()), strict=True):
        for (cut, trigger_s), verdict in grid.items():
            ax.scatter([trigger_s], [cut * 100], marker="o" if verdict == "recovered" else "x",
                       color="tab:green" if verdict == "recovered" else "tab:red", s=80)
        ax.set_xscale("log")
        ax.set_title(f"retries: {mode}", fontsize=9)
        ax.set_xlabel("trigger duration (s)")
    axes[0][0].set_ylabel("metadata capacity cut (%)")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
