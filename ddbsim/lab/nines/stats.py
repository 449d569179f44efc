"""95% confidence intervals over independent region-years.

* a mean (availability, the share of windows under target, downtime): the
  Student t interval of :func:`ddbsim.lab.sweep.mean_ci`, as a sweep's
  summary gives it;
* a probability from yes/no region-years (a year with data loss): the exact
  Clopper-Pearson interval (Clopper and Pearson, *Biometrika* 26, 1934),
  which stays honest at zero events (then the upper end is
  ``1 - 0.025^(1/n)``);
* a rate of rare events (data losses per region-year, whose inverse is the
  MTTDL): the exact Poisson (Garwood, *Biometrika* 28, 1936) interval of
  ``k`` events in ``n`` region-years.

Both exact intervals are found by bisection on the binomial or Poisson
distribution function (no scipy); above 200 events the Poisson interval
uses the Wilson-Hilferty approximation of the chi-square quantiles.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ddbsim.lab.sweep import mean_ci

ALPHA = 0.05


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """``(mean, lo, hi)`` of the 95% t interval (lo = hi = mean with one value)."""
    mean, half = mean_ci(list(values))
    half = 0.0 if half is None else half
    return mean, mean - half, mean + half


def _bisect(f: Callable[[float], float], lo: float, hi: float) -> float:
    """The root of an increasing ``f`` on ``[lo, hi]``."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _binom_cdf(k: int, n: int, p: float) -> float:
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return math.fsum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


def proportion_interval(k: int, n: int) -> tuple[float, float, float]:
    """``(k/n, lo, hi)``: the exact 95% Clopper-Pearson interval."""
    if n < 1 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    a = ALPHA / 2
    lo = 0.0 if k == 0 else _bisect(lambda p: (1 - _binom_cdf(k - 1, n, p)) - a, 0.0, 1.0)
    hi = 1.0 if k == n else _bisect(lambda p: a - _binom_cdf(k, n, p), 0.0, 1.0)
    return k / n, lo, hi


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), its terms in log space (no underflow)."""
    if k < 0:
        return 0.0
    if mu == 0:
        return 1.0
    log_mu = math.log(mu)
    return min(1.0, math.fsum(math.exp(-mu + i * log_mu - math.lgamma(i + 1))
                              for i in range(k + 1)))


#: Above this many events the Poisson interval uses the Wilson-Hilferty
#: approximation of the chi-square quantiles (relative error ~1e-4 there).
EXACT_MAX_EVENTS = 200
_Z975 = 1.959963984540054


def rate_interval(k: int, exposure: float) -> tuple[float, float, float]:
    """``(k/exposure, lo, hi)``: the exact 95% Poisson interval of a rate
    from ``k`` events over ``exposure`` (region-years)."""
    if exposure <= 0 or k < 0:
        raise ValueError(f"need k >= 0 and a positive exposure, got k={k}, {exposure}")
    a = ALPHA / 2
    if k > EXACT_MAX_EVENTS:
        def wh(n: int, z: float) -> float:  # chi-square(2n) quantile / 2
            return n * (1 - 1 / (9 * n) + z / (3 * math.sqrt(n))) ** 3
        return k / exposure, wh(k, -_Z975) / exposure, wh(k + 1, _Z975) / exposure
    top = 10.0 * (k + 10)
    lo = 0.0 if k == 0 else _bisect(lambda mu: (1 - _poisson_cdf(k - 1, mu)) - a, 0.0, top)
    hi = _bisect(lambda mu: a - _poisson_cdf(k, mu), 0.0, top)
    return k / exposure, lo / exposure, hi / exposure
