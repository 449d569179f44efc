"""Sweeps without running a simulation: seeds, grids, keys, statistics,
figures, records, resume files and the summary."""
from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ddbsim.lab import sweep
from ddbsim.lab.result import Result
from ddbsim.lab.sweep import SweepError, Task

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------
# seeds
# ----------------------------------------------------------------------
@pytest.mark.parametrize("text, seeds", [
    ("0:3", [0, 1, 2]),
    ("5", [5]),
    ("0", [0]),
    ("1,4,10:13", [1, 4, 10, 11, 12]),
    (" 10:12 , 2 ", [2, 10, 11]),
    ("3,1:4", [1, 2, 3]),  # distinct, in increasing order
    ("0:200", list(range(200))),
])
def test_parse_seeds(text: str, seeds: list[int]) -> None:
    assert sweep.parse_seeds(text) == seeds


@pytest.mark.parametrize("text, needle", [
    ("", "empty"),
    ("abc", "'abc'"),
    ("1:x", "'1:x'"),
    ("1.5", "'1.5'"),
    ("1:2:3", "'1:2:3'"),
    ("-1", "zero or more"),
    ("-3:2", "zero or more"),
    ("3:3", "empty"),
    ("5:2", "empty"),
    ("1,,2", "empty item"),
    ("1,", "empty item"),
])
def test_bad_seeds(text: str, needle: str) -> None:
    with pytest.raises(SweepError, match="--seeds") as info:
        sweep.parse_seeds(text)
    assert needle in str(info.value)


# ----------------------------------------------------------------------
# grid, tasks, keys, reproduce commands
# ----------------------------------------------------------------------
def test_parse_grid_keeps_the_order_given() -> None:
    grid = sweep.parse_grid(["table.partitions=8,4", "replication.lease_s = 2, 3.5"])
    assert grid == {"table.partitions": ["8", "4"], "replication.lease_s": ["2", "3.5"]}
    assert list(grid) == ["table.partitions", "replication.lease_s"]


@pytest.mark.parametrize("item, needle", [
    ("replication.lease_s", "key=v1,v2"),
    ("replication.lease_s=", "no values"),
    ("replication.lease_s=,", "no values"),
    ("replication.lease_s=2,,3", "empty value"),
    ("=2,3", "no key"),
    ("replication.lease_s=2,2", "repeats"),
])
def test_bad_grid(item: str, needle: str) -> None:
    with pytest.raises(SweepError, match="--grid") as info:
        sweep.parse_grid([item])
    assert needle in str(info.value)


def test_a_grid_key_given_twice_is_an_error() -> None:
    with pytest.raises(SweepError, match="given twice"):
        sweep.parse_grid(["replication.lease_s=2", "replication.lease_s=3"])


def test_expansion_order_and_task_keys() -> None:
    grid = sweep.parse_grid(["replication.lease_s=2,3", "table.partitions=8,4"])
    tasks = sweep.expand([0, 1], {"workload.rate_per_s": "20"}, grid)
    assert [t.key for t in tasks] == [
        "seed=0 replication.lease_s=2 table.partitions=8 workload.rate_per_s=20",
        "seed=0 replication.lease_s=2 table.partitions=4 workload.rate_per_s=20",
        "seed=0 replication.lease_s=3 table.partitions=8 workload.rate_per_s=20",
        "seed=0 replication.lease_s=3 table.partitions=4 workload.rate_per_s=20",
        "seed=1 replication.lease_s=2 table.partitions=8 workload.rate_per_s=20",
        "seed=1 replication.lease_s=2 table.partitions=4 workload.rate_per_s=20",
        "seed=1 replication.lease_s=3 table.partitions=8 workload.rate_per_s=20",
        "seed=1 replication.lease_s=3 table.partitions=4 workload.rate_per_s=20",
    ]
    assert tasks[1].grid == (("replication.lease_s", "2"), ("table.partitions", "4"))
    assert tasks[1].point == "replication.lease_s=2 table.partitions=4"
    assert len({t.key for t in tasks}) == len(tasks)


def test_no_grid_is_one_point_per_seed() -> None:
    tasks = sweep.expand([3, 7], {}, {})
    assert [t.key for t in tasks] == ["seed=3", "seed=7"]
    assert tasks[0].point == "(no grid)"


def test_a_grid_value_replaces_a_base_set_of_the_same_key() -> None:
    tasks = sweep.expand([0], {"replication.lease_s": "9", "workload.rate_per_s": "5"},
                         {"replication.lease_s": ["2", "3"]})
    assert [dict(t.overrides) for t in tasks] == [
        {"replication.lease_s": "2", "workload.rate_per_s": "5"},
        {"replication.lease_s": "3", "workload.rate_per_s": "5"}]


def test_keys_do_not_depend_on_the_order_of_the_sets() -> None:
    a = sweep.expand([1], {"b.x": "1", "a.y": "2"}, {})[0]
    b = sweep.expand([1], {"a.y": "2", "b.x": "1"}, {})[0]
    assert a.key == b.key == "seed=1 a.y=2 b.x=1"


def test_reproduce_command() -> None:
    task = sweep.expand([3], {"workload.rate_per_s": "20"}, {"replication.lease_s": ["3"]})[0]
    assert task.reproduce("scenarios/leader_failover.py") == (
        "ddbsim run scenarios/leader_failover.py --seed 3 --set replication.lease_s=3 "
        "--set workload.rate_per_s=20")
    assert sweep.reproduce_command("my scenarios/x.py", 0, [("table.name", "my table")]) == (
        "ddbsim run 'my scenarios/x.py' --seed 0 --set 'table.name=my table'")
    assert sweep.reproduce_command("x.py", 5, []) == "ddbsim run x.py --seed 5"


# ----------------------------------------------------------------------
# statistics
# ----------------------------------------------------------------------
@pytest.mark.parametrize("df, t", [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622),
                                   (29, 2.0452), (30, 2.0423), (40, 2.0211), (120, 1.9799)])
def test_t_quantiles_from_the_table(df: int, t: float) -> None:
    assert sweep.t_quantile(df) == t


@pytest.mark.parametrize("df, exact", [(35, 2.0301), (50, 2.0086), (80, 1.9901), (200, 1.9719),
                                       (1000, 1.9623), (10**6, 1.9600)])
def test_t_quantiles_between_and_beyond_the_table(df: int, exact: float) -> None:
    # exact values of t(0.975, df) to 4 decimals
    assert sweep.t_quantile(df) == pytest.approx(exact, abs=1e-3)


def test_t_quantile_needs_a_degree_of_freedom() -> None:
    with pytest.raises(ValueError):
        sweep.t_quantile(0)


def test_mean_ci_by_hand() -> None:
    # 1..5: mean 3, s^2 = 10/4 = 2.5, s/sqrt(n) = sqrt(0.5) = 0.70711, t(0.975, 4) = 2.7764
    mean, half = sweep.mean_ci([1, 2, 3, 4, 5])
    assert mean == 3.0
    assert half == pytest.approx(2.7764 * math.sqrt(0.5))
    assert half == pytest.approx(1.9632, abs=1e-4)
    # 0.99, 0.995: mean 0.9925, s = 0.0035355, s/sqrt(2) = 0.0025, t(0.975, 1) = 12.7062
    mean, half = sweep.mean_ci([0.99, 0.995])
    assert mean == pytest.approx(0.9925)
    assert half == pytest.approx(12.7062 * 0.0025)


def test_mean_ci_of_one_value_has_no_interval() -> None:
    assert sweep.mean_ci([7.5]) == (7.5, None)


def test_mean_ci_of_equal_values_is_a_point() -> None:
    assert sweep.mean_ci([2, 2, 2]) == (2.0, 0.0)


# ----------------------------------------------------------------------
# figures and records
# ----------------------------------------------------------------------
def _data(variant: str = "", checks: dict[str, Any] | None = None, overall: float = 0.999,
          scenario: str = "demo") -> dict[str, Any]:
    return {
        "scenario": scenario, "variant": variant, "description": "", "seed": 4,
        "duration_s": 60.0, "simulated_s": 70.5,
        "config": {"workload": {"rate_per_s": 100.0}},
        "requests": {"total": 1000, "ok": 999, "error": 1, "throttled": 0,
                     "by_kind": {"put": {"ok": 500, "error": 1}}},
        "availability": {"overall": overall, "read": 1.0, "write": 0.998,
                         "windows": [{"start_s": 0.0, "end_s": 60.0, "read": 1.0}]},
        "latency_ms": {"get": {"p50": 1.5, "p99": float("nan")}, "put": {"p99": np.float64(6.25)}},
        "checks": checks if checks is not None else {
            "durability": {"valid": True, "lost_writes": 0, "examples": []},
            "convergence": {"valid": "unknown", "note": "a replica was unreachable"}},
        "faults": [{"t_s": 5.0}],
        "leaders": {"changes": np.int64(3), "failover_s": {"count": 1, "median": None, "max": 2.0}},
        "alarms": [],
    }


def test_flatten_figures() -> None:
    figures = sweep.flatten_figures(_data())
    assert figures == {
        "simulated_s": 70.5,
        "requests.total": 1000, "requests.ok": 999, "requests.error": 1, "requests.throttled": 0,
        "requests.by_kind.put.ok": 500, "requests.by_kind.put.error": 1,
        "availability.overall": 0.999, "availability.read": 1.0, "availability.write": 0.998,
        "latency_ms.get.p50": 1.5, "latency_ms.put.p99": 6.25,
        "checks.durability.lost_writes": 0,
        "leaders.changes": 3, "leaders.failover_s.count": 1, "leaders.failover_s.max": 2.0,
    }
    # no config, seed or duration; no lists, strings, booleans, None or NaN
    assert type(figures["leaders.changes"]) is int
    assert type(figures["latency_ms.put.p99"]) is float
    json.dumps(figures, allow_nan=False)


def test_flatten_figures_with_a_prefix() -> None:
    figures = sweep.flatten_figures(_data(), prefix="one_az/")
    assert figures["one_az/availability.overall"] == 0.999
    assert all(k.startswith("one_az/") for k in figures)


TASK = Task(4, (("replication.lease_s", "3"),), (("replication.lease_s", "3"),))


def test_record_of_a_run_whose_checks_pass_or_are_unknown() -> None:
    rec = sweep.record_from_result(Result(_data()), "scenarios/demo.py", TASK)
    assert rec["status"] == "ok"  # "unknown" is not a failure
    assert rec["failed_checks"] == []
    assert rec["checks"] == {"durability": True, "convergence": "unknown"}
    assert rec["key"] == "seed=4 replication.lease_s=3"
    assert rec["name"] == "demo" and rec["scenario"] == "scenarios/demo.py" and rec["seed"] == 4
    assert rec["overrides"] == {"replication.lease_s": "3"}
    assert rec["grid"] == {"replication.lease_s": "3"}
    assert rec["error"] is None
    assert rec["figures"]["availability.overall"] == 0.999
    assert rec["reproduce"] == "ddbsim run scenarios/demo.py --seed 4 --set replication.lease_s=3"
    json.dumps(rec, allow_nan=False)


def test_record_of_variants_prefixes_figures_and_failed_checks() -> None:
    head = Result(_data("one_az"))
    bad = {"durability": {"valid": False, "lost_writes": 2},
           "convergence": {"valid": True}, "single_leader": {"valid": False}}
    head.variants = [head, Result(_data("two_azs", checks=bad, overall=0.5))]
    rec = sweep.record_from_result(head, "az.py", TASK)
    assert rec["status"] == "failed"
    assert rec["failed_checks"] == ["two_azs/durability", "two_azs/single_leader"]
    assert rec["checks"] == {"one_az/durability": True, "one_az/convergence": "unknown",
                             "two_azs/durability": False, "two_azs/convergence": True,
                             "two_azs/single_leader": False}
    assert rec["figures"]["one_az/availability.overall"] == 0.999
    assert rec["figures"]["two_azs/availability.overall"] == 0.5
    assert rec["figures"]["two_azs/checks.durability.lost_writes"] == 2
    assert "availability.overall" not in rec["figures"]


def test_a_failed_headline_check_fails_the_task() -> None:
    rec = sweep.record_from_result(
        Result(_data(checks={"durability": {"valid": False, "lost_writes": 1}})), "d.py", TASK)
    assert rec["status"] == "failed" and rec["failed_checks"] == ["durability"]


def test_run_task_records_an_exception_with_its_traceback(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text('"""Broken."""\ndef build_scenario(**overrides):\n'
                      '    raise RuntimeError("no scenario today")\n')
    rec = sweep.run_task(str(script), "broken.py", "broken", Task(7, ()))
    assert rec["status"] == "error" and rec["seed"] == 7 and rec["key"] == "seed=7"
    assert "Traceback (most recent call last)" in rec["error"]
    assert sweep.last_line(rec["error"]) == "RuntimeError: no scenario today"
    assert rec["reproduce"] == "ddbsim run broken.py --seed 7"
    assert isinstance(rec["wall_s"], float)
    assert "wall_s" not in sweep.comparable(rec)


# ----------------------------------------------------------------------
# the results file: resume
# ----------------------------------------------------------------------
def _rec(seed: int, status: str = "ok", name: str = "demo") -> dict[str, Any]:
    task = Task(seed, ())
    if status == "error":
        return sweep.error_record("demo.py", name, task, "Traceback ...\nValueError: bad", 0.1)
    rec = sweep.record_from_result(Result(_data(scenario=name)), "demo.py", task)
    if status == "failed":
        rec.update(status="failed", failed_checks=["durability"])
    rec["wall_s"] = 0.25
    return rec


def _write(path: Path, records: list[dict[str, Any]], tail: str = "") -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + tail)


def test_resume_drops_a_cut_short_last_line(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    full = json.dumps(_rec(3))
    _write(out, [_rec(0), _rec(1, "failed"), _rec(2, "error")], tail=full[: len(full) // 2])
    loaded = sweep.load_records(out, "demo")
    assert list(loaded.records) == ["seed=0", "seed=1", "seed=2"]
    assert loaded.rewrite and loaded.dropped_partial
    sweep.rewrite_records(out, loaded.records)
    lines = out.read_text().splitlines()
    assert [json.loads(ln)["key"] for ln in lines] == ["seed=0", "seed=1", "seed=2"]
    assert out.read_text().endswith("\n")
    again = sweep.load_records(out, "demo")
    assert not again.rewrite and not again.dropped_partial


def test_resume_keeps_a_complete_last_record_without_its_newline(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _write(out, [_rec(0)], tail=json.dumps(_rec(1)))
    loaded = sweep.load_records(out, "demo")
    assert list(loaded.records) == ["seed=0", "seed=1"]
    assert loaded.rewrite and not loaded.dropped_partial


def test_resume_of_a_clean_file_needs_no_rewrite(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _write(out, [_rec(0), _rec(1)])
    loaded = sweep.load_records(out, "demo")
    assert list(loaded.records) == ["seed=0", "seed=1"] and not loaded.rewrite
    assert sweep.load_records(tmp_path / "missing.jsonl", "demo").records == {}


def test_resume_refuses_a_file_of_another_scenario(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _write(out, [_rec(0, name="az_outage")])
    with pytest.raises(SweepError) as info:
        sweep.load_records(out, "demo")
    message = str(info.value)
    assert "'az_outage'" in message and "'demo'" in message and "--out" in message
    assert "\n" not in message


def test_resume_refuses_a_bad_line_before_the_last(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps(_rec(0)) + "\nnot json at all\n" + json.dumps(_rec(1)) + "\n")
    with pytest.raises(SweepError, match=r"r\.jsonl:2 is not a sweep record"):
        sweep.load_records(out, "demo")
    out.write_text(json.dumps({"hello": "world"}) + "\n")
    with pytest.raises(SweepError, match=r"r\.jsonl:1 is not a sweep record"):
        sweep.load_records(out, "demo")


def test_errors_are_kept_unless_retried(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _write(out, [_rec(0), _rec(1, "error"), _rec(2, "failed")])
    assert list(sweep.load_records(out, "demo").records) == ["seed=0", "seed=1", "seed=2"]
    loaded = sweep.load_records(out, "demo", retry_errors=True)
    assert list(loaded.records) == ["seed=0", "seed=2"]
    assert loaded.rewrite and loaded.dropped_errors == 1


def test_a_duplicate_key_resolves_to_the_last_record(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    _write(out, [_rec(0, "error"), _rec(1), _rec(0)])
    loaded = sweep.load_records(out, "demo")
    assert list(loaded.records) == ["seed=1", "seed=0"]
    assert loaded.records["seed=0"]["status"] == "ok" and loaded.rewrite


def test_a_finished_sweep_runs_nothing_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    spec = sweep.SweepSpec(scenario="demo.py", path=str(tmp_path / "demo.py"), name="demo",
                           tasks=sweep.expand([0, 1], {}, {}), seeds=[0, 1], base={}, grid={})
    _write(out, [_rec(0), _rec(1, "error")])
    before = out.read_text()
    outcome = sweep.run_sweep(spec, out, workers=1, progress=False)
    assert (outcome.already_done, outcome.ran, outcome.interrupted) == (2, 0, False)
    assert outcome.notes == [f"all 2 tasks already done in {out}; nothing to run"]
    assert out.read_text() == before
    summary = outcome.summary()
    assert (summary["ok"], summary["failed"], summary["error"]) == (1, 0, 1)


def test_workers_must_be_positive(tmp_path: Path) -> None:
    spec = sweep.SweepSpec(scenario="demo.py", path="demo.py", name="demo",
                           tasks=sweep.expand([0], {}, {}), seeds=[0], base={}, grid={})
    with pytest.raises(SweepError, match="--workers must be 1 or more, got 0"):
        sweep.run_sweep(spec, tmp_path / "r.jsonl", workers=0)


# ----------------------------------------------------------------------
# the summary
# ----------------------------------------------------------------------
def _summary() -> tuple[dict[str, Any], str]:
    grid = {"replication.lease_s": ["2", "3"]}
    tasks = sweep.expand([0, 1, 2], {"workload.rate_per_s": "20"}, grid)
    spec = sweep.SweepSpec(scenario="scenarios/demo.py", path="/x/demo.py", name="demo",
                           tasks=tasks, seeds=[0, 1, 2], base={"workload.rate_per_s": "20"},
                           grid=grid)
    overall = iter([0.99, 0.995, 0.998, 0.999])
    records: dict[str, dict[str, Any]] = {}
    for t in tasks:
        if t.seed == 2 and t.grid == (("replication.lease_s", "3"),):
            records[t.key] = sweep.error_record(
                spec.scenario, "demo", t, "Traceback (most recent call last):\n  ...\n"
                "RuntimeError: boom\n")
            continue
        if t.seed == 1 and t.grid == (("replication.lease_s", "3"),):
            continue  # not run yet
        rec = sweep.record_from_result(Result(_data(overall=next(overall, 0.5))),
                                       spec.scenario, t)
        if t.seed == 1:
            rec.update(status="failed", failed_checks=["durability"])
        records[t.key] = rec
    summary = sweep.summarize(spec, records, already_done=2, ran=3)
    return summary, sweep.format_summary(summary)


def test_summary_counts_and_intervals() -> None:
    summary, _text = _summary()
    assert (summary["tasks"], summary["done"], summary["pending"]) == (6, 5, 1)
    assert (summary["ok"], summary["failed"], summary["error"]) == (3, 1, 1)
    first, second = summary["points"]
    assert first["label"] == "replication.lease_s=2"
    assert (first["tasks"], first["done"], first["ok"], first["failed"], first["error"]) == (
        3, 3, 2, 1, 0)
    fig = first["figures"]["availability.overall"]
    # seed-major order: the lease_s=2 point got 0.99, 0.998 and 0.999
    mean, half = sweep.mean_ci([0.99, 0.998, 0.999])
    assert fig == {"n": 3, "mean": mean, "ci95": half, "min": 0.99, "max": 0.999}
    # by hand: mean 0.995667, s = sqrt(4.8667e-5 / 2) = 0.0049329, t(0.975, 2) = 4.3027
    assert mean == pytest.approx(0.995667, abs=1e-6)
    assert half == pytest.approx(4.3027 * 0.0049329 / math.sqrt(3), rel=1e-4)
    assert first["headline"][:3] == ["availability.overall", "availability.read",
                                     "availability.write"]
    assert second["figures"]["availability.overall"] == {
        "n": 1, "mean": 0.995, "ci95": None, "min": 0.995, "max": 0.995}
    assert (second["done"], second["ok"], second["error"]) == (2, 1, 1)
    json.dumps(summary, allow_nan=False)


def test_summary_lists_failing_and_errored_tasks_with_reproduce_commands() -> None:
    summary, text = _summary()
    assert summary["failing"] == [{
        "key": "seed=1 replication.lease_s=2 workload.rate_per_s=20", "seed": 1,
        "overrides": {"replication.lease_s": "2", "workload.rate_per_s": "20"},
        "failed_checks": ["durability"],
        "reproduce": "ddbsim run scenarios/demo.py --seed 1 --set replication.lease_s=2 "
                     "--set workload.rate_per_s=20"}]
    assert [e["error"] for e in summary["errors"]] == ["RuntimeError: boom"]
    assert "failing tasks (1):\n  seed=1 replication.lease_s=2 workload.rate_per_s=20: durability\n" \
           "    reproduce: ddbsim run scenarios/demo.py --seed 1" in text
    assert "errored tasks (1):\n  seed=2 replication.lease_s=3 workload.rate_per_s=20: " \
           "RuntimeError: boom\n    reproduce: ddbsim run scenarios/demo.py --seed 2 " \
           "--set replication.lease_s=3 --set workload.rate_per_s=20" in text


def test_summary_text_shows_availability_as_percentages() -> None:
    summary, text = _summary()
    half = summary["points"][0]["figures"]["availability.overall"]["ci95"]
    row = next(ln for ln in text.splitlines() if ln.strip().startswith("availability.overall"))
    assert row.split()[:4] == ["availability.overall", "%", "99.5667", "±"]
    assert f"± {100 * half:.4f}" in row
    assert "in each figure's unit (an availability's in percentage points)" in text
    assert "status       ok 3  failed 1  error 1  not run 1  (2 already done, 3 run now)" in text
    # n = 1: a mean and no interval
    rows = [ln for ln in text.splitlines() if ln.strip().startswith("availability.overall")]
    assert "99.5000" in rows[1] and "±" not in rows[1]
    assert "more figures: --all-figures" in text
    full = sweep.format_summary(summary, all_figures=True)
    assert "requests.by_kind.put.ok" in full and "requests.by_kind.put.ok" not in text


@pytest.mark.parametrize("name, unit", [
    ("availability.overall", "%"), ("one_az/availability.write", "%"),
    ("latency_ms.get.p99", "ms"), ("latency_ms.get.count", ""), ("leaders.failover_s.max", "s"),
    ("leaders.failover_s.count", ""), ("checks.liveness.served_after_heal_s.median", "s"),
    ("requests.total", ""), ("checks.eventual_reads.staleness.stale_fraction", "fraction"),
])
def test_figure_units_come_from_the_name(name: str, unit: str) -> None:
    assert sweep.figure_unit(name) == unit


def test_a_row_shows_mean_interval_min_and_max_to_the_same_decimals() -> None:
    row = {"n": 5, "mean": 2.0041234, "ci95": 0.0003452, "min": 2.0037, "max": 2.0046}
    assert sweep._row_cells(row, "s") == ["2.00412", "± 0.00035", "2.00370", "2.00460"]
    wide = {"n": 5, "mean": 1234.5678, "ci95": 87.6, "min": 1100.0, "max": 1300.25}
    assert sweep._row_cells(wide, "") == ["1,235", "± 88", "1,100", "1,300"]
    fraction = {"n": 3, "mean": 0.991234, "ci95": 0.000088, "min": 0.99, "max": 0.9925}
    assert sweep._row_cells(fraction, "%") == ["99.1234", "± 0.0088", "99.0000", "99.2500"]
    single = {"n": 1, "mean": 6.25, "ci95": None, "min": 6.25, "max": 6.25}
    assert sweep._row_cells(single, "ms") == ["6.25", "", "6.25", "6.25"]


# ----------------------------------------------------------------------
# the optional Dask extra
# ----------------------------------------------------------------------
def test_importing_ddbsim_does_not_import_dask() -> None:
    code = ("import sys, ddbsim, ddbsim.cli, ddbsim.lab.sweep\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('distributed', 'dask'))\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           timeout=60, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert proc.returncode == 0, proc.stderr


def test_missing_dask_is_one_clear_line(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(SweepError, match=r"install the dask extra: pip install 'ddbsim\[dask\]'"):
        sweep.require_dask()
    from ddbsim import cli

    monkeypatch.chdir(ROOT)
    code = cli.main(["sweep", "scenarios/leader_failover.py", "--seeds", "0:2", "--dask",
                     "tcp://127.0.0.1:1", "--out", str(tmp_path / "r.jsonl")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err == ("ddbsim: error: install the dask extra: "
                            "pip install 'ddbsim[dask]'\n")
    assert captured.out == ""
    assert not (tmp_path / "r.jsonl").exists()


# ----------------------------------------------------------------------
# DataFrames (pandas, an optional extra)
# ----------------------------------------------------------------------
def _grid_records() -> list[dict[str, Any]]:
    """Records of two seeds by two grid points, one failed, one errored,
    one of a scenario with variants."""
    records = []
    for seed in (0, 1):
        for lease in ("2", "3.5"):
            task = Task(seed, (("replication.lease_s", lease),), (("replication.lease_s", lease),))
            if (seed, lease) == (1, "3.5"):
                rec = sweep.error_record("demo.py", "demo", task,
                                         "Traceback (most recent call last):\n  ...\n"
                                         "RuntimeError: boom\n", 0.5)
            else:
                rec = sweep.record_from_result(Result(_data(overall=0.99 + seed / 100)),
                                               "demo.py", task)
                rec["wall_s"] = 0.25
            if (seed, lease) == (1, "2"):
                rec.update(status="failed", failed_checks=["durability"])
                rec["checks"]["durability"] = False
            records.append(rec)
    return records


def test_load_frame_one_row_per_record(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    out = tmp_path / "results.jsonl"
    records = _grid_records()
    # a cut-short last line (a record's beginning) is skipped
    _write(out, records, tail='{"scenario": "demo.py", "name": "demo", "key": "seed=9", "sta')
    frame = sweep.load_frame(out)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.key) == [r["key"] for r in records]
    assert list(frame.status) == ["ok", "ok", "failed", "error"]
    assert list(frame["replication.lease_s"]) == [2, 3.5, 2, 3.5]  # grid values as numbers
    assert list(frame.seed) == [0, 0, 1, 1]
    assert frame["availability.overall"].tolist()[:3] == [0.99, 0.99, 1.0]
    assert math.isnan(frame["availability.overall"].iloc[3])  # an error has no figures
    assert list(frame["checks.durability.valid"])[:3] == [True, True, False]
    assert frame["checks.convergence.valid"].iloc[0] == "unknown"
    assert list(frame.failed_checks) == ["", "", "durability", ""]
    assert frame.error.iloc[3] == "RuntimeError: boom" and pd.isna(frame.error.iloc[0])
    assert list(frame.wall_s) == [0.25, 0.25, 0.25, 0.5]
    # the mean per grid point is a groupby away
    means = frame[frame.status != "error"].groupby("replication.lease_s")["availability.overall"]
    assert means.mean().to_dict() == pytest.approx({2: 0.995, 3.5: 0.99})


def test_load_frame_of_variants_prefixes_checks(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    head = Result(_data(variant="one"))
    head.variants = [head, Result(_data(variant="two", overall=0.5))]
    rec = sweep.record_from_result(head, "demo.py", Task(3, ()))
    out = tmp_path / "results.jsonl"
    _write(out, [rec])
    frame = sweep.load_frame(out)
    assert frame["one/availability.overall"].iloc[0] == 0.999
    assert frame["two/availability.overall"].iloc[0] == 0.5
    assert frame["two/checks.durability.valid"].tolist() == [True]


def test_load_frame_of_a_missing_or_foreign_file(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    with pytest.raises(SweepError, match="no sweep results file"):
        sweep.load_frame(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(SweepError, match="not a sweep record"):
        sweep.load_frame(bad)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert sweep.load_frame(empty).empty


def test_summary_frame_has_the_intervals() -> None:
    pd = pytest.importorskip("pandas")
    summary, _text = _summary()
    frame = sweep.summary_frame(summary)
    first = summary["points"][0]
    rows = frame[frame.point == first["label"]]
    assert list(rows.figure) == first["headline"]
    row = rows[rows.figure == "availability.overall"].iloc[0]
    fig = first["figures"]["availability.overall"]
    assert row["replication.lease_s"] == 2
    assert (row["n"], row["mean"], row["ci95"]) == (fig["n"], fig["mean"], fig["ci95"])
    assert row["low"] == pytest.approx(fig["mean"] - fig["ci95"])
    assert row["high"] == pytest.approx(fig["mean"] + fig["ci95"])
    single = frame[(frame.point == "replication.lease_s=3")
                   & (frame.figure == "availability.overall")].iloc[0]
    assert single["n"] == 1 and pd.isna(single["ci95"]) and pd.isna(single["low"])
    assert len(sweep.summary_frame(summary, all_figures=True)) > len(frame)


# ----------------------------------------------------------------------
# progress without a terminal; what a Dask connection waits for
# ----------------------------------------------------------------------
def _fake_spec(seeds: int) -> sweep.SweepSpec:
    tasks = sweep.expand(list(range(seeds)), {}, {})
    return sweep.SweepSpec(scenario="scenarios/demo.py", path="/x/demo.py", name="demo",
                           tasks=tasks, seeds=list(range(seeds)), base={}, grid={})


def _fake_runs(spec: sweep.SweepSpec, tasks: Any, workers: Any) -> Any:
    for t in tasks:
        rec = sweep.error_record(spec.scenario, spec.name, t, "RuntimeError: x\n")
        if t.seed % 4:
            rec.update(status=sweep.OK, error=None)
        yield rec


def test_in_a_pipe_a_sweep_prints_a_line_every_n_runs(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.setattr(sweep, "_run_local", _fake_runs)
    notes = io.StringIO()
    assert not sys.stderr.isatty()  # pytest captures it: no bar
    sweep.run_sweep(_fake_spec(20), tmp_path / "r.jsonl", workers=1, notes=notes)
    lines = [ln for ln in notes.getvalue().splitlines() if "runs done" in ln]
    assert lines[0] == "ddbsim: 2 of 20 runs done (failed 0, error 1)"
    assert lines[-1] == "ddbsim: 20 of 20 runs done (failed 0, error 5)"
    assert len(lines) == 10
    quiet = io.StringIO()
    sweep.run_sweep(_fake_spec(24), tmp_path / "q.jsonl", workers=1, notes=quiet,
                    progress=False)
    assert "runs done" not in quiet.getvalue()


def test_a_dask_sweep_says_what_it_waits_for(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    def unreachable(address: str) -> Any:
        raise sweep.SweepError(f"cannot reach the Dask scheduler at {address}: timed out")

    monkeypatch.setattr(sweep, "require_dask", lambda: None)
    monkeypatch.setattr(sweep, "_dask_client", unreachable)
    notes = io.StringIO()
    with pytest.raises(sweep.SweepError, match="cannot reach"):
        sweep.run_sweep(_fake_spec(2), tmp_path / "r.jsonl", dask="tcp://10.0.0.1:8786",
                        notes=notes)
    assert "ddbsim: connecting to the Dask scheduler at tcp://10.0.0.1:8786 (waiting up to " \
           in notes.getvalue()


def test_the_summary_says_how_many_tasks_hit_each_code_probe_and_names_those_never_hit() -> None:
    from ddbsim.service.probes import PROBES

    tasks = sweep.expand([0, 1, 2], {}, {})
    spec = sweep.SweepSpec(scenario="scenarios/demo.py", path="/x/demo.py", name="demo",
                           tasks=tasks, seeds=[0, 1, 2], base={}, grid={})
    hits = [{"leader_preempted": 3, "joint_quorum": 1}, {"leader_preempted": 1}, {}]
    records = {}
    for t, probes in zip(tasks, hits, strict=True):
        data = _data()
        data["probes"] = probes
        records[t.key] = sweep.record_from_result(Result(data), spec.scenario, t)
        assert "probes.leader_preempted" not in records[t.key]["figures"]
    summary = sweep.summarize(spec, records)
    counted = summary["probes"]["tasks_hitting"]
    assert counted["leader_preempted"] == 2 and counted["joint_quorum"] == 1
    assert set(counted) == set(PROBES)
    assert summary["probes"]["never_hit"] == [p for p in PROBES
                                              if p not in ("leader_preempted", "joint_quorum")]
    text = sweep.format_summary(summary)
    assert f"code probes  2 of {len(PROBES)} hit by at least one task; never hit: " in text
    assert "leader_preempted" in text and "2 of 3 tasks" in text
