"""The placement and healing checkers on hand-written inputs, including
inputs that must fail."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ddbsim.lab.checkers import check_healing, check_placement
from ddbsim.service.membership import LOG, STORAGE

# -- placement -----------------------------------------------------------------

# host -> (rack, AZ): two racks of two hosts in each of three AZs
WHERE = {f"az-{a}/r{r}/h{h}": (f"az-{a}/r{r}", f"az-{a}")
         for a in (1, 2, 3) for r in (1, 2) for h in (1, 2)}


def group(*hosts: str, kinds: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    kinds = kinds or (STORAGE,) * len(hosts)
    return tuple(zip(hosts, kinds, strict=True))


GOOD = group("az-1/r1/h1", "az-2/r2/h1", "az-3/r1/h2")


def problems(out: dict[str, Any], pid: str) -> list[str]:
    return next(p["problems"] for p in out["misplaced"] if p["partition"] == pid)


def test_placement_passes_for_storage_replicas_in_three_azs() -> None:
    out = check_placement({"p-0": GOOD, "p-1": group("az-1/r2/h2", "az-2/r1/h1", "az-3/r2/h1")},
                          WHERE, 3)
    assert out == {"valid": True, "partitions": 2, "misplaced": [], "misplaced_count": 0,
                   "unknown_partitions": []}


def test_placement_fails_for_two_replicas_in_one_az() -> None:
    # different racks of az-1: only the AZ is shared
    out = check_placement({"p-0": GOOD, "p-1": group("az-1/r1/h1", "az-1/r2/h1", "az-3/r1/h1")},
                          WHERE, 3)
    assert out["valid"] is False and out["misplaced_count"] == 1
    assert problems(out, "p-1") == ["two replicas in one AZ"]
    assert out["misplaced"][0]["members"] == [["az-1/r1/h1", STORAGE], ["az-1/r2/h1", STORAGE],
                                              ["az-3/r1/h1", STORAGE]]


def test_placement_fails_for_two_replicas_in_one_rack() -> None:
    out = check_placement({"p-0": group("az-2/r1/h1", "az-2/r1/h2", "az-3/r1/h1")}, WHERE, 3)
    assert out["valid"] is False
    assert problems(out, "p-0") == ["two replicas in one rack", "two replicas in one AZ"]


def test_placement_fails_for_two_replicas_on_one_host() -> None:
    out = check_placement({"p-0": group("az-2/r1/h1", "az-2/r1/h1", "az-3/r1/h1")}, WHERE, 3)
    assert out["valid"] is False
    assert problems(out, "p-0") == ["two replicas on one host", "two replicas in one rack",
                                    "two replicas in one AZ"]


def test_placement_fails_for_a_log_replica_left_in_the_final_group() -> None:
    members = group("az-1/r1/h1", "az-2/r1/h1", "az-3/r1/h1", kinds=(STORAGE, LOG, STORAGE))
    out = check_placement({"p-0": members}, WHERE, 3)
    assert out["valid"] is False
    assert problems(out, "p-0") == ["1 not a storage replica"]


def test_placement_fails_for_too_few_members() -> None:
    out = check_placement({"p-0": group("az-1/r1/h1", "az-2/r1/h1")}, WHERE, 3)
    assert out["valid"] is False
    assert problems(out, "p-0") == ["2 members, want 3"]


def test_placement_fails_for_too_many_members() -> None:
    members = group("az-1/r1/h1", "az-2/r1/h1", "az-3/r1/h1", "az-3/r2/h1")
    out = check_placement({"p-0": members}, WHERE, 3)
    assert problems(out, "p-0") == ["4 members, want 3", "two replicas in one AZ"]


def test_placement_is_unknown_for_a_partition_without_a_leader() -> None:
    out = check_placement({"p-0": GOOD, "p-1": None}, WHERE, 3)
    assert out["valid"] == "unknown"
    assert out["unknown_partitions"] == ["p-1"] and out["misplaced"] == []


def test_placement_fails_when_one_partition_is_misplaced_and_another_unknown() -> None:
    out = check_placement({"p-0": group("az-1/r1/h1", "az-1/r2/h2", "az-3/r1/h1"), "p-1": None},
                          WHERE, 3)
    assert out["valid"] is False
    assert out["unknown_partitions"] == ["p-1"]


def test_placement_keeps_ten_problems_and_counts_them_all() -> None:
    bad = group("az-1/r1/h1", "az-2/r1/h1")
    out = check_placement({f"p-{i:02d}": bad for i in range(12)}, WHERE, 3)
    assert out["misplaced_count"] == 12 and len(out["misplaced"]) == 10
    assert out["misplaced"][0]["partition"] == "p-00"


# -- healing -------------------------------------------------------------------

DETECTION, LOG_COPY, REBUILD, MARGIN = 5.0, 3.0, 250.0, 30.0
BOUND = DETECTION + LOG_COPY + REBUILD + MARGIN  # 288 s


def episode(pid: str = "p-0", lost: str = "az-1/r1/h1", *, log_at: float | None = 100.0,
            storage_at: float | None = 350.0, end: str | None = "storage replica",
            ended_at: float | None = None, blocked: str | None = None) -> dict[str, Any]:
    """A healing record as the result has it (``lost_at_s``... ``blocked``)."""
    if ended_at is None and end is not None:
        ended_at = storage_at if storage_at is not None else log_at
    return {"partition": pid, "lost_host": lost, "lost_at_s": 90.0, "detected_at_s": 97.0,
            "log_replica_host": None if log_at is None else "az-1/r2/h1",
            "log_replica_at_s": log_at,
            "storage_replica_host": None if storage_at is None else "az-1/r2/h1",
            "storage_replica_at_s": storage_at, "ended_at_s": ended_at, "end": end,
            "blocked": blocked}


def heal(episodes: list[dict[str, Any]], elections: Iterable[tuple[str, float]] = (),
         final: dict[str, Any] | None = None, end_s: float = 2000.0,
         losses: Iterable[tuple[str, float]] = ()) -> dict[str, Any]:
    return check_healing(episodes, elections, final or {}, end_s, DETECTION, LOG_COPY, REBUILD,
                         MARGIN, losses)


def test_healing_passes_for_episodes_that_ended_well() -> None:
    eps = [episode(),  # a storage replica took its place
           episode("p-1", end="returned", storage_at=None, ended_at=150.0),
           episode("p-2", end="replacement lost: its replica on az-1/r2/h1 was lost too "
                             "(healed in that episode)", storage_at=None, ended_at=200.0),
           episode("p-3", log_at=None, end="returned", storage_at=None, ended_at=120.0)]
    out = heal(eps)
    assert out["valid"] is True and out["problems"] == [] and out["problem_count"] == 0
    assert out["episodes"] == 4 and out["ended"] == 4
    assert out["bound_s"] == BOUND
    # log replicas lived 250 (p-0), 50 (p-1) and 100 s (p-2); p-3 had none
    assert out["log_replica_age_s"] == {"median": 100.0, "max": 250.0}


def test_healing_without_episodes_is_valid() -> None:
    out = heal([])
    assert out["valid"] is True and out["episodes"] == 0
    assert out["log_replica_age_s"] == {"median": None, "max": None}


def test_healing_fails_for_an_episode_that_never_ended() -> None:
    out = heal([episode(end=None, storage_at=None, log_at=None)])
    assert out["valid"] is False and out["ended"] == 0
    assert out["problems"] == [{"partition": "p-0", "lost_host": "az-1/r1/h1",
                                "problem": "never ended"}]


def test_healing_says_why_an_episode_that_never_ended_was_blocked() -> None:
    out = heal([episode(end=None, storage_at=None, log_at=None,
                        blocked="no healthy host in az-1 to place a replica on")])
    assert out["problems"][0]["problem"] == ("never ended (no healthy host in az-1 to place a "
                                             "replica on)")


def test_healing_fails_for_an_episode_that_ended_oddly() -> None:
    how = "the group is whole, but not through this episode's replacement"
    out = heal([episode(end=how, storage_at=None, ended_at=200.0)])
    assert out["valid"] is False and out["ended"] == 0
    assert out["problems"][0]["problem"] == f"ended oddly: {how}"


def test_healing_fails_for_a_log_replica_older_than_the_bound() -> None:
    out = heal([episode(log_at=100.0, storage_at=100.0 + BOUND + 1.0)])
    assert out["valid"] is False
    assert out["ended"] == 1  # it ended well, only too late
    [problem] = out["problems"]
    assert problem["log_replica_host"] == "az-1/r2/h1"
    assert problem["problem"] == ("log replica lived 289.0s, bound 288.0s (0 leader changes "
                                  "and 0.0s without a leader meanwhile)")


def test_healing_passes_for_a_log_replica_exactly_at_the_bound() -> None:
    assert heal([episode(log_at=100.0, storage_at=100.0 + BOUND)])["valid"] is True


def test_healing_extends_the_bound_by_a_rebuild_per_leader_change_while_the_log_replica_lived() -> None:
    late = episode(log_at=100.0, storage_at=100.0 + BOUND + 100.0)
    # one change of p-0's leader while the log replica lived: bound + one rebuild
    assert heal([late], [("p-0", 200.0)])["valid"] is True
    # changes before it joined, after it left, or of another partition do not count
    out = heal([late], [("p-0", 50.0), ("p-0", 500.0), ("p-1", 200.0)])
    assert out["valid"] is False
    assert out["problems"][0]["problem"] == ("log replica lived 388.0s, bound 288.0s "
                                             "(0 leader changes and 0.0s without a leader meanwhile)")
    # the ends of the span count
    assert heal([late], [("p-0", 100.0)])["valid"] is True
    assert heal([late], [("p-0", 100.0 + BOUND + 100.0)])["valid"] is True
    # two rebuilds' worth needs two changes
    later = episode(log_at=100.0, storage_at=100.0 + BOUND + REBUILD + 1.0)
    assert heal([later], [("p-0", 200.0)])["valid"] is False
    assert heal([later], [("p-0", 200.0), ("p-0", 300.0)])["valid"] is True


def test_healing_ages_an_unfinished_log_replica_to_the_end_of_the_run() -> None:
    # ended by its host's return, its log replica never became a storage one
    ok = episode(end="returned", storage_at=None, ended_at=200.0)
    assert heal([ok], end_s=5000.0)["log_replica_age_s"]["max"] == 100.0
    # still open at the end: it lived until the run ended
    still = episode(end=None, storage_at=None, log_at=100.0)
    out = heal([still], end_s=100.0 + BOUND + 1.0)
    assert [p["problem"] for p in out["problems"]] == [
        "never ended",
        "log replica lived 289.0s, bound 288.0s (0 leader changes and 0.0s without a leader "
        "meanwhile)"]


def test_healing_counts_an_open_episode_as_ended_when_its_host_is_in_the_final_whole_group() -> None:
    open_ep = episode(end=None, storage_at=None, log_at=None, lost="az-1/r1/h1")
    whole = {"p-0": (("az-1/r1/h1", STORAGE), ("az-2/r1/h1", STORAGE), ("az-3/r1/h1", STORAGE))}
    out = heal([open_ep], final=whole)
    assert out["valid"] is True and out["ended"] == 1
    # not when the group is not whole (None), nor when the host is not in it
    assert heal([open_ep], final={"p-0": None})["valid"] is False
    other = {"p-0": (("az-1/r2/h1", STORAGE), ("az-2/r1/h1", STORAGE), ("az-3/r1/h1", STORAGE))}
    assert heal([open_ep], final=other)["problems"][0]["problem"] == "never ended"
    # nor when it is another partition's group
    assert heal([open_ep], final={"p-1": whole["p-0"]})["valid"] is False


def test_healing_keeps_ten_problems_and_counts_them_all() -> None:
    eps = [episode(f"p-{i:02d}", end=None, storage_at=None, log_at=None) for i in range(12)]
    out = heal(eps)
    assert out["problem_count"] == 12 and len(out["problems"]) == 10


def test_healing_extends_the_bound_by_the_time_the_partition_had_no_leader() -> None:
    # A log replica joined at 100 s; its leader was lost at 150 s and the
    # next one elected at 350 s (a group of one storage replica and two log
    # replicas waits for a storage member to come back): nobody rebuilds
    # meanwhile, and one rebuild starts again after the election.
    ep = episode(log_at=100.0, storage_at=100.0 + 250.0 + 200.0 + 250.0 + 10.0)
    assert heal([ep], elections=[("p-0", 350.0)])["valid"] is False
    out = heal([ep], elections=[("p-0", 350.0)], losses=[("p-0", 150.0)])
    assert out["valid"] is True, out["problems"]
    # ... but only by that time: 30 s more and it is too old again.
    late = episode(log_at=100.0, storage_at=100.0 + 250.0 + 200.0 + 250.0 + 40.0 + 8.0)
    bad = heal([late], elections=[("p-0", 350.0)], losses=[("p-0", 150.0)])
    assert bad["valid"] is False
    assert "200.0s without a leader" in bad["problems"][0]["problem"]
