"""scenarios/cache_bimodality.py, shortened: a flush of every router cache
multiplies the bimodal cache's metadata load by about 1 / (1 - hit rate)
(here a short TTL makes the hit rate ~98%, the amplification ~50x), while
the constant-work cache's MemDS load and availability do not move."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scenario_files import scenario_module

from ddbsim.lab import run
from ddbsim.lab.result import Result

ROOT = Path(__file__).resolve().parents[2]


def test_bimodal_spike_and_constant_work_flat() -> None:
    module = scenario_module("cache_bimodality")
    variants = {s.variant: s for s in module.build_scenario(
        flush_at_s=60.0, after_s=5.0, rate_per_s=400.0,
        **{"routing.bimodal_ttl_s": 20.0, "run.quiesce_s": 5.0})}
    assert set(variants) == {"bimodal/standard", "bimodal/none", "constant_work/standard",
                             "constant_work/none"}
    bimodal = run(variants["bimodal/standard"], seed=2).data
    row = bimodal["analysis"]["row"]
    assert 0.95 < row["steady_hit_rate"] < 0.995
    assert row["amplification"] > 20  # a spike, not noise
    assert abs(row["amplification"] / row["1/(1-hit_rate)"] - 1) < 0.2
    assert bimodal["routing"]["lookups"]["memds"] == 0

    flat = run(variants["constant_work/standard"], seed=2).data
    row = flat["analysis"]["row"]
    assert row["metadata_peak_per_s"] == 0 and flat["routing"]["misses"] > 0  # the flush happened
    assert row["memds_max_deviation"] < 0.1
    assert row["availability_10s"] == 1.0
    assert flat["analysis"]["metastability"]["degraded"] is False
    # every request looked its key up in MemDS, hit or miss
    routing = flat["routing"]
    assert routing["lookups"]["memds"] == routing["hits"] + routing["misses"]

    # the views: a frame of the series, and the figure
    both = Result(bimodal)
    both.variants = [Result(bimodal), Result(flat)]
    frame = both.series_frame()
    assert {"t_s", "goodput", "attempts", "metadata", "memds", "misses"} <= set(frame.columns)
    assert set(frame["variant"]) == {"bimodal/standard", "constant_work/standard"}
    peak = frame[frame["variant"] == "bimodal/standard"]["metadata"].max()
    assert peak == bimodal["analysis"]["row"]["metadata_peak_per_s"]
    fig = module.plot_routing(both)
    assert len(fig.axes) == 2


def _json_of_run(tmp_path: Path, hashseed: str) -> bytes:
    out = tmp_path / f"cb-{hashseed}.json"
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    proc = subprocess.run(
        [sys.executable, "-m", "ddbsim.cli", "run", "scenarios/cache_bimodality.py", "--seed", "3",
         "--quiet", "--json", str(out), "--param", "flush_at_s=15", "--param", "after_s=3",
         "--param", "rate_per_s=100", "--set", "run.quiesce_s=2",
         "--set", "routing.bimodal_ttl_s=5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def test_the_caches_are_deterministic_across_processes(tmp_path: Path) -> None:
    a = _json_of_run(tmp_path, "0")
    assert a == _json_of_run(tmp_path, "777")
    assert b'"memds": [' in a and b'"metadata": [' in a  # both caches' series are in it
