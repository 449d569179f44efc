"""The CTMC of one replication group against theory and against a Monte Carlo
simulation of the group's physical rules (not of the generator)."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from ddbsim.lab.markov import ASSUMPTIONS, GroupModel, stationary


def binomial_tail(n: int, q: int, p: float) -> float:
    """P(at least q of n independent members up), each up with probability p."""
    return math.fsum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(q, n + 1))


# ----------------------------------------------------------------------
# the solver
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


def test_the_solution_is_stationary_and_a_distribution():
    model = GroupModel(mtbf_s=1800.0, off_s=120.0, failover_s=2.3, heal_s=8.0)
    sol = model.solve()
    pi = np.array(list(sol.probabilities.values()))
    assert np.all(pi > 0)
    assert pi.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.abs(pi @ model.generator()).max() < 1e-15
    assert sol.availability + sol.unavailability == pytest.approx(1.0, abs=1e-15)
    assert list(sol.probabilities) == ["serving_3", "serving_2", "failover_3", "failover_2",
                                       "no_quorum_1_leader", "no_quorum_1", "no_quorum_0"]


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
def test_unavailability_is_lambda_times_failover_to_first_order():
    """Tolerance: the relative error U / (lam f) - 1 comes from second failures
    (during a degradation, a failover or a quorum loss) and is O(lam * T) with
    T the longest of those (~ off_s): here below 1% at lam f = 2.3e-6, and it
    falls tenfold (8x to 12x) with each tenfold fall of lam."""
    rel = []
    for mtbf_s in (1e5, 1e6, 1e7, 1e8):
        model = GroupModel(mtbf_s=mtbf_s, off_s=120.0, failover_s=2.3, heal_s=8.0)
        first = model.failover_s / model.mtbf_s
        rel.append(model.solve().unavailability / first - 1)
    assert all(r > 0 for r in rel)  # second failures only add unavailability
    assert rel[1] < 0.01 and rel[3] < 1e-4
    for coarse, fine in zip(rel, rel[1:], strict=False):
        assert 8 < coarse / fine < 12


# ----------------------------------------------------------------------
# (c) Monte Carlo of the group's rules
# ----------------------------------------------------------------------
def simulate_group(model: GroupModel, horizon_s: float, batches: int,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Event by event: members up or down, a leader or none, with the rules
    of the module docstring written for members, not states.  Returns, per
    state name, the fraction of each of ``batches`` equal spans of time
    spent in it."""
    n, q = model.replicas, model.write_quorum
    lam, mu = model.fail_rate_per_s, model.return_rate_per_s
    phi, eta = model.failover_rate_per_s, model.heal_rate_per_s
    up = [True] * n
    leader: int | None = 0
    t = 0.0
    batch_s = horizon_s / batches
    occupancy: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(batches))
    while t < horizon_s:
        k = sum(up)
        quorum = k >= q
        events: list[tuple[float, str, int]] = []
        for i in range(n):
            if up[i]:
                events.append((lam, "fail", i))
            else:
                events.append((mu, "return", i))
                if leader is not None and quorum and eta > 0:
                    events.append((eta, "replace", i))
        if leader is None and quorum:
            events.append((phi, "elect", -1))
        if leader is not None and quorum:
            name = f"serving_{k}"
        elif quorum:
            name = f"failover_{k}"
        else:
            name = f"no_quorum_{k}" + ("_leader" if leader is not None else "")
        rates = np.array([e[0] for e in events])
        total = rates.sum()
        end = min(t + rng.exponential(1 / total), horizon_s)
        while t < end:  # split the interval at batch boundaries
            b = min(int(t // batch_s), batches - 1)
            stop = min(end, (b + 1) * batch_s)
            occupancy[name][b] += stop - t
            t = stop
        _, what, i = events[int(np.searchsorted(np.cumsum(rates), rng.random() * total))]
        if what == "fail":
            up[i] = False
            if leader == i:
                leader = None
        elif what in ("return", "replace"):  # a replacement is a fresh member in the slot
            up[i] = True
        else:
            leader = next(j for j in range(n) if up[j])
    return {name: x / batch_s for name, x in occupancy.items()}


# A group that fails often, so that an affordable run sees every state many times.
MC_MODEL = GroupModel(mtbf_s=600.0, off_s=90.0, failover_s=15.0, heal_s=25.0)


@pytest.fixture(scope="module")
def monte_carlo() -> dict[str, np.ndarray]:
    return simulate_group(MC_MODEL, horizon_s=3e7, batches=40, rng=np.random.default_rng(20240611))


def batch_mean(xs: np.ndarray, t: float = 2.0227) -> tuple[float, float]:
    """Mean and half-width of the t interval over the batches (t(0.975, 39) =
    2.0227 by default: 95%); batches of ~1,700 group failures each are
    independent enough."""
    return float(xs.mean()), t * float(xs.std(ddof=1)) / math.sqrt(len(xs))


def served(occupancy: dict[str, np.ndarray]) -> np.ndarray:
    return sum(x for name, x in occupancy.items() if name.startswith("serving"))  # type: ignore[return-value]


def test_monte_carlo_of_the_rules_agrees_with_the_chain(monte_carlo):
    sol = MC_MODEL.solve()
    mean, half = batch_mean(served(monte_carlo))
    # the interval is narrow enough to mean something: under a tenth of the unavailability
    assert half < 0.1 * sol.unavailability
    assert abs(mean - sol.availability) <= half, (mean, half, sol.availability)
    # every state the rules visit is a state of the chain, at its probability
    # (99.5% intervals, t(0.9975, 39) = 2.9712: seven states at a joint ~95%)
    assert set(monte_carlo) == set(sol.probabilities)
    for name, p in sol.probabilities.items():
        mean, half = batch_mean(monte_carlo[name], t=2.9712)
        assert abs(mean - p) <= half, (name, mean, half, p)


def test_monte_carlo_tells_a_wrong_model_apart(monte_carlo):
    """The check has teeth: a 20% error in the failover or the healing time,
    or no healing, lands outside the interval."""
    mean, half = batch_mean(served(monte_carlo))
    for wrong in (GroupModel(600.0, 90.0, 15.0 * 1.2, 25.0),
                  GroupModel(600.0, 90.0, 15.0, 25.0 * 1.2),
                  GroupModel(600.0, 90.0, 15.0, math.inf)):
        assert abs(mean - wrong.solve().availability) > half


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
    model = GroupModel(mtbf_s=1800.0, off_s=120.0, failover_s=2.3, heal_s=8.0)
    text = model.describe()
    assert "MTBF 1800 s" in text and "failover 2.3 s" in text and "healing 8 s" in text
    assert f"{model.solve().availability:.6%}" in text
    assert ASSUMPTIONS in text and "\n" not in ASSUMPTIONS
    assert "healing none" in GroupModel(1800.0, 120.0, 2.3).describe()
