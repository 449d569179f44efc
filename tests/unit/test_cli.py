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
    by_key = {line.split(" = ")[0].strip(): line.split(" = ", 1)[1].split() for line in lines}
    assert by_key["replication.lease_s"][:3] == ["2.0", "s", "[paper"]
    assert by_key["topology.az_count"][:3] == ["3", "count", "[paper"]
    assert by_key["metrics.history"][:3] == ["False", "on/off", "[chosen]"]
    from ddbsim.config import Config

    assert [line.split(" = ")[0].strip() for line in lines] == Config.keys()


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


# ----------------------------------------------------------------------
# ddbsim sweep / chaos: every mistake is caught before anything runs
# ----------------------------------------------------------------------
def sweep_error(tmp_path: Path, *args: str, needles: tuple[str, ...] = ()) -> str:
    out = tmp_path / "results.jsonl"
    line = assert_user_error(ddbsim("sweep", *args, "--out", str(out)), *needles)
    assert not out.exists()  # nothing was run
    return line


@pytest.mark.parametrize("seeds, needles", [
    ("abc", ("--seeds", "'abc'")),
    ("1:2:3", ("--seeds", "'1:2:3'")),
    ("-1", ("--seeds", "zero or more")),
    ("-5:3", ("--seeds", "zero or more")),
    ("4:4", ("--seeds", "empty")),
    ("1,,3", ("--seeds", "empty item")),
])
def test_sweep_bad_seeds(tmp_path: Path, seeds: str, needles: tuple[str, ...]) -> None:
    sweep_error(tmp_path, SCENARIO, f"--seeds={seeds}", needles=needles)


def test_sweep_needs_seeds(tmp_path: Path) -> None:
    sweep_error(tmp_path, SCENARIO, needles=("--seeds",))


def test_sweep_workers_must_be_positive(tmp_path: Path) -> None:
    sweep_error(tmp_path, SCENARIO, "--seeds", "0:2", "--workers", "0",
                needles=("--workers", "1 or more", "0"))


def test_sweep_workers_and_dask_exclude_each_other(tmp_path: Path) -> None:
    sweep_error(tmp_path, SCENARIO, "--seeds", "0:2", "--workers", "2", "--dask", "tcp://x:1",
                needles=("--dask",))


@pytest.mark.parametrize("grid, needles", [
    ("replication.lease_s", ("--grid", "key=v1,v2", "'replication.lease_s'")),
    ("replication.lease_s=", ("--grid", "replication.lease_s", "no values")),
    ("replication.lease_s=2,,3", ("--grid", "empty value")),
])
def test_sweep_bad_grid(tmp_path: Path, grid: str, needles: tuple[str, ...]) -> None:
    sweep_error(tmp_path, SCENARIO, "--seeds", "0:2", "--grid", grid, needles=needles)


def test_sweep_unknown_key_in_set(tmp_path: Path) -> None:
    line = sweep_error(tmp_path, SCENARIO, "--seeds", "0:2", "--set", "replication.lease=3",
                       needles=("'replication.lease'", "'replication.lease_s'"))
    assert "did you mean" in line


def test_sweep_unknown_key_in_grid(tmp_path: Path) -> None:
    line = sweep_error(tmp_path, SCENARIO, "--seeds", "0:2", "--grid", "replication.lese_s=2,3",
                       needles=("'replication.lese_s'", "'replication.lease_s'"))
    assert "did you mean" in line


def test_sweep_bad_value_names_the_grid_point(tmp_path: Path) -> None:
    sweep_error(tmp_path, SCENARIO, "--seeds", "0:2", "--grid", "table.partitions=4,many",
                needles=("table.partitions", "'many'", "grid point table.partitions=many"))


def test_sweep_impossible_set_value(tmp_path: Path) -> None:
    sweep_error(tmp_path, SCENARIO, "--seeds", "0:2", "--set", "topology.az_count=2",
                needles=("topology.az_count", "at least 3"))


def test_sweep_missing_scenario_file(tmp_path: Path) -> None:
    sweep_error(tmp_path, "scenarios/nope.py", "--seeds", "0:2",
                needles=("not found", "scenarios/nope.py"))


def test_sweep_refuses_a_results_file_of_another_scenario(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    text = '{"scenario": "scenarios/az_outage.py", "name": "az_outage", "key": "seed=0", ' \
           '"status": "ok"}\n'
    out.write_text(text)
    assert_user_error(ddbsim("sweep", SCENARIO, "--seeds", "0:2", "--out", str(out)),
                      "'az_outage'", "'leader_failover'", str(out))
    assert out.read_text() == text


def test_chaos_without_the_game_day_scenario(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run([sys.executable, "-m", "ddbsim.cli", "chaos", "--seeds", "0:2"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert_user_error(proc, "scenarios/game_day.py", "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_chaos_takes_the_sweep_options() -> None:
    assert_user_error(ddbsim("chaos", "--workers", "zero"), "--workers", "'zero'")


def test_sweep_output_in_a_missing_folder(tmp_path: Path) -> None:
    assert_user_error(ddbsim("sweep", SCENARIO, "--seeds", "0:2", "--out",
                             str(tmp_path / "no" / "r.jsonl")), "--out", "no folder")
    assert_user_error(ddbsim("sweep", SCENARIO, "--seeds", "0:2", "--out", str(tmp_path / "r.jsonl"),
                             "--summary-json", str(tmp_path / "no" / "s.json")),
                      "--summary-json", "no folder")
    assert list(tmp_path.iterdir()) == []
