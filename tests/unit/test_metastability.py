"""The metastability monitor on hand-made series: the verdict, the time of
recovery, and degradation judged against the offered load."""
from __future__ import annotations

from typing import Any

from ddbsim.lab.metastability import METASTABLE, RECOVERED, assess


def data(goodput: list[float], offered: list[float] | None = None,
         attempts: list[float] | None = None) -> dict[str, Any]:
    series: dict[str, Any] = {"bucket_s": 1.0, "goodput": goodput,
                              "attempts": attempts or offered or goodput}
    if offered is not None:
        series["first_attempts"] = offered
    return {"series": series}


def test_a_quiet_dip_in_arrivals_is_not_degradation() -> None:
    # 100/s, but fewer requests arrive for 5 s after the trigger (by chance):
    # all of them succeed.
    offered = [100.0] * 30 + [85.0] * 5 + [100.0] * 30
    v = assess(data(list(offered), offered), 30.0, 31.0, baseline_s=20.0, within_s=20.0, hold_s=5.0)
    assert v["degraded"] is False and v["min_goodput_of_offered"] == 1.0
    assert v["verdict"] == RECOVERED
    # judged against the level before the trigger, as without the offered load, it would be
    assert assess(data(list(offered)), 30.0, 31.0, baseline_s=20.0, within_s=20.0,
                  hold_s=5.0)["degraded"] is True


def test_goodput_short_of_what_was_sent_is_degradation_and_recovery_is_timed() -> None:
    offered = [100.0] * 70
    goodput = [100.0] * 30 + [40.0] * 12 + [100.0] * 28
    v = assess(data(goodput, offered, attempts=[100.0] * 30 + [250.0] * 12 + [100.0] * 28),
               30.0, 35.0, baseline_s=20.0, within_s=30.0, hold_s=5.0)
    assert v["degraded"] is True and v["min_goodput_of_offered"] == 0.4
    assert v["verdict"] == RECOVERED and v["recovered_at_s"] == 42.0
    assert v["recovered_after_s"] == 7.0
    s = v["sustaining"]  # from the trigger's end (35 s) to the recovery (42 s)
    assert s["goodput_per_s"] == 40.0 and s["attempts_per_s"] == 250.0
    assert s["retries_per_s"] == 150.0 and s["attempts_per_goodput"] == 6.25


def test_goodput_that_never_returns_within_the_window_is_metastable() -> None:
    offered = [100.0] * 80
    goodput = [100.0] * 30 + [0.0] * 50
    v = assess(data(goodput, offered), 30.0, 35.0, baseline_s=20.0, within_s=30.0, hold_s=5.0)
    assert v["verdict"] == METASTABLE and v["recovered_at_s"] is None
    assert v["degraded"] is True
