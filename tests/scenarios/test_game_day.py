"""Game-day seeds that once failed on the correct protocol, each for a
protocol bug since fixed: they must pass every check now.  (The whole
sweep, ``ddbsim chaos --seeds 0:200``, is too slow for ``make test``.)"""
from __future__ import annotations

import pytest

from ddbsim.lab.selftest import failed_checks

GAME_DAY = "scenarios/game_day.py"


@pytest.mark.parametrize("seed, bug", [
    (28, "a lost heartbeat lost the last commit point: a follower never applied it"),
    (61, "the election guard stood down for a leader that was the candidate itself"),
    (77, "two healers undid each other's membership change; a replica cut off "
         "while the others elected promised a higher ballot and refused the leader"),
    (78, "a rebooted follower's revocations restarted at 1 and were taken as seen"),
    (116, "a leader never committed records chosen before its own write landed"),
    (139, "a candidate preempted mid-election stayed 'electing' and never stood again"),
    (9, "with the newer faults: a leader of one storage and two log replicas, cut off "
        "from both, dropped its rebuild and started it again 15 s later; the healing "
        "check did not allow for that restart (log replica lived 316 s, bound 288 s)"),
    (51, "a replica dropped a rotten committed WAL record on replay, promised with the "
         "hole, and as candidate filled the slot with a no-op: an acknowledged put lost"),
])
def test_a_seed_that_found_a_protocol_bug_passes_every_check(seed: int, bug: str) -> None:
    assert failed_checks(GAME_DAY, seed, {}, None) == [], bug


def test_a_rotten_archived_record_found_by_the_scrub_is_repaired_from_the_archive() -> None:
    # Seed 54 with GAC: the scrub found an archived WAL record rotten and
    # took it back for the archiver to compare, but the archiver looked only
    # at replicas whose commit point had moved: never repaired.
    assert failed_checks(GAME_DAY, 54, {"admission.policy": "gac"}, None) == []
