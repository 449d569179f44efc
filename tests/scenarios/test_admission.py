"""Admission control end to end: a GAC server crash barely throttles a table
within its provisioned rate; every policy is deterministic across processes;
watching it (the figures, the admission series) changes nothing; and
without admission control nothing changes at all."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ddbsim.lab import Keys, Phase, Scenario, run
from ddbsim.lab.scenario import load_scenarios

ROOT = Path(__file__).resolve().parents[2]


def test_a_gac_server_crash_throttles_a_table_within_its_rate_for_seconds_at_most() -> None:
    [scenario] = load_scenarios("scenarios/gac_crash.py",
                                ["crash_at_s=20", "down_s=10", "duration_s=70"])
    d = run(scenario, seed=2).data
    analysis = d["analysis"]
    faults = [k for k in analysis if k.startswith(("crash", "power_off"))]
    assert len(faults) == 2
    for key in faults:
        assert analysis[key]["throttled_for_s"] <= 2.0, (key, analysis[key])
    assert d["admission"]["gac"]["timeouts"] >= 3  # every router's ask timed out, and moved on
    assert d["requests"]["throttled"] == 0 and d["availability"]["overall"] == 1.0
    assert all(c["valid"] is True for c in d["checks"].values())
    answered = d["admission"]["gac"]["answered"]
    assert sum(1 for n in answered.values() if n > 0) >= 2  # a second server took over
    assert "analysis     crash az-" in run(scenario, seed=2).summary()


def _hot(policy: str, **overrides: object) -> Scenario:
    return Scenario(name="small_hot", duration_s=30.0, overrides={
        "admission.policy": policy, "table.partitions": 4, "table.provisioned_wcu": 400.0,
        "workload.rate_per_s": 40.0, "workload.key_count": 400, "admission.burst_s": 10.0,
        "admission.adaptive_interval_s": 3.0, "metrics.series_s": 1.0, **overrides},
        phases=[Phase("hot", 5.0, 25.0, 120.0, Keys.hash_range(0.0, 0.25), mix={"put": 1.0})])


@pytest.mark.parametrize("policy", ["static", "bursting", "adaptive", "gac"])
def test_watching_admission_changes_nothing(policy: str) -> None:
    on = run(_hot(policy), seed=3).data
    off = run(_hot(policy, **{"metrics.enabled": False}), seed=3).data
    assert on["admission"]["series"] is not None and off["admission"]["series"] is None
    assert on["phases"] is not None and off["phases"] is None
    for key in ("checks", "healing", "leaders", "network", "simulated_s"):
        assert on[key] == off[key], key
    for key in ("totals", "adaptive", "gac", "table"):
        assert on["admission"][key] == off["admission"][key], key
    assert on["admission"]["totals"]["throttled_at_storage"] \
        + on["admission"]["totals"]["throttled_at_routers"] > 0 or policy == "gac"


def test_without_admission_control_phases_add_traffic_and_nothing_throttles() -> None:
    d = run(_hot("none"), seed=3).data
    assert d["admission"] is None
    assert d["requests"]["throttled"] == 0 and "throttled" not in d["server"]
    assert d["phases"]["hot"]["ops"] > 1500 and d["phases"]["hot"]["throttle_rate"] == 0.0


def _run_json(tmp_path: Path, hashseed: str) -> bytes:
    out = tmp_path / f"hot-{hashseed}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "ddbsim.cli", "run", "scenarios/hot_partition.py", "--seed", "5",
         "--quiet", "--json", str(out), "--param", "time_scale=0.03",
         "--param", "policies=adaptive,gac", "--set", "run.quiesce_s=5"],
        cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hashseed}, capture_output=True,
        text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def test_admission_is_deterministic_across_processes(tmp_path: Path) -> None:
    a = _run_json(tmp_path, "0")
    assert a == _run_json(tmp_path, "777")
    assert b'"policy": "gac"' in a and b'"comparison"' in a


def test_an_on_demand_table_takes_twice_its_peak_at_once_and_grows_beyond() -> None:
    scenario = Scenario(name="on_demand", duration_s=60.0, overrides={
        "admission.policy": "gac", "table.mode": "on_demand", "table.partitions": 4,
        "admission.on_demand_peak_wcu": 40.0, "admission.on_demand_peak_rcu": 40.0,
        "admission.on_demand_interval_s": 2.0, "workload.rate_per_s": 30.0,
        "workload.put": 1.0, "workload.get_strong": 0.0, "workload.get_eventual": 0.0,
        "workload.cond_put": 0.0, "workload.delete": 0.0,
        "workload.item_size_distribution": "fixed", "workload.item_size_bytes": 1000.0,
        "metrics.series_s": 1.0}, phases=[
        Phase("double", 10.0, 25.0, 45.0, mix={"put": 1.0}),  # 75 WCU: under twice the peak
        Phase("surge", 35.0, 55.0, 2000.0, mix={"put": 1.0})])  # 2,030 WCU: ten times beyond
    d = run(scenario, seed=4).data
    od = d["admission"]["on_demand"]
    assert d["phases"]["double"]["throttle_rate"] == 0.0
    surge = d["phases"]["surge"]
    assert surge["throttle_rate"] > 0  # far more than twice the peak: throttled at first ...
    assert surge["throttling"]["stopped_after_s"] is not None  # ... until the capacity grew
    assert surge["throttling"]["stopped_after_s"] <= 12.0
    assert od["peak_wcu"] > 1500 and max(c["wcu"] for c in od["changes"]) >= 2 * 1500
    assert d["availability"]["overall"] == 1.0
