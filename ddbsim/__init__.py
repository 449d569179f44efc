"""ddbsim: a discrete-event simulator of a DynamoDB-style replicated store."""
from __future__ import annotations

from ddbsim.config import Config, ConfigError
from ddbsim.lab import Fault, Result, Scenario, outage, partition, run, run_all

__version__ = "0.1.0"
__all__ = ["Config", "ConfigError", "Fault", "Result", "Scenario", "outage", "partition", "run",
           "run_all"]
