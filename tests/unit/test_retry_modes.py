"""Each SDK retry mode's delays and quota arithmetic against hand-computed
values (the jitter draw is scripted)."""
from __future__ import annotations

import math

import pytest

from ddbsim.config import Config
from ddbsim.lab.retry_modes import (
    CubicRateLimiter,
    Legacy,
    NoRetries,
    Standard,
    retry_policy,
)


class FixedDraws:
    """A stand-in for :class:`~ddbsim.world.streams.Draws`: every uniform is ``u``."""

    def __init__(self, u: float) -> None:
        self.u = u
        self.calls = 0

    def uniform(self) -> float:
        self.calls += 1
        return self.u


def policy(mode: str, u: float = 0.5) -> Standard:
    p = retry_policy(mode, Config().client, FixedDraws(u))  # type: ignore[arg-type]
    assert isinstance(p, Standard)
    return p


def test_none_never_retries() -> None:
    p = retry_policy("none", Config().client, FixedDraws(0.5))  # type: ignore[arg-type]
    assert isinstance(p, NoRetries)
    assert p.retry(1, "unavailable", 0.0) is None and p.retry(1, "timeout", 0.0) is None


def test_standard_delays_are_full_jitter_exponential() -> None:
    p = policy("standard", u=0.5)
    # attempt 1 failed: U * min(20, 0.1 * 2**0) = 0.05; attempt 2: 0.5 * 0.2 = 0.1
    assert p.retry(1, "unavailable", 0.0) == pytest.approx((0.05, 5))
    assert p.retry(2, "unavailable", 0.0) == pytest.approx((0.1, 5))
    # 3 attempts in all: after the third, no more
    assert p.retry(3, "unavailable", 0.0) is None
    # throttled: base 0.5 s -> 0.5 * 0.5 * 2 = 0.5 after the second attempt
    assert p.retry(2, "throttled", 0.0) == pytest.approx((0.5, 5))
    # the cap: base * 2**(n-1) above 20 s is 20 s
    big = Standard(FixedDraws(1.0), 30, 0.1, 0.5, 20.0, 500, 5, 10)  # type: ignore[arg-type]
    assert big.retry(12, "unavailable", 0.0) == pytest.approx((20.0, 5))  # 0.1 * 2048 > 20


def test_standard_quota_arithmetic() -> None:
    p = policy("standard")
    assert p.quota == 500
    p.retry(1, "timeout", 0.0)  # 10 tokens after a timeout
    p.retry(1, "unavailable", 0.0)  # 5 otherwise
    assert p.quota == 485
    p.succeeded(2, 5, 0.0)  # a retried success gives back what its retry cost
    assert p.quota == 490
    p.succeeded(1, 0, 0.0)  # a first-try success gives back 1
    assert p.quota == 491
    for _ in range(20):
        p.succeeded(1, 0, 0.0)
    assert p.quota == 500  # never above the bucket
    # draining it: 100 retries of 5 tokens, then none
    for _ in range(100):
        assert p.retry(1, "unavailable", 0.0) is not None
    assert p.quota == 0
    assert p.retry(1, "unavailable", 0.0) is None
    # a timeout retry needs 10: with 5 left it is refused, a plain one is not
    p.quota = 5
    assert p.retry(1, "timeout", 0.0) is None
    assert p.retry(1, "unavailable", 0.0) is not None and p.quota == 0


def test_standard_2026_for_dynamodb() -> None:
    p = policy("standard_2026", u=1.0)
    assert p.name == "standard_2026" and p.max_attempts == 4
    # 25 ms base: 0.025, 0.05, 0.1, then the fourth attempt was the last
    assert [p.retry(n, "unavailable", 0.0)[0] for n in (1, 2, 3)] == pytest.approx(  # type: ignore[index]
        [0.025, 0.05, 0.1])
    assert p.retry(4, "unavailable", 0.0) is None
    assert p.quota == 500 - 3 * 14  # 14 tokens per transient retry
    p.retry(1, "timeout", 0.0)
    assert p.quota == 500 - 4 * 14
    p.retry(1, "throttled", 0.0)  # 5 per throttle retry, same 25 ms base
    assert p.quota == 500 - 4 * 14 - 5


def test_legacy_doubles_without_jitter_or_quota() -> None:
    p = retry_policy("legacy", Config().client, FixedDraws(0.0))  # type: ignore[arg-type]
    assert isinstance(p, Legacy)
    delays = [p.retry(n, "timeout", 0.0) for n in range(1, 11)]
    assert [d[0] for d in delays[:9]] == pytest.approx(  # type: ignore[index]
        [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8])
    assert delays[9] is None  # 10 attempts in all
    assert all(d[1] == 0 for d in delays[:9])  # type: ignore[index]
    assert Legacy(max_attempts=20).retry(11, "timeout", 0.0) == (20.0, 0)  # 51.2 s capped


def test_adaptive_limiter_is_off_until_the_first_throttle() -> None:
    lim = CubicRateLimiter()
    for i in range(10):
        lim.update(i * 0.1, throttled=False)
        assert lim.acquire(i * 0.1) == 0.0
    assert not lim.enabled


def test_adaptive_cubic_arithmetic() -> None:
    lim = CubicRateLimiter(0.0)
    # 10 responses in [0, 0.5), then one at 0.5: the bucket closes at rate
    # 11 / 0.5 = 22/s, smoothed 0.8 * 22 + 0.2 * 0 = 17.6/s
    for i in range(10):
        lim.update(i * 0.05, throttled=False)
    lim.update(0.5, throttled=True)
    assert lim.measured_rate == pytest.approx(17.6)
    assert lim.enabled
    # the throttle: last max = measured 17.6, new rate = 0.7 * 17.6 = 12.32
    assert lim.last_max_rate == pytest.approx(17.6)
    assert lim.fill_rate == pytest.approx(12.32)
    k = (17.6 * 0.3 / 0.4) ** (1 / 3)
    assert lim.k == pytest.approx(k)
    # a success 1 s after the throttle: 0.4 * (1 - K)**3 + 17.6, capped at 2x measured
    lim.update(1.5, throttled=False)
    measured = 0.8 * (1 / 1.0) + 0.2 * 17.6  # one response in [0.5, 1.5): bucket 1.5 closes
    assert lim.measured_rate == pytest.approx(measured)
    cubic = 0.4 * (1.0 - k) ** 3 + 17.6
    assert lim.fill_rate == pytest.approx(max(min(cubic, 2 * measured), 0.5))
    # the bucket: with tokens short, a send waits for the refill
    lim.capacity = 0.0
    lim.last_refill_s = 2.0
    wait = lim.acquire(2.0)
    assert wait == pytest.approx(1.0 / lim.fill_rate)
    assert math.isfinite(wait)


def test_adaptive_retries_like_standard() -> None:
    p = policy("adaptive", u=0.5)
    assert p.retry(1, "unavailable", 0.0) == pytest.approx((0.05, 5))
    assert p.send_delay(0.1) == 0.0  # no throttle yet
