"""The mutation self-test catches the mutants the game day exposes quickly,
and the correct protocol passes the seeds that caught them."""
from __future__ import annotations

import pytest

from ddbsim.lab.selftest import failed_checks, hunt

GAME_DAY = "scenarios/game_day.py"


@pytest.mark.parametrize("mutant, checker", [
    ("ack_before_quorum", "linearizable"),
    ("skip_recovery", "durability"),
    ("apply_before_commit", "convergence"),
])
def test_mutant_is_caught_and_the_correct_protocol_passes_that_seed(mutant: str, checker: str) -> None:
    catch = hunt(mutant, seeds=[0, 1, 2, 3], workers=2)
    assert catch.caught, catch.to_dict()
    assert checker in catch.checkers
    assert catch.control_valid is True


def test_failed_checks_is_empty_for_the_correct_protocol() -> None:
    assert failed_checks(GAME_DAY, 0, {}, None) == []
