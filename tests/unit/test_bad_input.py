"""Bad input that used to lose work, hang or end in a traceback: each is one
line on stderr naming the file or value, a non-zero exit, and the user's
files left byte for byte as they were."""
from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path
from typing import Any

import pytest

from ddbsim.cli import main
from ddbsim.config import Config, ConfigError, ReplicationConfig
from ddbsim.lab import Fault, Scenario, outage, partition, run, run_all, sweep
from ddbsim.lab.faults import FaultError
from ddbsim.lab.scenario import ScenarioError, load_scenarios
from ddbsim.lab.selftest import PROFILES
from ddbsim.lab.sweep import SweepError

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = str(ROOT / "scenarios" / "leader_failover.py")

TINY = '''"""A one-second scenario with hardly any traffic."""
from ddbsim.lab import Scenario


def build_scenario(**overrides):
    return Scenario(name="tiny", duration_s=1.0,
                    overrides={"workload.rate_per_s": 5, "run.quiesce_s": 2,
                               "run.final_read_timeout_s": 2.0, **overrides})
'''


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``ddbsim ARGS`` in this process: exit status, stdout, stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code: int, err: str, *needles: str) -> str:
    assert code == 2, (code, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ddbsim: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def script(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------
# --json, --out, --summary-json: checked before anything runs
# ----------------------------------------------------------------------
@pytest.mark.parametrize("where, needles", [
    ("missing/r.json", ("--json", "no folder")),
    ("", ("--json", "empty")),
    (".", ("--json", "is a folder")),
])
def test_run_json_path_is_checked_before_the_run(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path, where: str,
                                                 needles: tuple[str, ...]) -> None:
    target = "" if where == "" else str(tmp_path / where)
    code, out, err = cli(capsys, "run", SCENARIO, "--json", target)
    one_line(code, err, *needles)
    assert out == ""  # nothing ran: a run prints its summary
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes to read-only folders and files")
def test_run_json_to_an_unwritable_path(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    kept = locked / "old.json"
    kept.write_bytes(b"old results\n")
    kept.chmod(0o400)
    locked.chmod(0o500)
    try:
        for target in (locked / "new.json", kept):
            code, out, err = cli(capsys, "run", SCENARIO, "--json", str(target))
            one_line(code, err, "--json", "cannot be written")
            assert out == ""
        assert kept.read_bytes() == b"old results\n"
        assert sorted(p.name for p in locked.iterdir()) == ["old.json"]
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux's /proc")
def test_run_json_to_a_file_nobody_may_write(capsys: pytest.CaptureFixture[str]) -> None:
    before = Path("/proc/version").read_bytes()  # read-only even for root
    code, out, err = cli(capsys, "run", SCENARIO, "--json", "/proc/version")
    one_line(code, err, "--json /proc/version", "cannot be written")
    assert out == "" and Path("/proc/version").read_bytes() == before


def test_a_trial_open_leaves_an_existing_file_alone(tmp_path: Path) -> None:
    kept = tmp_path / "r.json"
    kept.write_bytes(b"\x00\x01 keep me")
    sweep.check_writable(kept, "--json")
    assert kept.read_bytes() == b"\x00\x01 keep me"
    sweep.check_writable(tmp_path / "new.json", "--json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # the try left nothing


def test_selftest_json_is_checked_before_hunting(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    code, out, err = cli(capsys, "selftest", "--json", "")
    one_line(code, err, "--json", "empty")
    assert out == ""
    code, out, err = cli(capsys, "selftest", "--json", str(tmp_path / "no" / "s.json"))
    one_line(code, err, "--json", "no folder")
    assert out == ""


@pytest.mark.parametrize("option", ["--out", "--summary-json"])
def test_sweep_empty_output_names_are_refused(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path, option: str) -> None:
    extra = [] if option == "--out" else ["--out", str(tmp_path / "r.jsonl")]
    code, out, err = cli(capsys, "sweep", SCENARIO, "--seeds", "0:2", *extra, option, "")
    one_line(code, err, option, "empty")
    assert out == "" and list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------
# a results file that is not one is refused, never rewritten
# ----------------------------------------------------------------------
def _random_bytes() -> bytes:
    data = bytes(random.Random(12).randrange(256) for _ in range(2000))
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    return data


@pytest.mark.parametrize("content, needles", [
    (b"my notes, not JSON\n", ("not a sweep record",)),
    (b"my notes, not JSON", ("not a sweep record",)),
    (b"[1, 2, 3]\n", ("not a sweep record",)),
    (None, ("not a ddbsim results file", "UTF-8")),
])
def test_sweep_refuses_a_file_that_is_not_a_results_file(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None,
        needles: tuple[str, ...]) -> None:
    data = _random_bytes() if content is None else content
    out = tmp_path / "f.jsonl"
    out.write_bytes(data)
    code, stdout, err = cli(capsys, "sweep", SCENARIO, "--seeds", "0:2", "--out", str(out))
    one_line(code, err, str(out), *needles)
    assert stdout == ""
    assert out.read_bytes() == data
    assert list(tmp_path.iterdir()) == [out]


def test_only_a_prefix_of_a_record_counts_as_cut_short(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text('{"scenario": "x.py", "na')  # killed while writing the first record
    loaded = sweep.load_records(out, "demo")
    assert loaded.records == {} and loaded.dropped_partial and loaded.rewrite
    out.write_text('{"scenario": "x.py", "na\n')  # a newline: the line was complete
    with pytest.raises(SweepError, match="not a sweep record"):
        sweep.load_records(out, "demo")
    out.write_text("{oops")
    with pytest.raises(SweepError, match="not a sweep record"):
        sweep.load_records(out, "demo")


# ----------------------------------------------------------------------
# records carry the scenario file's hash
# ----------------------------------------------------------------------
def _record(seed: int, content: str | None) -> dict[str, Any]:
    rec = sweep.error_record("demo.py", "demo", sweep.Task(seed, ()), "Traceback\nE: x", 0.1)
    if content is not None:
        rec["scenario_sha256"] = content
    return rec


def test_records_of_another_version_of_the_file_are_kept_but_not_reused(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    lines = [_record(0, "old"), _record(1, "new"), _record(2, None)]
    out.write_text("".join(json.dumps(r) + "\n" for r in lines))
    loaded = sweep.load_records(out, "demo", retry_errors=True, content="new")
    assert [r["seed"] for r in loaded.stale] == [0, 2]
    assert loaded.records == {} and loaded.dropped_errors == 1 and loaded.rewrite
    sweep.rewrite_records(out, loaded.records, loaded.stale)
    assert [json.loads(ln)["seed"] for ln in out.read_text().splitlines()] == [0, 2]
    assert list(sweep.load_records(out, "demo").records) == ["seed=0", "seed=2"]  # unchecked


def test_editing_the_scenario_runs_its_tasks_again(tmp_path: Path) -> None:
    path = script(tmp_path, "tiny.py", TINY)
    out = tmp_path / "tiny.jsonl"
    first = sweep.run_sweep(sweep.prepare(str(path), "0"), out, workers=1, progress=False)
    assert first.ran == 1 and first.summary()["ok"] == 1
    [rec] = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert rec["scenario_sha256"] == sweep.content_hash(path)
    again = sweep.run_sweep(sweep.prepare(str(path), "0"), out, workers=1, progress=False)
    assert again.ran == 0 and again.already_done == 1
    path.write_text(TINY.replace('"workload.rate_per_s": 5', '"workload.rate_per_s": 6'))
    edited = sweep.run_sweep(sweep.prepare(str(path), "0"), out, workers=1, progress=False)
    assert edited.ran == 1 and edited.already_done == 0
    assert any("1 earlier record" in n and "different version" in n for n in edited.notes)
    hashes = [json.loads(ln)["scenario_sha256"] for ln in out.read_text().splitlines()]
    assert len(hashes) == 2 and hashes[0] != hashes[1]  # the old record is still there


# ----------------------------------------------------------------------
# broken scenario files: one line naming the file
# ----------------------------------------------------------------------
BROKEN = {
    "syntax.py": ("def build_scenario(:\n    pass\n", ("syntax.py:1", "syntax error")),
    "on_import.py": ("raise RuntimeError('no network here')\n",
                     ("on_import.py", "on import", "RuntimeError: no network here")),
    "builder_raises.py": ("def build_scenario(**overrides):\n    raise KeyError('az-9')\n",
                          ("builder_raises.py", "build_scenario() raised", "KeyError")),
    "needs_args.py": ("def build_scenario(outage_s):\n    pass\n",
                      ("needs_args.py", "no arguments", "outage_s")),
    "not_faults.py": ("from ddbsim.lab import Scenario\n"
                      "def build_scenario():\n"
                      "    return Scenario('x', 10.0, faults=['az-2 off'])\n",
                      ("not_faults.py", "not a Fault", "'az-2 off'")),
    "one_fault.py": ("from ddbsim.lab import Fault, Scenario\n"
                     "def build_scenario():\n"
                     "    return Scenario('x', 10.0, faults=Fault(1.0, 'power_off', 'az-2'))\n",
                     ("one_fault.py", "single Fault", "faults=[")),
    "nan_outage.py": ("from ddbsim.lab import Scenario, outage\n"
                      "def build_scenario():\n"
                      "    return Scenario('x', 10.0, faults=outage('az-2', float('nan'), 1))\n",
                      ("nan_outage.py", "at_s", "nan")),
    "forever.py": ("from ddbsim.lab import Scenario\n"
                   "def build_scenario():\n"
                   "    return Scenario('x', float('inf'))\n",
                   ("forever.py", "duration_s", "finite", "inf")),
    "returns_none.py": ("def build_scenario():\n    return None\n",
                        ("returns_none.py", "must return a Scenario", "NoneType")),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_scenario_file_is_one_line(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path, name: str) -> None:
    text, needles = BROKEN[name]
    path = script(tmp_path, name, text)
    code, out, err = cli(capsys, "run", str(path))
    one_line(code, err, *needles)
    assert out == ""
    code, out, err = cli(capsys, "sweep", str(path), "--seeds", "0:2",
                         "--out", str(tmp_path / "r.jsonl"))
    one_line(code, err, *needles)
    assert not (tmp_path / "r.jsonl").exists()
    assert path.read_text() == text


def test_traceback_shows_what_is_behind_the_line(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    text, needles = BROKEN["on_import.py"]
    path = script(tmp_path, "on_import.py", text)
    code, _out, err = cli(capsys, "run", str(path), "--traceback")
    assert code == 2
    assert "Traceback (most recent call last)" in err and "RuntimeError: no network here" in err
    assert err.splitlines()[-1].startswith("ddbsim: error: ")


def test_a_folder_named_like_a_script(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "odd.py").mkdir()
    code, out, err = cli(capsys, "run", str(tmp_path / "odd.py"))
    one_line(code, err, "odd.py", "is a folder")
    assert out == ""


def test_a_fault_function_returning_something_else(tmp_path: Path) -> None:
    s = Scenario("x", 5.0, faults=lambda world, rng: [("az-2", "off")])
    with pytest.raises(ScenarioError, match="fault function returned item 0 is not a Fault"):
        run(s, seed=1)
    s = Scenario("x", 5.0, faults=lambda world, rng: 3)
    with pytest.raises(ScenarioError, match="must return a list of Fault, got int"):
        run(s, seed=1)


def test_list_names_the_bad_file_and_lists_the_rest(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    script(tmp_path, "good.py", '"""A good one."""\n')
    script(tmp_path, "bad.py", '"""Bad."""\ndef (:\n')
    (tmp_path / "binary.py").write_bytes(_random_bytes())
    (tmp_path / "folder.py").mkdir()
    code, out, err = cli(capsys, "list", "--dir", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    assert out.split() == ["good", "A", "good", "one."]
    lines = err.splitlines()
    assert len(lines) == 3 and all(ln.startswith("ddbsim: error: ") for ln in lines)
    assert "bad.py:2: syntax error" in lines[0]
    assert "binary.py" in lines[1]
    assert "folder.py is a folder" in lines[2]


# ----------------------------------------------------------------------
# impossible times and a lease shorter than a heartbeat
# ----------------------------------------------------------------------
@pytest.mark.parametrize("at_s, for_s, name", [
    (float("nan"), 10, "at_s"), (5, float("inf"), "for_s"), (-1, 10, "at_s"),
    (5, -2, "for_s"), ("5", 10, "at_s"),
])
def test_outage_and_partition_times_must_be_finite_and_not_negative(
        at_s: Any, for_s: Any, name: str) -> None:
    with pytest.raises(FaultError, match=f"{name} must be a finite number"):
        outage("az-2", at_s, for_s)
    with pytest.raises(FaultError, match=f"{name} must be a finite number"):
        partition("az-1", "az-2", at_s, for_s)


@pytest.mark.parametrize("fault, needle", [
    (Fault(math.nan, "power_off", "az-2"), "outside the run"),
    (Fault(math.inf, "power_off", "az-2"), "outside the run"),
    (Fault(1.0, "slow", "az-2", factor=math.inf), "factor"),
    (Fault(1.0, "impair", "az-1", "az-2", loss=math.nan), "loss"),
    (Fault(1.0, "impair", "az-1", "az-2", delay_s=math.nan), "delay_s"),
])
def test_a_fault_with_an_impossible_number_is_refused(fault: Fault, needle: str) -> None:
    with pytest.raises(FaultError, match=needle):
        run(Scenario("x", 5.0, faults=[fault]), seed=1)


@pytest.mark.parametrize("duration", [math.inf, math.nan, -1.0, 0.0, "10", True])
def test_a_duration_must_be_positive_and_finite(duration: Any) -> None:
    with pytest.raises(ScenarioError, match="duration_s must be a positive, finite number"):
        Scenario("x", duration)


@pytest.mark.parametrize("lease_s", [0.5, 0.3])
def test_a_lease_must_outlast_the_heartbeat_interval(lease_s: float) -> None:
    with pytest.raises(ConfigError, match=r"replication\.lease_s .* must exceed "
                                          r"replication\.heartbeat_interval_s \(0\.5\)"):
        Config().with_overrides({"replication.lease_s": lease_s})
    with pytest.raises(ConfigError, match="lease_s"):
        ReplicationConfig(heartbeat_interval_s=1.0, leader_timeout_s=3.0, lease_s=1.0)
    assert Config().with_overrides({"replication.lease_s": 0.6}).replication.lease_s == 0.6


def test_every_scenario_and_selftest_profile_still_validates() -> None:
    files = sorted(p for p in (ROOT / "scenarios").glob("*.py") if not p.name.startswith("_"))
    assert files
    for file in files:
        for s in load_scenarios(file):
            s.config()
    for profile in PROFILES.values():
        Config().with_overrides(profile)


# ----------------------------------------------------------------------
# sweep arguments: conflicts, seeds, validation before fanning out
# ----------------------------------------------------------------------
def test_a_grid_key_also_set_is_a_conflict(capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    code, out, err = cli(capsys, "sweep", SCENARIO, "--seeds", "0:2",
                         "--grid", "replication.lease_s=2,3", "--set", "replication.lease_s=9",
                         "--out", str(tmp_path / "r.jsonl"))
    one_line(code, err, "--set replication.lease_s=9", "--grid replication.lease_s")
    assert out == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, needles", [
    (["--seeds", "-1:3"], ("'-1:3'", "zero or more")),
    (["--seeds=-1:3"], ("'-1:3'", "zero or more")),
    (["--seeds", "-4"], ("'-4'", "zero or more")),
    (["--seeds", "0:100000000"], ("--seeds", "more than 100,000 seeds")),
    (["--seeds", "0:60000,100000:160000"], ("--seeds", "more than 100,000 seeds")),
])
def test_sweep_seeds_are_checked_clearly(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                         args: list[str], needles: tuple[str, ...]) -> None:
    code, out, err = cli(capsys, "sweep", SCENARIO, *args, "--out", str(tmp_path / "r.jsonl"))
    one_line(code, err, *needles)
    assert out == "" and list(tmp_path.iterdir()) == []


def test_too_many_tasks(tmp_path: Path) -> None:
    grid = ["workload.rate_per_s=" + ",".join(str(v) for v in range(1, 101)),
            "table.partitions=" + ",".join(str(v) for v in range(1, 201))]
    with pytest.raises(SweepError, match="more than 1,000,000 tasks"):
        sweep.prepare(SCENARIO, "0:100", grid=grid)


def test_sweep_refuses_an_unknown_az_once_before_running(capsys: pytest.CaptureFixture[str],
                                                         tmp_path: Path) -> None:
    path = script(tmp_path, "wrong_az.py", "from ddbsim.lab import Scenario, outage\n"
                  "def build_scenario():\n"
                  "    return Scenario('wrong_az', 10.0, faults=outage('az-9', 1, 2))\n")
    code, out, err = cli(capsys, "run", str(path))
    run_line = one_line(code, err, "'az-9'")
    code, out, err = cli(capsys, "sweep", str(path), "--seeds", "0:50",
                         "--out", str(tmp_path / "r.jsonl"))
    sweep_line = one_line(code, err, "'az-9'", "wrong_az")
    assert out == "" and not (tmp_path / "r.jsonl").exists()
    assert run_line.split(": ")[-1] == sweep_line.split(": ")[-1]


def test_run_checks_every_variant_before_running_any(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    path = script(tmp_path, "variants.py", "from ddbsim.lab import Scenario, outage\n"
                  "def build_scenario():\n"
                  "    return [Scenario('v', 600.0, faults=outage('az-2', 1, 2)),\n"
                  "            Scenario('v', 600.0, faults=outage('az-7', 1, 2), variant='b')]\n")
    code, out, err = cli(capsys, "run", str(path))
    one_line(code, err, "'az-7'")
    assert out == ""  # the first variant did not run


def test_a_fault_plan_failing_on_some_seed_is_left_to_the_tasks(tmp_path: Path) -> None:
    path = script(tmp_path, "flaky.py", "from ddbsim.lab import Scenario\n"
                  "def plan(world, rng):\n    raise RuntimeError('seed-dependent bug')\n"
                  "def build_scenario():\n    return Scenario('flaky', 10.0, faults=plan)\n")
    spec = sweep.prepare(str(path), "0:3")  # recorded per seed, as before
    assert len(spec.tasks) == 3


# ----------------------------------------------------------------------
# the Python API
# ----------------------------------------------------------------------
def test_run_takes_the_path_of_a_scenario_script(tmp_path: Path) -> None:
    path = script(tmp_path, "tiny.py", TINY)
    by_str = run(str(path), seed=3)
    by_path = run(path, seed=3)
    [scenario] = load_scenarios(path)
    by_object = run(scenario, seed=3)
    assert by_str.data["scenario"] == "tiny"
    assert json.dumps(by_str.data, sort_keys=True, default=str) == \
        json.dumps(by_path.data, sort_keys=True, default=str) == \
        json.dumps(by_object.data, sort_keys=True, default=str)
    assert run_all(path, seed=3).data["requests"] == by_object.data["requests"]


def test_run_of_a_missing_script(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="scenario file not found"):
        run(str(tmp_path / "nope.py"))


@pytest.mark.parametrize("seed, error", [(1.5, TypeError), (1.0, TypeError), ("1", TypeError),
                                         (True, TypeError), (-1, ValueError)])
def test_run_refuses_a_seed_that_is_not_a_whole_number(seed: Any, error: type) -> None:
    s = Scenario("x", 1.0)
    with pytest.raises(error, match="seed"):
        run(s, seed=seed)
    with pytest.raises(error, match="seed"):
        run_all([s], seed=seed)


def test_run_refuses_other_arguments_by_name() -> None:
    with pytest.raises(TypeError, match="scenario must be a Scenario or the path"):
        run(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="overrides must be a dict"):
        run(Scenario("x", 1.0), overrides=["replication.lease_s=3"])  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="faults must be a list of Fault, got a single Fault"):
        Scenario("x", 1.0, faults=Fault(0.5, "power_off", "az-2"))  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="faults must be a list of Fault"):
        Scenario("x", 1.0, faults="az-2")  # type: ignore[arg-type]


def test_a_record_made_by_other_ddbsim_code_is_not_reused(tmp_path: Path) -> None:
    """Rerunning a sweep after a change to the simulator must run its tasks
    again, not report the old code's verdicts."""
    path = script(tmp_path, "tiny.py", TINY)
    out = tmp_path / "tiny.jsonl"
    first = sweep.run_sweep(sweep.prepare(str(path), "0"), out, workers=1, progress=False)
    assert first.ran == 1
    [rec] = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert rec["ddbsim_sha256"] == sweep.code_hash()
    # the same code: reused
    again = sweep.run_sweep(sweep.prepare(str(path), "0"), out, workers=1, progress=False)
    assert again.ran == 0 and again.already_done == 1
    # a record from other code (as an older checkout would have written)
    rec["ddbsim_sha256"] = "0" * 64
    out.write_text(json.dumps(rec) + "\n")
    other = sweep.run_sweep(sweep.prepare(str(path), "0"), out, workers=1, progress=False)
    assert other.ran == 1 and any("of ddbsim" in n for n in other.notes)
    assert len(out.read_text().splitlines()) == 2  # the old record is kept
