"""A region-year of failures, 1,008 hosts and 10,000 partitions: nines and durability, 95% intervals.

The fast failure-level model (``ddbsim.lab.nines``): no requests, only the
failures and repairs of hosts, racks, AZs and disks, with Ford et al.'s
bursts, over the default region's shape scaled up (3 AZs of 12 racks of 28
storage hosts, 10,000 partitions placed by the detailed model's placement,
healed by its policy).  The outage and repair durations are calibrated by
short detailed runs of the same protocol config (cached; ``ddbsim
calibrate`` prints them).  Each run simulates ``years`` independent
region-years (default 20) and prints regional write and read availability,
the share of 5-minute windows under 99.99%, per-partition downtime, the
annual probability of data loss and the MTTDL, each with a 95% interval.

For many region-years in parallel, with progress and resume, use a sweep:
``ddbsim sweep scenarios/region_year.py --seeds 0:20 --param years=1``.
"""
from __future__ import annotations

from typing import Any

from ddbsim.config import YEAR_S
from ddbsim.lab import Scenario
from ddbsim.lab.nines.calibrate import durations_for
from ddbsim.lab.nines.estimate import runner

#: The default region's shape, scaled: 3 AZs x 12 racks x 28 hosts = 1,008 hosts.
REGION = {"topology.racks_per_az": 12, "topology.hosts_per_rack": 28,
          "table.partitions": 10_000}


def build_scenario(years: int = 20, **overrides: Any) -> Scenario:
    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        raise ValueError(f"years must be a whole number of 1 or more, got {years!r}")
    return Scenario(
        name="region_year", duration_s=YEAR_S * years, overrides={**REGION, **overrides},
        runner=runner(years, durations_for),
        description=f"{years} region-years of host, burst, rack, AZ and disk failures; "
                    "fast failure model, durations calibrated by the detailed simulator")


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
