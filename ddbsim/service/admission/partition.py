"""A partition's buckets: the allocated bucket and the burst bucket
(paper §4.1.1).

The *allocated* bucket refills at the partition's allocated rate and holds
``admission.allocated_bucket_s`` of it.  With bursting, what it earns while
full is not lost: it overflows into the *burst* bucket, which holds up to
``admission.burst_s`` (300 s) of the allocated rate -- "up to 300 seconds of
unused capacity".  Both are exact and lazy (:mod:`.bucket`): the overflow
of any stretch of time is computed in one step when the partition is next
used, so a partition costs nothing between its requests.

A request spends allocated tokens first; only when they are short may it
spend burst tokens, and then only if the node can take it (see
:mod:`.storage`).  A partition has one pair of buckets for reads (RCU) and
one for writes (WCU).
"""
from __future__ import annotations

from ddbsim.service.admission.bucket import EPSILON, TokenBucket


class PartitionBuckets:
    """The allocated bucket, and with bursting the burst bucket, of one
    partition for one kind (reads or writes)."""

    __slots__ = ("allocated", "burst", "allocated_s", "burst_s", "version")

    def __init__(self, rate_per_s: float, now_s: float, allocated_s: float, burst_s: float,
                 version: int = 0) -> None:
        self.allocated_s = allocated_s
        self.burst_s = burst_s
        # A new partition (or a new leader's view of one) starts with its
        # allocated bucket full and nothing saved up for bursts.
        self.allocated = TokenBucket(rate_per_s, rate_per_s * allocated_s, now_s)
        self.burst: TokenBucket | None = (
            TokenBucket(0.0, rate_per_s * burst_s, now_s, tokens=0.0) if burst_s > 0 else None)
        self.version = version

    @property
    def rate_per_s(self) -> float:
        return self.allocated.rate_per_s

    def refill(self, now_s: float) -> None:
        """Bring both buckets up to ``now_s``: what the allocated bucket
        earned beyond its capacity goes to the burst bucket."""
        overflow = self.allocated.refill(now_s)
        if overflow > 0.0 and self.burst is not None:
            self.burst.add(overflow)

    def set_rate(self, rate_per_s: float, now_s: float, version: int) -> None:
        """A new allocated rate from ``now_s`` (boosted or taken back)."""
        overflow = self.allocated.set_rate(rate_per_s, rate_per_s * self.allocated_s, now_s)
        burst = self.burst
        if burst is not None:
            burst.set_rate(0.0, rate_per_s * self.burst_s, now_s)
            if overflow > 0.0:
                burst.add(overflow)
        self.version = version

    def can_burst(self, n: float) -> bool:
        burst = self.burst
        return burst is not None and burst.tokens + EPSILON >= n

    def take_burst(self, n: float) -> None:
        assert self.burst is not None
        self.burst.tokens -= n

    def levels(self, now_s: float) -> tuple[float, float]:
        """(allocated, burst) tokens at ``now_s``, without changing anything."""
        allocated = self.allocated
        dt = now_s - allocated.t_s
        earned = allocated.tokens + allocated.rate_per_s * max(0.0, dt)
        overflow = max(0.0, earned - allocated.capacity)
        burst = self.burst
        saved = 0.0 if burst is None else min(burst.capacity, burst.tokens + overflow)
        return min(earned, allocated.capacity), saved
