"""Sweep benchmark (``make bench``): how much faster a sweep runs on 2 local workers than on 1.

The same sweep -- ``bench/sweep_scenario.py`` (about a second of wall time per
run) over 12 seeds -- runs through :func:`ddbsim.lab.sweep.run_sweep` with
one local worker process and then with two, in one invocation, each into a
fresh results file.  The wall time of a sweep includes everything a user
waits for: starting the worker processes (``spawn``), loading the scenario
in each, running, and streaming the records to disk.

The figure is the **speed-up** = wall(1 worker) / wall(2 workers); the
target is >= 1.7 on a 2-core machine.  Ideal is the number of cores; what
is lost goes to starting processes, to the last tasks finishing unevenly
(12 tasks on 2 workers end together only if they take equally long), and to
anything else the machine is running.  Also reported: the parallel
efficiency (speed-up / workers) and the sum of the tasks' own ``wall_s``
for each run (if it grows with 2 workers, the cores were contended).

The two sweeps must produce the same records (``wall_s`` aside); the
benchmark checks that and says so.  Like every benchmark here it reports a
ratio measured in one run and asserts no time.  ``--quick`` runs 4 seeds,
for a smoke test; ``--reps N`` alternates 1- and 2-worker sweeps N times and
reports the ratio of the fastest of each (on a shared machine a rep that
overlapped with other work is slower, never faster).  Writes ``bench/results/sweep.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ddbsim.lab import sweep

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "sweep_scenario.py"
RESULTS = HERE / "results" / "sweep.json"


def timed_sweep(spec: sweep.SweepSpec, workers: int, folder: Path) -> dict[str, Any]:
    out = folder / f"workers-{workers}.jsonl"
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()  # wall-clock ok
    outcome = sweep.run_sweep(spec, out, workers=workers, progress=False)
    wall_s = time.perf_counter() - t0  # wall-clock ok
    records = {r["key"]: r for r in map(json.loads, out.read_text().splitlines())}
    statuses = sorted({r["status"] for r in records.values()})
    return {"workers": workers, "wall_s": wall_s, "tasks": outcome.ran,
            "task_wall_s_sum": sum(r["wall_s"] or 0.0 for r in records.values()),
            "statuses": statuses,
            "records": {k: sweep.comparable(r) for k, r in sorted(records.items())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 seeds (a smoke test)")
    parser.add_argument("--reps", type=int, default=1, help="alternate 1 and 2 workers N times")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    seeds = "0:4" if args.quick else "0:12"
    spec = sweep.prepare(str(SCENARIO), seeds)
    one: list[dict[str, Any]] = []
    two: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(1, args.reps)):
            one.append(timed_sweep(spec, 1, Path(tmp)))
            two.append(timed_sweep(spec, 2, Path(tmp)))
    same = all(r["records"] == one[0]["records"] for r in one + two)
    w1 = min(r["wall_s"] for r in one)
    w2 = min(r["wall_s"] for r in two)
    ratio = w1 / w2
    lines = [
        f"ddbsim sweep bench -- python {platform.python_version()}, {os.cpu_count()} CPUs",
        f"  {SCENARIO.name} over {len(spec.tasks)} seeds, {max(1, args.reps)} rep(s), "
        "fastest wall time of a whole sweep",
        f"  {'workers':>8}{'sweep wall-s':>14}{'sum of task wall-s':>20}{'statuses':>12}",
    ]
    for runs in (one, two):
        r = min(runs, key=lambda x: x["wall_s"])
        lines.append(f"  {r['workers']:>8}{r['wall_s']:>14.2f}{r['task_wall_s_sum']:>20.2f}"
                     f"{','.join(r['statuses']):>12}")
    lines += [
        f"  SPEED-UP 1 worker / 2 workers = {ratio:.2f}  (target >= 1.70: "
        f"{'met' if ratio >= 1.7 else 'NOT met'}); efficiency {ratio / 2:.0%}",
        f"  records identical across worker counts (wall_s aside): {'yes' if same else 'NO'}",
    ]
    busy1 = min(runs["task_wall_s_sum"] for runs in one)
    busy2 = min(runs["task_wall_s_sum"] for runs in two)
    if busy2 > 1.25 * busy1:
        lines.append(f"  NOTE: the tasks took {busy2 / busy1:.2f}x as long on 2 workers as on 1: "
                     "something else was using the cores, and the speed-up is understated")
    print("\n".join(lines))
    report = {"env": {"python": platform.python_version(), "platform": platform.platform(),
                      "cpus": os.cpu_count(), "quick": args.quick, "reps": args.reps},
              "scenario": SCENARIO.name, "seeds": seeds, "tasks": len(spec.tasks),
              "one_worker": [{k: v for k, v in r.items() if k != "records"} for r in one],
              "two_workers": [{k: v for k, v in r.items() if k != "records"} for r in two],
              "speedup": ratio, "records_identical": same}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
