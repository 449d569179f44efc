"""Acceptance 3: the checkers can fail.  A deliberate protocol bug, switched
on through the test-only hook, must show up as lost writes under a schedule
of network cuts and power-offs; the correct protocol loses nothing."""
from __future__ import annotations

import pytest

from ddbsim.lab import Fault, Scenario, outage, run

AZS = ("az-1", "az-2", "az-3")


def isolate(az: str, at_s: float, for_s: float) -> list[Fault]:
    others = [a for a in AZS if a != az]
    return ([Fault(at_s, "cut", az, o) for o in others]
            + [Fault(at_s + for_s, "heal", az, o) for o in others])


# az-1 is cut off (its leaders cannot reach a quorum) and then loses power;
# later az-3 is cut off (its replicas fall behind), and as the cut heals the
# leaders in az-2 lose power, so a lagging replica may be elected.
SCHEDULE = (isolate("az-1", 20, 10) + outage("az-1", 30, 20)
            + isolate("az-3", 80, 10) + outage("az-2", 90, 20))
SCENARIO = Scenario(name="bug_hunt", duration_s=130.0, faults=SCHEDULE,
                    overrides={"workload.rate_per_s": 150.0})


def test_correct_protocol_loses_nothing():
    result = run(SCENARIO, seed=1)
    checks = result.data["checks"]
    assert checks["durability"]["lost_writes"] == 0
    assert all(c["valid"] is True for c in checks.values()), checks


@pytest.mark.parametrize("bug", ["ack_before_quorum", "skip_recovery"])
def test_protocol_bug_is_caught_as_lost_writes(bug):
    result = run(SCENARIO, seed=1, bugs=(bug,))
    durability = result.data["checks"]["durability"]
    assert durability["valid"] is False
    assert durability["lost_writes"] > 0
    assert durability["examples"]


def test_unknown_bug_is_refused():
    with pytest.raises(ValueError, match="unknown bug"):
        run(SCENARIO, seed=1, bugs=("typo",))
