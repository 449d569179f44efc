"""Any scenario can analyse its own result: stored in the data, printed,
flattened into a sweep record; a non-dict is one clear error."""
from __future__ import annotations

import json

import pytest

from ddbsim.lab import Scenario, run
from ddbsim.lab.report import analysis_lines
from ddbsim.lab.scenario import ScenarioError
from ddbsim.lab.sweep import Task, record_from_result

QUIET = {"workload.rate_per_s": 20.0}


def count_puts(data):
    return {"puts": data["requests"]["by_kind"].get("put", {}).get("ok", 0),
            "share": {"of_requests": 0.25, "note": None}, "verdict": "fine"}


def test_analysis_is_stored_printed_and_flattened():
    result = run(Scenario(name="tiny", duration_s=5.0, overrides=QUIET, analyse=count_puts), seed=2)
    a = result.data["analysis"]
    assert a == count_puts(result.data) and a["puts"] > 0
    assert json.loads(result.to_json())["analysis"] == a
    text = result.summary()
    assert f"analysis     puts: {a['puts']:,}\n" in text
    assert "             share: of_requests 0.25  note -\n" in text
    assert "             verdict: fine\n" in text
    figures = record_from_result(result, "tiny.py", Task(2, ()))["figures"]
    assert figures["analysis.puts"] == a["puts"] and figures["analysis.share.of_requests"] == 0.25
    assert not any(k.startswith("analysis.verdict") for k in figures)


def test_without_analyse_there_is_no_analysis():
    result = run(Scenario(name="tiny", duration_s=2.0, overrides=QUIET), seed=2)
    assert "analysis" not in result.data
    assert "analysis" not in result.summary()


def test_an_analysis_that_is_not_a_dict_is_one_clear_error():
    with pytest.raises(ScenarioError, match="analyse must return a dict, got list"):
        run(Scenario(name="tiny", duration_s=2.0, overrides=QUIET, analyse=lambda d: [1]), seed=2)


def test_analysis_lines_format_nested_values():
    assert analysis_lines({"a_b": {"x": 1234, "y": {"z": 0.5}, "ok": True}, "n": [1, 2.5]}) == [
        "analysis     a b: x 1,234  y (z 0.5)  ok true",
        "             n: 1, 2.5",
    ]
