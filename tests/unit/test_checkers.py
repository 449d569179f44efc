"""The checkers on hand-written histories, including histories that must fail."""
from __future__ import annotations

import math

import pytest

from ddbsim.lab.checkers import (
    ACKED,
    FAILED,
    MAYBE,
    ReplicaView,
    WriteLedger,
    check_convergence,
    check_durability,
    check_single_leader,
)

OK = True


def ledger(*writes: tuple) -> WriteLedger:
    """``writes`` are (key, value, invoke_s, complete_s or None, status)."""
    led = WriteLedger()
    for key, value, invoke_s, complete_s, status in writes:
        led.add(key, value, invoke_s, complete_s, status)
    return led


# -- the ledger ------------------------------------------------------------------

def test_ledger_records_outcomes() -> None:
    led = WriteLedger()
    w = led.invoke("k", "a", 1.0)
    assert (w.status, w.complete_s) == (MAYBE, math.inf)
    led.resolve(w, ACKED, 2.0)
    assert (w.status, w.complete_s) == (ACKED, 2.0)
    led.add("j", "b", 0.0, None, FAILED)
    assert led.keys() == ["j", "k"]
    assert led.acked() == 1
    with pytest.raises(ValueError, match="completion time"):
        led.resolve(w, ACKED)
    with pytest.raises(ValueError, match="unknown write status"):
        led.resolve(w, "ok")


# -- durability: histories that pass ------------------------------------------------

def test_durability_passes_when_final_value_is_the_last_acked_write() -> None:
    led = ledger(("k", "a", 0.0, 1.0, ACKED), ("k", "b", 2.0, 3.0, ACKED))
    out = check_durability(led, {"k": (OK, "b")})
    assert out["valid"] is True
    assert out["lost_writes"] == 0
    assert (out["keys_checked"], out["acked_writes"], out["unread_keys"]) == (1, 2, 0)


def test_durability_passes_for_a_later_unacked_write() -> None:
    # "c" timed out: it may have taken effect after "b" was acknowledged.
    led = ledger(("k", "a", 0.0, 1.0, ACKED), ("k", "b", 2.0, 3.0, ACKED),
                 ("k", "c", 4.0, None, MAYBE))
    assert check_durability(led, {"k": (OK, "c")})["valid"] is True


def test_durability_passes_for_a_maybe_write_invoked_before_the_last_ack() -> None:
    # A maybe-write can land at any time after its invocation, even after "b".
    led = ledger(("k", "c", 0.5, None, MAYBE), ("k", "b", 2.0, 3.0, ACKED))
    assert check_durability(led, {"k": (OK, "c")})["valid"] is True


def test_durability_passes_for_a_concurrent_acked_write() -> None:
    # "a" and "b" overlap in time: either may be the last to take effect.
    led = ledger(("k", "a", 0.0, 5.0, ACKED), ("k", "b", 1.0, 4.0, ACKED))
    assert check_durability(led, {"k": (OK, "a")})["valid"] is True
    assert check_durability(led, {"k": (OK, "b")})["valid"] is True


def test_durability_passes_for_a_delete_read_as_absent() -> None:
    led = ledger(("k", "a", 0.0, 1.0, ACKED), ("k", None, 2.0, 3.0, ACKED))
    assert check_durability(led, {"k": (OK, None)})["valid"] is True


def test_durability_passes_for_absent_key_with_no_acked_write() -> None:
    led = ledger(("k", "a", 0.0, None, MAYBE), ("k", "b", 0.0, None, FAILED))
    assert check_durability(led, {"k": (OK, None)})["valid"] is True


# -- durability: histories that must fail ---------------------------------------------

def test_durability_fails_for_an_older_write_acked_before_the_latest_was_invoked() -> None:
    led = ledger(("k", "a", 0.0, 1.0, ACKED), ("k", "b", 2.0, 3.0, ACKED),
                 ("k", "c", 4.0, 5.0, ACKED))
    out = check_durability(led, {"k": (OK, "a")})
    assert out["valid"] is False
    assert out["lost_writes"] == 2  # "b" and "c" both vanished
    ex = out["examples"][0]
    assert (ex["key"], ex["read"], ex["lost_value"], ex["lost_acked_at_s"]) == ("k", "a", "c", 5.0)


def test_durability_fails_when_the_final_value_was_never_written() -> None:
    led = ledger(("k", "a", 0.0, 1.0, ACKED), ("k", "b", 2.0, 3.0, ACKED))
    out = check_durability(led, {"k": (OK, "zzz")})
    assert out["valid"] is False
    assert out["lost_writes"] == 2
    assert "never written" in out["examples"][0]["problem"]


def test_durability_fails_when_the_final_value_comes_only_from_a_failed_write() -> None:
    led = ledger(("k", "a", 0.0, 1.0, ACKED), ("k", "x", 2.0, None, FAILED))
    out = check_durability(led, {"k": (OK, "x")})
    assert out["valid"] is False
    assert out["lost_writes"] == 1


def test_durability_fails_when_a_key_reads_absent_after_an_acked_put_followed_the_delete() -> None:
    led = ledger(("k", "a", 0.0, 1.0, ACKED), ("k", None, 2.0, 3.0, ACKED),
                 ("k", "b", 4.0, 5.0, ACKED))
    out = check_durability(led, {"k": (OK, None)})
    assert out["valid"] is False
    assert out["lost_writes"] == 1
    assert out["examples"][0]["lost_value"] == "b"


def test_durability_fails_when_an_acked_write_reads_as_never_existing() -> None:
    led = ledger(("k", "a", 0.0, 1.0, ACKED))
    out = check_durability(led, {"k": (OK, None)})
    assert (out["valid"], out["lost_writes"]) == (False, 1)


def test_durability_counts_lost_writes_across_keys() -> None:
    led = ledger(("a", "1", 0.0, 1.0, ACKED), ("a", "2", 2.0, 3.0, ACKED),
                 ("b", "1", 0.0, 1.0, ACKED), ("c", "1", 0.0, 1.0, ACKED))
    out = check_durability(led, {"a": (OK, "1"), "b": (OK, "1"), "c": (OK, None)})
    assert out["valid"] is False
    assert out["lost_writes"] == 2
    assert sorted(e["key"] for e in out["examples"]) == ["a", "c"]


def test_durability_fails_for_a_phantom_value_even_without_acked_writes() -> None:
    led = ledger(("k", "a", 0.0, None, MAYBE))
    out = check_durability(led, {"k": (OK, "phantom")})
    assert out["valid"] is False


def test_durability_unread_keys_give_unknown() -> None:
    led = ledger(("a", "1", 0.0, 1.0, ACKED), ("b", "1", 0.0, 1.0, ACKED))
    out = check_durability(led, {"a": (OK, "1"), "b": (False, None)})
    assert out["valid"] == "unknown"
    assert out["unread_keys"] == 1
    # A key missing from the final reads altogether is unread too.
    assert check_durability(led, {"a": (OK, "1")})["valid"] == "unknown"
    # But a proven loss beats not knowing.
    out = check_durability(led, {"a": (OK, None)})
    assert out["valid"] is False


# -- convergence ----------------------------------------------------------------------

def storage(host: str, lsn: int = 10, checksum: str = "c0") -> ReplicaView:
    return ReplicaView(host, "storage", lsn, checksum, {})


def log_view(host: str, log: dict, lsn: int = 10) -> ReplicaView:
    return ReplicaView(host, "log", lsn, None, log)


def test_convergence_passes_for_identical_replicas() -> None:
    groups = {"p-0": [storage("a"), storage("b"), storage("c")],
              "p-1": [storage("d", 3, "x"), storage("e", 3, "x"), storage("f", 3, "x")]}
    out = check_convergence(groups, 3)
    assert out["valid"] is True
    assert out["partitions"] == 2 and out["diverged"] == []


def test_convergence_fails_for_a_diverged_checksum() -> None:
    groups = {"p-0": [storage("a"), storage("b"), storage("c", checksum="c1")]}
    out = check_convergence(groups, 3)
    assert out["valid"] is False
    assert [d["host"] for d in out["diverged"]] == ["c"]


def test_convergence_fails_for_a_diverged_applied_lsn() -> None:
    groups = {"p-0": [storage("a"), storage("b", lsn=9), storage("c")]}
    out = check_convergence(groups, 3)
    assert out["valid"] is False
    assert out["diverged"][0]["applied_lsn"] == 9
    assert out["diverged"][0]["leader_applied_lsn"] == 10


def test_convergence_compares_log_replicas_record_by_record() -> None:
    leader_log = {1: ("put", "k", "a", None), 2: ("delete", "k")}
    same = {"p-0": [ReplicaView("a", "storage", 2, "c0", leader_log), storage("b", 2),
                    log_view("c", dict(leader_log), 2)]}
    assert check_convergence(same, 3)["valid"] is True
    bad_log = {1: ("put", "k", "a", None), 2: ("put", "k", "other", None)}
    diverged = {"p-0": [ReplicaView("a", "storage", 2, "c0", leader_log), storage("b", 2),
                        log_view("c", bad_log, 2)]}
    out = check_convergence(diverged, 3)
    assert out["valid"] is False
    assert out["diverged"][0]["kind"] == "log"


def test_convergence_unknown_when_a_group_has_too_few_replicas() -> None:
    groups = {"p-0": [storage("a"), storage("b"), storage("c")],
              "p-1": [storage("d"), storage("e")],
              "p-2": []}
    out = check_convergence(groups, 3)
    assert out["valid"] == "unknown"
    assert out["unknown_partitions"] == ["p-1", "p-2"]
    # A divergence elsewhere still fails the check.
    groups["p-0"][2] = storage("c", checksum="bad")
    assert check_convergence(groups, 3)["valid"] is False


def test_convergence_unknown_when_the_reference_is_not_a_storage_replica() -> None:
    groups = {"p-0": [log_view("a", {}), storage("b"), storage("c")]}
    assert check_convergence(groups, 3)["valid"] == "unknown"


def test_run_convergence_detects_a_corrupt_log_replica() -> None:
    from ddbsim.config import Config
    from ddbsim.lab.experiment import Run
    from ddbsim.lab.scenario import Scenario
    from ddbsim.service.membership import LOG
    from ddbsim.service.storage.log import LogRecord

    cfg = Config().with_overrides({"table.partitions": "1", "workload.rate_per_s": "0",
                                   "workload.canary_rate_per_s": "0"})
    run = Run(Scenario(name="unit", duration_s=1.0), cfg, 1)
    leader = run.service.leader_of("p-0000")
    assert leader is not None
    leader.propose(LogRecord.put("k", "v"))
    run.world.env.run(until=1.0)
    assert leader.state.commit_lsn >= 1
    follower = next(m for m in run.service.members_of("p-0000") if m is not leader)
    # Make the follower a log replica holding a different committed record.
    follower.state.kind = LOG
    follower.state.btree = None
    lsn = max(lsn for lsn in follower.state.log if lsn <= follower.state.commit_lsn)
    follower.state.log[lsn].record = LogRecord.put("k", "corrupted")
    out = check_convergence(run._replica_views(), cfg.replication.replicas)
    assert out["valid"] is False


# -- single leader -----------------------------------------------------------------

A, B, C = (1, "h1"), (2, "h2"), (3, "h3")


def test_single_leader_passes_for_disjoint_spans_of_different_ballots() -> None:
    spans = [("p", A, 0.0, 2.0), ("p", B, 2.0, 4.0), ("p", C, 5.0, 6.0),
             ("q", B, 0.0, 10.0)]  # another partition may overlap freely
    out = check_single_leader(spans)
    assert out["valid"] is True
    assert out["partitions"] == 2 and out["overlaps"] == []


def test_single_leader_passes_for_overlapping_spans_of_the_same_ballot() -> None:
    spans = [("p", A, 0.0, 3.0), ("p", [1, "h1"], 1.0, 4.0), ("p", A, 2.0, 2.5),
             ("p", B, 4.0, 5.0)]
    assert check_single_leader(spans)["valid"] is True


def test_single_leader_fails_for_overlapping_spans_of_different_ballots() -> None:
    out = check_single_leader([("p", B, 1.5, 3.0), ("p", A, 0.0, 2.0)])
    assert out["valid"] is False
    ov = out["overlaps"][0]
    assert ov["partition"] == "p"
    assert ov["ballots"] == [list(A), list(B)]
    assert ov["overlap_s"] == pytest.approx(0.5)
    assert ov["at_s"] == pytest.approx(1.5)


def test_single_leader_fails_for_a_non_adjacent_overlap() -> None:
    # A long lease A, then B inside it, then C inside it too: C overlaps A,
    # not its neighbour B.
    spans = [("p", A, 0.0, 10.0), ("p", B, 1.0, 2.0), ("p", C, 3.0, 4.0)]
    out = check_single_leader(spans)
    assert out["valid"] is False
    assert len(out["overlaps"]) == 2
    assert [o["ballots"] for o in out["overlaps"]] == [[list(A), list(B)], [list(A), list(C)]]
    # Only C overlapping A (B is the same ballot as A) still fails.
    out = check_single_leader([("p", A, 0.0, 10.0), ("p", A, 1.0, 2.0), ("p", C, 3.0, 4.0)])
    assert out["valid"] is False
    assert out["overlaps"][0]["ballots"] == [list(A), list(C)]


def test_single_leader_empty_history_is_valid() -> None:
    assert check_single_leader([]) == {"valid": True, "partitions": 0, "overlaps": []}
