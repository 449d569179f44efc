"""scenarios/host_churn.py, short: every storage host churns fast for 300 s.
The analysis is in the JSON with the Markov figures and their inputs, the
summary prints it, and a sweep record carries its numbers.  (Whether the
model and the simulator agree needs the full hour.)"""
from __future__ import annotations

import json
import statistics

import pytest

from ddbsim.lab import run
from ddbsim.lab.markov import ASSUMPTIONS, NO_STORAGE, GroupModel
from ddbsim.lab.scenario import build, load
from ddbsim.lab.sweep import Task, record_from_result

# A host fails every ~5 min instead of every 30: ~60 power-offs over 18 hosts in 300 s.
FAST = {"churn.mtbf_s": 300.0, "workload.rate_per_s": 50.0}


@pytest.fixture(scope="module")
def churned():
    builder, _ = load("scenarios/host_churn.py")
    [scenario] = build(lambda: builder(duration_s=300.0))
    return run(scenario, seed=3, overrides=FAST)


def test_the_scenario_churns_storage_hosts_under_writes_only(churned):
    d = churned.data
    cfg = d["config"]
    assert cfg["workload"]["put"] == 1.0 and cfg["workload"]["rate_per_s"] == 50.0
    assert cfg["table"]["partitions"] == 32 and cfg["client"]["max_attempts"] == 1
    offs = [f for f in d["faults"] if f["action"] == "power_off"]
    assert len(offs) >= 8 and all("/r" in f["target"] for f in offs)  # storage hosts
    assert d["requests"]["by_kind"].keys() == {"put"}


def test_the_analysis_is_in_the_json_with_the_markov_figure_and_its_inputs(churned):
    d = json.loads(churned.to_json())
    a = d["analysis"]
    cfg = d["config"]
    wa = a["write_availability"]
    assert wa["measured"] == d["availability"]["write"]
    assert 0.0 < wa["markov"] < 1.0 and 0.0 < wa["first_order"] < 1.0
    inputs = a["markov_inputs"]
    assert inputs["mtbf_s"] == 300.0 == cfg["churn"]["mtbf_s"]
    assert inputs["off_s"] == cfg["churn"]["off_s"]
    assert inputs["down_s"] == cfg["churn"]["off_s"] + cfg["storage"]["boot_s"]
    # the model's failover: a leader lost to a power-off, replaced by another host
    failovers = [f["failover_s"] for f in d["leaders"]["failovers"] if f["reason"] == "power_off"
                 and f["new_host"] not in (None, f["old_host"])]
    degraded = [h["degraded_s"] for h in d["healing"] if h["degraded_s"] is not None]
    assert failovers and degraded
    assert inputs["failover_s"] == pytest.approx(statistics.fmean(failovers), abs=1e-3)
    assert inputs["heal_s"] == pytest.approx(statistics.fmean(degraded), abs=1e-3)
    # the rebuild: the median time from an episode's log replica to its storage replica
    rebuilds = [h["storage_replica_after_s"] - h["log_replica_after_s"] for h in d["healing"]
                if h["storage_replica_after_s"] is not None
                and h["log_replica_after_s"] is not None]
    assert len(rebuilds) == inputs["rebuilds_measured"] >= 10
    assert inputs["rebuild_s"] == pytest.approx(statistics.median(rebuilds), abs=1e-3)
    assert inputs["rebuild_config_s"] == cfg["healing"]["partition_size_bytes"] / \
        cfg["healing"]["rebuild_bytes_per_s"] == 250.0
    # ~ the configured copy: the median rebuild saw no leader change
    assert 250.0 <= inputs["rebuild_s"] < 260.0
    assert a["healing"]["mean_rebuild_s"] == pytest.approx(statistics.fmean(rebuilds), abs=1e-3)
    assert a["healing"]["max_rebuild_s"] == pytest.approx(max(rebuilds), abs=1e-9)
    # the figure is the model's, from exactly those inputs
    kw = dict(mtbf_s=inputs["mtbf_s"], off_s=inputs["down_s"],
              failover_s=statistics.fmean(failovers), heal_s=statistics.fmean(degraded))
    model = GroupModel(**kw, rebuild_s=statistics.median(rebuilds))
    assert wa["markov"] == pytest.approx(model.solve().availability, rel=1e-9)
    # and beside it the old model's, where a log replica is a full member and may lead
    assert wa["markov_log_replicas_lead"] == pytest.approx(GroupModel(**kw).solve().availability,
                                                           rel=1e-12)
    assert wa["markov"] < wa["markov_log_replicas_lead"]
    assert sum(a["markov_states"].values()) == pytest.approx(1.0)
    assert a["markov_states"] == pytest.approx(model.solve().coarse, rel=1e-6)
    assert a["markov_phases"][NO_STORAGE] == pytest.approx(
        wa["markov_log_replicas_lead"] - wa["markov"], rel=0.5)  # what the new states cost
    # and the same model with every power-off failover's time, waits for the old leader included
    every = [f["failover_s"] for f in d["leaders"]["failovers"]
             if f["reason"] == "power_off" and f["failover_s"] is not None]
    assert a["failovers"]["all_mean_s"] == pytest.approx(statistics.fmean(every), abs=1e-3)
    assert a["failovers"]["to_another_host"] + a["failovers"]["old_leader_back_first"] + \
        a["failovers"]["no_leader_by_the_end"] == a["failovers"]["leaders_lost_to_power_off"]
    assert a["failovers"]["other_reasons"] + a["failovers"]["leaders_lost_to_power_off"] == \
        len(d["leaders"]["failovers"])
    every_model = GroupModel(mtbf_s=inputs["mtbf_s"], off_s=inputs["down_s"],
                             failover_s=statistics.fmean(every), heal_s=statistics.fmean(degraded),
                             rebuild_s=statistics.median(rebuilds))
    assert wa["markov_all_failovers"] == pytest.approx(every_model.solve().availability, rel=1e-9)
    heal = a["healing"]
    assert heal["episodes"] == len(d["healing"])
    assert heal["with_storage_replica"] == sum(h["storage_replica_at_s"] is not None
                                               for h in d["healing"])
    assert a["assumptions"].startswith(ASSUMPTIONS)


def test_the_analysis_is_a_function_of_the_json_alone(churned):
    builder, _ = load("scenarios/host_churn.py")
    [scenario] = build(builder)
    data = json.loads(churned.to_json())
    analysis = data.pop("analysis")
    assert scenario.analyse is not None and scenario.analyse(data) == analysis


def test_the_summary_prints_the_analysis(churned):
    text = churned.summary()
    a = churned.data["analysis"]
    lines = text.splitlines()
    first = next(i for i, ln in enumerate(lines) if ln.startswith("analysis     "))
    assert lines[first] == (
        f"analysis     write availability: measured {a['write_availability']['measured']:.6g}  "
        f"markov {a['write_availability']['markov']:.6g}  "
        f"markov_log_replicas_lead {a['write_availability']['markov_log_replicas_lead']:.6g}  "
        f"first_order {a['write_availability']['first_order']:.6g}  "
        f"markov_all_failovers {a['write_availability']['markov_all_failovers']:.6g}")
    block = "\n".join(lines[first:])
    assert f"failover_s {a['markov_inputs']['failover_s']:.6g}" in block
    assert f"heal_s {a['markov_inputs']['heal_s']:.6g}" in block
    assert f"rebuild_s {a['markov_inputs']['rebuild_s']:.6g}" in block
    assert f"no_storage {a['markov_phases']['no_storage']:.6g}" in block
    assert f"with_storage_replica {a['healing']['with_storage_replica']}" in block
    assert f"episodes {a['healing']['episodes']}" in block
    assert "assumptions: CTMC of one group" in block


def test_a_sweep_record_carries_the_analysis_numbers(churned):
    rec = record_from_result(churned, "scenarios/host_churn.py", Task(3, ()))
    figures = rec["figures"]
    a = churned.data["analysis"]
    assert figures["analysis.write_availability.markov"] == a["write_availability"]["markov"]
    assert figures["analysis.write_availability.measured"] == churned.data["availability"]["write"]
    assert figures["analysis.markov_inputs.failover_s"] == a["markov_inputs"]["failover_s"]
    assert figures["analysis.healing.with_storage_replica"] == a["healing"]["with_storage_replica"]
    assert figures["analysis.markov_states.serving_3"] == a["markov_states"]["serving_3"]
    assert figures["analysis.write_availability.markov_log_replicas_lead"] == \
        a["write_availability"]["markov_log_replicas_lead"]
    assert figures["analysis.markov_inputs.rebuild_s"] == a["markov_inputs"]["rebuild_s"]
    assert figures["analysis.markov_phases.no_storage"] == a["markov_phases"]["no_storage"]
    json.dumps(rec, allow_nan=False)  # what the sweep writes
