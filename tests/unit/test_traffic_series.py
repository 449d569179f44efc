"""The traffic series: counts become rates per second per bucket; a gauge
(the routing lookups in flight) is kept as sampled at each bucket's end."""
from __future__ import annotations

from ddbsim.lab.metrics import Figures


def test_counts_are_rates_and_gauges_are_levels() -> None:
    f = Figures(window_s=60.0, traffic_series_s=0.5)
    for t in (0.1, 0.2, 0.7):
        f.count("attempts", t)
    f.sample("lookups_in_flight", 0.5, 7)  # the end of bucket 0
    f.sample("lookups_in_flight", 1.0, 3)  # ... of bucket 1
    s = f.series_data(1.5)
    assert s is not None and s["bucket_s"] == 0.5
    assert s["attempts"] == [4.0, 2.0, 0.0]  # 2, 1 and 0 in half a second
    assert s["lookups_in_flight"] == [7, 3, 0]


def test_no_series_without_a_bucket_width() -> None:
    assert Figures(window_s=60.0).series_data(10.0) is None
