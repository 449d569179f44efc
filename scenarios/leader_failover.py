"""The host leading p-0000 loses power under traffic: how long until a new leader serves."""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario, outage


def build_scenario(fail_at_s: float = 60.0, down_s: float = 300.0, tail_s: float = 120.0,
                   **overrides: Any) -> Scenario:
    return Scenario(
        name="leader_failover", duration_s=fail_at_s + down_s + tail_s, overrides=overrides,
        description="power off the leader of p-0000 (and every partition it leads)",
        faults=outage("leader:p-0000", fail_at_s, down_s))


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
