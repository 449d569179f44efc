"""A skewed workload within its provisioned rate, policy by policy: static, bursting, adaptive, GAC, + split.

DynamoDB's second lesson (paper §4): dividing a table's provisioned
throughput evenly over its partitions throttles a skewed workload even
when the table as a whole is well within its rate.  One provisioned table
-- 8 partitions (as if split for size), 2,000 WCU, so 250 WCU per partition
-- takes a background of 100 puts/s of 4 KB items (400 WCU, 50 a partition)
and, in turn:

* ``zipf``: 180 s of Zipf-distributed puts (150/s, exponent 1.2);
* ``hot_range``: 600 s of puts to one key range, the keys of one partition
  (100/s: 450 WCU on a partition allocated 250) -- the long skewed phase;
* ``spike``: 20 s of puts to another partition's key range (150/s: 650
  WCU there) -- the short spike;
* ``hot_key``: 120 s of puts of 32 KB items to a single key (35/s: 1,120
  WCU, beyond the 1,000 WCU a partition can serve at all);
* ``wide_range``: 400 s of puts over a third partition's whole key range
  (300/s: 1,250 WCU there, beyond the partition maximum too, but spread
  over many keys).

The table never sees more than 1,600 of its 2,000 WCU.  The same seed runs
under each admission policy (``admission.policy``): ``static`` (even
shares), ``bursting`` (+ 300 s of unused capacity per partition),
``adaptive`` (+ a proportional controller that boosts throttled partitions
while the table is under its rate), ``gac`` (global admission control:
the routers spend table-wide tokens; partitions are capped only at the
partition maximum) and ``gac_split`` (GAC, and autoadmin splits a partition
that stays hot, ``admission.split``).  The summary prints one table --
policy x phase: throttled attempts and operations, p99 latency, when
throttling started and stopped -- and the comparison, whose verdicts are the
lessons: throttling on the long skewed phase falls policy by policy;
bursting absorbs the short spike but not the long skew; adaptive capacity
helps only after a lag; the single hot key is throttled under every policy,
and not split; a wide key range beyond the partition maximum is throttled
under GAC alone and stops being throttled once split (after the copy's
minutes).  ``--plot PATH`` draws the table's throttle rate over time, one
line per policy.

``--param time_scale=0.25`` runs every phase, the burst window
(``admission.burst_s``), adaptive capacity's and autoadmin's periods, the
split's copy and the sampling four times shorter: the same story, faster.
``--param policies=static,gac`` runs only those policies.
"""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Keys, Phase, Scenario
from ddbsim.lab.workload import key_name
from ddbsim.service.metadata.hashing import HASH_SPACE, key_hash

#: The variants, in the paper's order: each an admission.policy (gac_split: gac + admission.split).
POLICIES = ("static", "bursting", "adaptive", "gac", "gac_split")
PARTITIONS = 8
ITEM_BYTES = 4096.0  # 4 WCU a put
HOT_KEY_ITEM_BYTES = 32768.0  # 32 WCU a put

TABLE = {
    "table.partitions": PARTITIONS, "table.provisioned_wcu": 2000.0,
    "table.provisioned_rcu": 4800.0,
    "workload.rate_per_s": 100.0, "workload.put": 1.0, "workload.get_strong": 0.0,
    "workload.get_eventual": 0.0, "workload.cond_put": 0.0, "workload.delete": 0.0,
    "workload.item_size_distribution": "fixed", "workload.item_size_bytes": ITEM_BYTES,
    "metrics.window_s": 60.0,
}


def partition_range(index: int) -> Keys:
    """The keys of partition ``index`` of the table (its hash range)."""
    return Keys.hash_range(index / PARTITIONS, (index + 1) / PARTITIONS)


def first_key_of(index: int) -> str:
    """The first workload key that lives in partition ``index``."""
    lo, hi = index * HASH_SPACE // PARTITIONS, (index + 1) * HASH_SPACE // PARTITIONS
    return next(key_name(i) for i in range(100_000) if lo <= key_hash(key_name(i)) < hi)


def phases(scale: float) -> tuple[list[Phase], float]:
    """The phases, their times multiplied by ``scale``, and the duration."""
    put = {"put": 1.0}

    def at(t: float) -> float:
        return round(t * scale, 6)

    return [
        Phase("zipf", at(120), at(300), 150.0, Keys.zipf(1.2), mix=put),
        Phase("hot_range", at(360), at(960), 100.0, partition_range(2), mix=put),
        Phase("spike", at(1020), at(1040), 150.0, partition_range(5), mix=put),
        Phase("hot_key", at(1100), at(1220), 35.0, Keys.single(first_key_of(6)), mix=put,
              item_size_bytes=HOT_KEY_ITEM_BYTES),
        Phase("wide_range", at(1280), at(1680), 300.0, partition_range(4), mix=put),
    ], at(1720)


def _pct(x: float) -> float:
    return round(100.0 * x, 3)


def compare(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The lessons, from every policy's phases (throttled % of attempts)."""
    by = {d["variant"]: d["phases"] for d in parts if d.get("admission") and d.get("phases")}

    def rates(phase: str) -> dict[str, float]:
        return {policy: _pct(p[phase]["throttle_rate"]) for policy, p in by.items()}

    long, spike, hot_key = rates("hot_range"), rates("spike"), rates("hot_key")
    order = [p for p in POLICIES[:4] if p in long]
    out: dict[str, Any] = {
        "long_skew_throttled_pct": long,
        "long_skew_falls_policy_by_policy": (
            len(order) > 1 and all(long[a] > long[b] for a, b in zip(order, order[1:], strict=False))),
        "spike_throttled_pct": spike,
    }
    if "bursting" in by:
        b_long = by["bursting"]["hot_range"]["throttling"]
        out["bursting_absorbs_the_spike"] = spike["bursting"] <= 1.0 and (
            "static" not in spike or spike["static"] > spike["bursting"])
        out["bursting_holds_the_long_skew_for_s"] = b_long["first_after_s"]
        out["bursting_stops_the_long_skew_throttling"] = (
            b_long["first_after_s"] is not None and b_long["stopped_after_s"] is not None)
    if "adaptive" in by:
        a = by["adaptive"]["hot_range"]["throttling"]
        out["adaptive_lag"] = {"throttling_from_s": a["first_after_s"],
                               "stopped_after_s": a["stopped_after_s"],
                               "throttled_for_s": a["throttled_s"]}
    out["hot_key_throttled_pct"] = hot_key
    out["hot_key_throttled_under_every_policy"] = bool(hot_key) and all(
        x > 1.0 for x in hot_key.values())
    out["wide_range_throttled_pct"] = rates("wide_range")
    split = next((d["admission"]["splits"] for d in parts if d["variant"] == "gac_split"), None)
    if split is not None:
        hot_key_pid, wide_pid = "p-0006", "p-0004"  # partitions 6 and 4 (see phases)
        out["hot_key_not_split"] = (
            all(r["partition"] != hot_key_pid for r in split["done"])
            and any(r["partition"] == hot_key_pid for r in split["declined"]))
        out["splits"] = [f"{r['partition']} decided {r['decided_at_s']:g}s, split "
                         f"{r['split_at_s']:g}s" for r in split["done"]
                         if r["split_at_s"] is not None]
        out["declined"] = [f"{r['partition']}: {r['reason']}" for r in split["declined"]]
        wide = by["gac_split"]["wide_range"]["throttling"]
        out["split_ends_the_wide_range_throttling"] = (
            any(r["partition"] == wide_pid and r["split_at_s"] is not None
                for r in split["done"]) and wide["stopped_after_s"] is not None)
        out["wide_range_throttling_stopped_after_s"] = wide["stopped_after_s"]
    return out


def build_scenario(time_scale: float = 1.0, policies: str = ",".join(POLICIES),
                   **overrides: Any) -> list[Scenario]:
    plan, duration = phases(time_scale)
    scaled = {"admission.burst_s": 300.0 * time_scale,
              "admission.adaptive_interval_s": 15.0 * time_scale,
              "admission.split_hot_s": 30.0 * time_scale,
              "admission.split_interval_s": 10.0 * time_scale,
              "admission.split_copy_s": 120.0 * time_scale,
              "metrics.series_s": 5.0 * time_scale} if time_scale != 1.0 else {}
    chosen = [p.strip() for p in policies.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in POLICIES]
    if unknown or not chosen:
        raise ValueError(f"policies: {', '.join(unknown) or 'none given'}; choose from "
                         f"{', '.join(POLICIES)}")
    def settings(variant: str) -> dict[str, Any]:
        if variant == "gac_split":
            return {"admission.policy": "gac", "admission.split": True}
        return {"admission.policy": variant}

    return [Scenario(name="hot_partition", variant=variant, duration_s=duration,
                     overrides={**TABLE, **scaled, **settings(variant), **overrides},
                     phases=plan, compare=compare,
                     description="a skewed workload within the provisioned rate, under "
                                 + ", ".join(f"{k}={v}" for k, v in settings(variant).items()))
            for variant in chosen]


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
