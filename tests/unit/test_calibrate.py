"""Calibration of the fast model by short detailed runs: reproducible from a
seed, cached by config, recalibrated when the config changes (acceptance 4)."""
from __future__ import annotations

from pathlib import Path

import pytest

from ddbsim.config import Config
from ddbsim.lab.nines import calibrate as cal_mod
from ddbsim.lab.nines.calibrate import cache_key, calibrate, format_calibration

SHORT = {"nines.calibration_duration_s": 240.0, "nines.calibration_mtbf_s": 240.0,
         "healing.partition_size_bytes": 1e9}  # a 25 s rebuild: many in a short run


def test_reproducible_cached_and_recalibrated_on_change(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = Config().with_overrides(SHORT)
    mine = tmp_path / "cache"
    mine.mkdir()
    keep = mine / "notes.txt"
    keep.write_text("a user's file")
    first, cached = calibrate(cfg, mine)
    assert not cached and first.spreads["failover_s"]["n"] > 0
    assert first.spreads["rebuild_s"]["n"] > 0
    # the same seed in another cache: the same figures, to the last digit
    again, cached = calibrate(cfg, tmp_path / "other")
    assert not cached and again.to_dict() == first.to_dict()

    calls = []
    real = cal_mod.measure
    monkeypatch.setattr(cal_mod, "measure", lambda c: calls.append(c) or real(c))
    hit, cached = calibrate(cfg, mine)
    assert cached and calls == [] and hit.to_dict() == first.to_dict()
    # a fast-model input is not the detailed run's: still cached
    assert calibrate(cfg.with_overrides({"nines.host_off_s": 60.0}), mine)[1]
    # a protocol key changes the run: recalibrated, and the failover moves with the lease
    longer = cfg.with_overrides({"replication.lease_s": 6.0})
    assert cache_key(longer) != cache_key(cfg)
    changed, cached = calibrate(longer, mine)
    assert not cached and len(calls) == 1
    assert changed.durations.failover_s > first.durations.failover_s + 2.0
    # another seed is another calibration
    assert cache_key(cfg.with_overrides({"nines.calibration_seed": 2})) != cache_key(cfg)
    # nothing of the user's touched; one file per calibration
    assert keep.read_text() == "a user's file"
    assert sorted(p.name.split("-")[0] for p in mine.iterdir()) == [
        "calibration", "calibration", "notes.txt"]
    assert "failover_s" in format_calibration(first, False)


def test_a_failover_or_join_that_waited_for_a_quorum_is_left_out() -> None:
    """A duration that overlapped another member's outage may include a wait
    for that host (no quorum: no election, no healing), which the fast model
    simulates itself: such durations are not calibration samples."""
    cal = cal_mod.calibration_config(Config())
    fleet_hosts = cal_mod._Outages(cal, {"healing": [], "faults": []}).members_at("p-0000", 0.0)
    a, b, c = fleet_hosts
    data = {
        "faults": [{"t_s": 100.0, "action": "power_off", "target": a},
                   {"t_s": 101.0, "action": "power_off", "target": b},
                   {"t_s": 150.0, "action": "power_on", "target": b},
                   {"t_s": 300.0, "action": "power_off", "target": c}],
        # a was replaced by another host at 200 s
        "healing": [{"partition": "p-0000", "lost_host": a, "log_replica_host": "x",
                     "log_replica_at_s": 200.0}]}
    w = cal_mod._Outages(cal, data)
    assert w.members_at("p-0000", 199.0) == [a, b, c]
    assert w.members_at("p-0000", 250.0) == ["x", b, c]
    # a's loss at 100 s overlapped b's outage (down until 150 s + boot)
    assert w.other_member_down("p-0000", a, 100.0, 102.0)
    assert w.other_member_down("p-0000", a, 160.0, 165.0)  # b still booting
    assert not w.other_member_down("p-0000", a, 175.0, 180.0)
    # after the swap, a's outage no longer counts, c's still does (never back)
    assert not w.other_member_down("p-0000", b, 250.0, 260.0)
    assert w.other_member_down("p-0000", b, 250.0, 301.0)
