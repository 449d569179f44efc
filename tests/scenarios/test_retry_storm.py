"""The retry storm, shortened: the bimodal cache with standard retries from
a fleet of clients stays down after the trigger, without retries it
recovers, and the constant-work cache never degrades."""
from __future__ import annotations

from scenario_files import scenario_module

from ddbsim.lab import run


def test_standard_retries_from_a_fleet_sustain_the_bimodal_collapse() -> None:
    module = scenario_module("retry_storm")
    variants = {s.variant: s for s in module.build_scenario(
        clients_per_az=200, trigger_at_s=20.0, within_s=120.0)}
    assert set(variants) == {"bimodal/standard", "bimodal/none", "constant_work/standard"}
    rows = {}
    for name, scenario in variants.items():
        data = run(scenario, seed=1).data
        rows[name] = data["analysis"]["row"]
        if name != "bimodal/standard":
            assert all(c["valid"] is True for c in data["checks"].values()), (name, data["checks"])
    storm = rows["bimodal/standard"]
    assert storm["verdict"] == "metastable"
    assert storm["retries_per_s"] > 1.5 * 100  # about two retries per request
    assert storm["goodput_per_s"] < 5
    assert storm["clients"] == 600 and storm["quotas_drained"] == 0  # no client's quota ran out
    assert rows["bimodal/none"]["verdict"] == "recovered"
    assert rows["bimodal/none"]["retries_per_s"] == 0
    flat = rows["constant_work/standard"]
    assert flat["verdict"] == "recovered" and flat["degraded"] is False
    assert flat["metadata_lookups_per_s"] == 0
