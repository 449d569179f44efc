"""The hot-partition experiment (scenarios/hot_partition.py), ten times
shorter than the acceptance run and the story the same: throttling on the
long skewed phase falls policy by policy, bursting absorbs the short spike,
the hot single key is throttled under every policy and not split, a wide
key range beyond the partition maximum is split and stops being throttled
-- and throttles are never availability errors."""
from __future__ import annotations

import json
import math
from typing import Any

import pytest

from ddbsim.lab import run
from ddbsim.lab.result import Result
from ddbsim.lab.scenario import load_scenarios

SCALE = 0.1


@pytest.fixture(scope="module")
def result() -> Result:
    return run(load_scenarios("scenarios/hot_partition.py", [f"time_scale={SCALE}"]), seed=1)


def parts(result: Result) -> dict[str, dict[str, Any]]:
    return {r.data["variant"]: r.data for r in result.parts}


def test_the_lessons_hold_and_are_printed(result: Result) -> None:
    c = result.data["comparison"]
    assert c["long_skew_falls_policy_by_policy"] is True
    long = c["long_skew_throttled_pct"]
    assert long["static"] > long["bursting"] > long["adaptive"] > long["gac"]
    assert long["gac"] == 0.0
    assert c["bursting_absorbs_the_spike"] is True and c["spike_throttled_pct"]["static"] > 10
    # bursting holds the long skew only while its saved capacity lasts, then throttles to the end
    assert c["bursting_holds_the_long_skew_for_s"] > 0
    assert c["bursting_stops_the_long_skew_throttling"] is False
    # adaptive capacity: throttling starts (the burst ran out), then the controller stops it
    lag = c["adaptive_lag"]
    assert lag["throttling_from_s"] is not None and lag["stopped_after_s"] is not None
    assert c["hot_key_throttled_under_every_policy"] is True
    # GAC + split: the hot key's partition is not split (a single key), the wide range's is
    assert c["hot_key_not_split"] is True and c["declined"] == ["p-0006: a single hot key"]
    assert c["split_ends_the_wide_range_throttling"] is True
    wide = c["wide_range_throttled_pct"]
    assert wide["gac_split"] < wide["gac"] / 1.5
    text = result.summary()
    for line in ("long skew falls policy by policy: true", "bursting absorbs the spike: true",
                 "hot key throttled under every policy: true"):
        assert f"comparison     {line}" in text or line in text
    assert "variant     phase" in text and "hot_range" in text


def test_throttles_are_never_availability_errors(result: Result) -> None:
    for policy, d in parts(result).items():
        req = d["requests"]
        assert req["throttled"] > 0, policy  # the hot key at least
        assert req["error"] == 0 and req["ok"] + req["throttled"] == req["total"]
        assert d["availability"]["overall"] == 1.0 and d["availability"]["write"] == 1.0
        assert all(w["errors"] == 0 for w in d["availability"]["windows"])
        assert sum(w["throttled"] for w in d["availability"]["windows"]) == req["throttled"]
        assert d["alarms"] == [] and d["partition_errors"] == []
        assert all(c["valid"] is True for c in d["checks"].values()), policy
    static = parts(result)["static"]
    assert static["server"]["throttled"] > 0  # refused by the storage nodes
    # the client's retries: fewer operations end throttled than attempts were
    hot = static["phases"]["hot_range"]
    assert 0 < hot["throttled_ops_rate"] < hot["throttle_rate"]


def test_the_result_carries_the_admission_series(result: Result) -> None:
    d = parts(result)["adaptive"]
    a = d["admission"]
    series = a["series"]
    n = len(series["t_s"])
    assert n == pytest.approx(d["duration_s"] / series["series_s"], abs=1)
    assert set(series["partitions"]) == {f"p-{i:04d}" for i in range(8)}
    assert all(len(v) == n for v in series["table"].values())
    assert max(series["table"]["consumed_wcu_per_s"]) <= 2000 * 1.5
    assert max(series["table"]["throttle_rate"]) > 0.1
    hot = series["partitions"]["p-0002"]
    assert max(x for x in hot["allocated_wcu"] if x is not None) > 200  # boosted
    assert any(x is not None and x > 1000 for x in hot["write_burst_tokens"])  # saved up
    assert a["adaptive"]["changes"] and a["adaptive"]["changes"][0]["partition"] == "p-0002"
    split = parts(result)["gac_split"]["admission"]
    assert [r["partition"] for r in split["splits"]["done"]] == ["p-0004"]
    assert split["table"]["partitions_at_end"] == 9
    children = split["series"]["partitions"]["p-0004.0"]["requests_per_s"]
    assert children[0] is None and children[-1] is not None  # it exists from the split on
    assert split["series"]["partitions"]["p-0004"]["requests_per_s"][-1] is None
    g = parts(result)["gac"]["admission"]["gac"]
    assert g["asks"] >= g["grants"] > 0 and g["timeouts"] == 0
    assert max(parts(result)["gac"]["admission"]["series"]["table"]["gac_asks_per_s"]) > 0
    json.loads(result.to_json())  # serialisable


def test_frames_and_the_figure(result: Result) -> None:
    pytest.importorskip("pandas")
    frame = result.admission_frame()
    assert set(frame["variant"]) == {"static", "bursting", "adaptive", "gac", "gac_split"}
    assert {"table", "p-0002"} <= set(frame["partition"])
    assert {"throttle_rate", "consumed_wcu_per_s", "write_burst_tokens"} <= set(frame.columns)
    phases = result.phases_frame()
    assert len(phases) == 5 * 6 and {"phase", "throttle_rate", "p99_ms"} <= set(phases.columns)
    windows = result.to_frame()
    assert "throttled_rate" in windows.columns and windows["throttled_rate"].max() > 0
    from matplotlib.figure import Figure

    ax = result.plot_throttling(Figure().add_subplot())
    assert len(ax.get_lines()) == 5
    assert "throttled" in ax.get_ylabel()
    assert not math.isnan(ax.get_xlim()[1])
