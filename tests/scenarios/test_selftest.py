"""The mutation self-test catches every mutant within a few seeds of its
profile, and the correct protocol passes the seeds that caught them."""
from __future__ import annotations

import pytest

from ddbsim.lab.selftest import failed_checks, hunt

GAME_DAY = "scenarios/game_day.py"


@pytest.mark.parametrize("mutant, checker", [
    ("ack_before_quorum", "linearizable"),
    ("skip_recovery", "durability"),
    # a B-tree ahead of the commit point differs from the other replicas': the
    # scrub (the corruption check) sees it before the end-of-run convergence check
    ("apply_before_commit", "corruption"),
    ("no_lease_wait", "single_leader"),
    ("follower_strong_read", "linearizable"),
    ("log_replica_counts_twice", "durability"),
    ("apply_bad_checksum", "corruption"),
])
def test_mutant_is_caught_and_the_correct_protocol_passes_that_seed(mutant: str, checker: str) -> None:
    catch = hunt(mutant, seeds=[0, 1, 2, 3], workers=2)
    assert catch.caught, catch.to_dict()
    assert checker in catch.checkers
    assert catch.control_valid is True


def test_failed_checks_is_empty_for_the_correct_protocol() -> None:
    assert failed_checks(GAME_DAY, 0, {}, None) == []


def test_a_stale_replica_cannot_win_an_election_in_a_membership_it_missed() -> None:
    # Five replicas, AZ cuts and power faults with the one-AZ bound lifted:
    # on seed 0 a replica that slept through a membership change used to win
    # with a quorum of the old membership and overwrite a record chosen by
    # the new one (7 acked writes lost, a replica diverged).  Cuts and power
    # faults destroy no disk, so the correct protocol must pass everything.
    profile = {"topology.az_count": 5, "replication.replicas": 5, "replication.write_quorum": 3,
               "nemesis.kinds": "az_cut,host_power", "nemesis.enable_p": 1.0,
               "nemesis.bounded": False}
    assert failed_checks(GAME_DAY, 0, profile, None) == []


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [
    "follower_ack_before_durable", "forget_uncommitted_on_crash", "follower_commits_accepted",
    "read_without_lease", "lease_from_ack_receipt", "accept_any_ballot", "partial_ballot_compare",
    "acks_any_ballot", "recovery_lowest_ballot", "catchup_serves_uncommitted",
    "promise_not_durable", "forget_lease_on_boot",
])
def test_a_newer_mutant_is_caught_with_its_profile(mutant: str) -> None:
    catch = hunt(mutant, seeds=list(range(10)), workers=2)
    assert catch.caught, catch.to_dict()
    assert catch.control_valid is True
