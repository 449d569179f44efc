"""What admission control did, over time: the admission time series.

With admission control on (``admission.policy`` other than ``none``) and the
figures on (``metrics.enabled``), a sampler reads the service's admission
counters every ``metrics.series_s`` of traffic -- what the storage nodes and
routers report, never changing it -- and keeps, per sample:

* for the table: requests admitted and throttled per second (throttled at a
  storage node or, under GAC, at a router), consumed and throttled capacity
  units per second (RCU, WCU), burst units spent per second, the
  provisioned rates and the sum of the partitions' allocated rates, and the
  GAC refreshes per second (token requests, grants, timeouts);
* per partition: the same requests and units, its allocated rates, and its
  leader's bucket levels (allocated and burst tokens, reads and writes);
  None where the partition did not exist (before a split made it, after a
  split ended it).

The series are columns (one list per figure, sharing ``t_s``, the end of
each sample), so a long run stays small.  :func:`admission_data` assembles
the result's ``admission`` key from them, from the allocation and from
adaptive capacity's changes.
"""
from __future__ import annotations

from typing import Any

from ddbsim.service.admission import router_tokens as rt
from ddbsim.service.admission import storage as st
from ddbsim.service.service import Service
from ddbsim.world.scheduling import call_later

TABLE_COLUMNS = ("requests_per_s", "throttled_per_s", "throttle_rate", "consumed_rcu_per_s",
                 "consumed_wcu_per_s", "throttled_rcu_per_s", "throttled_wcu_per_s",
                 "burst_units_per_s", "provisioned_rcu", "provisioned_wcu", "allocated_rcu",
                 "allocated_wcu", "gac_asks_per_s", "gac_grants_per_s", "gac_timeouts_per_s")
PARTITION_COLUMNS = ("requests_per_s", "throttled_per_s", "throttle_rate", "consumed_rcu_per_s",
                     "consumed_wcu_per_s", "throttled_rcu_per_s", "throttled_wcu_per_s",
                     "allocated_rcu", "allocated_wcu", "read_allocated_tokens",
                     "read_burst_tokens", "write_allocated_tokens", "write_burst_tokens")


class AdmissionSeries:
    """Samples the service's admission counters until ``until_s``."""

    def __init__(self, service: Service, series_s: float, until_s: float) -> None:
        self.service = service
        self.env = service.world.env
        self.series_s = series_s
        self.until_s = until_s
        self.t_s: list[float] = []
        self.table: dict[str, list[float]] = {c: [] for c in TABLE_COLUMNS}
        self.partitions: dict[str, dict[str, list[float | None]]] = {}
        self._storage: dict[str, list[float]] = {}
        self._routers: dict[str, list[float]] = {}
        self._gac = (0, 0, 0)

    def start(self) -> None:
        call_later(self.env, self.series_s, self._sample)

    def _gac_counts(self) -> tuple[int, int, int]:
        tokens = [r.tokens for r in self.service.routers.values() if r.tokens is not None]
        return (sum(t.asks for t in tokens), sum(t.grants for t in tokens),
                sum(t.timeouts for t in tokens))

    def _sample(self) -> None:
        now = self.env.now
        dt = self.series_s
        service = self.service
        alloc = service.allocation
        assert alloc is not None
        storage = service.partition_counters()
        routers = service.router_counters()
        gac = self._gac_counts()
        self.t_s.append(round(now, 6))
        table = dict.fromkeys(TABLE_COLUMNS, 0.0)
        for pid in service.partition_map.pids():
            s_now, s_before = storage.get(pid, [0.0] * st.COUNTERS), self._storage.get(pid)
            r_now, r_before = routers.get(pid, [0.0] * rt.COUNTERS), self._routers.get(pid)
            s = [x - (s_before[i] if s_before else 0.0) for i, x in enumerate(s_now)]
            r = [x - (r_before[i] if r_before else 0.0) for i, x in enumerate(r_now)]
            throttled = s[st.THROTTLED] + r[rt.THROTTLED]
            requests = s[st.ADMITTED] + throttled
            row: dict[str, float | None] = {
                "requests_per_s": requests / dt, "throttled_per_s": throttled / dt,
                "throttle_rate": throttled / requests if requests else 0.0,
                "consumed_rcu_per_s": s[st.READ_UNITS] / dt,
                "consumed_wcu_per_s": s[st.WRITE_UNITS] / dt,
                "throttled_rcu_per_s": (s[st.READ_THROTTLED] + r[rt.READ_THROTTLED]) / dt,
                "throttled_wcu_per_s": (s[st.WRITE_THROTTLED] + r[rt.WRITE_THROTTLED]) / dt,
                "allocated_rcu": alloc.rate(pid, True) if pid in alloc.boosts else None,
                "allocated_wcu": alloc.rate(pid, False) if pid in alloc.boosts else None}
            buckets = service.buckets_of(pid) or {}
            for kind in ("read", "write"):
                row[f"{kind}_allocated_tokens"] = buckets.get(f"{kind}_allocated")
                row[f"{kind}_burst_tokens"] = buckets.get(f"{kind}_burst")
            columns = self.partitions.get(pid)
            if columns is None:  # a new partition (a split's child): nothing before
                columns = self.partitions[pid] = {c: [None] * (len(self.t_s) - 1)
                                                  for c in PARTITION_COLUMNS}
            for c in PARTITION_COLUMNS:
                value = row[c]
                columns[c].append(None if value is None else round(value, 4))
            for c in ("requests_per_s", "throttled_per_s", "consumed_rcu_per_s",
                      "consumed_wcu_per_s", "throttled_rcu_per_s", "throttled_wcu_per_s"):
                table[c] += row[c] or 0.0
            table["burst_units_per_s"] += s[st.BURST] / dt
            table["allocated_rcu"] += row["allocated_rcu"] or 0.0
            table["allocated_wcu"] += row["allocated_wcu"] or 0.0
        for columns in self.partitions.values():  # partitions split since: nothing now
            if len(columns["requests_per_s"]) < len(self.t_s):
                for c in PARTITION_COLUMNS:
                    columns[c].append(None)
        table["throttle_rate"] = (table["throttled_per_s"] / table["requests_per_s"]
                                  if table["requests_per_s"] else 0.0)
        table["provisioned_rcu"] = alloc.provisioned_rcu
        table["provisioned_wcu"] = alloc.provisioned_wcu
        for i, c in enumerate(("gac_asks_per_s", "gac_grants_per_s", "gac_timeouts_per_s")):
            table[c] = (gac[i] - self._gac[i]) / dt
        for c in TABLE_COLUMNS:
            self.table[c].append(round(table[c], 4))
        self._storage, self._routers, self._gac = storage, routers, gac
        if now + dt <= self.until_s + 1e-9:
            call_later(self.env, dt, self._sample)

    def to_dict(self) -> dict[str, Any]:
        return {"series_s": self.series_s, "t_s": self.t_s, "table": self.table,
                "partitions": {pid: dict(cols) for pid, cols in sorted(self.partitions.items())}}


def admission_data(service: Service, series: AdmissionSeries | None) -> dict[str, Any] | None:
    """The result's ``admission`` key: the policy, the table's capacity and
    partitions, totals, adaptive capacity's changes, GAC counts, and the
    time series (None without the figures); None without admission control."""
    alloc = service.allocation
    if alloc is None:
        return None
    storage = service.partition_counters()
    routers = service.router_counters()

    def total(counters: dict[str, list[float]], i: int) -> float:
        return round(sum(c[i] for c in counters.values()), 3)

    tokens = [r.tokens for r in service.routers.values() if r.tokens is not None]
    cfg = service.cfg
    adaptive = service.adaptive
    return {
        "policy": service.policy.name,
        "table": {"name": cfg.table.name, "mode": cfg.table.mode,
                  "provisioned_rcu": alloc.provisioned_rcu,
                  "provisioned_wcu": alloc.provisioned_wcu,
                  "partitions": service.initial_partitions,
                  "partitions_configured": cfg.table.partitions,
                  "partitions_at_end": len(alloc.pids),
                  "partition_share_rcu": round(alloc.base(True), 6),
                  "partition_share_wcu": round(alloc.base(False), 6)},
        "totals": {"admitted": total(storage, st.ADMITTED),
                   "throttled_at_storage": total(storage, st.THROTTLED),
                   "throttled_at_routers": total(routers, rt.THROTTLED),
                   "consumed_rcu": total(storage, st.READ_UNITS),
                   "consumed_wcu": total(storage, st.WRITE_UNITS),
                   "burst_units": total(storage, st.BURST)},
        "on_demand": None if service.on_demand is None else {
            "peak_rcu": round(service.on_demand.peak_rcu, 3),
            "peak_wcu": round(service.on_demand.peak_wcu, 3),
            "changes": [{"t_s": t, "rcu": r, "wcu": w} for t, r, w in service.on_demand.changes]},
        "adaptive": None if adaptive is None else {
            "periods": adaptive.periods,
            "changes": [{"t_s": t, "partition": pid, "kind": kind, "from_per_s": old,
                         "to_per_s": new} for t, pid, kind, old, new in adaptive.changes]},
        "gac": None if not tokens else {
            "servers": len(service.gac_servers),
            "asks": sum(t.asks for t in tokens), "grants": sum(t.grants for t in tokens),
            "timeouts": sum(t.timeouts for t in tokens),
            "answered": {h: g.grants for h, g in sorted(service.gac_servers.items())}},
        "splits": None if service.splitter is None else {
            "done": service.splitter.splits, "declined": service.splitter.declined},
        "series": None if series is None else series.to_dict(),
    }
