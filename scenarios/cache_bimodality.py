"""Every router cache flushed: the bimodal cache's ~400x metadata spike beside constant-work's flat MemDS.

Paper §6.6: the original router cache hit about 99.75% of the time, so a
cold fleet multiplied the load on the metadata table by up to
1 / (1 - 0.9975) = 400; MemDS and a cache that looks every request up
asynchronously, hit or miss, removed the second mode.  The same region,
workload and trigger -- every router's cache flushed at ``flush_at_s`` (a
fleet restart or deployment) -- under both caches, with the SDK's standard
retries and without retries.  Per variant the analysis gives the steady
hit rate, the steady and peak metadata load and their ratio (the
amplification) beside 1 / (1 - hit rate), the MemDS load before and after
the flush, availability in the trigger window, and the metastability
monitor's verdict; the summary ends with one table of them, and
``plot_routing(result)`` draws the metadata load and goodput over time.

The traffic is 400 requests/s (four times the default) so that the first
quarter-second after the flush -- shorter than one whole-table download
(16 rows x 20 ms) -- holds about 100 requests: the amplification is then
measured to within ~10% of Poisson noise.  The metadata table is sized for
the spike (``metadata_servers``: 48 handlers per host, 144 in all, about
450 downloads/s): at 400 requests/s one router's refresh is a burst of ~45
downloads, and with the default 4 handlers per host the backlog it leaves
(~1.2 s) is longer than a lookup may wait (``routing.lookup_timeout_s``,
0.5 s), so a second router whose table expires in that second never warms
again, and its ~130 downloads/s outgrow the table: the bimodal design's
collapse, which ``scenarios/metastability_map.py`` maps.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddbsim.lab import Scenario
from ddbsim.lab.faults import Fault
from ddbsim.lab.metastability import assess, describe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ddbsim.lab.result import Result

BUCKET_S = 0.25
CACHES = ("bimodal", "constant_work")
RETRIES = ("standard", "none")


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def analyse(data: dict[str, Any], flush_at_s: float, steady_from_s: float = 10.0,
            window_s: float = 10.0) -> dict[str, Any]:
    """The figures of one variant (see the module docstring)."""
    series = data["series"]
    b = series["bucket_s"]
    n = len(series.get("goodput", []))

    def get(name: str) -> list[float]:
        return series.get(name) or [0.0] * n

    lo, t = int(steady_from_s / b), int(round(flush_at_s / b))
    hi = min(n, int((flush_at_s + window_s) / b))  # the trigger window, within the traffic
    metadata, memds = get("metadata"), get("memds")
    # the routers' lookups are the clients' attempts (one each)
    lookups, misses = sum(get("attempts")[lo:t]), sum(get("misses")[lo:t])
    hit_rate = 1 - misses / lookups if lookups else None
    steady = _mean(metadata[lo:t])
    peak = max(metadata[t:hi], default=0.0)
    expected = 1 / (1 - hit_rate) if hit_rate is not None and hit_rate < 1 else None
    amplification = peak / steady if steady > 0 else None
    # MemDS load per second (whole seconds), before and through the flush
    per_s = int(round(1 / b))
    seconds = [sum(memds[i:i + per_s]) / per_s for i in range(t, hi - per_s + 1, per_s)]
    memds_steady = _mean(memds[lo:t])
    deviation = (max(abs(x - memds_steady) for x in seconds) / memds_steady
                 if seconds and memds_steady > 0 else None)
    good, errors = sum(get("goodput")[t:hi]), sum(get("errors")[t:hi])
    availability = good / (good + errors) if good + errors else None
    verdict = assess(data, flush_at_s, flush_at_s, baseline_s=flush_at_s - steady_from_s,
                     within_s=max(0.0, data["duration_s"] - flush_at_s - 10.0), hold_s=5.0)
    cfg = data["config"]
    row = {"steady_hit_rate": None if hit_rate is None else round(hit_rate, 5),
           "metadata_steady_per_s": round(steady, 3), "metadata_peak_per_s": round(peak, 1),
           "amplification": None if amplification is None else round(amplification, 1),
           "1/(1-hit_rate)": None if expected is None else round(expected, 1),
           "memds_steady_per_s": round(memds_steady, 1),
           "memds_max_deviation": None if deviation is None else round(deviation, 4),
           "availability_10s": None if availability is None else round(availability, 5),
           "after_flush": describe(verdict)}
    return {"cache": cfg["routing"]["cache"], "retry_mode": cfg["client"]["retry_mode"],
            "row": row, "metastability": verdict}


def build_scenario(flush_at_s: float = 240.0, after_s: float = 60.0, rate_per_s: float = 400.0,
                   metadata_servers: int = 48, **overrides: Any) -> list[Scenario]:
    out = []
    for cache in CACHES:
        for retry in RETRIES:
            settings = {"workload.rate_per_s": rate_per_s, "metrics.traffic_series_s": BUCKET_S,
                        "routing.cache": cache, "client.retry_mode": retry,
                        "routing.metadata_servers": metadata_servers, **overrides}
            out.append(Scenario(
                name="cache_bimodality", variant=f"{cache}/{retry}",
                duration_s=flush_at_s + after_s, overrides=settings,
                description=f"{cache} router cache, {retry} retries: every cache flushed at "
                            f"{flush_at_s:g}s",
                faults=[Fault(flush_at_s, "flush_caches", "routers")],
                analyse=lambda d, t=flush_at_s: analyse(d, t)))
    return out


def plot_routing(result: Result, around_s: tuple[float, float] = (-5.0, 15.0)) -> Figure:
    """Metadata-table and MemDS load and goodput over time, one panel per
    variant, around the flush."""
    import matplotlib.pyplot as plt

    parts = result.parts
    fig, axes = plt.subplots(len(parts), 1, figsize=(9, 2.4 * len(parts)), sharex=True)
    for ax, part in zip(list(getattr(axes, "flat", [axes])), parts, strict=False):
        d = part.data
        s = d["series"]
        b = s["bucket_s"]
        flush = next(f["t_s"] for f in d["faults"] if f["action"] == "flush_caches")
        lo = max(0, int((flush + around_s[0]) / b))
        hi = min(len(s["goodput"]), int((flush + around_s[1]) / b))
        ts = [i * b - flush for i in range(lo, hi)]
        for name, style in (("metadata", "-"), ("memds", "--"), ("goodput", ":")):
            values = (s.get(name) or [0.0] * len(s["goodput"]))[lo:hi]
            ax.plot(ts, [max(v, 0.1) for v in values], style, label=f"{name} /s")
        ax.set_yscale("log")
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_title(d["variant"], fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
    fig.supxlabel("seconds after every router cache was flushed")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
