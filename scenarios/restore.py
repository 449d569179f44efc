"""Point-in-time restore: the table restored as of several instants matches the history at each.

Under traffic (200 requests/s over 2,000 keys, so most keys are written
many times) with a burst of writes and, optionally, a storage host power
cycled, the WAL is archived to the object store with point-in-time recovery
on (``durability.pitr``): the store keeps a snapshot of each partition every
``durability.snapshot_every_records`` records and the records stamped with
the time their leader proposed them.  After the run heals and settles, the
table is restored, into a new table, as of each of five instants -- early,
while the host is down, right after the burst, later, and just before the
traffic ends -- from the newest snapshot at or before the instant plus the
archived records stamped at or before it, and each restored table is
checked against the client history (``ddbsim.lab.checkers.restore``): every
write acknowledged before the instant is there (its value, or a write not
known to precede it), and no write invoked after it is.  To show that the
check can fail, the table is also restored 5 s *after* each instant and
checked against the instant: the writes invoked in between must be found
(``mutants``).  The summary gives, per instant, the partitions restored,
the keys checked, the acknowledged writes found, the writes invoked after
the instant found (0) and the mismatches (0).
"""
from __future__ import annotations

from typing import Any

from ddbsim.lab import Fault, Phase, Scenario


def analyse(data: dict[str, Any]) -> dict[str, Any]:
    restore = data["checks"]["restore"]
    out: dict[str, Any] = {}
    for i, row in enumerate(restore["instants"], 1):
        if "error" in row:
            out[f"instant_{i}"] = {"t_s": row["t_s"], "valid": row["valid"], "error": row["error"]}
            continue
        mutant = row.get("mutant") or {}
        out[f"instant_{i}"] = {
            "t_s": row["t_s"], "partitions": row["partitions"], "keys": row["keys_checked"],
            "items": row["items"], "acked_before_t": row["acked_before_t"],
            "acked_found": row["acked_found"], "latest_acked_exact": row["latest_acked_exact"],
            "invoked_after_t_found": row["invoked_after_t_found"],
            "mismatches": row["mismatches"], "valid": row["valid"],
            "mutant_invoked_after_t_found": mutant.get("invoked_after_t_found")}
    out["mutants"] = restore["mutants"]
    out["all_valid"] = restore["valid"] is True and all(
        c["valid"] is True for c in data["checks"].values())
    return out


def build_scenario(duration_s: float = 600.0, power_cycle: bool = True,
                   burst_per_s: float = 800.0, **overrides: Any) -> Scenario:
    burst_start, burst_end = 0.6 * duration_s, 0.6 * duration_s + 20.0
    off_s = round(0.35 * duration_s, 3)
    faults = ([Fault(off_s, "power_off", "az-1/r1/h1"), Fault(off_s + 40.0, "power_on", "az-1/r1/h1")]
              if power_cycle else [])
    instants = [round(0.1 * duration_s, 3), round(off_s + 15.0, 3), round(burst_end + 0.5, 3),
                round(0.8 * duration_s, 3), round(duration_s - 5.0, 3)]
    return Scenario(
        name="restore", duration_s=duration_s, faults=faults,
        phases=[Phase("burst", burst_start, burst_end, burst_per_s, mix={"put": 0.9, "delete": 0.1})],
        overrides={"workload.rate_per_s": 200, "workload.key_count": 2000,
                   "metrics.history": True, "durability.pitr": True,
                   "durability.snapshot_every_records": 500, **overrides},
        restore_at_s=instants, analyse=analyse,
        description=f"restores to {len(instants)} instants"
                    + (", a storage host power-cycled" if power_cycle else ""))


if __name__ == "__main__":
    from ddbsim.cli import main_for_script

    main_for_script(__file__)
