"""The token bucket: exact lazy refill, and its conformance properties.

Over any interval the tokens granted are at most ``rate x interval +
capacity``, and a demand that conforms to the bucket -- in particular one
kept below its rate, starting from a full bucket -- is never refused."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddbsim.service.admission.bucket import TokenBucket

# (gap since the previous request in s, tokens asked)
requests = st.lists(st.tuples(st.floats(0.0, 5.0), st.floats(0.01, 50.0)), min_size=1,
                    max_size=120)
rates = st.floats(0.5, 200.0)
capacities = st.floats(1.0, 100.0)


def replay(bucket: TokenBucket, reqs: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Ask for each request at its time; (time, tokens granted) of each."""
    t = 0.0
    out = []
    for gap, n in reqs:
        t += gap
        out.append((t, n if bucket.take(n, t) else 0.0))
    return out


@settings(max_examples=300, deadline=None)
@given(requests, rates, capacities, st.floats(0.0, 1.0))
def test_granted_never_exceeds_rate_times_interval_plus_capacity(
        reqs: list[tuple[float, float]], rate: float, capacity: float, start_full: float) -> None:
    bucket = TokenBucket(rate, capacity, 0.0, tokens=capacity * start_full)
    granted = replay(bucket, reqs)
    for i in range(len(granted)):
        total = 0.0
        for j in range(i, len(granted)):
            total += granted[j][1]
            interval = granted[j][0] - granted[i][0]
            assert total <= rate * interval + capacity + 1e-6, (i, j, total, interval)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0.001, 5.0), st.floats(0.0, 1.0)), min_size=1, max_size=200),
       rates, capacities)
def test_a_bucket_kept_below_its_rate_never_refuses(
        steps: list[tuple[float, float]], rate: float, capacity: float) -> None:
    """Each request asks for at most what the time since the previous one
    earned (and at most the capacity): the demand never outruns the rate."""
    bucket = TokenBucket(rate, capacity, 0.0)
    t = 0.0
    for gap, share in steps:
        t += gap
        n = share * min(rate * gap, capacity)
        assert bucket.take(n, t), (t, n, bucket)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 3.0), min_size=1, max_size=30), rates, capacities,
       st.floats(0.0, 1.0))
def test_refilling_in_steps_is_refilling_once(gaps: list[float], rate: float, capacity: float,
                                              start: float) -> None:
    """Lazy refill is exact: many small refills leave what one big one does,
    and the overflow (what a burst bucket gets) adds up the same."""
    stepped = TokenBucket(rate, capacity, 0.0, tokens=capacity * start)
    once = TokenBucket(rate, capacity, 0.0, tokens=capacity * start)
    t = 0.0
    overflow = 0.0
    for gap in gaps:
        t += gap
        overflow += stepped.refill(t)
    assert once.refill(t) == pytest.approx(overflow, abs=1e-6)
    assert once.tokens == pytest.approx(stepped.tokens, abs=1e-6)


def test_level_reads_without_changing() -> None:
    bucket = TokenBucket(10.0, 5.0, 0.0, tokens=0.0)
    assert bucket.level(0.2) == pytest.approx(2.0)
    assert bucket.level(10.0) == 5.0
    assert bucket.t_s == 0.0 and bucket.tokens == 0.0  # untouched


def test_take_is_all_or_nothing_and_charge_goes_into_debt() -> None:
    bucket = TokenBucket(1.0, 2.0, 0.0)
    assert bucket.take(2.0, 0.0)
    assert not bucket.take(0.5, 0.0)
    assert bucket.tokens == 0.0
    bucket.charge(3.0, 1.0)  # earned 1, owes 3
    assert bucket.tokens == pytest.approx(-2.0)
    assert not bucket.take(1.0, 3.5)  # back to 0.5 only
    assert bucket.take(1.0, 4.0)


def test_overflow_and_set_rate() -> None:
    bucket = TokenBucket(10.0, 5.0, 0.0)
    assert bucket.refill(2.0) == pytest.approx(20.0)  # full all along: everything overflows
    assert bucket.set_rate(1.0, 2.0, 2.0) == pytest.approx(3.0)  # above the new capacity
    assert bucket.tokens == 2.0
    assert bucket.add(5.0) == pytest.approx(5.0)
    bucket.tokens = 0.0
    assert bucket.add(1.5) == 0.0 and bucket.tokens == 1.5
