"""One AZ powered off for 10 minutes under steady traffic, then back; and two AZs off."""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario, outage


def build_scenario(outage_at_s: float = 60.0, outage_s: float = 600.0, tail_s: float = 240.0,
                   **overrides: Any) -> list[Scenario]:
    duration = outage_at_s + outage_s + tail_s
    one = Scenario(
        name="az_outage", variant="one_az", duration_s=duration, overrides=overrides,
        description="az-2 loses power; every partition keeps a write quorum",
        faults=outage("az-2", outage_at_s, outage_s))
    two = Scenario(
        name="az_outage", variant="two_azs", duration_s=duration, overrides=overrides,
        description="az-2 and az-3 lose power; only eventual reads in az-1 can succeed",
        faults=outage("az-2", outage_at_s, outage_s) + outage("az-3", outage_at_s, outage_s))
    return [one, two]


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
