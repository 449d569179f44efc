"""A continuous-time Markov chain (CTMC) of ONE replication group's write availability.

**What it models.**  One partition of ddbsim: a Multi-Paxos group of
``replicas`` members (3, one per AZ, paper §3) that serves a write when it
has a leader and ``write_quorum`` (2) of its members are up.  A member is a
**storage replica** (B-tree and WAL) or a **log replica** (WAL only, paper
§5.1): a log replica accepts log records and counts towards the write
quorum, but it **never leads** -- it has no B-tree to serve reads from or to
recover a log onto.  The hosts under the members fail and return on their
own:

* a host fails at rate ``1/mtbf_s`` while up, and a failed member is back
  (serving again, as the kind it was) after a mean ``off_s`` -- an
  alternating renewal process, the host churn of :mod:`ddbsim.lab.churn`;
* when the leader's host fails, a new leader serves after a mean
  ``failover_s`` (followers notice the silence, wait out the old lease, win
  an election and recover the log: paper §6.2), provided a quorum is up
  **and a storage replica is up** to lead.  With no storage replica up the
  group waits, leaderless, for one to come back (its host's off time and
  boot), however many log replicas are up;
* when a member's host fails under a serving leader, the leader replaces it
  after a mean ``heal_s`` with a *log replica* on another host of the same
  AZ (paper §5.1: a log replica takes "seconds", as it copies only the
  unarchived WAL), unless the host returns first.  The replaced member,
  storage or log, is no longer one when its host returns;
* the leader then rebuilds each log replica **in place** into a storage
  replica by copying its B-tree to it (paper §5.1: "minutes"; ddbsim's
  ``healing.rebuild_s`` = partition size / rebuild bandwidth, ~250 s).  The
  copy is the leader's volatile state: it runs only while a leader serves
  with a quorum, it is lost when leadership moves (the next leader starts
  it again), and nothing is rebuilt while the group has no leader.  Copies
  of several log replicas run side by side.

So a group can be left with one storage replica and two log replicas; if
that storage replica's host fails, nobody can lead until a storage member
returns, although a quorum is up -- the ``no_storage`` states below.  This
is the classical k-of-n availability model with repair (Trivedi,
*Probability and Statistics with Reliability, Queuing and Computer Science
Applications*, 2nd ed., ch. 8-9), extended with a leader, healing and two
kinds of member.

**States.**  ``S`` storage and ``L`` log replicas up, ``Ds`` storage and
``Dl`` log replicas down (``S + L + Ds + Dl = n``, the replicas), and
whether a leader is up (always one of the ``S``); ``k = S + L`` members up,
``q`` the write quorum.  The phase follows:

* ``serving`` (a leader, ``k >= q``): the only states where writes succeed;
* ``failover`` (no leader, ``k >= q``, ``S >= 1``): an election is under way;
* ``no_storage`` (no leader, ``k >= q``, ``S = 0``): a quorum of log
  replicas and no member able to lead; it waits for a storage member;
* ``no_quorum`` (``k < q``), with the leader's host up (``_leader``: ddbsim's
  leader does not step down when it loses its quorum, it stops committing,
  and serves again as soon as a member returns) or without.

A state is named ``{phase}_{k}`` (``_leader`` for a no-quorum state with a
leader), then ``_log{L}`` and ``_downlog{Dl}`` when it holds log replicas
(``S = k - L``, ``Ds = n - k - Dl``); the **coarse** name leaves out the
kinds.  Only states reachable from the full group (``S = n``) are in the
chain: ``S + Ds >= 1`` always (the leader is never replaced, so a group
never holds log replicas only), so with n = 3, q = 2 there are 26 states:
10 with a leader (``S >= 1``) and 16 without.

**Transitions** (``lam = 1/mtbf_s``, ``mu = 1/off_s``, ``phi =
1/failover_s``, ``eta = 1/heal_s``, ``rho = 1/rebuild_s``), member by
member, each independent of the others:

* a host fails: the leader's (lam) leaves the group leaderless (``S-1,
  Ds+1``), another storage member's ((S-1) lam, or ``S lam`` without a
  leader) or a log replica's (``L lam``: ``L-1, Dl+1``) keeps the leader;
* a down member returns as its own kind (``Ds mu``: ``S+1``; ``Dl mu``:
  ``L+1``); a leader that lost its quorum serves again at once;
* in ``serving`` only: a down member, storage or log, is replaced by an up
  log replica (``(Ds + Dl) eta``: ``L+1``) and a log replica is rebuilt into
  a storage replica (``L rho``: ``L-1, S+1``).  Nobody heals or rebuilds
  without a leader, nor under a leader that cannot reach a quorum (a
  membership change is a log record and needs one);
* in ``failover`` only: a storage replica is elected (phi) -> ``serving``.

Exponential holding times make the "start the copy again when leadership
moves" rule come for free: the rebuild rate is simply off outside
``serving``, and a copy has no memory of the time it already ran.

**The old model** -- a log replica is a full member from the moment it
joins (it may lead; nothing is rebuilt) -- is ``rebuild_s=None`` (or 0):
the limit ``rebuild_s -> 0`` of this chain (a replacement becomes a storage
replica at once), with 7 states for n = 3, q = 2: ``serving_3``,
``serving_2``, ``failover_3``, ``failover_2``, ``no_quorum_1_leader``,
``no_quorum_1``, ``no_quorum_0``.  The two differ by one rule only: let a
log replica lead and the kinds change no rate of the (phase, members up)
process, so this chain lumps exactly onto the old one; the gap between
them is the time a group spends with a quorum up but no storage replica
(third order in ``rebuild_s`` for a fast rebuild: two log replicas unbuilt,
then the leader's host failing, all within one rebuild).

**Assumptions** (:data:`ASSUMPTIONS`; :data:`ASSUMPTIONS_FULL_MEMBERS` for
the old model): every holding time is exponential (memoryless: a failover,
a healing or a rebuild interrupted by another event starts afresh -- ddbsim's
rebuild is a fixed copy time, so the chain gives it a spread it does not
have, with the same mean, and a restart costs it nothing, where ddbsim's
copy loses its progress); leadership moves only when the leader's host fails
(in ddbsim a returning member may also preempt a serving leader, which
restarts the copies too); an election after a storage member returns takes
a failover time like any other; hosts fail independently of each
other and of the group's state, with no correlated (rack, AZ) failures; a
healing always finds a host; routers learn a new leader at once; a request
fails only when the group cannot serve (no time-outs of requests in flight,
no retries).  Writes are spread evenly over the partitions, so the region's
write availability is the mean over groups, and by linearity of expectation
that is one group's figure, even though groups share hosts (sharing
correlates the groups: it widens the spread between runs, not the mean).

**Solved exactly**: the stationary distribution ``pi Q = 0, sum(pi) = 1`` of
the generator ``Q`` by the GTH algorithm (Grassmann, Taksar and Heyman,
*Operations Research* 33(5), 1985), state reduction without subtractions,
so every probability, even one of 1e-12, has full relative precision.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

SERVING, FAILOVER, NO_STORAGE, NO_QUORUM = "serving", "failover", "no_storage", "no_quorum"
_PHASE_ORDER = {SERVING: 0, FAILOVER: 1, NO_STORAGE: 2, NO_QUORUM: 3}

#: The model's assumptions, on one line (printed beside its figure).
ASSUMPTIONS = ("CTMC of one group: exponential holding times; independent host failures, none "
               "correlated; only a storage replica leads; a replacement is a log replica, "
               "rebuilt into a storage replica only while a leader serves (lost when leadership "
               "moves); leadership moves only when the leader's host fails; routers learn a new "
               "leader at once; no healing without a leader and a quorum; requests fail only "
               "while the group cannot serve")

#: The old model's (``rebuild_s=None``): a log replica is a full member.
ASSUMPTIONS_FULL_MEMBERS = ("CTMC of one group: exponential holding times; independent host "
                            "failures, none correlated; a log replica is a full member; routers "
                            "learn a new leader at once; no healing without a leader and a "
                            "quorum; requests fail only while the group cannot serve")


@dataclass(frozen=True)
class State:
    """A state of the chain: its phase, whether a leader is up, and the
    members up and down by kind."""

    phase: str  # SERVING, FAILOVER, NO_STORAGE or NO_QUORUM
    leader_up: bool  # a leader is up (one of the storage replicas up)
    storage_up: int
    log_up: int = 0
    storage_down: int = 0
    log_down: int = 0

    @property
    def up(self) -> int:
        """Members whose hosts are up."""
        return self.storage_up + self.log_up

    @property
    def coarse_name(self) -> str:
        """The phase and the members up, kinds left out (the old model's names)."""
        return f"{self.phase}_{self.up}" + ("_leader" if self.phase == NO_QUORUM
                                             and self.leader_up else "")

    @property
    def name(self) -> str:
        return (self.coarse_name + (f"_log{self.log_up}" if self.log_up else "")
                + (f"_downlog{self.log_down}" if self.log_down else ""))

    @property
    def writes(self) -> bool:
        return self.phase == SERVING


@dataclass(frozen=True)
class Solution:
    """The stationary distribution of a :class:`GroupModel`."""

    model: GroupModel
    probabilities: dict[str, float]  # state name -> long-run fraction of time
    coarse: dict[str, float]  # coarse state name (kinds left out) -> long-run fraction of time

    @property
    def availability(self) -> float:
        """The long-run fraction of time writes are served."""
        return math.fsum(p for name, p in self.probabilities.items() if name.startswith(SERVING))

    @property
    def unavailability(self) -> float:
        """``1 - availability``, summed over the failing states (no cancellation)."""
        return math.fsum(p for name, p in self.probabilities.items()
                         if not name.startswith(SERVING))

    def phases(self) -> dict[str, float]:
        """The long-run fraction of time in each phase (``no_quorum`` with or
        without a leader together)."""
        out = dict.fromkeys(_PHASE_ORDER, 0.0)
        parts: dict[str, list[float]] = defaultdict(list)
        for name, p in self.probabilities.items():
            parts[next(ph for ph in _PHASE_ORDER if name.startswith(ph + "_"))].append(p)
        out.update({ph: math.fsum(ps) for ph, ps in parts.items()})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"availability": self.availability, "unavailability": self.unavailability,
                "phases": self.phases(), "coarse_states": dict(self.coarse),
                "states": dict(self.probabilities)}


@dataclass(frozen=True)
class GroupModel:
    """One replication group under host churn.  Times in seconds; ``heal_s``
    may be ``math.inf`` (no healing); ``rebuild_s`` None or 0 is the old
    model (a log replica is a full member)."""

    mtbf_s: float  # mean up time of a host between failures
    off_s: float  # mean time a failed member is down when not replaced
    failover_s: float  # mean time from the leader's host failing to a new leader serving
    heal_s: float = math.inf  # mean time from a member failing to its replacement serving
    replicas: int = 3
    write_quorum: int = 2
    rebuild_s: float | None = None  # mean copy time of a log replica into a storage replica

    def __post_init__(self) -> None:
        for name in ("mtbf_s", "off_s", "failover_s"):
            value = getattr(self, name)
            if not (_is_number(value) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive, finite number of seconds, "
                                 f"got {value!r}")
        if not (_is_number(self.heal_s) and not math.isnan(self.heal_s) and self.heal_s > 0):
            raise ValueError(f"heal_s must be a positive number of seconds (inf: no healing), "
                             f"got {self.heal_s!r}")
        if self.rebuild_s is not None and not (
                _is_number(self.rebuild_s) and math.isfinite(self.rebuild_s)
                and self.rebuild_s >= 0):
            raise ValueError(f"rebuild_s must be None or a finite number of seconds of 0 or more "
                             f"(None or 0: a log replica is a full member), got "
                             f"{self.rebuild_s!r}")
        for name in ("replicas", "write_quorum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of 1 or more, got {value!r}")
        if not self.replicas / 2 < self.write_quorum <= self.replicas:
            raise ValueError(f"write_quorum must be a majority of replicas and at most replicas, "
                             f"got {self.write_quorum} of {self.replicas}")

    # -- rates ---------------------------------------------------------------
    @property
    def kinds(self) -> bool:
        """Storage and log replicas told apart (``rebuild_s`` > 0); otherwise
        a log replica is a full member (the old model)."""
        return self.rebuild_s is not None and self.rebuild_s > 0

    @property
    def assumptions(self) -> str:
        return ASSUMPTIONS if self.kinds else ASSUMPTIONS_FULL_MEMBERS

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

    @property
    def rebuild_rate_per_s(self) -> float:
        """``1/rebuild_s``; infinite in the old model (a replacement is a full member at once)."""
        rebuild_s = self.rebuild_s
        return 1.0 / rebuild_s if rebuild_s else math.inf

    # -- the chain -----------------------------------------------------------
    def state(self, leader_up: bool, storage_up: int, log_up: int = 0, storage_down: int = 0,
              log_down: int = 0) -> State:
        """The state of these members, its phase derived from them."""
        up = storage_up + log_up
        if leader_up:
            phase = SERVING if up >= self.write_quorum else NO_QUORUM
        elif up < self.write_quorum:
            phase = NO_QUORUM
        else:
            phase = FAILOVER if storage_up >= 1 else NO_STORAGE
        return State(phase, leader_up, storage_up, log_up, storage_down, log_down)

    def moves(self, s: State) -> list[tuple[State, float]]:
        """Where ``s`` goes, ``(to, rate_per_s)``, by the rules of the module
        docstring (zero rates left out; the same target may appear twice)."""
        lam, mu = self.fail_rate_per_s, self.return_rate_per_s
        phi, eta = self.failover_rate_per_s, self.heal_rate_per_s
        st, lg, ds, dl, led = s.storage_up, s.log_up, s.storage_down, s.log_down, s.leader_up
        new = self.state
        out: list[tuple[State, float]] = []
        if st >= 1:  # a storage member's host fails: the leader's, or another's
            if led:
                out.append((new(False, st - 1, lg, ds + 1, dl), lam))
            out.append((new(led, st - 1, lg, ds + 1, dl), (st - 1 if led else st) * lam))
        if lg >= 1:  # a log replica's host fails
            out.append((new(led, st, lg - 1, ds, dl + 1), lg * lam))
        if ds >= 1:  # a down storage member returns
            out.append((new(led, st + 1, lg, ds - 1, dl), ds * mu))
        if dl >= 1:  # a down log replica returns
            out.append((new(led, st, lg + 1, ds, dl - 1), dl * mu))
        if s.phase == SERVING:
            # a down member is replaced: by a log replica, or a full member in the old model
            healed = (0, 1) if self.kinds else (1, 0)
            if ds >= 1:
                out.append((new(True, st + healed[0], lg + healed[1], ds - 1, dl), ds * eta))
            if dl >= 1:
                out.append((new(True, st + healed[0], lg + healed[1], ds, dl - 1), dl * eta))
            if lg >= 1 and self.kinds:  # a log replica is rebuilt into a storage replica
                out.append((new(True, st + 1, lg - 1, ds, dl), lg * self.rebuild_rate_per_s))
        if s.phase == FAILOVER:  # a storage replica is elected
            out.append((new(True, st, lg, ds, dl), phi))
        return [(t, r) for t, r in out if r > 0]

    def states(self) -> list[State]:
        """The states reachable from the full group, in a fixed order: by phase
        (serving, failover, no_storage, no_quorum), more members up first, a
        leader first, more storage replicas up first, more down first."""
        start = self.state(True, self.replicas)
        seen = {start}
        todo = [start]
        while todo:
            for t, _ in self.moves(todo.pop()):
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return sorted(seen, key=lambda s: (_PHASE_ORDER[s.phase], -s.up, not s.leader_up,
                                           -s.storage_up, -s.storage_down))

    def transitions(self) -> list[tuple[State, State, float]]:
        """Every transition ``(from, to, rate_per_s)`` with a positive rate."""
        return [(s, t, r) for s in self.states() for t, r in self.moves(s)]

    def generator(self) -> np.ndarray:
        """The generator ``Q`` (rows sum to zero), states in :meth:`states` order."""
        states = self.states()
        index = {s: i for i, s in enumerate(states)}
        q = np.zeros((len(states), len(states)))
        for a, b, rate in self.transitions():
            q[index[a], index[b]] += rate
        np.fill_diagonal(q, 0.0)  # a move to itself is no move
        np.fill_diagonal(q, -q.sum(axis=1))
        return q

    def solve(self) -> Solution:
        """The stationary distribution, exactly (GTH state reduction)."""
        states = self.states()
        pi = stationary(self.generator())
        coarse: dict[str, list[float]] = defaultdict(list)
        for s, p in zip(states, pi, strict=True):
            coarse[s.coarse_name].append(float(p))
        return Solution(self, {s.name: float(p) for s, p in zip(states, pi, strict=True)},
                        {name: math.fsum(ps) for name, ps in coarse.items()})

    def describe(self) -> str:
        """The inputs, the figure and the assumptions, as text."""
        sol = self.solve()
        heal = "none" if math.isinf(self.heal_s) else f"{self.heal_s:g} s"
        rebuild = (f"rebuild {self.rebuild_s:g} s (a log replica never leads)" if self.kinds
                   else "a log replica is a full member")
        return (f"one group of {self.replicas} replicas, write quorum {self.write_quorum}: host "
                f"MTBF {self.mtbf_s:g} s, down {self.off_s:g} s, failover {self.failover_s:g} s, "
                f"healing {heal}, {rebuild}\n"
                f"steady-state write availability {sol.availability:.6%} "
                f"(first order, failover only: {1 - self.failover_s / self.mtbf_s:.6%})\n"
                f"assumptions: {self.assumptions}")


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
