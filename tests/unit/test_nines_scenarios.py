"""The fast model's scenarios: region_year and nines_sensitivity through the
ordinary run path (a scenario with its own runner), their results and
summaries, determinism, and the effect of correlated failures."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from ddbsim.config import YEAR_S, Config
from ddbsim.lab.experiment import run_all
from ddbsim.lab.nines.durations import derived
from ddbsim.lab.nines.estimate import run_years, table
from ddbsim.lab.nines.plots import plot_sensitivity
from ddbsim.lab.sweep import flatten_figures

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"topology.racks_per_az": 3, "topology.hosts_per_rack": 8, "table.partitions": 300,
         "nines.horizon_s": YEAR_S / 12, "nines.durations": "derived"}


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scenarios" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_region_year_runs_as_a_scenario_deterministically() -> None:
    scenario = script("region_year").build_scenario(years=2)
    a = run_all([scenario], seed=4, overrides=SMALL)
    b = run_all([scenario], seed=4, overrides=SMALL)
    assert a.to_json() == b.to_json()
    assert run_all([scenario], seed=5, overrides=SMALL).to_json() != a.to_json()
    d = a.data
    assert d["model"] == "nines" and d["nines"]["region"] == {"hosts": 72, "partitions": 300,
                                                              "years": 1 / 12}
    assert d["availability"]["write"] == d["nines"]["table"]["write_availability"]["mean"]
    text = a.summary()
    for words in ("write availability", "5-min windows under 99.99%", "MTTDL",
                  "P(data loss) per region-year", "(derived)"):
        assert words in text
    figures = flatten_figures(d)  # what a sweep averages
    assert "nines.table.write_availability.mean" in figures
    assert figures["availability.write"] < 1.0


def test_the_sensitivity_scenario_compares_its_variants(tmp_path: Path) -> None:
    scenarios = script("nines_sensitivity").build_scenario(years=2)
    assert [s.variant for s in scenarios] == ["baseline", "no_bursts", "bursts_across_racks",
                                              "bursts_of_30", "detection_30s",
                                              "rebuild_10MBps", "no_log_replicas",
                                              "random_placement"]
    result = run_all(scenarios, seed=2, overrides={**SMALL, "nines.host_failures_per_year": 20.0})
    text = result.summary()
    assert "x unavail" in text and "random_placement" in text
    by = {r.data["variant"]: r.data["nines"]["table"] for r in result.variants}
    w = {k: 1 - t["write_availability"]["mean"] for k, t in by.items()}
    # a slower detection and no log replicas cost availability
    assert w["detection_30s"] > w["baseline"]
    assert w["no_log_replicas"] > w["baseline"]
    # the figure, from the result as --json writes it
    out = tmp_path / "sens.png"
    plot_sensitivity([json.loads(r.to_json()) for r in result.variants], str(out))
    assert out.stat().st_size > 10_000


def test_bursts_lower_availability_and_durability() -> None:
    over = {**SMALL, "nines.host_failures_per_year": 30.0, "nines.burst_rack_share": 0.0,
            "nines.rack_failures_per_year": 0.0, "nines.az_events_per_year": 0.0}
    cfg = Config().with_overrides(over)
    dur = derived(cfg)
    burst = table(run_years(cfg, 1, 4, dur))
    flat = table(run_years(cfg.with_overrides({"nines.burst_fraction": 0.0}), 1, 4, dur))
    assert burst["quorum_losses"]["mean"] > 2 * flat["quorum_losses"]["mean"]
    assert burst["write_availability"]["mean"] < flat["write_availability"]["mean"]
    # and durability: more time with a single storage replica (two members
    # replaced by log replicas at once), so more B-trees one disk failure
    # from being lost (without the archive)
    b, f = burst["expected_btree_losses_per_year"], flat["expected_btree_losses_per_year"]
    assert b["mean"] > 10 * f["mean"] and b["mean"] > 0


@pytest.mark.slow
def test_the_cross_check_scenario_prints_both_rows(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDBSIM_CACHE_DIR", str(tmp_path))
    scenario = script("nines_cross_check").build_scenario(
        detailed_seeds=2, duration_s=600.0, replicates=40, markov_replicates=10)
    result = run_all([scenario], seed=1, overrides={"churn.mtbf_s": 600.0})
    rows = result.data["nines"]["cross_check"]
    assert [r["row"][0] for r in rows] == ["a", "b"]
    assert len(result.data["nines"]["detailed"]) == 2
    text = result.summary()
    assert "PASS" in text or "FAIL" in text
    assert result.data["checks"]["cross_check"]["valid"] == all(r["pass"] for r in rows)
