"""Every storage host fails and returns at random (churn); write availability beside a Markov model.

Each storage host loses power as a Poisson process (``churn.mtbf_s``, mean
30 min up) and stays off for ``churn.off_s`` (mean 2 min), independently,
for an hour of 200 writes/s over 32 partitions, with client retries off --
so every write that meets a group unable to serve fails, and the measured
write availability is the fraction of time the groups serve.

The analysis sets that beside the CTMC of one group
(:mod:`ddbsim.lab.markov`), which tells storage replicas from log replicas:
a replacement is a log replica (paper §5.1), which never leads, until its
leader has rebuilt it into a storage replica -- a copy that runs only while
a leader serves and starts again when leadership moves.  So a group healed
twice can be left with one storage replica; when that one's host fails,
nobody leads until a storage member returns.  The model is fed with the
configured churn and with what the run measured:

* the healing time (mean degraded time of the healing episodes);
* the rebuild time: the median time from an episode's log replica to its
  storage replica (``storage_replica_after_s - log_replica_after_s``; a
  rebuild that leadership interrupted shows as a long one, hence the
  median, the copy itself; the mean, restarts included, is printed beside
  it), or ``healing.rebuild_s`` (partition size / rebuild bandwidth) from
  the config when no episode got that far.  The model pauses a copy while
  the group has no leader, but a restart costs it nothing (a memoryless
  copy has no progress to lose), and its leadership moves only when the
  leader's host fails -- in ddbsim a member that returns may also preempt
  a serving leader (``failovers.other_reasons``), and every move restarts
  the copies: both keep ddbsim's log replicas longer than the model's;
* the failover time -- the mean over the leaders lost to a power-off that
  *another host* replaced.  A leader that only its own host could replace
  (it came back and was elected again) waited for a member to return: the
  model counts such waits in its no-quorum states when a quorum was lost,
  and in its no-storage states when the members left were log replicas;
  folding them into the failover time would count them twice.  Their count
  and mean are printed, and so is the model's figure with every failover's
  time (``markov_all_failovers``, which counts those waits twice).

Beside the model's figure (``markov``) is the old model's, in which a log
replica is a full member from the moment it joins and may lead
(``markov_log_replicas_lead``): the gap between the two is what the group
loses to its storage replicas being rebuilt.  A failed member is back
``storage.boot_s`` after its host (it boots before it serves), so the
model's down time is ``churn.off_s + storage.boot_s``.  Where the measured
and the model figures disagree, the simulator does something the model's
assumptions leave out -- or the model misses something the simulator does.
"""
from __future__ import annotations

import math
import statistics
from typing import Any

from ddbsim.lab import Scenario
from ddbsim.lab.churn import churn_plan
from ddbsim.lab.markov import ASSUMPTIONS, GroupModel

WORKLOAD = {"workload.rate_per_s": 200.0, "workload.put": 1.0, "workload.get_strong": 0.0,
            "workload.get_eventual": 0.0, "workload.cond_put": 0.0, "workload.delete": 0.0,
            "table.partitions": 32, "client.max_attempts": 1}


def analyse(data: dict[str, Any]) -> dict[str, Any]:
    """Measured write availability beside the Markov figures, and what they used."""
    cfg = data["config"]
    churn, replication, healing = cfg["churn"], cfg["replication"], cfg["healing"]
    boot_s = cfg["storage"]["boot_s"]
    lost = [f for f in data["leaders"]["failovers"] if f["reason"] == "power_off"]
    every = [f["failover_s"] for f in lost if f["failover_s"] is not None]
    moved = [f["failover_s"] for f in lost
             if f["new_host"] is not None and f["new_host"] != f["old_host"]]
    waited = [f["failover_s"] for f in lost if f["new_host"] == f["old_host"]]
    heal = data["healing"]
    degraded = [h["degraded_s"] for h in heal if h["degraded_s"] is not None]
    rebuilt = [h["storage_replica_after_s"] for h in heal
               if h["storage_replica_after_s"] is not None]
    # log replica -> storage replica, in the episodes that had both
    rebuilds = [h["storage_replica_after_s"] - h["log_replica_after_s"] for h in heal
                if h["storage_replica_after_s"] is not None
                and h["log_replica_after_s"] is not None]
    rebuild_config_s = healing["partition_size_bytes"] / healing["rebuild_bytes_per_s"]
    rebuild_s = statistics.median(rebuilds) if rebuilds else rebuild_config_s
    failover_s = _mean(moved)
    heal_s = _mean(degraded)
    # None with metrics.enabled off: no measured figure, no gap
    measured = data["availability"]["write"] if data["availability"] is not None else None

    def markov(failover: float | None, rebuild: float | None) -> dict[str, Any]:
        if failover is None or not failover > 0:
            return {"availability": None, "unavailability": None, "phases": {},
                    "coarse_states": {}}
        return GroupModel(mtbf_s=churn["mtbf_s"], off_s=churn["off_s"] + boot_s,
                          failover_s=failover, heal_s=math.inf if heal_s is None else heal_s,
                          replicas=replication["replicas"],
                          write_quorum=replication["write_quorum"],
                          rebuild_s=rebuild).solve().to_dict()

    model = markov(failover_s, rebuild_s)
    model_u = model["unavailability"]
    # A storage replica is due for an episode detected a rebuild time before the end.
    rebuild_total_s = statistics.median(rebuilt) if rebuilt else None
    due = None if rebuild_total_s is None else sum(
        h["detected_at_s"] + rebuild_total_s <= data["duration_s"] for h in heal)
    notes = ""
    if failover_s is None:
        notes += " (no failover to another host measured: no model figure)"
    if heal_s is None:
        notes += " (no healing measured: the model has none)"
    if not rebuilds:
        notes += " (no rebuild measured: the model's rebuild time is the config's)"
    others = sum(f["reason"] != "power_off" for f in data["leaders"]["failovers"])
    return {
        "write_availability": {"measured": measured, "markov": model["availability"],
                               "markov_log_replicas_lead":
                                   markov(failover_s, None)["availability"],
                               "first_order": None if failover_s is None
                               else 1.0 - failover_s / churn["mtbf_s"],
                               "markov_all_failovers":
                                   markov(_mean(every), rebuild_s)["availability"]},
        "gap": {"availability": None if model_u is None or measured is None
                else model["availability"] - measured,
                "unavailability_x_markov": None if not model_u or measured is None
                else (1.0 - measured) / model_u},
        "markov_inputs": {"mtbf_s": churn["mtbf_s"], "off_s": churn["off_s"], "boot_s": boot_s,
                          "down_s": churn["off_s"] + boot_s, "failover_s": _r(failover_s),
                          "heal_s": _r(heal_s), "rebuild_s": _r(rebuild_s),
                          "rebuilds_measured": len(rebuilds),
                          "rebuild_config_s": _r(rebuild_config_s),
                          "replicas": replication["replicas"],
                          "write_quorum": replication["write_quorum"]},
        "failovers": {"leaders_lost_to_power_off": len(lost),
                      "to_another_host": len(moved), "mean_s": _r(failover_s),
                      "max_s": _r(max(moved, default=None)),
                      "old_leader_back_first": len(waited), "their_mean_s": _r(_mean(waited)),
                      "no_leader_by_the_end": len(lost) - len(every),
                      "all_mean_s": _r(_mean(every)), "other_reasons": others},
        "healing": {"episodes": len(heal),
                    "with_log_replica": sum(h["log_replica_at_s"] is not None for h in heal),
                    "with_storage_replica": len(rebuilt), "storage_replica_due": due,
                    "mean_degraded_s": _r(heal_s),
                    "max_degraded_s": _r(max(degraded, default=None)),
                    "mean_rebuild_s": _r(_mean(rebuilds)),
                    "max_rebuild_s": _r(max(rebuilds, default=None))},
        "markov_phases": model["phases"],
        "markov_states": model["coarse_states"],
        "assumptions": ASSUMPTIONS + notes,
    }


def _mean(xs: list[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def build_scenario(duration_s: float = 3600.0, **overrides: Any) -> Scenario:
    return Scenario(
        name="host_churn", duration_s=duration_s, faults=churn_plan(duration_s),
        overrides={**WORKLOAD, **overrides}, analyse=analyse,
        description="every storage host alternates up (churn.mtbf_s) and off (churn.off_s); "
                    "200 writes/s, no client retries")


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
