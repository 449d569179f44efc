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
* ``bursts_across_racks`` -- no burst confined to one rack
  (``nines.burst_rack_share=0``, default 0.5): a rack sits in one AZ, and
  with one replica per AZ a burst inside a rack takes at most one member of
  any group, so only the bursts that cross racks can cost a quorum;
* ``bursts_of_30`` -- larger bursts (``nines.burst_mean_hosts=30``, default
  8 ``[chosen]``): the same share of failures in fewer, bigger bursts;
* ``detection_30s`` -- ``healing.detection_s=30`` (default 5);
* ``rebuild_10MBps`` -- ``healing.rebuild_bytes_per_s=10e6`` (default 40e6:
  a 10 GB partition rebuilt in ~17 minutes instead of ~4);
* ``no_log_replicas`` -- ``healing.log_replicas=false``: every repair waits
  for a storage replica's rebuild;
* ``random_placement`` -- ``nines.placement=random``: replicas on any three
  distinct hosts, AZs ignored (the counterfactual to paper §3's rule).

Prints each variant's table, then one line per variant with its figures
and its unavailability as a multiple of the baseline's, its quorum-loss
rate likewise, and its durability from exposure (the expected losses of
acknowledged writes and of B-trees per region-year; a B-tree lost is a
loss only without the archive).  Ten region-years a variant (the default,
~20 wall seconds a variant on one core) see a few dozen quorum losses
without bursts; ``--param years=20`` narrows the intervals.  A figure:
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
    "bursts_across_racks": {"nines.burst_rack_share": 0.0},
    "bursts_of_30": {"nines.burst_mean_hosts": 30.0},
    "detection_30s": {"healing.detection_s": 30.0},
    "rebuild_10MBps": {"healing.rebuild_bytes_per_s": 10e6},
    "no_log_replicas": {"healing.log_replicas": False},
    "random_placement": {"nines.placement": "random"},
}


def build_scenario(years: int = 10, **overrides: Any) -> list[Scenario]:
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
