"""``metrics.enabled``: off, the performance figures are not collected and
the result says so; observation changes nothing either way."""
from __future__ import annotations

from typing import Any

import pytest

from ddbsim.lab import Scenario, run
from ddbsim.lab.result import FIGURE_KEYS
from ddbsim.lab.scenario import build, load


@pytest.fixture(scope="module")
def game_day() -> tuple[Any, Any]:
    """game_day, seed 3 (faults, healing, leader changes, the history), with
    the figures on and off."""
    builder, _ = load("scenarios/game_day.py")
    [scenario] = build(builder)
    return (run(scenario, 3, {"metrics.enabled": True}),
            run(scenario, 3, {"metrics.enabled": False}))


def test_metrics_off_changes_nothing_but_the_figures(game_day: tuple[Any, Any]) -> None:
    on, off = game_day[0].data, game_day[1].data
    assert list(on) == list(off)  # the same keys, in the same order
    differ = sorted(k for k in on if on[k] != off[k])
    assert differ == sorted(["config", *FIGURE_KEYS])
    assert on["config"]["metrics"]["enabled"] is True
    assert off["config"]["metrics"]["enabled"] is False
    on["config"]["metrics"].pop("enabled")
    off["config"]["metrics"].pop("enabled")
    assert on["config"] == off["config"]
    # what the checks and the observation produce is identical
    for key in ("checks", "faults", "nemesis", "healing", "leaders", "network", "simulated_s"):
        assert on[key] == off[key], key
    assert on["checks"]["linearizable"]["valid"] is True and on["healing"] and on["faults"]
    assert on["leaders"]["changes"] > 0 and on["network"]["sent"] > 0
    assert game_day[0].history == game_day[1].history


def test_metrics_off_leaves_the_figure_keys_null(game_day: tuple[Any, Any]) -> None:
    on, off = game_day
    for key in FIGURE_KEYS:
        assert on.data[key] is not None, key
        assert off.data[key] is None, key
    assert '"availability": null' in off.to_json()
    assert off.to_records() == []
    with pytest.raises(ValueError, match="metrics.enabled off"):
        off.plot_availability()
    text = off.summary()
    assert "metrics      off (metrics.enabled=false)" in text
    assert "checks       durability valid" in text and "requests     total" not in text


def test_server_counts_include_acknowledged_writes() -> None:
    """Every acknowledged write and every successful client read was answered
    ``ok`` by a storage node, and the server-side count hears all of them
    (writes once bypassed it)."""
    result = run(Scenario(name="server", duration_s=20.0,
                          overrides={"workload.rate_per_s": 200, "table.partitions": 4}), 1)
    data = result.data
    by_kind = data["requests"]["by_kind"]
    reads_ok = by_kind["get_strong"]["ok"] + by_kind["get_eventual"]["ok"]
    acked = data["checks"]["durability"]["acked_writes"]
    assert acked > 1000 and reads_ok > 1000
    assert data["server"]["ok"] >= acked + reads_ok
