"""The AWS SDKs' retry modes, as pluggable policies of a client.

Retries are what turn a spike into a metastable failure (Bronson et al.,
HotOS'21; Huang et al., OSDI'22: retries sustained more than half of the
incidents they studied), and what an SDK does about it differs by mode.
A client (:class:`~ddbsim.lab.workload.Client`) asks its policy three
things: may this operation try again after this failure, after what delay
and at what token cost (:meth:`RetryPolicy.retry`); a success happened
(:meth:`RetryPolicy.succeeded`, which refills the retry quota and feeds a
rate limiter); and, before each attempt, how long the client-side rate
limiter makes it wait (:meth:`RetryPolicy.send_delay`, 0 for every mode but
adaptive).  Jitter is drawn from the client's own retry stream.

Modes (``client.retry_mode``):

* ``none`` -- one attempt, never a retry.
* ``standard`` -- the AWS SDKs' standard mode, with its numbers in
  :class:`~ddbsim.config.ClientConfig` (``[sdk]``): ``max_attempts`` (3)
  attempts, full-jitter exponential back-off ``U(0,1) * min(cap, base *
  2**(attempt-1))`` with base 100 ms (500 ms after a throttle) and cap 20 s,
  and a retry quota of 500 tokens: a retry spends 5 (10 after a timeout); a
  success gives back what its retry spent, or 1 if it needed none.  It is
  the behaviour the client always had.
* ``standard_2026`` -- the newer standard mode as DynamoDB clients get it
  (AWS SDKs, 2026): 4 attempts, 25 ms base, 14 tokens per transient retry
  (an error or a timeout), 5 per throttle retry; otherwise as standard.
  (A server's retry-after is honoured by the SDKs; ddbsim's service sends
  none.)
* ``legacy`` -- the old DynamoDB default of the SDKs: 10 attempts, 50 ms
  base doubling each retry, no jitter, no quota, 20 s cap.
* ``adaptive`` -- standard, plus botocore's client-side rate limiter: off
  until the first throttle, then a token bucket whose rate follows CUBIC
  (beta 0.7, C 0.4) from the send rate measured in 0.5 s buckets
  (smoothed, 0.8), never above twice the measured rate.
"""
from __future__ import annotations

import math
from typing import Protocol

from ddbsim.config import RETRY_MODES, ClientConfig
from ddbsim.world.streams import Draws

TIMEOUT = "timeout"
THROTTLED = "throttled"

# standard_2026 (DynamoDB) -- AWS SDKs (2026)
SRA_DDB_MAX_ATTEMPTS = 4  # [sdk] attempts for DynamoDB in the newer standard mode
SRA_DDB_BASE_S = 0.025  # [sdk] back-off base for DynamoDB
SRA_TRANSIENT_COST = 14  # [sdk] tokens per retry after a transient error or timeout
SRA_THROTTLE_COST = 5  # [sdk] tokens per retry after a throttle

# legacy -- the SDKs' old DynamoDB default
LEGACY_MAX_ATTEMPTS = 10  # [sdk] attempts (the first included): "10 retries" of old clients
LEGACY_BASE_S = 0.05  # [sdk] first back-off, doubled each retry, no jitter

# adaptive -- botocore's ClientRateLimiter and CubicCalculator
CUBIC_BETA = 0.7  # [sdk] rate kept after a throttle
CUBIC_SCALE = 0.4  # [sdk] CUBIC's C
RATE_BUCKET_S = 0.5  # [sdk] send rate measured in buckets of this width
RATE_SMOOTH = 0.8  # [sdk] weight of the newest bucket in the measured rate
MIN_FILL_RATE = 0.5  # [sdk] the token bucket never fills slower than this (per s)
MIN_CAPACITY = 1.0  # [sdk] the token bucket holds at least one token


class RetryPolicy(Protocol):
    """What a client asks of its retry mode (see the module docstring)."""

    name: str

    def retry(self, attempts: int, status: str, now_s: float) -> tuple[float, int] | None:
        """After the ``attempts``-th attempt failed with ``status``: the delay
        before the next and the tokens it costs, or None to give up."""

    def succeeded(self, attempts: int, last_cost: int, now_s: float) -> None:
        """An operation succeeded on its ``attempts``-th attempt (its last
        retry cost ``last_cost`` tokens)."""

    def send_delay(self, now_s: float) -> float:
        """How long the next attempt waits for the rate limiter (0: none)."""


class NoRetries:
    name = "none"

    def retry(self, attempts: int, status: str, now_s: float) -> tuple[float, int] | None:
        return None

    def succeeded(self, attempts: int, last_cost: int, now_s: float) -> None:
        pass

    def send_delay(self, now_s: float) -> float:
        return 0.0


class Standard:
    """Full-jitter exponential back-off and a retry quota."""

    name = "standard"

    def __init__(self, draws: Draws, max_attempts: int, base_s: float, throttled_base_s: float,
                 cap_s: float, quota: int, cost: int, timeout_cost: int,
                 throttle_cost: int | None = None) -> None:
        self.draws = draws
        self.max_attempts = max_attempts
        self.base_s = base_s
        self.throttled_base_s = throttled_base_s
        self.cap_s = cap_s
        self.capacity = quota
        self.quota = quota
        self.cost = cost
        self.timeout_cost = timeout_cost
        self.throttle_cost = cost if throttle_cost is None else throttle_cost

    def cost_of(self, status: str) -> int:
        if status == TIMEOUT:
            return self.timeout_cost
        if status == THROTTLED:
            return self.throttle_cost
        return self.cost

    def retry(self, attempts: int, status: str, now_s: float) -> tuple[float, int] | None:
        cost = self.cost_of(status)
        if attempts >= self.max_attempts or self.quota < cost:
            return None
        self.quota -= cost
        base = self.throttled_base_s if status == THROTTLED else self.base_s
        return self.draws.uniform() * min(self.cap_s, base * 2 ** (attempts - 1)), cost

    def succeeded(self, attempts: int, last_cost: int, now_s: float) -> None:
        self.quota = min(self.capacity, self.quota + (last_cost if attempts > 1 else 1))

    def send_delay(self, now_s: float) -> float:
        return 0.0


class Legacy:
    """Many attempts, deterministic doubling back-off, no quota."""

    name = "legacy"

    def __init__(self, max_attempts: int = LEGACY_MAX_ATTEMPTS, base_s: float = LEGACY_BASE_S,
                 cap_s: float = 20.0) -> None:
        self.max_attempts = max_attempts
        self.base_s = base_s
        self.cap_s = cap_s

    def retry(self, attempts: int, status: str, now_s: float) -> tuple[float, int] | None:
        if attempts >= self.max_attempts:
            return None
        return min(self.cap_s, self.base_s * 2 ** (attempts - 1)), 0

    def succeeded(self, attempts: int, last_cost: int, now_s: float) -> None:
        pass

    def send_delay(self, now_s: float) -> float:
        return 0.0


class CubicRateLimiter:
    """botocore's client rate limiter: a token bucket whose fill rate
    follows CUBIC, enabled by the first throttle."""

    def __init__(self, now_s: float = 0.0) -> None:
        self.enabled = False
        self.fill_rate = MIN_FILL_RATE
        self.max_capacity = MIN_CAPACITY
        self.capacity = 0.0
        self.last_refill_s = now_s
        self.measured_rate = 0.0
        self.last_bucket_s = math.floor(now_s / RATE_BUCKET_S) * RATE_BUCKET_S
        self.bucket_count = 0
        self.last_max_rate = 0.0
        self.last_throttle_s = now_s
        self.k = 0.0

    # -- the token bucket -------------------------------------------------
    def _refill(self, now_s: float) -> None:
        self.capacity = min(self.max_capacity,
                            self.capacity + (now_s - self.last_refill_s) * self.fill_rate)
        self.last_refill_s = now_s

    def acquire(self, now_s: float) -> float:
        """Take a token for a send now; how long the send must wait for it."""
        if not self.enabled:
            return 0.0
        self._refill(now_s)
        self.capacity -= 1.0  # taken now, owed until the bucket refills
        return 0.0 if self.capacity >= 0.0 else -self.capacity / self.fill_rate

    # -- CUBIC ------------------------------------------------------------
    def _measure(self, now_s: float) -> None:
        bucket = math.floor(now_s / RATE_BUCKET_S) * RATE_BUCKET_S
        self.bucket_count += 1
        if bucket > self.last_bucket_s:
            rate = self.bucket_count / (bucket - self.last_bucket_s)
            self.measured_rate = rate * RATE_SMOOTH + self.measured_rate * (1 - RATE_SMOOTH)
            self.bucket_count = 0
            self.last_bucket_s = bucket

    def update(self, now_s: float, throttled: bool) -> None:
        """A response arrived (throttled or not): adjust the send rate."""
        self._measure(now_s)
        if throttled:
            rate = self.measured_rate if not self.enabled else min(self.measured_rate,
                                                                   self.fill_rate)
            self.last_max_rate = rate
            self.k = (rate * (1 - CUBIC_BETA) / CUBIC_SCALE) ** (1 / 3)
            self.last_throttle_s = now_s
            new_rate = rate * CUBIC_BETA
            self.enabled = True
        else:
            if not self.enabled:
                return
            dt = now_s - self.last_throttle_s
            new_rate = CUBIC_SCALE * (dt - self.k) ** 3 + self.last_max_rate
        new_rate = min(new_rate, 2 * self.measured_rate)
        self._refill(now_s)
        self.fill_rate = max(new_rate, MIN_FILL_RATE)
        self.max_capacity = max(new_rate, MIN_CAPACITY)
        self.capacity = min(self.capacity, self.max_capacity)


class Adaptive(Standard):
    """Standard retries behind a CUBIC client-side rate limiter."""

    name = "adaptive"

    def __init__(self, draws: Draws, *args: int | float) -> None:
        super().__init__(draws, *args)  # type: ignore[arg-type]
        self.limiter = CubicRateLimiter()

    def retry(self, attempts: int, status: str, now_s: float) -> tuple[float, int] | None:
        self.limiter.update(now_s, status == THROTTLED)
        return super().retry(attempts, status, now_s)

    def succeeded(self, attempts: int, last_cost: int, now_s: float) -> None:
        self.limiter.update(now_s, False)
        super().succeeded(attempts, last_cost, now_s)

    def send_delay(self, now_s: float) -> float:
        return self.limiter.acquire(now_s)


def retry_policy(mode: str, c: ClientConfig, draws: Draws) -> RetryPolicy:
    """The policy of retry mode ``mode``, with the standard numbers of ``c``."""
    standard = (c.max_attempts, c.base_backoff_s, c.throttled_base_backoff_s, c.max_backoff_s,
                c.retry_quota, c.retry_cost, c.timeout_retry_cost)
    if mode == "none":
        return NoRetries()
    if mode == "standard":
        return Standard(draws, *standard)
    if mode == "standard_2026":
        policy = Standard(draws, SRA_DDB_MAX_ATTEMPTS, SRA_DDB_BASE_S, SRA_DDB_BASE_S,
                          c.max_backoff_s, c.retry_quota, SRA_TRANSIENT_COST, SRA_TRANSIENT_COST,
                          SRA_THROTTLE_COST)
        policy.name = "standard_2026"
        return policy
    if mode == "legacy":
        return Legacy(cap_s=c.max_backoff_s)
    if mode == "adaptive":
        return Adaptive(draws, *standard)
    raise ValueError(f"unknown retry mode {mode!r}; use one of {', '.join(RETRY_MODES)}")
