"""The experimenter: workloads, faults, metrics, history, checkers,
scenarios, runs and results.  ``lab`` may import ``world`` and ``service``;
no module of ``lab`` imports this package (they import each other's modules),
so the package is only the public face: ``Scenario``, ``run``, ``Result``..."""
from __future__ import annotations

from ddbsim.lab.experiment import run, run_all
from ddbsim.lab.faults import Fault, crash_restart, outage, partition
from ddbsim.lab.phases import Keys, Phase
from ddbsim.lab.result import Result
from ddbsim.lab.scenario import Scenario

__all__ = ["Fault", "Keys", "Phase", "Result", "Scenario", "crash_restart", "outage", "partition",
           "run", "run_all"]
