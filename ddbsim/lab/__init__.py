"""The experimenter: workloads, faults, metrics, history, checkers,
scenarios and results.  ``lab`` may import ``world`` and ``service``."""
from __future__ import annotations

from ddbsim.lab.faults import Fault, outage, partition
from ddbsim.lab.result import Result
from ddbsim.lab.scenario import Scenario, run, run_all

__all__ = ["Fault", "Result", "Scenario", "outage", "partition", "run", "run_all"]
