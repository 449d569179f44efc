"""The printed summary says what was done and labels every figure: the
scenario's description, the overrides, the fault schedule; failovers apart
from waits for hosts to come back; the healing that did or did not happen;
the units and legends; "no requests" rather than 100% of nothing."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from ddbsim import Scenario, outage, run
from ddbsim.lab.report import comparison, one, overrides_of, split_failovers, summary_text

QUIET = {"workload.rate_per_s": 20, "table.partitions": 4}


@pytest.fixture(scope="module")
def outage_data() -> dict[str, Any]:
    scenario = Scenario(name="tiny", duration_s=30.0, faults=outage("az-2", 5, 10),
                        overrides=QUIET, description="az-2 off for 10 s")
    return run(scenario, seed=2).data


def text_of(data: dict[str, Any]) -> str:
    return "\n".join(one(data))


def test_the_summary_says_what_was_done(outage_data: dict[str, Any]) -> None:
    text = text_of(outage_data)
    assert "scenario     az-2 off for 10 s\n" in text
    assert "overrides    table.partitions=4  workload.rate_per_s=20.0  (the keys not at their " \
           "default)" in text
    assert "faults       2 applied, then everything healed at 30s:" in text
    assert "power_off az-2" in text and "power_on  az-2" in text
    assert "window (s)" in text


def test_overrides_are_the_keys_off_their_default(outage_data: dict[str, Any]) -> None:
    assert overrides_of(outage_data["config"]) == {"workload.rate_per_s": 20.0,
                                                   "table.partitions": 4}
    data = copy.deepcopy(outage_data)
    data["config"]["workload"]["rate_per_s"] = 100.0
    data["config"]["table"]["partitions"] = 16
    data["faults"] = [f for f in data["faults"] if f["action"] == "heal_all"]
    text = text_of(data)
    assert "overrides    none (every config key at its default)" in text
    assert "faults       none: traffic only" in text


def test_a_long_schedule_is_cut_short(outage_data: dict[str, Any]) -> None:
    data = copy.deepcopy(outage_data)
    data["faults"] = [{"t_s": float(i), "action": "power_off", "target": "az-2/r1/h1"}
                      for i in range(20)]
    text = text_of(data)
    assert "faults       20 applied" in text and "... 8 more (the result's faults)" in text


def test_waiting_for_hosts_is_not_called_a_failover(outage_data: dict[str, Any]) -> None:
    data = copy.deepcopy(outage_data)
    data["variant"] = "two_azs"
    # lost at 60 s, a new leader only at 682 s, after the AZs came back at 660 s
    data["faults"] = [{"t_s": 60.0, "action": "power_off", "target": "az-2"},
                      {"t_s": 660.0, "action": "power_on", "target": "az-2"},
                      {"t_s": 900.0, "action": "heal_all", "target": ""}]
    data["leaders"]["failovers"] = [
        {"partition": "p-0000", "lost_at_s": 60.0, "reason": "power_off", "old_host": "a",
         "new_host": "b", "elected_at_s": 682.0, "failover_s": 622.0},
        {"partition": "p-0001", "lost_at_s": 60.0, "reason": "power_off", "old_host": "a",
         "new_host": "c", "elected_at_s": 62.0, "failover_s": 2.0}]
    assert split_failovers(data) == ([2.0], [622.0])
    text = text_of(data)
    assert "failover (a new leader while the faults lasted) median 2.0s, max 2.0s (n=1)" in text
    assert "1 got a new leader only after a fault ended (the time until the hosts came back, " \
           "not a failover) median 622.0s" in text
    table = comparison([outage_data, data])
    assert "failover(max)  hosts back(max)" in table[1]
    row = next(line for line in table if line.startswith("two_azs"))
    assert "622.0s" in row and "2.0s" in row
    legend = "\n".join(table)
    assert "hosts back: longest time without a leader that ended only after a fault ended" in legend
    assert ("checks: durability/convergence/single_leader/liveness/placement/healing/"
            "corruption/archive (v valid, X invalid, ? unknown)") in legend


def test_healing_says_whether_anything_happened(outage_data: dict[str, Any]) -> None:
    data = copy.deepcopy(outage_data)
    data["healing"] = []
    assert "healing      no replica lost: nothing to heal" in text_of(data)
    data["healing"] = [{"partition": "p-0000", "lost_host": "h", "lost_at_s": 5.0,
                        "detected_at_s": 10.0, "log_replica_host": None,
                        "log_replica_at_s": None, "storage_replica_host": None,
                        "storage_replica_at_s": None, "ended_at_s": 20.0, "end": "returned",
                        "blocked": None, "log_replica_after_s": None,
                        "storage_replica_after_s": None, "degraded_s": None}]
    text = text_of(data)
    assert "healing      1 replicas lost; ended: returned 1" in text
    assert "log replica placed in 0 of 1; storage replica in 0 of 1" in text
    assert "none after detection" not in text


def test_alarms_name_their_threshold_and_windows(outage_data: dict[str, Any]) -> None:
    data = copy.deepcopy(outage_data)
    data["alarms"] = [{"start_s": 0.0, "end_s": 30.0, "error_rate": 0.052}]
    text = text_of(data)
    assert "alarms       1 of 1 windows had an error rate above 1% " \
           "(metrics.alarm_error_rate): 0-30s (5.20%)" in text


def test_no_traffic_says_no_requests() -> None:
    scenario = Scenario(name="idle", duration_s=5.0, overrides={
        "workload.rate_per_s": 0, "workload.canary_rate_per_s": 0, "table.partitions": 4})
    text = summary_text([run(scenario, seed=1).data])
    assert "availability no requests: nothing to measure" in text
    assert "latency ms   no requests" in text
    assert "100.0000%" not in text and "p50 0.00" not in text


def test_a_run_without_reads_says_so(outage_data: dict[str, Any]) -> None:
    data = copy.deepcopy(outage_data)
    for kind in ("get_strong", "get_eventual"):
        data["requests"]["by_kind"][kind] = {"ok": 0, "error": 0, "throttled": 0}
    for w in data["availability"]["windows"]:
        w["by_kind"] = {k: v for k, v in w["by_kind"].items() if not k.startswith("get")}
    text = text_of(data)
    assert "read no reads" in text
    assert "(-: no requests of that kind in the window)" in text
