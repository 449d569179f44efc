"""A continuous-time Markov chain (CTMC) of ONE replication group's write availability.

**What it models.**  One partition of ddbsim: a Multi-Paxos group of
``replicas`` members (3, one per AZ, paper §3) that serves a write when it
has a leader and ``write_quorum`` (2) of its members are up.  The hosts under
the members fail and return on their own:

* a host fails at rate ``1/mtbf_s`` while up, and a failed member is back
  (serving again) after a mean ``off_s`` -- an alternating renewal process,
  the host churn of :mod:`ddbsim.lab.churn`;
* when the leader's host fails, a new leader serves after a mean
  ``failover_s`` (followers notice the silence, wait out the old lease, win
  an election and recover the log: paper §6.2), provided a quorum is up;
* when a member's host fails under a serving leader, the leader replaces it
  after a mean ``heal_s`` with a *log replica* on another host of the same
  AZ (paper §5.1: "seconds"), unless the host returns first.  A replacement
  is a full member from then on; the failed host, when it returns, is no
  longer one.  ``heal_s = inf`` means no healing.

This is the classical k-of-n availability model with repair (Trivedi,
*Probability and Statistics with Reliability, Queuing and Computer Science
Applications*, 2nd ed., ch. 8-9), extended with a leader and a healing path.

**States** (``k`` = members whose hosts are up, ``n`` = replicas,
``q`` = write quorum):

* ``serving_k`` (q <= k <= n): a leader serves writes -- the only states
  where writes succeed.  ``serving_n`` is the full group, ``serving_k`` for
  k < n a degraded group being healed or waiting for its host;
* ``failover_k`` (q <= k <= n): the leader's host failed, a quorum is up,
  an election is under way; writes fail;
* ``no_quorum_k_leader`` (1 <= k < q): quorum lost, the leader's host is
  among the ``k`` up; writes fail until a member returns, and then the same
  leader serves again (ddbsim's leader does not step down when it loses its
  quorum, it stops committing);
* ``no_quorum_k`` (0 <= k < q): quorum lost with no leader; when a member
  returns and restores a quorum, a failover starts.

**Transitions** (``lam = 1/mtbf_s``, ``mu = 1/off_s``, ``phi =
1/failover_s``, ``eta = 1/heal_s``):

* ``serving_k``: the leader's host fails (lam) -> ``failover_{k-1}``, or
  ``no_quorum_{k-1}`` if that leaves fewer than q; a follower's host fails
  ((k-1) lam) -> ``serving_{k-1}``, or ``no_quorum_{k-1}_leader``; a down
  member returns ((n-k) mu) or is healed ((n-k) eta) -> ``serving_{k+1}``;
* ``failover_k``: elected (phi) -> ``serving_k``; a host fails (k lam) ->
  ``failover_{k-1}`` or ``no_quorum_{k-1}``; a down member returns
  ((n-k) mu) -> ``failover_{k+1}``.  Nobody heals without a leader;
* ``no_quorum_k_leader``: the leader's host fails (lam) ->
  ``no_quorum_{k-1}``; a follower's host fails ((k-1) lam) ->
  ``no_quorum_{k-1}_leader``; a member returns ((n-k) mu) ->
  ``serving_{k+1}`` if that is a quorum, else ``no_quorum_{k+1}_leader``;
* ``no_quorum_k``: a host fails (k lam) -> ``no_quorum_{k-1}``; a member
  returns ((n-k) mu) -> ``failover_{k+1}`` if that is a quorum, else
  ``no_quorum_{k+1}``.  Nobody heals without a quorum: a membership change
  is a log record and needs one.

With n = 3, q = 2 that is 7 states: ``serving_3``, ``serving_2``,
``failover_3``, ``failover_2``, ``no_quorum_1_leader``, ``no_quorum_1``,
``no_quorum_0``.  The four obvious states (full, failover, degraded, quorum
lost) are refined: the failover keeps its count of members up (a second
failure during a failover leaves it without a quorum; a return does not end
it), and quorum loss remembers whether the leader survived (it then resumes
at once when a member returns; otherwise a failover follows).

**Assumptions** (:data:`ASSUMPTIONS`): every holding time is exponential
(memoryless: a failover or a healing interrupted by another event starts
afresh); hosts fail independently of each other and of the group's state,
with no correlated (rack, AZ) failures; a log replica counts as a full
member, and nothing is modelled after it (the storage-replica rebuild, a
failure of the log replica's host before it, are just more of the same
failures); routers learn a new leader at once; a request fails only when the
group cannot serve (no time-outs of requests in flight, no retries).
Writes are spread evenly over the partitions, so the region's write
availability is the mean over groups, and by linearity of expectation that
is one group's figure, even though groups share hosts (sharing correlates
the groups: it widens the spread between runs, not the mean).

**Solved exactly**: the stationary distribution ``pi Q = 0, sum(pi) = 1`` of
the generator ``Q`` by the GTH algorithm (Grassmann, Taksar and Heyman,
*Operations Research* 33(5), 1985), state reduction without subtractions,
so every probability, even one of 1e-12, has full relative precision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

SERVING, FAILOVER, NO_QUORUM = "serving", "failover", "no_quorum"

#: The model's assumptions, on one line (printed beside its figure).
ASSUMPTIONS = ("CTMC of one group: exponential holding times; independent host failures, none "
               "correlated; a log replica is a full member; routers learn a new leader at once; "
               "no healing without a leader and a quorum; requests fail only while the group "
               "cannot serve")


@dataclass(frozen=True)
class State:
    """A state of the chain: its phase, the members up, whether the leader's host is up."""

    phase: str  # SERVING, FAILOVER or NO_QUORUM
    up: int  # members whose hosts are up
    leader_up: bool  # the leader's host is among them (NO_QUORUM only; implied otherwise)

    @property
    def name(self) -> str:
        return f"{self.phase}_{self.up}" + ("_leader" if self.phase == NO_QUORUM and self.leader_up
                                            else "")

    @property
    def writes(self) -> bool:
        return self.phase == SERVING


@dataclass(frozen=True)
class Solution:
    """The stationary distribution of a :class:`GroupModel`."""

    model: GroupModel
    probabilities: dict[str, float]  # state name -> long-run fraction of time

    @property
    def availability(self) -> float:
        """The long-run fraction of time writes are served."""
        return math.fsum(p for name, p in self.probabilities.items() if name.startswith(SERVING))

    @property
    def unavailability(self) -> float:
        """``1 - availability``, summed over the failing states (no cancellation)."""
        return math.fsum(p for name, p in self.probabilities.items()
                         if not name.startswith(SERVING))

    def to_dict(self) -> dict[str, Any]:
        return {"availability": self.availability, "unavailability": self.unavailability,
                "states": dict(self.probabilities)}


@dataclass(frozen=True)
class GroupModel:
    """One replication group under host churn.  Times in seconds; ``heal_s``
    may be ``math.inf`` (no healing)."""

    mtbf_s: float  # mean up time of a host between failures
    off_s: float  # mean time a failed member is down when not replaced
    failover_s: float  # mean time from the leader's host failing to a new leader serving
    heal_s: float = math.inf  # mean time from a member failing to its replacement serving
    replicas: int = 3
    write_quorum: int = 2

    def __post_init__(self) -> None:
        for name in ("mtbf_s", "off_s", "failover_s"):
            value = getattr(self, name)
            if not (_is_number(value) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive, finite number of seconds, "
                                 f"got {value!r}")
        if not (_is_number(self.heal_s) and not math.isnan(self.heal_s) and self.heal_s > 0):
            raise ValueError(f"heal_s must be a positive number of seconds (inf: no healing), "
                             f"got {self.heal_s!r}")
        for name in ("replicas", "write_quorum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of 1 or more, got {value!r}")
        if not self.replicas / 2 < self.write_quorum <= self.replicas:
            raise ValueError(f"write_quorum must be a majority of replicas and at most replicas, "
                             f"got {self.write_quorum} of {self.replicas}")

    # -- rates ---------------------------------------------------------------
    @property
    def fail_rate_per_s(self) -> float:
        return 1.0 / self.mtbf_s

    @property
    def return_rate_per_s(self) -> float:
        return 1.0 / self.off_s

    @property
    def failover_rate_per_s(self) -> float:
        return 1.0 / self.failover_s

    @property
    def heal_rate_per_s(self) -> float:
        return 0.0 if math.isinf(self.heal_s) else 1.0 / self.heal_s

    # -- the chain -----------------------------------------------------------
    def states(self) -> list[State]:
        n, q = self.replicas, self.write_quorum
        out = [State(SERVING, k, True) for k in range(n, q - 1, -1)]
        out += [State(FAILOVER, k, False) for k in range(n, q - 1, -1)]
        for k in range(q - 1, -1, -1):
            if k >= 1:
                out.append(State(NO_QUORUM, k, True))
            out.append(State(NO_QUORUM, k, False))
        return out

    def transitions(self) -> list[tuple[State, State, float]]:
        """Every transition ``(from, to, rate_per_s)`` with a positive rate."""
        n, q = self.replicas, self.write_quorum
        lam, mu = self.fail_rate_per_s, self.return_rate_per_s
        phi, eta = self.failover_rate_per_s, self.heal_rate_per_s

        def leaderless(k: int) -> State:
            return State(FAILOVER, k, False) if k >= q else State(NO_QUORUM, k, False)

        def led(k: int) -> State:
            return State(SERVING, k, True) if k >= q else State(NO_QUORUM, k, True)

        out: list[tuple[State, State, float]] = []
        for s in self.states():
            k, down = s.up, n - s.up
            if s.phase == SERVING or (s.phase == NO_QUORUM and s.leader_up):
                out.append((s, leaderless(k - 1), lam))  # the leader's host fails
                out.append((s, led(k - 1), (k - 1) * lam))  # a follower's host fails
                out.append((s, led(k + 1), down * mu))  # a down member returns
                if s.phase == SERVING:
                    out.append((s, led(k + 1), down * eta))  # a down member is replaced
            else:
                if s.phase == FAILOVER:
                    out.append((s, State(SERVING, k, True), phi))  # a new leader serves
                out.append((s, leaderless(k - 1), k * lam))
                out.append((s, leaderless(k + 1), down * mu))
        return [(a, b, r) for a, b, r in out if r > 0]

    def generator(self) -> np.ndarray:
        """The generator ``Q`` (rows sum to zero), states in :meth:`states` order."""
        states = self.states()
        index = {s: i for i, s in enumerate(states)}
        q = np.zeros((len(states), len(states)))
        for a, b, rate in self.transitions():
            q[index[a], index[b]] += rate
        np.fill_diagonal(q, -q.sum(axis=1))
        return q

    def solve(self) -> Solution:
        """The stationary distribution, exactly (GTH state reduction)."""
        pi = stationary(self.generator())
        return Solution(self, {s.name: float(p) for s, p in zip(self.states(), pi, strict=True)})

    def describe(self) -> str:
        """The inputs, the figure and the assumptions, as text."""
        sol = self.solve()
        heal = "none" if math.isinf(self.heal_s) else f"{self.heal_s:g} s"
        return (f"one group of {self.replicas} replicas, write quorum {self.write_quorum}: host "
                f"MTBF {self.mtbf_s:g} s, down {self.off_s:g} s, failover {self.failover_s:g} s, "
                f"healing {heal}\n"
                f"steady-state write availability {sol.availability:.6%} "
                f"(first order, failover only: {1 - self.failover_s / self.mtbf_s:.6%})\n"
                f"assumptions: {ASSUMPTIONS}")


def stationary(q: np.ndarray) -> np.ndarray:
    """``pi`` with ``pi Q = 0`` and ``sum(pi) = 1`` for an irreducible generator
    ``Q``, by the GTH algorithm: censor the chain on states ``0..k-1`` for
    ``k = m-1 .. 1`` (only additions, multiplications and divisions of
    non-negative numbers), then rebuild ``pi`` forwards."""
    r = np.array(q, dtype=float)
    m = r.shape[0]
    if r.shape != (m, m) or m == 0:
        raise ValueError(f"a generator is a non-empty square matrix, got shape {r.shape}")
    np.fill_diagonal(r, 0.0)
    if (r < 0).any():
        raise ValueError("a generator's off-diagonal rates must be zero or more")
    out_rate = np.zeros(m)
    for k in range(m - 1, 0, -1):
        s = r[k, :k].sum()
        if not s > 0:
            raise ValueError("the chain is not irreducible: a state cannot reach the ones before it")
        out_rate[k] = s
        r[:k, :k] += np.outer(r[:k, k], r[k, :k]) / s
    pi = np.zeros(m)
    pi[0] = 1.0
    for k in range(1, m):
        pi[k] = pi[:k] @ r[:k, k] / out_rate[k]
    return pi / pi.sum()


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
