"""Progress is drawn from outside the simulation: a run with a progress
callback (its traffic run in slices of simulated time, however the slices
are sized) gives the same result, byte for byte, as one without."""
from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from ddbsim import Scenario, outage, run
from ddbsim.lab import experiment

ROOT = Path(__file__).resolve().parents[2]


def scenario() -> Scenario:
    # a duration off the slice grid, faults, the history: everything that could move
    return Scenario(name="tiny", duration_s=20.3, faults=outage("az-2", 3.3, 7.1),
                    overrides={"workload.rate_per_s": 200, "table.partitions": 4,
                               "metrics.history": True, "metrics.window_s": 7.0})


@pytest.mark.parametrize("wall_s", [1e-9, 1e9], ids=["smallest slices", "largest slices"])
def test_progress_changes_nothing(monkeypatch: pytest.MonkeyPatch, wall_s: float) -> None:
    plain = run(scenario(), seed=4)
    monkeypatch.setattr(experiment, "PROGRESS_WALL_S", wall_s)
    seen: list[tuple[str, float]] = []
    watched = run(scenario(), seed=4, progress=lambda phase, now_s: seen.append((phase, now_s)))
    assert watched.to_json() == plain.to_json()
    assert watched.history == plain.history
    traffic = [t for phase, t in seen if phase == "traffic"]
    assert traffic == sorted(traffic) and traffic[-1] == 20.3
    assert len(traffic) > (20 if wall_s < 1 else 1)
    phases = [phase for phase, _ in seen]
    assert phases[-1] == "checks" and "quiesce" in phases and "final reads" in phases


def test_no_progress_bar_in_a_pipe() -> None:
    proc = subprocess.run([sys.executable, "-m", "ddbsim", "run", "scenarios/leader_failover.py",
                           "--param", "fail_at_s=2", "--param", "down_s=3", "--param", "tail_s=1",
                           "--set", "workload.rate_per_s=10"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("== leader_failover")


def terminal() -> tuple[int, int]:
    """A pseudo-terminal 80 columns wide (a new one has none, and tqdm draws
    nothing in zero columns)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return leader, follower


def test_a_progress_bar_on_a_terminal() -> None:
    leader, follower = terminal()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ddbsim", "run", "scenarios/leader_failover.py", "--param",
             "fail_at_s=2", "--param", "down_s=3", "--param", "tail_s=1", "--set",
             "workload.rate_per_s=10"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=follower, text=True, timeout=120)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    err = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0
    assert "leader_failover" in err and "s simulated" in err
    assert proc.stdout.startswith("== leader_failover")  # the summary still on stdout


def test_quiet_shows_no_bar_even_on_a_terminal() -> None:
    leader, follower = terminal()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ddbsim", "run", "scenarios/leader_failover.py", "--quiet",
             "--param", "fail_at_s=2", "--param", "down_s=3", "--param", "tail_s=1"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=follower, timeout=120)
    finally:
        os.close(follower)
    os.set_blocking(leader, False)
    try:
        err = os.read(leader, 4096)
    except OSError:  # nothing was written
        err = b""
    finally:
        os.close(leader)
    assert proc.returncode == 0 and proc.stdout == b""
    assert err == b""
