"""Sweeps end to end, on tiny scenario scripts (well under a second a run):
local workers and a Dask cluster give the same records, an exception in
one run is recorded and the sweep goes on, and a killed sweep resumes.

A task whose check fails: a scenario file cannot make a correct service
lose a write (the protocol bugs of ``ddbsim.service.bugs`` are switched on
only through ``Service.inject_bug``), but it can ask for more than the
service can give -- two replicas of p-0000 off until the heal cannot serve
within a liveness bound shorter than the 20 s boot.  That failure is listed
with a command that reproduces it.
"""
from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ddbsim.lab import sweep

ROOT = Path(__file__).resolve().parents[2]

TINY = '''"""A tiny sweep scenario: the leader of p-0000 loses power for 5 s."""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario, outage


def build_scenario(**overrides: Any) -> Scenario:
    return Scenario(name="tiny", duration_s=DURATION_S,
                    overrides={"workload.rate_per_s": 20, "run.quiesce_s": 5,
                               "run.final_read_timeout_s": 5.0, **overrides},
                    faults=outage("leader:p-0000", 5.0, 5.0))
'''

FLAKY = '''"""A tiny scenario whose fault plan raises on seed 2."""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario, outage


def plan(world, rng):
    if world.streams.root_seed == 2:
        raise RuntimeError("this fault plan fails on seed 2")
    return outage("leader:p-0000", 5.0, 5.0)


def build_scenario(**overrides: Any) -> Scenario:
    return Scenario(name="flaky", duration_s=20.0,
                    overrides={"workload.rate_per_s": 20, "run.quiesce_s": 5,
                               "run.final_read_timeout_s": 5.0, **overrides},
                    faults=plan)
'''

SLOW_BOOT = '''"""Two replicas of p-0000 lose power at 16 s until the heal (boot: 20 s)."""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Fault, Scenario


def build_scenario(**overrides: Any) -> Scenario:
    return Scenario(name="slow_boot", duration_s=20.0,
                    overrides={"workload.rate_per_s": 20, "run.quiesce_s": 5,
                               "run.final_read_timeout_s": 5.0, **overrides},
                    faults=[Fault(16.0, "power_off", "leader:p-0000"),
                            Fault(16.0, "power_off", "follower:p-0000")])
'''


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scripts")
    files = {"tiny": TINY.replace("DURATION_S", "20.0"),
             "slow": TINY.replace("DURATION_S", "60.0").replace('"tiny"', '"slow"')
                         .replace('"workload.rate_per_s": 20', '"workload.rate_per_s": 100'),
             "flaky": FLAKY, "slow_boot": SLOW_BOOT}
    out = {}
    for name, text in files.items():
        out[name] = root / f"{name}.py"
        out[name].write_text(text)
    return out


def read(path: Path) -> dict[str, dict[str, Any]]:
    """The records of a results file by key, wall-clock seconds left out;
    one record per key."""
    lines = path.read_text().splitlines()
    records = [json.loads(ln) for ln in lines]
    by_key = {r["key"]: sweep.comparable(r) for r in records}
    assert len(by_key) == len(records), "duplicate keys"
    return by_key


def ddbsim(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([sys.executable, "-m", "ddbsim.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def one_worker(scripts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[sweep.SweepSpec, dict[str, dict[str, Any]]]]:
    """4 seeds x lease 2 and 3 s with one local worker: the reference records."""
    spec = sweep.prepare(str(scripts["tiny"]), "0:4", ["workload.rate_per_s=25"],
                         ["replication.lease_s=2,3"])
    out = tmp_path_factory.mktemp("one") / "one.jsonl"
    outcome = sweep.run_sweep(spec, out, workers=1, progress=False)
    assert (outcome.ran, outcome.already_done, outcome.interrupted) == (8, 0, False)
    yield spec, read(out)


def test_two_local_workers_give_the_same_records_as_one(
        one_worker: tuple[sweep.SweepSpec, dict[str, dict[str, Any]]], tmp_path: Path) -> None:
    spec, reference = one_worker
    assert list(reference) != []
    assert sorted(reference) == sorted(t.key for t in spec.tasks)
    assert all(r["status"] == "ok" for r in reference.values())
    out = tmp_path / "two.jsonl"
    outcome = sweep.run_sweep(spec, out, workers=2, progress=False)
    assert outcome.ran == 8
    assert read(out) == reference
    # The grid reached the runs: a longer lease, a longer failover, on every seed.
    for seed in spec.seeds:
        short = reference[f"seed={seed} replication.lease_s=2 workload.rate_per_s=25"]
        long = reference[f"seed={seed} replication.lease_s=3 workload.rate_per_s=25"]
        assert long["figures"]["leaders.failover_s.max"] > \
            short["figures"]["leaders.failover_s.max"] + 0.3
        assert short["figures"]["requests.total"] > 0


def test_a_reproduce_command_reproduces_the_record(
        one_worker: tuple[sweep.SweepSpec, dict[str, dict[str, Any]]], tmp_path: Path) -> None:
    spec, reference = one_worker
    rec = reference[spec.tasks[3].key]
    argv = shlex.split(rec["reproduce"])
    assert argv[:2] == ["ddbsim", "run"]
    proc = ddbsim(*argv[1:], "--quiet", "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    assert sweep.flatten_figures(data) == rec["figures"]


def test_a_dask_cluster_gives_the_same_records(
        one_worker: tuple[sweep.SweepSpec, dict[str, dict[str, Any]]], tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    spec, reference = one_worker
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        out = tmp_path / "dask.jsonl"
        outcome = sweep.run_sweep(spec, out, dask=cluster.scheduler_address, progress=False)
    assert outcome.ran == 8
    assert read(out) == reference


def test_an_exception_in_one_run_is_recorded_and_the_sweep_goes_on(
        scripts: dict[str, Path], tmp_path: Path) -> None:
    out, summary_json = tmp_path / "flaky.jsonl", tmp_path / "summary.json"
    script = str(scripts["flaky"])
    proc = ddbsim("sweep", script, "--seeds", "0:4", "--workers", "2", "--out", str(out),
                  "--quiet", "--summary-json", str(summary_json))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""  # --quiet: no bar, no notes
    records = read(out)
    assert sorted(records) == ["seed=0", "seed=1", "seed=2", "seed=3"]
    bad = records["seed=2"]
    assert bad["status"] == "error" and bad["seed"] == 2
    assert "Traceback (most recent call last)" in bad["error"]
    assert bad["error"].rstrip().endswith("RuntimeError: this fault plan fails on seed 2")
    assert bad["reproduce"] == f"ddbsim run {shlex.quote(script)} --seed 2"
    assert all(records[f"seed={s}"]["status"] == "ok" for s in (0, 1, 3))
    summary = json.loads(summary_json.read_text())
    assert (summary["ok"], summary["failed"], summary["error"]) == (3, 0, 1)
    assert summary["errors"] == [{"key": "seed=2", "seed": 2, "overrides": {},
                                  "error": "RuntimeError: this fault plan fails on seed 2",
                                  "reproduce": bad["reproduce"]}]
    assert "errored tasks (1):\n  seed=2: RuntimeError: this fault plan fails on seed 2\n" \
           f"    reproduce: ddbsim run {shlex.quote(script)} --seed 2\n" in proc.stdout

    # A rerun keeps the error and runs nothing; --retry-errors runs it again.
    again = ddbsim("sweep", script, "--seeds", "0:4", "--workers", "2", "--out", str(out))
    assert again.returncode == 1
    assert "all 4 tasks already done" in again.stderr
    assert "(4 already done, 0 run now)" in again.stdout
    retried = ddbsim("sweep", script, "--seeds", "0:4", "--workers", "2", "--out", str(out),
                     "--retry-errors")
    assert retried.returncode == 1
    assert "retrying 1 errored task(s)" in retried.stderr
    assert "(3 already done, 1 run now)" in retried.stdout
    assert read(out) == records  # one record per task; the same error again


def test_a_failing_check_is_listed_and_its_command_reproduces_it(
        scripts: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "failing.jsonl"
    script = str(scripts["slow_boot"])
    proc = ddbsim("sweep", script, "--seeds", "3", "--set", "run.liveness_bound_s=10",
                  "--out", str(out), "--quiet")
    assert proc.returncode == 1, proc.stderr
    rec = read(out)["seed=3 run.liveness_bound_s=10"]
    assert rec["status"] == "failed" and rec["failed_checks"] == ["liveness"]
    assert rec["reproduce"] == \
        f"ddbsim run {shlex.quote(script)} --seed 3 --set run.liveness_bound_s=10"
    assert f"seed=3 run.liveness_bound_s=10: liveness\n    reproduce: {rec['reproduce']}" \
        in proc.stdout
    again = ddbsim(*shlex.split(rec["reproduce"])[1:], "--quiet", "--json", str(tmp_path / "r.json"))
    assert again.returncode == 1
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["checks"]["liveness"]["valid"] is False
    # p-0000 and the two partitions whose leader shares its leader's host
    assert data["checks"]["liveness"]["late_partitions"] == ["p-0000", "p-0006", "p-0012"]
    assert sweep.flatten_figures(data) == rec["figures"]


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C back to its default.  A shell
    starts a background job with SIGINT ignored, the child inherits that,
    and Python then never turns SIGINT into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen([sys.executable, "-m", "ddbsim.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)


def _wait_for_lines(proc: subprocess.Popen[str], out: Path, lines: int) -> None:
    deadline = time.monotonic() + 60  # wall-clock ok
    while time.monotonic() < deadline:  # wall-clock ok
        if out.exists() and out.read_text().count("\n") >= lines:
            return
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended early: {proc.communicate()}")
        time.sleep(0.01)
    pytest.fail("no records after 60 s")


def test_a_killed_sweep_resumes_where_it_stopped(scripts: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "slow.jsonl"
    args = ["sweep", str(scripts["slow"]), "--seeds", "0:8", "--workers", "1", "--out", str(out)]
    proc = _start(args)
    try:
        _wait_for_lines(proc, out, 2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker
        proc.communicate()
    with open(out, "a") as fh:  # as if it had been killed in the middle of a line
        fh.write('{"scenario": "slow.py", "name": "sl')
    done = sum(1 for ln in out.read_text().splitlines() if ln.endswith("}"))
    assert 2 <= done < 8

    rerun = ddbsim(*args[:-4], "--workers", "2", "--out", str(out))
    assert rerun.returncode == 0, rerun.stderr
    assert "dropped a cut-short last line" in rerun.stderr
    assert f"{done} of 8 tasks already done in {out}; running the other {8 - done}" in rerun.stderr
    assert f"({done} already done, {8 - done} run now)" in rerun.stdout
    records = read(out)  # one record per key, every line complete
    assert sorted(records) == sorted(f"seed={s}" for s in range(8))
    assert all(r["status"] == "ok" for r in records.values())


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(scripts: dict[str, Path],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "slow.jsonl"
    proc = _start(["sweep", str(scripts["slow"]), "--seeds", "0:12", "--workers", "2",
                   "--out", str(out)])
    try:
        _wait_for_lines(proc, out, 1)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
        _stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    records = read(out)
    assert 1 <= len(records) < 12
