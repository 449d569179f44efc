"""The command line: one clear line and exit status 2 for user mistakes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "scenarios/leader_failover.py"


def ddbsim(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, "-m", "ddbsim.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def assert_user_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("ddbsim: error: ")
    for needle in needles:
        assert needle in line, line
    assert proc.stdout == ""  # nothing was run
    return line


def test_unknown_key_names_it_and_suggests_the_right_one() -> None:
    line = assert_user_error(ddbsim("run", SCENARIO, "--set", "replication.lease=3"),
                             "'replication.lease'", "'replication.lease_s'")
    assert "did you mean" in line


def test_negative_rate() -> None:
    assert_user_error(ddbsim("run", SCENARIO, "--set", "workload.rate_per_s=-1"),
                      "workload.rate_per_s", "zero or more", "-1")


def test_too_few_azs() -> None:
    assert_user_error(ddbsim("run", SCENARIO, "--set", "topology.az_count=2"),
                      "topology.az_count", "at least 3")


def test_quorum_larger_than_replicas() -> None:
    assert_user_error(ddbsim("run", SCENARIO, "--set", "replication.write_quorum=4"),
                      "replication.write_quorum", "replication.replicas")


def test_missing_scenario_file() -> None:
    assert not (ROOT / "scenarios" / "nope.py").exists()
    assert_user_error(ddbsim("run", "scenarios/nope.py"), "not found", "scenarios/nope.py")


def test_set_without_equals() -> None:
    assert_user_error(ddbsim("run", SCENARIO, "--set", "foo"), "--set", "key=value", "'foo'")


def test_bad_value_type() -> None:
    assert_user_error(ddbsim("run", SCENARIO, "--set", "table.partitions=many"),
                      "table.partitions", "'many'")


def test_negative_seed() -> None:
    assert_user_error(ddbsim("run", SCENARIO, "--seed", "-1"), "--seed", "-1")


def test_malformed_option_is_one_line() -> None:
    assert_user_error(ddbsim("run", SCENARIO, "--seed", "abc"), "--seed")


def test_list_shows_every_scenario_with_its_description() -> None:
    proc = ddbsim("list")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    rows = {line.split(None, 1)[0]: line.split(None, 1)[1]
            for line in proc.stdout.splitlines() if line.strip()}
    for name in ("az_outage", "leader_failover", "node_poweroff"):
        assert name in rows
        doc = (ROOT / "scenarios" / f"{name}.py").read_text().split('"""')[1]
        assert rows[name] == doc.strip().splitlines()[0]
    assert rows["leader_failover"].startswith("The host leading p-0000 loses power")
    assert rows["az_outage"].startswith("One AZ powered off")
    assert rows["node_poweroff"].startswith("Random storage hosts lose power")


def test_list_of_a_missing_folder_is_a_user_error() -> None:
    assert_user_error(ddbsim("list", "--dir", "no/such/folder"), "no/such/folder")


def test_keys_prints_every_key_with_its_default() -> None:
    proc = ddbsim("keys")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "replication.lease_s = 2.0" in lines
    assert "topology.az_count = 3" in lines
    assert "metrics.history = False" in lines
    from ddbsim.config import Config

    assert [line.split(" = ")[0] for line in lines] == Config.keys()


def test_console_script_behaves_the_same() -> None:
    script = Path(sys.executable).with_name("ddbsim")
    if not script.exists():
        pytest.skip("no ddbsim console script next to this interpreter")
    proc = subprocess.run([str(script), "run", SCENARIO, "--set", "replication.lease=3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert_user_error(proc, "'replication.lease'", "'replication.lease_s'")


def test_scenario_script_run_directly_reports_errors_the_same_way() -> None:
    proc = subprocess.run([sys.executable, SCENARIO, "--set", "topology.az_count=2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert_user_error(proc, "topology.az_count")
