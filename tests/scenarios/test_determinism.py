"""Acceptance 4: the same scenario and seed give the same JSON, byte for
byte, in two processes with different hash seeds."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, hashseed: str, seed: int,
         args: tuple[str, ...] = ("scenarios/leader_failover.py", "--set",
                                  "workload.rate_per_s=60", "--set", "run.quiesce_s=10")) -> bytes:
    out = tmp_path / f"out-{hashseed}-{seed}.json"
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    proc = subprocess.run(
        [sys.executable, "-m", "ddbsim.cli", "run", *args,
         "--seed", str(seed), "--quiet", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def test_same_seed_same_json_across_processes(tmp_path):
    a = _run(tmp_path, "0", 7)
    b = _run(tmp_path, "4242", 7)
    assert a == b
    assert b'"seed": 7' in a


def test_different_seed_different_json(tmp_path):
    assert _run(tmp_path, "1", 7) != _run(tmp_path, "1", 8)


def test_bit_rot_and_the_scrub_are_deterministic(tmp_path):
    args = ("scenarios/bit_rot_scrub.py", "--param", "duration_s=150", "--param", "count=4",
            "--set", "durability.scrub_interval_s=20", "--set", "workload.rate_per_s=100")
    a = _run(tmp_path, "0", 2, args)
    b = _run(tmp_path, "999", 2, args)
    assert a == b
    assert b'"bit_rot"' in a and b'"corruptions"' in a


def test_point_in_time_restores_are_deterministic(tmp_path):
    args = ("scenarios/restore.py", "--param", "duration_s=100", "--param", "burst_per_s=300",
            "--set", "workload.rate_per_s=80")
    a = _run(tmp_path, "0", 3, args)
    b = _run(tmp_path, "777", 3, args)
    assert a == b
    assert b'"mutants"' in a and b'"acked_found"' in a
