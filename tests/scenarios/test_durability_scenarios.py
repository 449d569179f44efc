"""Durability end to end: bit rot is found and repaired, a replica that
applies a record with a bad checksum is caught, a lost disk is healed, a
table restored as of an instant matches the history there."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ddbsim.lab import Fault, Scenario, run

ROOT = Path(__file__).resolve().parents[2]

SHORT = {"durability.scrub_interval_s": 20.0, "durability.archive_interval_s": 5.0,
         "workload.key_count": 2000}


def rot_run(faults: list[Fault], bugs: tuple[str, ...] = (), seed: int = 3,
            duration_s: float = 90.0, **overrides: Any) -> dict[str, Any]:
    result = run(Scenario(name="rot", duration_s=duration_s, faults=faults), seed=seed,
                 overrides={**SHORT, **overrides}, bugs=bugs)
    return result.data


def test_every_injected_corruption_is_found_and_repaired() -> None:
    hosts = ["az-1/r1/h1", "az-2/r2/h3", "az-3/r1/h2", "az-1/r2/h2"]
    faults = [Fault(20.0 + 10 * i, "bit_rot", h, what=("item" if i % 2 == 0 else "wal"))
              for i, h in enumerate(hosts)]
    data = rot_run(faults)
    v = data["verification"]
    assert v["injected"] == 4
    assert v["detected"] + v["vanished"] == 4 and v["detected"] >= 3
    assert v["repaired"] == v["detected"] and v["false_positives"] == 0
    assert data["checks"]["corruption"]["valid"] is True
    assert data["checks"]["convergence"]["valid"] is True
    assert data["checks"]["durability"]["valid"] is True
    assert v["scrub"]["scrubs"] > 0 and v["scrub"]["with_reference"] == v["scrub"]["scrubs"]
    assert v["archive"]["segments"] > 0


def test_a_clean_run_reports_no_corruption() -> None:
    data = rot_run([])
    v = data["verification"]
    assert v["injected"] == 0 and v["false_positives"] == 0
    assert data["checks"]["corruption"]["valid"] is True


# A WAL record rots on a host that then reboots -- quickly (a 1 s boot), so
# that it stays in its groups rather than being replaced -- and its replay
# reads the record back.
REBOOT = [Fault(30.0, "bit_rot", "az-2/r1/h1", what="wal"),
          Fault(31.0, "power_off", "az-2/r1/h1"), Fault(32.0, "power_on", "az-2/r1/h1")]
FAST_BOOT = {"storage.boot_s": 1.0}


def test_a_replay_that_verifies_drops_the_rotten_record() -> None:
    data = rot_run(REBOOT, seed=4, **FAST_BOOT)
    [c] = data["verification"]["corruptions"]
    assert c["found_by"] == "replay" and c["repaired_at_s"] is not None
    assert data["checks"]["corruption"]["valid"] is True
    assert data["checks"]["convergence"]["valid"] is True


def test_the_scrub_catches_a_replica_that_applies_a_record_with_a_bad_checksum() -> None:
    data = rot_run(REBOOT, bugs=("apply_bad_checksum",), seed=4, **FAST_BOOT)
    v = data["verification"]
    # the rotten value reached the replica's items: a mismatch no bit rot of an
    # item explains
    assert any(f["what"] == "item" and f["host"] == "az-2/r1/h1"
               for f in v["false_positive_reports"])
    assert data["checks"]["corruption"]["valid"] is False


def test_a_host_whose_disk_is_lost_comes_back_empty_and_is_replaced() -> None:
    data = rot_run([Fault(20.0, "lose_disk", "az-3/r2/h1"), Fault(40.0, "power_on", "az-3/r2/h1")],
                   duration_s=120.0)
    assert all(c["valid"] is True for c in data["checks"].values()), data["checks"]
    lost = [h for h in data["healing"] if h["lost_host"] == "az-3/r2/h1"]
    assert lost and all(h["storage_replica_at_s"] is not None for h in lost)


def test_messages_corrupted_in_flight_are_dropped_by_their_receivers() -> None:
    # 2% of every message in the region corrupted for a minute, under traffic
    # and a host power cycle: each receiver drops what fails its checksum
    # (counted), the protocol recovers as from a lost message, and every
    # check holds -- no corrupt message was ever acted on.
    faults = [Fault(15.0, "impair", "region", corrupt=0.02), Fault(20.0, "power_off", "az-1/r1/h1"),
              Fault(40.0, "power_on", "az-1/r1/h1"), Fault(75.0, "restore", "region")]
    data = rot_run(faults)
    net = data["network"]
    assert net["corrupted"] > 100
    assert 0.9 * net["corrupted"] <= net["corrupt_dropped"] <= net["corrupted"]
    assert all(c["valid"] is True for c in data["checks"].values()), data["checks"]
    clean = rot_run([])["network"]
    assert clean["corrupted"] == clean["corrupt_dropped"] == 0


# -- point-in-time restore -------------------------------------------------------------

def test_a_restored_table_matches_the_history_at_every_instant_tried() -> None:
    from ddbsim.lab.scenario import load_scenarios

    [scenario] = load_scenarios(ROOT / "scenarios" / "restore.py",
                                ["duration_s=150", "burst_per_s=400"])
    data = run(scenario, seed=2, overrides={"workload.rate_per_s": 100}).data
    check = data["checks"]["restore"]
    assert check["valid"] is True and len(check["instants"]) == 5
    for row in check["instants"]:
        assert row["partitions"] == 16 and row["keys_checked"] > 0
        assert row["invoked_after_t_found"] == 0 and row["mismatches"] == 0
        assert row["acked_found"] == row["acked_before_t"]
    assert check["instants"][-1]["acked_before_t"] > check["instants"][0]["acked_before_t"] > 0
    # the deliberately wrong restore (5 s late) is caught at every instant
    assert check["mutants"]["caught"] == check["mutants"]["differ"] == check["mutants"]["tried"] == 5
    assert data["analysis"]["all_valid"] is True
    assert data["faults"][0]["action"] == "power_off"


def test_restoring_a_run_without_pitr_or_history_says_so() -> None:
    scenario = Scenario(name="restore", duration_s=30.0, restore_at_s=[10.0])
    no_pitr = run(scenario, seed=1, overrides={"metrics.history": True}).data
    [row] = no_pitr["checks"]["restore"]["instants"]
    assert row["valid"] is False and "durability.pitr=true" in row["error"]
    no_history = run(scenario, seed=1, overrides={"durability.pitr": True}).data
    assert no_history["checks"]["restore"]["valid"] == "unknown"
