"""A whole-region power cut under traffic, power back host by host in a
random order: every acknowledged write is read back (issue 13, acceptance 2).
Power destroys no disk, so the correct protocol must lose nothing -- and a
protocol that forgets its durable log tail on a reboot is caught."""
from __future__ import annotations

from ddbsim.lab import run
from ddbsim.lab.scenario import build, load
from ddbsim.lab.selftest import failed_checks

SCENARIO = "scenarios/region_power_cut.py"


def test_every_acknowledged_write_survives_a_region_power_cut() -> None:
    builder, _ = load(SCENARIO)
    result = run(build(builder)[0], 1)
    d = result.data
    offs = [f for f in d["faults"] if f["action"] == "power_off"]
    assert {f["target"] for f in offs} == {"az-1", "az-2", "az-3"}
    assert len({f["t_s"] for f in offs}) == 1  # at once
    storage_back = [f["target"] for f in d["faults"]
                    if f["action"] == "power_on" and f["target"].count("/") == 2]
    assert len(storage_back) == 18 and storage_back != sorted(storage_back)  # in a random order
    durability = d["checks"]["durability"]
    assert durability["valid"] is True and durability["lost_writes"] == 0
    assert durability["acked_writes"] > 3000, durability  # under traffic
    assert all(c["valid"] is True for c in d["checks"].values()), {
        k: c["valid"] for k, c in d["checks"].items()}
    # Traffic stopped while the power was out, and came back.
    windows = d["availability"]["windows"]
    assert d["requests"]["error"] > 0 and d["requests"]["ok"] > d["requests"]["error"]
    assert windows


def test_a_protocol_that_forgets_its_durable_log_tail_on_reboot_is_caught() -> None:
    assert failed_checks(SCENARIO, 1, {}, "forget_uncommitted_on_crash") != []
