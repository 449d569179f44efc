"""Routers added with cold caches (the add_routers fault), both caches:
the bimodal cache's metadata spike, constant-work's flat MemDS load, and
the new routers taking their share of the traffic."""
from __future__ import annotations

from scenario_files import scenario_module

from ddbsim.lab import run


def test_added_routers_spike_the_bimodal_metadata_load_and_not_memds() -> None:
    module = scenario_module("router_scale_out")
    variants = {s.variant: s for s in module.build_scenario(
        add_at_s=40.0, after_s=30.0, settle_s=15.0,
        **{"run.quiesce_s": 5.0, "routing.bimodal_ttl_s": 10.0})}
    assert set(variants) == {"bimodal", "constant_work"}
    bimodal = run(variants["bimodal"], seed=1).data
    row = bimodal["analysis"]["row"]
    # the cold routers' misses: with a 10 s TTL the hit rate is ~97% (1/(1-h) ~ 30), and
    # half the traffic goes to the cold routers
    assert row["metadata_peak_over_before"] > 5
    assert 0.15 < row["new_routers_share_of_run"] < 0.35  # ~half of the last 30 of 70 s
    assert row["availability_window"] > 0.99
    flat = run(variants["constant_work"], seed=1).data
    row = flat["analysis"]["row"]
    assert row["metadata_peak_per_s"] == 0
    assert abs(row["memds_after_over_before"] - 1) < 0.1
    assert row["memds_peak_over_before"] < 1.3  # Poisson noise of half-second buckets only
    assert 0.15 < row["new_routers_share_of_run"] < 0.35
    assert row["availability_window"] == 1.0
    for data in (bimodal, flat):
        assert all(c["valid"] is True for c in data["checks"].values()), data["checks"]
        added = [r for r, c in data["routing"]["by_router"].items() if r.endswith("router-2")]
        assert len(added) == 3
        assert all(data["routing"]["by_router"][r]["misses"] > 0 for r in added)  # they began cold
