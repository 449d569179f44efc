"""A retry storm outliving its trigger: bimodal + standard retries stays down; no retries, constant-work: not.

Huang et al. (OSDI'22) found retries sustaining more than half of the
metastable failures they studied; Bronson et al. (HotOS'21) name them the
commonest sustaining effect.  Here the trigger is the one of paper §6.6:
every router cache is flushed (a fleet restart) while the metadata table
loses ``cut`` of its capacity for ``trigger_s`` seconds.  The metadata
table is sized for the fleet going cold at the normal rate with half again
to spare (``metadata_servers`` handlers per host, ~150 whole-table
downloads/s at 100 requests/s): without retries the cold routers' misses fit
once the brownout ends, and the table works off its backlog.  With
retries every failed request comes back up to twice more, so the cold
misses outgrow the table, downloads keep timing out, no router warms, and
the retries keep coming: the bad state sustains itself after the trigger
is gone.

**Why a fleet of clients.**  The SDK's standard mode has a retry quota --
500 tokens, 5 per retry (10 after a timeout), given back by successes --
that stops retrying once a client sees too many failures.  But the quota is
per SDK client.  A real application fleet runs hundreds or thousands of
them (a client per host or process), each seeing a few requests a minute:
here ``clients`` clients (``workload.clients_per_az`` per AZ) share the
rate, so each sends about ``rate / clients`` requests per second and its
quota drains only after ~50 failed requests -- longer than ``within_s``.
The result's ``clients.retry_quota`` shows where the quotas stand at the end
(mean, min, how many drained).  With a handful of busy clients the same
quota drains in seconds and the storm stops: that is the configuration in
which standard retries recover, as ``scenarios/metastability_map.py`` shows.

**Variants.**  ``bimodal/standard``, ``bimodal/none`` and
``constant_work/standard``.  Only the metadata table is browned out: the
constant-work cache's requests do not touch it (MemDS, a fleet of its own,
answers their lookups), which is the design's point -- a trigger that cut
MemDS too would be a different experiment (``metastability_map.py`` cuts
both).  The monitor (:mod:`ddbsim.lab.metastability`) gives each variant's
verdict ``within_s`` after the trigger ends, whether goodput ever dipped
(``degraded``), and the sustaining load; the summary ends with one table.
"""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Scenario
from ddbsim.lab.faults import Fault, brownout
from ddbsim.lab.metastability import assess, describe

VARIANTS = (("bimodal", "standard"), ("bimodal", "none"), ("constant_work", "standard"))


def analyse(data: dict[str, Any], trigger_at_s: float, trigger_s: float,
            within_s: float) -> dict[str, Any]:
    verdict = assess(data, trigger_at_s, trigger_at_s + trigger_s,
                     baseline_s=trigger_at_s - 5.0, within_s=within_s, hold_s=5.0)
    s = verdict["sustaining"]
    quota = data["clients"]["retry_quota"]
    return {"row": {"verdict": verdict["verdict"], "after_trigger": describe(verdict),
                    "degraded": verdict["degraded"],
                    "attempts_per_s": s["attempts_per_s"], "retries_per_s": s["retries_per_s"],
                    "metadata_lookups_per_s": s["metadata_lookups_per_s"],
                    "goodput_per_s": s["goodput_per_s"],
                    "clients": data["clients"]["count"],
                    "quota_mean": None if quota is None else quota["mean"],
                    "quotas_drained": None if quota is None else quota["drained"]},
            "metastability": verdict}


def build_scenario(rate_per_s: float = 100.0, clients_per_az: int = 600, cut: float = 0.8,
                   trigger_s: float = 10.0, trigger_at_s: float = 30.0, within_s: float = 600.0,
                   metadata_servers: int = 16, **overrides: Any) -> list[Scenario]:
    out = []
    for cache, retry in VARIANTS:
        settings = {"routing.cache": cache, "client.retry_mode": retry,
                    "workload.rate_per_s": rate_per_s, "workload.clients_per_az": clients_per_az,
                    "metrics.traffic_series_s": 1.0, "routing.metadata_servers": metadata_servers,
                    # a variant that stays down is still down when the traffic stops:
                    # the liveness probe waits out the metadata table's backlog (about
                    # as long again as the storm lasted: it queued twice what it served)
                    "run.quiesce_s": 5.0, "run.liveness_bound_s": 2 * within_s + 60.0,
                    **overrides}
        faults = [Fault(trigger_at_s, "flush_caches", "routers"),
                  *brownout("metadata", trigger_at_s, trigger_s, round(1.0 - cut, 6))]
        out.append(Scenario(
            name="retry_storm", variant=f"{cache}/{retry}",
            duration_s=trigger_at_s + trigger_s + within_s + 5.0, overrides=settings,
            description=f"{cache} caches flushed and the metadata table cut by {cut:.0%} for "
                        f"{trigger_s:g}s at {trigger_at_s:g}s; {retry} retries from "
                        f"{3 * clients_per_az} clients",
            faults=faults,
            analyse=lambda d, a=trigger_at_s, t=trigger_s, w=within_s: analyse(d, a, t, w)))
    return out


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
