"""Benchmark of the fast failure model (``make bench``): simulated region-years per wall minute.

The region of ``scenarios/region_year.py`` -- 3 AZs x 12 racks x 28 storage
hosts (1,008) and 10,000 partitions, every failure kind on (hosts, Ford et
al. bursts, racks, AZs, disks) -- run for ``--years`` region-years with the
durations derived from the config (no detailed calibration runs: those are
the detailed simulator's cost, cached after the first).  The first region-
year also pays for building the fleet and placement (timed apart).  Printed:
wall and CPU seconds per region-year (on a busy machine the CPU time is the
one-core cost), simulated region-years per wall minute, and group events per
wall second; one core (one process).  The acceptance
target is one region-year in at most 60 wall seconds.  Written to
``bench/results/nines.json`` (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ddbsim.config import Config
from ddbsim.lab.nines.durations import derived
from ddbsim.lab.nines.fleet import build_fleet
from ddbsim.lab.nines.year import region_year

REGION = {"topology.racks_per_az": 12, "topology.hosts_per_rack": 28, "table.partitions": 10_000}
RESULTS = Path(__file__).parent / "results" / "nines.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=3, help="region-years to time (default 3)")
    parser.add_argument("--quick", action="store_true", help="one region-year of a month")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    over = dict(REGION)
    if args.quick:
        over["nines.horizon_s"] = 30 * 86400.0
        args.years = 1
    cfg = Config().with_overrides(over)
    dur = derived(cfg)
    start = time.perf_counter()  # wall-clock ok
    fleet = build_fleet(cfg)
    build_s = time.perf_counter() - start  # wall-clock ok
    walls, cpus, events = [], [], 0
    for i in range(args.years):
        t0, c0 = time.perf_counter(), time.process_time()  # wall-clock ok
        y = region_year(cfg, 1, dur, prefix=f"year{i}/")
        walls.append(time.perf_counter() - t0)  # wall-clock ok
        cpus.append(time.process_time() - c0)
        events += y["events"]["simulated"]
    years_simulated = args.years * y["region"]["years"]
    total = sum(walls)
    out = {"hosts": fleet.hosts, "partitions": fleet.partitions, "years": years_simulated,
           "fleet_build_s": build_s, "wall_s_per_region_year": total / years_simulated,
           "region_years_per_wall_minute": 60.0 * years_simulated / total,
           "group_events_per_wall_s": events / total, "wall_s": walls, "cpu_s": cpus,
           "cpu_s_per_region_year": sum(cpus) / years_simulated}
    print(f"fast failure model: {fleet.hosts:,} hosts, {fleet.partitions:,} partitions, "
          f"{years_simulated:g} region-years (fleet built in {build_s:.2f} s)")
    print(f"  wall s per region-year         {out['wall_s_per_region_year']:8.2f}   "
          f"(target <= 60)")
    print(f"  CPU s per region-year          {out['cpu_s_per_region_year']:8.2f}   "
          f"(what one core costs when the machine is shared)")
    print(f"  region-years per wall minute   {out['region_years_per_wall_minute']:8.2f}")
    print(f"  group events per wall second   {out['group_events_per_wall_s']:8,.0f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
