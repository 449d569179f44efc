"""Sensitivity of the nines and durability to bursts, detection, rebuild bandwidth, log replicas, placement.

The fast failure model of ``scenarios/region_year.py`` (1,008 hosts,
10,000 partitions, durations calibrated by the detailed simulator) run for
``years`` region-years per variant, each variant one change from the
baseline (every variant on the same seed):

* ``baseline`` -- the defaults: Ford et al.'s bursts on (37% of host
  failures), log replicas on, one replica per AZ;
* ``no_bursts`` -- the same host failure rate, all independent: how much
  correlation costs (Ford et al. report that ignoring it overstates the
  availability of 3-replica data by two orders of magnitude or more);
* ``detection_30s`` -- ``healing.detection_s=30`` (default 5);
* ``rebuild_10MBps`` -- ``healing.rebuild_bytes_per_s=10e6`` (default 40e6:
  a 10 GB partition rebuilt in ~17 minutes instead of ~4);
* ``no_log_replicas`` -- ``healing.log_replicas=false``: every repair waits
  for a storage replica's rebuild;
* ``random_placement`` -- ``nines.placement=random``: replicas on any three
  distinct hosts, AZs ignored (the counterfactual to paper §3's rule).

Prints each variant's table, then one line per variant with its figures
and its unavailability as a multiple of the baseline's.  A figure:
``python -m ddbsim.lab.nines.plots RESULT.json OUT.png`` on its ``--json``.
"""
from __future__ import annotations

from typing import Any

from ddbsim.config import YEAR_S
from ddbsim.lab import Scenario
from ddbsim.lab.nines.calibrate import durations_for
from ddbsim.lab.nines.estimate import runner

REGION = {"topology.racks_per_az": 12, "topology.hosts_per_rack": 28,
          "table.partitions": 10_000}
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "no_bursts": {"nines.burst_fraction": 0.0},
    "detection_30s": {"healing.detection_s": 30.0},
    "rebuild_10MBps": {"healing.rebuild_bytes_per_s": 10e6},
    "no_log_replicas": {"healing.log_replicas": False},
    "random_placement": {"nines.placement": "random"},
}


def build_scenario(years: int = 3, **overrides: Any) -> list[Scenario]:
    if isinstance(years, bool) or not isinstance(years, int) or years < 2:
        raise ValueError(f"years must be a whole number of 2 or more (an interval needs two), "
                         f"got {years!r}")
    return [Scenario(name="nines_sensitivity", variant=name, duration_s=YEAR_S * years,
                     overrides={**REGION, **change, **overrides},
                     runner=runner(years, durations_for),
                     description=f"{years} region-years, one change from the baseline: "
                                 f"{', '.join(f'{k}={v}' for k, v in change.items()) or 'none'}")
            for name, change in VARIANTS.items()]


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
