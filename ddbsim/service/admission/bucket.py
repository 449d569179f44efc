"""The token bucket, exact and lazily refilled.

A bucket holds up to ``capacity`` tokens and gains ``rate_per_s`` tokens
per simulated second.  There is no timer per bucket: the bucket remembers
when it was last brought up to date (``t_s``) and, whenever it is used,
adds what the elapsed time earned -- so an idle bucket costs nothing, and
ten thousand partitions' buckets cost nothing between their requests.

It is exact: refilling at instants ``t1 < t2 < t3`` leaves the same tokens
as refilling once at ``t3``, up to floating-point rounding (the refill is
linear until the bucket is full, and the tokens beyond ``capacity`` are
handed back as *overflow*, which is what a burst bucket is made of, see
:mod:`ddbsim.service.admission.partition`).  Over any interval of length
``T`` a bucket grants at most ``rate_per_s * T + capacity`` tokens, and a
demand that never exceeds that bound -- in particular one kept below the
rate, starting from a full bucket -- is never refused (the property tests
of ``tests/unit/test_admission_bucket.py``).

:meth:`take` grants all or nothing; :meth:`charge` debits even into debt
(a bucket below zero refuses until it has earned its way back), for costs
learnt only after the work was done.  :meth:`level` reads the tokens
without changing the bucket, so observing it never changes a run.
"""
from __future__ import annotations

#: Slack for floating-point rounding: a request for exactly the tokens
#: there are is granted even if the refill rounded them a hair short.
EPSILON = 1e-9


class TokenBucket:
    __slots__ = ("rate_per_s", "capacity", "tokens", "t_s")

    def __init__(self, rate_per_s: float, capacity: float, t_s: float = 0.0,
                 tokens: float | None = None) -> None:
        if rate_per_s < 0 or capacity < 0:
            raise ValueError(f"a bucket's rate and capacity are zero or more, got "
                             f"{rate_per_s}, {capacity}")
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self.tokens = capacity if tokens is None else min(tokens, capacity)
        self.t_s = t_s

    def refill(self, now_s: float) -> float:
        """Bring the bucket up to ``now_s``; return the overflow: the tokens
        the elapsed time earned beyond ``capacity`` (lost to this bucket)."""
        dt = now_s - self.t_s
        if dt <= 0.0:
            return 0.0
        self.t_s = now_s
        full = self.tokens + self.rate_per_s * dt
        if full <= self.capacity:
            self.tokens = full
            return 0.0
        self.tokens = self.capacity  # never above capacity: nothing puts more in
        return full - self.capacity

    def level(self, now_s: float) -> float:
        """The tokens at ``now_s``, without changing the bucket."""
        dt = now_s - self.t_s
        if dt <= 0.0:
            return self.tokens
        full = self.tokens + self.rate_per_s * dt
        return full if full <= self.capacity else self.capacity

    def take(self, n: float, now_s: float) -> bool:
        """Grant ``n`` tokens now if there are that many, else none."""
        self.refill(now_s)
        if self.tokens + EPSILON >= n:
            self.tokens -= n
            return True
        return False

    def has(self, n: float, now_s: float) -> bool:
        """Whether ``n`` tokens could be taken now (refills, takes nothing)."""
        self.refill(now_s)
        return self.tokens + EPSILON >= n

    def charge(self, n: float, now_s: float) -> None:
        """Debit ``n`` tokens now, into debt if need be."""
        self.refill(now_s)
        self.tokens -= n

    def add(self, n: float) -> float:
        """Put ``n`` tokens in (up to ``capacity``); return what did not fit."""
        room = self.capacity - self.tokens
        if n <= room:
            self.tokens += n
            return 0.0
        self.tokens = self.capacity
        return n - room

    def set_rate(self, rate_per_s: float, capacity: float, now_s: float) -> float:
        """Change the rate and capacity from ``now_s`` on (the time before
        is refilled at the old rate); tokens above a lowered capacity are
        lost, and returned with the refill's overflow."""
        overflow = self.refill(now_s)
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        if self.tokens > capacity:
            overflow += self.tokens - capacity
            self.tokens = capacity
        return overflow

    def __repr__(self) -> str:
        return (f"TokenBucket(rate_per_s={self.rate_per_s:g}, capacity={self.capacity:g}, "
                f"tokens={self.tokens:g}, t_s={self.t_s:g})")
