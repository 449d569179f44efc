"""Router capacity added, cold: the bimodal metadata load rises, constant-work MemDS load does not.

Paper §6.6: with the original (bimodal) router cache, "adding router
capacity alone made metadata traffic spike by up to 75%": every new router
starts cold, so every request it gets misses and downloads the table until
the first download lands.  With the constant-work cache every request is
one MemDS lookup whichever router serves it: MemDS's load follows the
traffic only, and a cold router changes some requests' latency, not the
load.  (In this model a warm bimodal cache's steady misses are the requests
that arrive while its expired table is downloaded again, about
``rate per router x download time`` per TTL per router: spreading the same
traffic over twice the routers leaves their sum about where it was, so
the steady load after the spike is measured, not assumed.)

The region starts with ``topology.routers_per_az`` routers per AZ in service
and as many more built on standby (``topology.standby_routers_per_az``); at
``add_at_s`` an ``add_routers`` fault brings the standby ones into service
with cold caches, and the clients' load balancers spread their first
attempts over every router of their AZ.  The same region, workload and
trigger under both caches.  Per variant the analysis gives the metadata
table's and MemDS's load in a steady stretch before the trigger, their peak
in the ``window_s`` after it, and their steady load once the new routers
are warm (from ``settle_s`` after the trigger on), each as a ratio to the
load before; the share of the run's requests that the new routers served
(half of those after the trigger, if the balancers spread them evenly); and
availability in the window.  The summary ends with one table of them.
"""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario
from ddbsim.lab.faults import Fault

BUCKET_S = 0.5
CACHES = ("bimodal", "constant_work")


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def analyse(data: dict[str, Any], add_at_s: float, window_s: float, settle_s: float,
            steady_from_s: float = 10.0) -> dict[str, Any]:
    """The figures of one variant (see the module docstring)."""
    series = data["series"]
    b = series["bucket_s"]
    n = len(series.get("goodput", []))

    def get(name: str) -> list[float]:
        return series.get(name) or [0.0] * n

    lo, t = int(steady_from_s / b), int(round(add_at_s / b))
    hi = min(n, int(round((add_at_s + window_s) / b)))
    after = min(n, int(round((add_at_s + settle_s) / b)))
    row: dict[str, Any] = {}
    for server in ("metadata", "memds"):
        load = get(server)
        before = _mean(load[lo:t])
        peak = max(load[t:hi], default=0.0)
        later = _mean(load[after:])
        row[f"{server}_before_per_s"] = round(before / b, 2)
        row[f"{server}_peak_per_s"] = round(peak / b, 1)
        row[f"{server}_after_per_s"] = round(later / b, 2)
        row[f"{server}_peak_over_before"] = round(peak / before, 2) if before > 0 else None
        row[f"{server}_after_over_before"] = round(later / before, 3) if before > 0 else None
    good, errors = sum(get("goodput")[t:hi]), sum(get("errors")[t:hi])
    row["availability_window"] = round(good / (good + errors), 5) if good + errors else None
    per_router = data["routing"]["by_router"]
    in_service = data["config"]["topology"]["routers_per_az"]  # router-1..N; the rest were standby
    new = {r for r in per_router if int(r.rsplit("-", 1)[-1]) > in_service}
    served = {r: c["hits"] + c["misses"] for r, c in per_router.items()}
    total = sum(served.values())
    row["new_routers_share_of_run"] = round(sum(served[r] for r in new) / total, 3) if total else None
    return {"cache": data["config"]["routing"]["cache"], "row": row}


def build_scenario(add_at_s: float = 120.0, after_s: float = 120.0, rate_per_s: float = 400.0,
                   window_s: float = 10.0, settle_s: float = 60.0,
                   **overrides: Any) -> list[Scenario]:
    out = []
    for cache in CACHES:
        settings = {"workload.rate_per_s": rate_per_s, "metrics.traffic_series_s": BUCKET_S,
                    "routing.cache": cache, "topology.standby_routers_per_az": 1,
                    "routing.metadata_servers": 48, **overrides}
        out.append(Scenario(
            name="router_scale_out", variant=cache, duration_s=add_at_s + after_s,
            overrides=settings,
            description=f"{cache} router cache: the standby routers go into service, cold, at "
                        f"{add_at_s:g}s",
            faults=[Fault(add_at_s, "add_routers", "routers")],
            analyse=lambda d, a=add_at_s, w=window_s, s=settle_s: analyse(d, a, w, s)))
    return out


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
