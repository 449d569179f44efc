"""``ddbsim keys`` (unit, provenance, meaning), ``--version``, ``python -m
ddbsim`` and a scenario's own parameters (``--param``)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ddbsim import __version__
from ddbsim.config import LITERATURE, Config, key_docs, unit_of
from ddbsim.lab import scenario as scenario_mod
from ddbsim.lab import sweep

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str, module: str = "ddbsim") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("ddbsim: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert proc.stdout == ""
    return lines[0]


# -- keys ------------------------------------------------------------------
def test_every_key_has_a_unit_a_provenance_and_a_meaning() -> None:
    docs = key_docs()
    assert [d.key for d in docs] == Config.keys()
    for d in docs:
        assert d.unit, d.key
        assert re.fullmatch(r"\[(paper §[\d.]+|docs|sdk|chosen|"
                            + "|".join(re.escape(x) for x in LITERATURE) + r")\]",
                            d.provenance), d
        assert len(d.meaning) >= 8, d


@pytest.mark.parametrize("key, unit", [
    ("replication.lease_s", "s"), ("healing.partition_size_bytes", "bytes"),
    ("healing.rebuild_bytes_per_s", "bytes/s"), ("workload.rate_per_s", "/s"),
    ("nemesis.enable_p", "probability"), ("topology.az_count", "count"),
    ("metrics.enabled", "on/off"), ("workload.put", "fraction"),
    ("storage.checkpoint_every_records", "records"), ("nemesis.host_power_s", "s"),
])
def test_units_come_from_the_name_the_type_or_an_explicit_table(key: str, unit: str) -> None:
    assert unit_of(key) == unit


def test_keys_prints_unit_provenance_and_meaning() -> None:
    proc = run_module("keys")
    assert proc.returncode == 0, proc.stderr
    lease = next(line for line in proc.stdout.splitlines()
                 if line.startswith("replication.lease_s "))
    assert re.search(r"= 2\.0 +s +\[paper §6\.2\] +a new leader waits", lease), lease
    assert len(proc.stdout.splitlines()) == len(Config.keys())


# -- version, python -m ----------------------------------------------------
def test_version_and_python_dash_m() -> None:
    proc = run_module("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"ddbsim {__version__}"
    listed = run_module("list")
    assert listed.returncode == 0, listed.stderr
    assert "az_outage" in listed.stdout


def test_the_version_is_the_package_version() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'version = "{__version__}"' in text


# -- --param -----------------------------------------------------------------
def test_parameters_of_a_builder() -> None:
    builder, _ = scenario_mod.load("scenarios/node_poweroff.py")
    assert scenario_mod.parameters(builder) == {"count": int, "first_at_s": float,
                                                "down_s": float, "gap_s": float}
    params = scenario_mod.parse_params(builder, ["count=2", "down_s=40"], "node_poweroff.py")
    assert params == {"count": 2, "down_s": 40.0}
    built = scenario_mod.build(builder, params)
    assert built[0].duration_s == 60.0 + 2 * (40.0 + 30.0) + 60.0


def test_param_unknown_name_is_one_line() -> None:
    line = one_line_error(run_module("run", "scenarios/az_outage.py", "--param", "outage=5"),
                          "'outage'", "outage_s")
    assert "did you mean" in line


def test_param_wrong_type_is_one_line() -> None:
    one_line_error(run_module("run", "scenarios/node_poweroff.py", "--param", "count=many"),
                   "--param count", "an int", "'many'")
    one_line_error(run_module("run", "scenarios/node_poweroff.py", "--param", "count=2.5"),
                   "--param count", "an int")
    one_line_error(run_module("run", "scenarios/az_outage.py", "--param", "outage_s"),
                   "--param", "name=value")


def test_the_overrides_catch_all_is_not_a_parameter() -> None:
    one_line_error(run_module("run", "scenarios/az_outage.py", "--param", "overrides=1"),
                   "unknown scenario parameter 'overrides'")


def test_param_changes_the_run(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = run_module("run", "scenarios/leader_failover.py", "--quiet", "--param", "fail_at_s=5",
                      "--param", "down_s=10", "--param", "tail_s=5",
                      "--set", "workload.rate_per_s=20", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["duration_s"] == 20.0
    assert data["faults"][0]["t_s"] == 5.0


def test_sweep_param_goes_to_every_task_and_its_reproduce_command() -> None:
    spec = sweep.prepare("scenarios/leader_failover.py", "0:2",
                         sets=["workload.rate_per_s=20"], params=["fail_at_s=5", "down_s=10"])
    assert [t.params for t in spec.tasks] == [("fail_at_s=5", "down_s=10")] * 2
    assert "--param fail_at_s=5 --param down_s=10" in spec.tasks[0].reproduce(spec.scenario)
    # a results file made with other values is not reused
    plain = sweep.prepare("scenarios/leader_failover.py", "0:2", sets=["workload.rate_per_s=20"])
    assert plain.content != spec.content
    assert plain.content == scenario_mod.content_hash("scenarios/leader_failover.py")


def test_sweep_param_runs_the_built_scenario() -> None:
    spec = sweep.prepare("scenarios/leader_failover.py", "3", sets=["workload.rate_per_s=20"],
                         params=["fail_at_s=5", "down_s=10", "tail_s=5"])
    rec = sweep.run_task(spec.path, spec.scenario, spec.name, spec.tasks[0])
    assert rec["status"] == "ok", rec["error"]
    assert rec["figures"]["simulated_s"] >= 20.0
    assert rec["reproduce"].startswith("ddbsim run scenarios/leader_failover.py --seed 3 "
                                       "--param fail_at_s=5 --param down_s=10 --param tail_s=5")


def test_sweep_param_unknown_name_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(run_module("sweep", "scenarios/az_outage.py", "--seeds", "0:2",
                                     "--out", str(tmp_path / "o.jsonl"), "--param", "outage=5"),
                          "'outage'", "outage_s")
    assert "did you mean" in line
    assert not (tmp_path / "o.jsonl").exists()
