"""The linearizability and eventual-read checkers on hand-written histories,
including histories that must fail, and on histories generated from the model."""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddbsim.lab.checkers.linearizability import check_eventual_reads, check_linearizable
from ddbsim.lab.history import Op


class H:
    """Builds a history concisely.  Times are (invoke_s, complete_s); an
    ``info`` or never-completed (outcome None) op's completion is ignored."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def _add(self, kind: str, key: str, t: tuple[float, float | None], outcome: str | None,
             value: Any = None, result: Any = None, version: int = 0, expected: int | None = None,
             p: str = "c1", attempts: int = 1) -> H:
        complete_s = t[1] if outcome is not None else None
        self.ops.append(Op(len(self.ops), p, kind, key, value, t[0], expected, outcome, complete_s,
                           result if outcome == "ok" else None, version if outcome == "ok" else 0,
                           attempts))
        return self

    def put(self, key: str, value: Any, t: tuple[float, float | None], version: int = 0,
            outcome: str | None = "ok", p: str = "c1", attempts: int = 1) -> H:
        return self._add("put", key, t, outcome, value, None, version, p=p, attempts=attempts)

    def delete(self, key: str, t: tuple[float, float | None], version: int = 0,
               outcome: str | None = "ok", p: str = "c1") -> H:
        return self._add("delete", key, t, outcome, None, None, version, p=p)

    def cput(self, key: str, value: Any, expected: int, t: tuple[float, float | None],
             applied: bool = True, version: int = 0, outcome: str | None = "ok", p: str = "c1",
             attempts: int = 1) -> H:
        return self._add("cond_put", key, t, outcome, value, applied, version, expected, p, attempts)

    def get(self, key: str, t: tuple[float, float | None], value: Any, version: int = 0,
            outcome: str | None = "ok", p: str = "c1") -> H:
        return self._add("get_strong", key, t, outcome, None, value, version, p=p)

    def eget(self, key: str, t: tuple[float, float | None], value: Any, version: int = 0,
             outcome: str | None = "ok", p: str = "c1") -> H:
        return self._add("get_eventual", key, t, outcome, None, value, version, p=p)

    def lin(self, **kw: Any) -> dict[str, Any]:
        return check_linearizable(self.ops, **kw)

    def ev(self) -> dict[str, Any]:
        return check_eventual_reads(self.ops)


def passes(h: H, **kw: Any) -> dict[str, Any]:
    out = h.lin(**kw)
    assert json.loads(json.dumps(out)) == out
    assert out["valid"] is True, out
    assert (out["failures"], out["unknown_keys"], out["failed_keys"]) == ([], [], 0)
    return out


def fails(h: H, key: str = "k", **kw: Any) -> dict[str, Any]:
    out = h.lin(**kw)
    assert json.loads(json.dumps(out)) == out
    assert out["valid"] is False, out
    assert [f["key"] for f in out["failures"]] == [key]
    return out["failures"][0]


# -- histories that are linearizable ---------------------------------------------------

def test_sequential_puts_gets_and_a_delete() -> None:
    h = (H().put("k", "a", (0, 1), 1).get("k", (2, 3), "a", 1).put("k", "b", (4, 5), 2)
         .get("k", (6, 7), "b", 2).delete("k", (8, 9), 3).get("k", (10, 11), None, 3))
    out = passes(h)
    assert (out["keys"], out["ops"], out["unknown_count"]) == (1, 6, 0)


def test_empty_history_and_a_never_written_key() -> None:
    assert passes(H())["keys"] == 0
    assert passes(H().get("k", (0, 1), None, 0))["ops"] == 1


@pytest.mark.parametrize("seen", [("a", 1), ("b", 2)])
def test_a_read_concurrent_with_a_put_may_see_either_value(seen: tuple[str, int]) -> None:
    h = H().put("k", "a", (0, 1), 1).put("k", "b", (2, 5), 2).get("k", (3, 4), *seen)
    passes(h)


@pytest.mark.parametrize("first,second", [("a", "b"), ("b", "a")])
def test_two_concurrent_puts_in_either_order_when_reads_agree(first: str, second: str) -> None:
    h = (H().put("k", "a", (0, 4), 1 if first == "a" else 2, p="c1")
         .put("k", "b", (1, 5), 1 if first == "b" else 2, p="c2")
         .get("k", (2, 3), first, 1, p="c3").get("k", (6, 7), second, 2, p="c3"))
    passes(h)


def test_two_concurrent_puts_read_in_an_order_their_versions_deny() -> None:
    # "a" was read at v1, so it went first; then "b" is v2 and "a" can't be read at v2
    h = (H().put("k", "a", (0, 4), 1).put("k", "b", (1, 5), 2)
         .get("k", (2, 3), "a", 1).get("k", (6, 7), "a", 2))
    fails(h)


def test_an_info_put_whose_value_is_read_took_effect() -> None:
    h = H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), outcome="info").get("k", (5, 6), "b", 2)
    passes(h)


def test_an_info_put_never_read_did_not_take_effect() -> None:
    h = (H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), outcome="info").get("k", (5, 6), "a", 1)
         .put("k", "c", (7, 8), 2).get("k", (9, 10), "c", 2))
    passes(h)


def test_a_never_completed_put_may_be_read_later() -> None:
    h = H().put("k", "a", (0, 1), 1).put("k", "b", (2, None), outcome=None).get("k", (50, 51), "b", 2)
    passes(h)


def test_cond_put_applied_and_not_applied() -> None:
    h = (H().cput("k", "a", 0, (0, 1), True, 1).put("k", "b", (2, 3), 2)
         .cput("k", "c", 2, (4, 5), True, 3).cput("k", "d", 2, (6, 7), False, 3)
         .get("k", (8, 9), "c", 3))
    passes(h)


def test_cond_put_treats_a_tombstone_as_version_zero() -> None:
    h = (H().put("k", "a", (0, 1), 1).delete("k", (2, 3), 2).get("k", (4, 5), None, 2)
         .cput("k", "x", 2, (6, 7), False, 2).cput("k", "b", 0, (8, 9), True, 3)
         .get("k", (10, 11), "b", 3))
    passes(h)


def test_a_retried_cond_put_that_saw_its_own_write_may_be_read() -> None:
    # attempt 1 timed out but applied; attempt 2 found v1 and did not apply
    h = (H().cput("k", "a", 0, (0, 3), False, 1, attempts=2).get("k", (4, 5), "a", 1)
         .eget("k", (4, 5), "a", 1))
    passes(h)
    assert h.ev()["valid"] is True
    one_attempt = H().cput("k", "a", 0, (0, 3), False, 1).get("k", (4, 5), "a", 1)
    fails(one_attempt)


def test_a_failed_put_never_read() -> None:
    h = H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), outcome="fail").get("k", (4, 5), "a", 1)
    out = passes(h)
    assert out["ops"] == 2


def test_failed_and_info_reads_and_eventual_reads_are_ignored() -> None:
    h = (H().put("k", "a", (0, 1), 1).get("k", (2, 3), "zz", 7, outcome="fail")
         .get("k", (4, 5), "yy", 9, outcome="info").get("k", (4, 5), "xx", 9, outcome=None)
         .eget("k", (6, 7), "ww", 3))
    h.ops[1].result, h.ops[2].result = "zz", "yy"  # whatever a failed read carries, it is ignored
    out = passes(h)
    assert out["ops"] == 1


# -- histories that are not -----------------------------------------------------------

def test_stale_read_after_an_acknowledged_write() -> None:
    h = H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), 2).get("k", (4, 5), "a", 1, p="c2")
    f = fails(h)
    assert f["reason"] == ("get_strong #2 at 4-5s returned 'a' v1, but could not be linearized: "
                           "the register then held 'b' v2 (2 of 3 ops ordered)")
    assert f["ops"] == ["#0 c1 put 'a' 0-1s ok v1", "#1 c1 put 'b' 2-3s ok v2",
                        "#2 c2 get_strong 4-5s returned 'a' v1"]


def test_lost_write() -> None:
    # "b" was acknowledged, yet every later read shows the earlier "a"
    h = (H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), 2, p="c2")
         .get("k", (4, 5), "a", 1).get("k", (9, 10), "a", 1))
    assert "get_strong #2 " in fails(h)["reason"]
    assert "get_strong #2 " in fails(h, versions=False)["reason"]


def test_a_value_never_written() -> None:
    h = H().put("k", "a", (0, 1), 1).get("k", (2, 3), "zz", 2)
    f = fails(h)
    assert f["reason"] == ("get_strong #1 at 2-3s returned 'zz' v2, a value no write to this key "
                           "that may have taken effect wrote")


def test_a_read_of_a_failed_writes_value() -> None:
    h = H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), outcome="fail").get("k", (4, 5), "b", 2)
    assert "get_strong #2 " in fails(h)["reason"]


def test_strong_reads_going_backwards() -> None:
    h = (H().put("k", "a", (0, 1), 1).put("k", "b", (2, 20), 2)
         .get("k", (3, 4), "b", 2, p="c2").get("k", (5, 6), "a", 1, p="c3"))
    assert "get_strong #3 " in fails(h)["reason"]
    fails(h, versions=False)


def test_cond_put_applied_though_its_version_could_not_match() -> None:
    h = H().put("k", "a", (0, 1), 1).cput("k", "b", 0, (2, 3), True, 2)
    assert fails(h)["reason"].startswith("cond_put #1 'b' if v0 at 2-3s applied v2, but")
    fails(h, versions=False)  # the condition alone rules it out


def test_an_info_write_cannot_both_have_and_not_have_happened() -> None:
    h = (H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), outcome="info")
         .get("k", (4, 5), "b", 2).get("k", (6, 7), "a", 1))
    assert "get_strong #3 " in fails(h)["reason"]
    fails(h, versions=False)


def test_a_version_mismatch_fails_only_when_versions_count() -> None:
    h = H().put("k", "a", (0, 1), 1).get("k", (2, 3), "a", 5)
    fails(h)
    passes(h, versions=False)
    w = H().put("k", "a", (0, 1), 3).get("k", (2, 3), "a", 3)
    assert fails(w)["reason"].startswith("put #0 'a' at 0-1s ok v3, but")
    passes(w, versions=False)


def test_a_hard_key_beyond_max_states_is_unknown() -> None:
    h = H()
    for i in range(8):
        h.put("k", f"v{i}", (0, 10), outcome="info", p=f"c{i}")
    for i in range(8):
        h.get("k", (1 + i, 1.5 + i), f"v{i}", i + 1, p="r")
    h.put("j", "a", (0, 1), 1)
    out = h.lin(max_states=20)
    assert (out["valid"], out["unknown_keys"], out["unknown_count"], out["failures"]) == \
        ("unknown", ["k"], 1, [])
    assert passes(h)["keys"] == 2


@pytest.mark.parametrize("then,valid", [(4, True), (5, False), (2, True)])
def test_unread_info_writes_count_through_the_versions(then: int, valid: bool) -> None:
    # neither "x" nor "y" is ever read; "b" at v4 says both took effect, v2 neither; v5 is impossible
    h = (H().put("k", "a", (0, 1), 1).put("k", "x", (2, 3), outcome="info")
         .delete("k", (2.5, 3), outcome="info").put("k", "b", (4, 5), then).get("k", (6, 7), "b", then))
    if valid:
        passes(h)
    else:
        assert fails(h)["reason"].startswith("put #3 'b' at 4-5s ok v5, but")


@pytest.mark.parametrize("stale", [False, True])
def test_many_pending_info_writes_are_decided_not_unknown(stale: bool) -> None:
    # 40 timed-out writes, none ever read: those of even cycles took effect (the next
    # version skips one), the other 20 stay pending for the rest of the history
    h = H().put("k", "a0", (0, 1), 1)
    version = 1
    for i in range(40):
        h.put("k", f"x{i}", (10 * i + 2, 10 * i + 3), outcome="info", p=f"t{i}")
        h.get("k", (10 * i + 4, 10 * i + 5), f"a{i}", version, p="r")
        version += 2 if i % 2 == 0 else 1
        h.put("k", f"a{i + 1}", (10 * i + 6, 10 * i + 7), version, p="w")
    if stale:
        h.get("k", (1000, 1001), "a20", 31, p="r")
        assert fails(h, max_states=20_000)["reason"].startswith("get_strong #121 at 1000-1001s")
    else:
        passes(h, max_states=20_000)


def test_a_failing_key_names_itself_only() -> None:
    h = (H().put("good", "a", (0, 1), 1).put("bad", "x", (0, 1), 1).put("bad", "y", (2, 3), 2)
         .get("good", (4, 5), "a", 1).get("bad", (4, 5), "x", 1))
    out = h.lin()
    assert (out["valid"], out["keys"], out["ops"], out["failed_keys"]) == (False, 2, 5, 1)
    assert [f["key"] for f in out["failures"]] == ["bad"]
    assert [op.split()[0] for op in out["failures"][0]["ops"]] == ["#1", "#2", "#4"]


def test_unknown_kinds_and_outcomes_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown kind 'scan'"):
        check_linearizable([Op(0, "c1", "scan", "k", None, 0.0, outcome="ok", complete_s=1.0)])
    with pytest.raises(ValueError, match="unknown outcome 'error'"):
        check_linearizable([Op(0, "c1", "put", "k", "a", 0.0, outcome="error", complete_s=1.0)])


# -- eventual reads ----------------------------------------------------------------------

def test_eventual_reads_may_be_stale_but_real() -> None:
    h = (H().eget("k", (0.2, 0.4), None, 0, p="r").put("k", "a", (0, 1), 1).put("k", "b", (2, 3), 2)
         .put("k", "c", (4, 5), 3).eget("k", (10, 10.5), "a", 1, p="r")
         .eget("k", (11, 11.5), "c", 3, p="r").eget("k", (12, 12.5), "b", 2, p="r"))
    out = h.ev()
    assert out == {
        "valid": True, "reads": 4, "violations": [], "violation_count": 0,
        "staleness": {"reads": 4, "stale": 2, "stale_fraction": 0.5,
                      "versions_behind": {"p50": 1, "p90": 2, "p99": 2, "max": 2},
                      "seconds_stale": {"p50": 7.0, "p90": 7.0, "p99": 7.0, "max": 7.0}},
        "read_your_writes_misses": 0,
    }
    # the same reads are not linearizable, of course
    assert check_linearizable([_strong(op) for op in h.ops])["valid"] is False


def test_eventual_staleness_figures_with_no_stale_reads_are_none() -> None:
    out = H().put("k", "a", (0, 1), 1).eget("k", (2, 3), "a", 1).ev()
    assert out["staleness"] == {"reads": 1, "stale": 0, "stale_fraction": 0.0,
                                "versions_behind": {"p50": None, "p90": None, "p99": None, "max": None},
                                "seconds_stale": {"p50": None, "p90": None, "p99": None, "max": None}}
    assert H().ev()["staleness"]["stale_fraction"] == 0.0


def test_eventual_reads_of_info_writes_and_tombstones() -> None:
    h = (H().put("k", "a", (0, 1), 1).put("k", "b", (2, 3), outcome="info").eget("k", (2.5, 4), "b", 2)
         .delete("k", (5, 6), 3).eget("k", (7, 8), None, 3).delete("k", (9, 10), outcome="info")
         .eget("k", (11, 12), None, 7))
    out = h.ev()
    assert (out["valid"], out["violations"]) == (True, [])


def test_eventual_read_of_a_never_written_value() -> None:
    out = H().put("k", "a", (0, 1), 1).put("j", "zz", (0, 1), 1).eget("k", (2, 3), "zz", 1).ev()
    assert out["valid"] is False
    assert out["violations"] == [{"key": "k", "read": "#2 c1 get_eventual 2-3s returned 'zz' v1",
                                  "problem": "returned 'zz' v1, a value never written to this key"}]


def test_eventual_read_of_a_failed_writes_value() -> None:
    h = (H().put("k", "a", (0, 1), outcome="fail").cput("k", "b", 0, (0, 1), False, 0)
         .eget("k", (2, 3), "a", 1).eget("k", (2, 3), "b", 1))
    out = h.ev()
    assert (out["valid"], out["violation_count"]) == (False, 2)
    assert [v["problem"] for v in out["violations"]] == [
        "returned 'a' v1, written only by put #0 'a' at 0-1s fail, which did not take effect",
        "returned 'b' v1, written only by cond_put #1 'b' if v0 at 0-1s not applied, saw v0, "
        "which did not take effect"]


def test_eventual_read_whose_version_does_not_match_its_write() -> None:
    h = (H().put("k", "a", (0, 1), 1).eget("k", (2, 3), "a", 2).delete("k", (4, 5), 2)
         .eget("k", (6, 7), None, 5).eget("k", (6, 7), None, 2))
    out = h.ev()
    assert (out["valid"], out["violation_count"]) == (False, 2)
    assert [v["problem"] for v in out["violations"]] == [
        "returned 'a' v2, but put #0 'a' at 0-1s ok v1 (the version must match)",
        "returned a tombstone v5, but delete #2 at 4-5s ok v2 (the version must match)"]


def test_eventual_read_of_a_tombstone_no_delete_made_or_of_the_future() -> None:
    h = H().put("k", "a", (5, 6), 1).eget("k", (2, 3), None, 1).eget("k", (2, 3), "a", 1)
    out = h.ev()
    assert [v["problem"] for v in out["violations"]] == [
        "returned a tombstone v1, but no delete of this key could have produced it",
        "returned 'a' v1, written only by put #0 'a' at 5-6s ok v1, invoked after the read completed"]


def test_read_your_writes_misses_are_counted_not_failed() -> None:
    h = (H().put("k", "a", (0, 1), 1, p="w").put("k", "b", (2, 3), 2, p="w")
         .eget("k", (4, 5), "a", 1, p="w").eget("k", (4, 5), "a", 1, p="other")
         .eget("k", (2.5, 5), "a", 1, p="w").delete("k", (6, 7), 3, p="w").eget("k", (8, 9), "b", 2, p="w"))
    out = h.ev()
    assert (out["valid"], out["read_your_writes_misses"]) == (True, 2)
    assert out["staleness"]["stale"] == 3


# -- generated from the model ---------------------------------------------------------------

def _strong(op: Op) -> Op:
    return Op(op.index, op.process, "get_strong" if op.kind == "get_eventual" else op.kind, op.key,
              op.value, op.invoke_s, op.expected_version, op.outcome, op.complete_s, op.result,
              op.version, op.attempts)


KINDS = ["put", "cond_put", "delete", "get_strong", "get_eventual"]
STEPS = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 2),
                           st.sampled_from(["ok", "ok", "ok", "fail", "info", None]),
                           st.booleans(), st.integers(0, 1000)), max_size=30)


def _model_history(steps: list[tuple[str, int, str | None, bool, int]], last_key: int) -> list[Op]:
    """A sequential history the register model produced.  An info or
    never-completed write took effect iff ``coin``; a cond_put expects the
    current version iff ``coin``; an eventual read returns any earlier state."""
    states: dict[str, list[tuple[Any, int]]] = {}
    ops: list[Op] = []
    steps = [*steps, ("get_strong", last_key, "ok", True, 0)]
    for i, (kind, k, outcome, coin, n) in enumerate(steps):
        key = f"k{k}"
        history = states.setdefault(key, [(None, 0)])
        value, version = history[-1]
        current = version if value is not None else 0
        t0, t1 = 2.0 * i, 2.0 * i + 1
        op = Op(i, f"c{n % 3}", kind, key, f"v{i}" if kind in ("put", "cond_put") else None, t0,
                outcome=outcome, complete_s=t1 if outcome is not None else None)
        if kind in ("get_strong", "get_eventual"):
            if outcome == "ok":
                op.result, op.version = history[-1] if kind == "get_strong" else history[n % len(history)]
        else:
            if kind == "cond_put":
                op.expected_version = current if coin else current + 1 + n % 2
            happens = outcome == "ok" or (outcome in ("info", None) and coin)
            holds = kind != "cond_put" or op.expected_version == current
            if happens and holds:
                history.append((op.value, version + 1))
            if outcome == "ok":
                op.result = holds if kind == "cond_put" else None
                op.version = version + 1 if holds else version
        ops.append(op)
    return ops


@settings(max_examples=150, deadline=None)
@given(STEPS, st.integers(0, 2), st.integers(0, 10_000))
def test_histories_from_the_model_pass_and_a_phantom_read_fails(steps: list, last_key: int,
                                                                pick: int) -> None:
    ops = _model_history(steps, last_key)
    assert check_linearizable(ops)["valid"] is True
    assert check_eventual_reads(ops)["valid"] is True
    strong = [op for op in ops if op.kind == "get_strong" and op.outcome == "ok"]
    victim = strong[pick % len(strong)]
    victim.result = "never-written"
    out = check_linearizable(ops)
    assert out["valid"] is False
    assert [f["key"] for f in out["failures"]] == [victim.key]
