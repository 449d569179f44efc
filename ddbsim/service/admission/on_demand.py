"""On-demand capacity: twice the previous peak, at once (paper §4.5).

An on-demand table has no provisioned rate.  Its capacity follows its
traffic: every ``admission.on_demand_interval_s`` the controller measures
what the table consumed over the period (reads and writes apart, as the
storage nodes report it) and keeps the highest rate seen -- the *peak* --
and the table may use twice its peak, at once.  A new table starts as if
its peak were ``admission.on_demand_peak_rcu`` / ``_wcu`` (the docs: a new
on-demand table serves up to 12,000 RCU and 4,000 WCU).  Traffic that
more than doubles is throttled until the next measurement raises the peak
-- the capacity then grows with the traffic, doubling each period at most.

The capacity goes where a provisioned table's rates go: the
:class:`~ddbsim.service.admission.allocation.Allocation` (its partitions'
shares under legacy allocation, the GAC servers' table buckets under GAC).
Partitions that cannot serve what the capacity allows are what splitting
for consumption is for.  One timer per table.
"""
from __future__ import annotations

import simpy

from ddbsim.config import AdmissionConfig
from ddbsim.service.admission.adaptive import Counters
from ddbsim.service.admission.allocation import Allocation
from ddbsim.service.admission.storage import READ_UNITS, WRITE_UNITS
from ddbsim.world.scheduling import call_later


class OnDemandCapacity:
    """One per on-demand table; the allocation starts at twice the initial peak."""

    def __init__(self, env: simpy.Environment, cfg: AdmissionConfig, allocation: Allocation,
                 counters: Counters) -> None:
        self.env = env
        self.cfg = cfg
        self.allocation = allocation
        self._counters = counters
        self.peak_rcu = cfg.on_demand_peak_rcu
        self.peak_wcu = cfg.on_demand_peak_wcu
        self._consumed = (0.0, 0.0)
        #: (t_s, rcu, wcu): every capacity the table was given
        self.changes: list[tuple[float, float, float]] = []

    def start(self) -> None:
        call_later(self.env, self.cfg.on_demand_interval_s, self._tick)

    def _tick(self) -> None:
        interval = self.cfg.on_demand_interval_s
        counters = self._counters().values()
        consumed = (sum(c[READ_UNITS] for c in counters), sum(c[WRITE_UNITS] for c in counters))
        self.measured((consumed[0] - self._consumed[0]) / interval,
                      (consumed[1] - self._consumed[1]) / interval)
        self._consumed = consumed
        call_later(self.env, interval, self._tick)

    def measured(self, rcu_per_s: float, wcu_per_s: float) -> None:
        """One period's consumption: a new peak doubles into the capacity."""
        if rcu_per_s > self.peak_rcu or wcu_per_s > self.peak_wcu:
            self.peak_rcu = max(self.peak_rcu, rcu_per_s)
            self.peak_wcu = max(self.peak_wcu, wcu_per_s)
            self.allocation.set_provisioned(2 * self.peak_rcu, 2 * self.peak_wcu)
            self.changes.append((round(self.env.now, 6), round(2 * self.peak_rcu, 3),
                                 round(2 * self.peak_wcu, 3)))
