"""The sensitivity figure: each variant's write unavailability, quorum-loss
rate and (from exposure) expected B-tree losses, with their 95% intervals,
on log scales.

``python -m ddbsim.lab.nines.plots RESULT.json OUT.png`` draws it from the
``--json`` of ``scenarios/nines_sensitivity.py`` (or of any fast-model run:
one bar per variant).  matplotlib is imported only here.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ddbsim.lab.nines.stats import rate_interval


def parts_of(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The variants' data of a result read back from ``--json``."""
    variants = data.get("variants")
    return list(variants.values()) if variants else [data]


def plot_sensitivity(parts: Sequence[Mapping[str, Any]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [d.get("variant") or d["scenario"] for d in parts]
    tables = [d["nines"]["table"] for d in parts]
    exposure = all("expected_btree_losses_per_year" in t for t in tables)
    fig, axes = plt.subplots(1, 3 if exposure else 2, figsize=(16 if exposure else 11,
                                                                0.6 * len(parts) + 1.8),
                             sharey=True)
    ax1, ax2 = axes[0], axes[1]
    ys = range(len(parts))
    u = [1 - t["write_availability"]["mean"] for t in tables]
    lo = [max(0.0, 1 - t["write_availability"]["hi"]) for t in tables]
    hi = [1 - t["write_availability"]["lo"] for t in tables]
    err = [[a - b for a, b in zip(u, lo, strict=True)], [b - a for a, b in zip(u, hi, strict=True)]]
    ax1.barh(list(ys), u, xerr=err, color="tab:blue", capsize=3)
    ax1.axvline(1e-4, color="tab:red", linestyle="--", linewidth=1, label="99.99% target")
    ax1.set_xscale("log")
    ax1.set_xlabel("write unavailability (mean, 95% interval)")
    ax1.legend(loc="lower right", fontsize=8)
    rate = [t["quorum_loss_mttf_years"]["events"] / t["region_years"] for t in tables]
    # none seen: the 95% upper bound of the rate, drawn hollow
    bound = [rate_interval(0, t["region_years"])[2] for t in tables]
    seen = [r > 0 for r in rate]
    ax2.barh([y for y, s in zip(ys, seen, strict=True) if s], [r for r in rate if r > 0],
             color="tab:orange")
    ax2.barh([y for y, s in zip(ys, seen, strict=True) if not s],
             [b for b, s in zip(bound, seen, strict=True) if not s], color="none",
             edgecolor="tab:orange", hatch="//", label="none seen: 95% upper bound")
    ax2.set_xscale("log")
    ax2.set_xlabel("group quorum losses per region-year")
    if not all(seen):
        ax2.legend(loc="lower right", fontsize=8)
    if exposure:
        ax3 = axes[2]
        shown = [(y, t["expected_btree_losses_per_year"]) for y, t in zip(ys, tables, strict=True)
                 if t["expected_btree_losses_per_year"]["mean"] > 0]
        ax3.barh([y for y, _ in shown], [f["mean"] for _, f in shown], color="tab:green",
                 xerr=[[f["mean"] - f["lo"] for _, f in shown],
                       [f["hi"] - f["mean"] for _, f in shown]], capsize=3)
        ax3.set_xscale("log")
        ax3.set_xlabel("B-trees lost per region-year without the archive\n"
                       "(expected, from exposure; none drawn: no exposure)")
    ax1.set_yticks(list(ys), names)
    ax1.invert_yaxis()
    fig.suptitle("ddbsim fast failure model: sensitivity of a region-year")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m ddbsim.lab.nines.plots RESULT.json OUT.png", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as fh:
        data = json.load(fh)
    plot_sensitivity(parts_of(data), args[1])
    print(f"wrote {args[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
