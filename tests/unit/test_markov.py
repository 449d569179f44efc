"""The CTMC of one replication group against theory and against a Monte Carlo
simulation of the group's physical rules (not of the generator)."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from ddbsim.lab.markov import (
    ASSUMPTIONS,
    ASSUMPTIONS_FULL_MEMBERS,
    NO_STORAGE,
    SERVING,
    GroupModel,
    State,
    stationary,
)


def binomial_tail(n: int, q: int, p: float) -> float:
    """P(at least q of n independent members up), each up with probability p."""
    return math.fsum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(q, n + 1))


# ----------------------------------------------------------------------
# the solver and the chain
# ----------------------------------------------------------------------
def test_stationary_solves_a_two_state_chain_and_a_birth_death_chain():
    a, b = 3e-4, 7.0
    pi = stationary(np.array([[-a, a], [b, -b]]))
    assert pi == pytest.approx([b / (a + b), a / (a + b)], rel=1e-14)
    # birth-death: pi_k proportional to prod(up/down)
    up, down = [1.0, 2.0, 0.5], [4.0, 1.0, 3.0]
    q = np.zeros((4, 4))
    for k in range(3):
        q[k, k + 1], q[k + 1, k] = up[k], down[k]
    np.fill_diagonal(q, -q.sum(axis=1))
    w = np.cumprod([1.0] + [u / d for u, d in zip(up, down, strict=True)])
    assert stationary(q) == pytest.approx(w / w.sum(), rel=1e-13)


@pytest.mark.parametrize("rebuild_s", [None, 250.0])
def test_the_solution_is_stationary_and_a_distribution(rebuild_s):
    model = GroupModel(mtbf_s=1800.0, off_s=120.0, failover_s=2.3, heal_s=8.0,
                       rebuild_s=rebuild_s)
    sol = model.solve()
    pi = np.array(list(sol.probabilities.values()))
    assert np.all(pi > 0)
    assert pi.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.abs(pi @ model.generator()).max() < 1e-15
    assert sol.availability + sol.unavailability == pytest.approx(1.0, abs=1e-15)
    assert math.fsum(sol.coarse.values()) == pytest.approx(1.0, abs=1e-15)
    assert math.fsum(sol.phases().values()) == pytest.approx(1.0, abs=1e-15)
    assert sol.phases()[SERVING] == pytest.approx(sol.availability, rel=1e-15)
    old = ["serving_3", "serving_2", "failover_3", "failover_2", "no_quorum_1_leader",
           "no_quorum_1", "no_quorum_0"]
    if rebuild_s is None:
        assert list(sol.probabilities) == old == list(sol.coarse)
        assert sol.phases()[NO_STORAGE] == 0.0
    else:
        assert set(old) < set(sol.coarse) == set(old) | {"no_storage_2"}
        assert len(sol.probabilities) == 26


def test_the_states_are_the_member_counts_reachable_from_the_full_group():
    """Every (S, L, Ds, Dl) with S + L + Ds + Dl = 3 and S + Ds >= 1 (the
    leader is never replaced, so some storage replica is always in the group),
    with a leader (S >= 1) or without: 10 + 16 = 26 states, named uniquely,
    each phase the rules' (a leader and a quorum: serving; no leader, a quorum
    and a storage replica up: failover; a quorum of log replicas only:
    no_storage)."""
    model = GroupModel(mtbf_s=1800.0, off_s=120.0, failover_s=2.3, heal_s=8.0, rebuild_s=250.0)
    states = model.states()
    counts = {(s.leader_up, s.storage_up, s.log_up, s.storage_down, s.log_down) for s in states}
    expected = {(led, st, lg, ds, 3 - st - lg - ds)
                for led in (True, False) for st in range(4) for lg in range(4 - st)
                for ds in range(4 - st - lg) if st + ds >= 1 and (st >= 1 or not led)}
    assert counts == expected and len(states) == 26
    assert len({s.name for s in states}) == 26
    for s in states:
        k = s.storage_up + s.log_up
        assert s.phase == (SERVING if s.leader_up and k >= 2 else "no_quorum" if k < 2
                           else "failover" if s.storage_up else NO_STORAGE)
    assert model.state(False, 0, 2, 1, 0).name == "no_storage_2_log2"
    assert model.state(True, 1, 1, 0, 1).name == "serving_2_log1_downlog1"


def test_moves_are_the_rules_of_the_docstring_for_one_state():
    """One storage replica (the leader) and two log replicas, serving: each
    member's host may fail, each log replica may be rebuilt; nobody is down."""
    m = GroupModel(mtbf_s=1000.0, off_s=100.0, failover_s=10.0, heal_s=5.0, rebuild_s=250.0)
    moves = {t.name: r for t, r in m.moves(m.state(True, 1, 2))}
    assert moves == pytest.approx({
        "no_storage_2_log2": 1e-3,  # the leader's host fails: only log replicas left up
        "serving_2_log1_downlog1": 2e-3,  # a log replica's host fails
        "serving_3_log1": 2 / 250.0,  # a log replica is rebuilt (two copies side by side)
    }, rel=1e-15)
    # and without a leader: no rebuild, no election, no healing -- only failures and returns
    moves = {t.name: r for t, r in m.moves(m.state(False, 0, 2, 1))}
    assert moves == pytest.approx({"no_quorum_1_log1_downlog1": 2e-3, "failover_3_log2": 1e-2},
                                  rel=1e-15)


# ----------------------------------------------------------------------
# (a) no failover time, no healing: a k-of-n group of independent hosts
# ----------------------------------------------------------------------
@pytest.mark.parametrize(("n", "q"), [(3, 2), (5, 3)])
@pytest.mark.parametrize(("mtbf_s", "off_s"), [(1800.0, 120.0), (600.0, 300.0), (50.0, 40.0)])
def test_instant_failover_and_no_healing_is_the_binomial_closed_form(n, q, mtbf_s, off_s):
    lam, mu = 1 / mtbf_s, 1 / off_s
    p = mu / (lam + mu)
    closed = binomial_tail(n, q, p)
    if (n, q) == (3, 2):
        assert closed == pytest.approx(p**3 + 3 * p**2 * (1 - p), rel=1e-14)
    errors = []
    for failover_s in (1e-3, 1e-5, 1e-7):
        a = GroupModel(mtbf_s, off_s, failover_s, math.inf, n, q).solve().availability
        errors.append(abs(a - closed))
        # the only thing left of the failover: leaders lost at most at rate lam, for failover_s
        assert errors[-1] <= 1.01 * lam * failover_s
    # and it vanishes linearly with failover_s: the limit is the closed form
    assert 50 < errors[0] / errors[1] < 150 and 50 < errors[1] / errors[2] < 150
    assert errors[-1] < 3e-9


def test_healing_can_only_help_and_infinitely_slow_healing_is_none():
    base = dict(mtbf_s=1800.0, off_s=120.0, failover_s=2.3)
    none = GroupModel(**base).solve().availability
    assert GroupModel(**base, heal_s=1e15).solve().availability == pytest.approx(none, rel=1e-12)
    figures = [GroupModel(**base, heal_s=h).solve().availability for h in (600.0, 60.0, 8.0, 1.0)]
    assert none < figures[0] < figures[1] < figures[2] < figures[3]


# ----------------------------------------------------------------------
# (b) first order: unavailability ~ lam * failover_s
# ----------------------------------------------------------------------
@pytest.mark.parametrize("rebuild_s", [None, 250.0])
def test_unavailability_is_lambda_times_failover_to_first_order(rebuild_s):
    """Tolerance: the relative error U / (lam f) - 1 comes from second failures
    (during a degradation, a failover, a quorum loss or a rebuild) and is
    O(lam * T) with T the longest of those (~ off_s, or rebuild_s): here
    below 2% at lam f = 2.3e-6, and it falls tenfold (8x to 12x) with each
    tenfold fall of lam.  A group left without a storage replica up needs
    three failures within a rebuild: it is third order."""
    rel = []
    for mtbf_s in (1e5, 1e6, 1e7, 1e8):
        model = GroupModel(mtbf_s=mtbf_s, off_s=120.0, failover_s=2.3, heal_s=8.0,
                           rebuild_s=rebuild_s)
        first = model.failover_s / model.mtbf_s
        rel.append(model.solve().unavailability / first - 1)
    assert all(r > 0 for r in rel)  # second failures only add unavailability
    assert rel[1] < 0.01 * (2 if rebuild_s else 1) and rel[3] < 1e-4
    for coarse, fine in zip(rel, rel[1:], strict=False):
        assert 8 < coarse / fine < 12


# ----------------------------------------------------------------------
# (b') storage and log replicas against the old chain
# ----------------------------------------------------------------------
BASE = dict(mtbf_s=1800.0, off_s=140.0, failover_s=2.3, heal_s=8.0)


def test_instant_rebuild_is_the_old_chain():
    """``rebuild_s -> 0``: a replacement becomes a storage replica at once, so
    the chain converges to the old one, in which a log replica is a full
    member.  The gap is the time spent without a storage replica up, and
    getting there takes three events within one rebuild (two log replicas
    unbuilt, then the leader's host failing), so it closes as rebuild_s**3:
    a thousandfold per tenfold faster rebuild."""
    old = GroupModel(**BASE).solve()
    assert GroupModel(**BASE, rebuild_s=0.0).solve().probabilities == old.probabilities
    gaps, coarse_gaps = [], []
    for rebuild_s in (250.0, 25.0, 2.5, 0.25, 0.025):
        new = GroupModel(**BASE, rebuild_s=rebuild_s).solve()
        gaps.append(old.availability - new.availability)
        coarse_gaps.append(max(abs(new.coarse.get(name, 0.0) - old.coarse.get(name, 0.0))
                               for name in set(new.coarse) | set(old.coarse)))
        # the whole gap is the no-storage wait, give or take what it displaces
        assert 0 < gaps[-1] <= 1.2 * new.phases()[NO_STORAGE]
    assert gaps[0] == pytest.approx(2.61456e-3, rel=1e-5)  # the live figure: -0.26 points
    ratios = [a / b for a, b in zip(gaps, gaps[1:], strict=False)]
    # at least tenfold from the start (first order would do that), growing to a thousandfold
    assert ratios[0] > 10 and all(a < b for a, b in zip(ratios, ratios[1:], strict=False))
    assert 950 < ratios[-1] < 1050  # -> 1000: third order
    assert gaps[-1] < 2e-13 and coarse_gaps[-1] < 2e-13
    assert all(a > b for a, b in zip(coarse_gaps, coarse_gaps[1:], strict=False))


@pytest.mark.parametrize("rebuild_s", [1.0, 250.0, 1e4])
def test_without_healing_there_are_no_log_replicas_and_the_chains_are_one(rebuild_s):
    base = {**BASE, "heal_s": math.inf}
    new, old = GroupModel(**base, rebuild_s=rebuild_s).solve(), GroupModel(**base).solve()
    assert new.probabilities.keys() == old.probabilities.keys()
    for name, p in old.probabilities.items():
        assert new.probabilities[name] == pytest.approx(p, rel=1e-13)


def test_slower_rebuilds_lose_availability_into_no_storage_waits():
    figures = [GroupModel(**BASE, rebuild_s=r).solve() for r in (10.0, 100.0, 250.0, 1e3, 1e4)]
    assert all(a.availability > b.availability for a, b in zip(figures, figures[1:], strict=False))
    assert all(a.phases()[NO_STORAGE] < b.phases()[NO_STORAGE]
               for a, b in zip(figures, figures[1:], strict=False))


# ----------------------------------------------------------------------
# planted mistakes: the rules changed one at a time
# ----------------------------------------------------------------------
class LogReplicaElected(GroupModel):
    """Mistake: with no storage replica up, a log replica is elected (and
    leads as if it were one)."""

    def moves(self, s: State) -> list[tuple[State, float]]:
        out = super().moves(s)
        if s.phase == NO_STORAGE:
            out.append((self.state(True, 1, s.log_up - 1, s.storage_down, s.log_down),
                        self.failover_rate_per_s))
        return out


class RebuildsWithoutALeader(GroupModel):
    """Mistake: a log replica's copy goes on while the group has no leader."""

    def moves(self, s: State) -> list[tuple[State, float]]:
        out = super().moves(s)
        if s.phase != SERVING and s.log_up:
            out.append((self.state(s.leader_up, s.storage_up + 1, s.log_up - 1, s.storage_down,
                                   s.log_down), s.log_up * self.rebuild_rate_per_s))
        return out


class OneCopyAtATime(GroupModel):
    """Mistake: log replicas are rebuilt one after the other, not side by side."""

    def moves(self, s: State) -> list[tuple[State, float]]:
        rebuilt = (s.storage_up + 1, s.log_up - 1, s.storage_down, s.log_down)
        return [(t, self.rebuild_rate_per_s
                 if (t.storage_up, t.log_up, t.storage_down, t.log_down) == rebuilt else r)
                for t, r in super().moves(s)]


class ReturnsAsStorage(GroupModel):
    """Mistake: a log replica whose host returns comes back as a storage replica."""

    def moves(self, s: State) -> list[tuple[State, float]]:
        back = (s.storage_up, s.log_up + 1, s.storage_down, s.log_down - 1)
        out = [(t, r) for t, r in super().moves(s)
               if (t.storage_up, t.log_up, t.storage_down, t.log_down) != back]
        if s.log_down:
            out.append((self.state(s.leader_up, s.storage_up + 1, s.log_up, s.storage_down,
                                   s.log_down - 1), s.log_down * self.return_rate_per_s))
        return out


def test_a_log_replica_that_may_lead_is_a_full_member_exactly():
    """Lumpability: if a log replica could lead, the kinds would change no rate
    of the (phase, members up) process, and the chain would lump exactly onto
    the old one (its ``no_storage_2`` being an election like ``failover_2``)
    -- so the old model IS the 'log replicas lead' mistake."""
    old = GroupModel(**BASE).solve()
    for rebuild_s in (25.0, 250.0, 1e4):
        wrong = LogReplicaElected(**BASE, rebuild_s=rebuild_s).solve()
        lumped = dict(wrong.coarse)
        assert lumped.pop("no_storage_2") > 1e-8  # visited
        lumped["failover_2"] += wrong.coarse["no_storage_2"]
        assert lumped.keys() == old.coarse.keys()
        for name, p in old.coarse.items():
            assert lumped[name] == pytest.approx(p, rel=1e-10)
        assert wrong.availability == pytest.approx(old.availability, rel=1e-13)


# ----------------------------------------------------------------------
# (c) Monte Carlo of the group's rules
# ----------------------------------------------------------------------
def simulate_group(model: GroupModel, horizon_s: float, batches: int,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Event by event: members up or down, storage or log, a leader or none,
    with the rules of the module docstring written for members, not states
    (a log replica never leads; a down member is replaced by a log replica
    -- a full member in the old model -- and a log replica is rebuilt, only
    while a leader serves with a quorum; a member returns as its own kind).
    Returns, per state name, the fraction of each of ``batches`` equal spans
    of time spent in it."""
    n, q = model.replicas, model.write_quorum
    lam, mu = model.fail_rate_per_s, model.return_rate_per_s
    phi, eta = model.failover_rate_per_s, model.heal_rate_per_s
    rho = model.rebuild_rate_per_s if model.kinds else 0.0
    up = [True] * n
    log = [False] * n
    leader: int | None = 0
    t = 0.0
    batch_s = horizon_s / batches
    occupancy: dict[str, list[float]] = defaultdict(lambda: [0.0] * batches)
    while t < horizon_s:
        k = sum(up)
        quorum = k >= q
        serving = leader is not None and quorum
        storage_up = [i for i in range(n) if up[i] and not log[i]]
        events: list[tuple[float, str, int]] = []
        for i in range(n):
            if up[i]:
                events.append((lam, "fail", i))
                if serving and log[i]:
                    events.append((rho, "rebuild", i))
            else:
                events.append((mu, "return", i))
                if serving and eta > 0:
                    events.append((eta, "replace", i))
        if leader is None and quorum and storage_up:
            events.append((phi, "elect", storage_up[0]))
        if serving:
            name = f"serving_{k}"
        elif leader is not None:
            name = f"no_quorum_{k}_leader"
        elif not quorum:
            name = f"no_quorum_{k}"
        else:
            name = f"failover_{k}" if storage_up else f"no_storage_{k}"
        log_up = sum(u and g for u, g in zip(up, log, strict=True))
        log_down = sum(log) - log_up
        name += (f"_log{log_up}" if log_up else "") + (f"_downlog{log_down}" if log_down else "")
        total = math.fsum(e[0] for e in events)
        end = min(t + float(rng.exponential(1 / total)), horizon_s)
        occ = occupancy[name]
        while t < end:  # split the interval at batch boundaries
            b = min(int(t // batch_s), batches - 1)
            stop = min(end, (b + 1) * batch_s)
            occ[b] += stop - t
            t = stop
        x = float(rng.random()) * total
        what, i = events[-1][1:]
        for rate, kind, member in events:
            x -= rate
            if x < 0:
                what, i = kind, member
                break
        if what == "fail":
            up[i] = False
            if leader == i:
                leader = None
        elif what == "return":  # as the kind it was
            up[i] = True
        elif what == "replace":  # a fresh member in the slot
            up[i], log[i] = True, model.kinds
        elif what == "rebuild":  # in place
            log[i] = False
        else:
            leader = i
    return {name: np.array(x) / batch_s for name, x in occupancy.items()}


# Groups that fail often, so that an affordable run sees every state many times:
# the old model (log replicas are full members), and storage and log replicas.
MC_OLD = GroupModel(mtbf_s=600.0, off_s=90.0, failover_s=15.0, heal_s=25.0)
MC_KINDS = GroupModel(mtbf_s=300.0, off_s=150.0, failover_s=10.0, heal_s=15.0, rebuild_s=120.0)

# t quantiles, 39 degrees of freedom: 95% two-sided; and Bonferroni over the
# states at a joint 95% (t(1 - 0.025/7, 39), t(1 - 0.025/26, 39)).
T95, T_STATES = 2.0227, {7: 2.8394, 26: 3.3269}


@pytest.fixture(scope="module")
def monte_carlo() -> dict[GroupModel, dict[str, np.ndarray]]:
    return {MC_OLD: simulate_group(MC_OLD, horizon_s=3e7, batches=40,
                                   rng=np.random.default_rng(20240611)),
            MC_KINDS: simulate_group(MC_KINDS, horizon_s=3e7, batches=40,
                                     rng=np.random.default_rng(20240612))}


def batch_mean(xs: np.ndarray, t: float = T95) -> tuple[float, float]:
    """Mean and half-width of the t interval over the batches (95% by
    default); batches of ~1,700 (old) or ~10,000 (kinds) group failures each
    are independent enough."""
    return float(xs.mean()), t * float(xs.std(ddof=1)) / math.sqrt(len(xs))


def served(occupancy: dict[str, np.ndarray]) -> np.ndarray:
    return sum(x for name, x in occupancy.items() if name.startswith("serving"))  # type: ignore[return-value]


@pytest.mark.parametrize("model", [MC_OLD, MC_KINDS], ids=["old", "kinds"])
def test_monte_carlo_of_the_rules_agrees_with_the_chain(monte_carlo, model):
    occupancy = monte_carlo[model]
    sol = model.solve()
    mean, half = batch_mean(served(occupancy))
    # the interval is narrow enough to mean something: under a fiftieth of the unavailability
    assert half < 0.02 * sol.unavailability
    assert abs(mean - sol.availability) <= half, (mean, half, sol.availability)
    # every state the rules visit is a state of the chain, at its probability
    # (Bonferroni t intervals: every state's at a joint ~95%)
    assert set(occupancy) == set(sol.probabilities)
    t = T_STATES[len(sol.probabilities)]
    for name, p in sol.probabilities.items():
        mean, half = batch_mean(occupancy[name], t=t)
        assert abs(mean - p) <= half, (name, mean, half, p)


def test_monte_carlo_tells_a_wrong_old_model_apart(monte_carlo):
    """The check has teeth: a 20% error in the failover or the healing time,
    or no healing, lands outside the interval."""
    mean, half = batch_mean(served(monte_carlo[MC_OLD]))
    for wrong in (GroupModel(600.0, 90.0, 15.0 * 1.2, 25.0),
                  GroupModel(600.0, 90.0, 15.0, 25.0 * 1.2),
                  GroupModel(600.0, 90.0, 15.0, math.inf)):
        assert abs(mean - wrong.solve().availability) > half


def test_monte_carlo_tells_planted_mistakes_apart(monte_carlo):
    """Every rule of the new chain matters: a log replica that leads (the old
    model), rebuilds that go on without a leader, one copy at a time, log
    replicas that come back as storage replicas, a 20% error in the failover,
    the healing or the rebuild time, or no healing -- each lands outside the
    interval of the simulated rules, by at least twice its half-width."""
    mean, half = batch_mean(served(monte_carlo[MC_KINDS]))
    m = dict(mtbf_s=300.0, off_s=150.0, failover_s=10.0, heal_s=15.0, rebuild_s=120.0)
    wrongs = [GroupModel(**m | {"rebuild_s": None}), LogReplicaElected(**m),
              RebuildsWithoutALeader(**m), OneCopyAtATime(**m), ReturnsAsStorage(**m),
              GroupModel(**m | {"failover_s": 12.0}), GroupModel(**m | {"heal_s": 18.0}),
              GroupModel(**m | {"rebuild_s": 144.0}), GroupModel(**m | {"heal_s": math.inf})]
    for wrong in wrongs:
        assert abs(mean - wrong.solve().availability) > 2 * half, wrong


# ----------------------------------------------------------------------
# (d) bad inputs
# ----------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(mtbf_s=-1.0), "mtbf_s must be a positive"),
    (dict(mtbf_s=0.0), "mtbf_s must be a positive"),
    (dict(mtbf_s=math.inf), "mtbf_s must be a positive, finite"),
    (dict(off_s=0.0), "off_s must be a positive"),
    (dict(off_s=-5.0), "off_s must be a positive"),
    (dict(failover_s=-2.3), "failover_s must be a positive"),
    (dict(failover_s=math.nan), "failover_s must be a positive"),
    (dict(heal_s=0.0), "heal_s must be a positive"),
    (dict(heal_s=-8.0), "heal_s must be a positive"),
    (dict(heal_s=math.nan), "heal_s must be a positive"),
    (dict(mtbf_s="1800"), "mtbf_s must be a positive"),
    (dict(mtbf_s=True), "mtbf_s must be a positive"),
    (dict(replicas=0), "replicas must be a whole number"),
    (dict(write_quorum=1), "write_quorum must be a majority"),
    (dict(write_quorum=4), "write_quorum must be a majority"),
    (dict(replicas=3.0), "replicas must be a whole number"),
    (dict(rebuild_s=-250.0), "rebuild_s must be None or a finite number"),
    (dict(rebuild_s=math.inf), "rebuild_s must be None or a finite number"),
    (dict(rebuild_s=math.nan), "rebuild_s must be None or a finite number"),
    (dict(rebuild_s="250"), "rebuild_s must be None or a finite number"),
    (dict(rebuild_s=True), "rebuild_s must be None or a finite number"),
])
def test_bad_inputs_raise_one_clear_value_error(kwargs, message):
    args = dict(mtbf_s=1800.0, off_s=120.0, failover_s=2.3, heal_s=8.0) | kwargs
    with pytest.raises(ValueError, match=message) as info:
        GroupModel(**args)
    assert "\n" not in str(info.value)


def test_stationary_refuses_a_reducible_chain():
    q = np.array([[-1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, -1.0]])
    with pytest.raises(ValueError, match="not irreducible"):
        stationary(q)


def test_describe_names_the_inputs_the_figure_and_the_assumptions():
    model = GroupModel(mtbf_s=1800.0, off_s=120.0, failover_s=2.3, heal_s=8.0, rebuild_s=250.0)
    text = model.describe()
    assert "MTBF 1800 s" in text and "failover 2.3 s" in text and "healing 8 s" in text
    assert "rebuild 250 s (a log replica never leads)" in text
    assert f"{model.solve().availability:.6%}" in text
    assert ASSUMPTIONS in text and "\n" not in ASSUMPTIONS
    old = GroupModel(1800.0, 120.0, 2.3).describe()
    assert "healing none" in old and "a log replica is a full member" in old
    assert ASSUMPTIONS_FULL_MEMBERS in old and ASSUMPTIONS not in old
    assert "\n" not in ASSUMPTIONS_FULL_MEMBERS
