"""Adaptive capacity: a proportional controller per table (paper §4.1.2).

Every ``admission.adaptive_interval_s`` the controller looks at what the
table's partitions consumed and what they had throttled over the period
(reads and writes apart), as the storage nodes report it:

* if the table consumed **less** than its provisioned rate and some
  partitions were throttled, each throttled partition is boosted towards
  its demand (consumed + throttled, times ``1 + admission.adaptive_headroom``)
  by ``admission.adaptive_gain`` of the gap -- all boosts of a period
  together no larger than the table's unused provisioned rate, and no
  partition above the partition maximum;
* if the table consumed **more** than its provisioned rate (boosts let it),
  the boosts are taken back, in proportion to their size, by
  ``admission.adaptive_decrease_gain`` of the excess.

So it acts only after throttling has happened and a period has passed: it
removes the throttling that skew causes, but late (the paper: over 99.99%
of it, reactively).  One timer per table, whatever the partition count.
The paper's controller also moves boosted partitions to nodes with room;
this one does not (the node buckets of :mod:`.storage` say when a node is
short).

The counters come from the storage nodes through the control plane at
once, as the partition map does; the boosts go to the
:class:`~ddbsim.service.admission.allocation.Allocation`, which the
storage nodes read.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import simpy

from ddbsim.config import AdmissionConfig
from ddbsim.service.admission.allocation import Allocation
from ddbsim.service.admission.storage import READ_THROTTLED, READ_UNITS, WRITE_THROTTLED, WRITE_UNITS
from ddbsim.world.scheduling import call_later

#: ``counters()``: each partition's cumulative counters (see :mod:`.storage`).
Counters = Callable[[], Mapping[str, Sequence[float]]]


class AdaptiveCapacity:
    def __init__(self, env: simpy.Environment, cfg: AdmissionConfig, allocation: Allocation,
                 counters: Counters) -> None:
        self.env = env
        self.cfg = cfg
        self.allocation = allocation
        self._counters = counters
        self._last: dict[str, list[float]] = {}
        self.periods = 0
        #: (t_s, pid, "read"/"write", old rate, new rate): every change made
        self.changes: list[tuple[float, str, str, float, float]] = []

    def start(self) -> None:
        call_later(self.env, self.cfg.adaptive_interval_s, self._tick)

    def _tick(self) -> None:
        interval = self.cfg.adaptive_interval_s
        now = self.env.now
        seen = self._counters()
        delta: dict[str, list[float]] = {}
        for pid, c in seen.items():
            before = self._last.get(pid)
            delta[pid] = [c[i] - (before[i] if before else 0.0)
                          for i in (READ_UNITS, WRITE_UNITS, READ_THROTTLED, WRITE_THROTTLED)]
        self._last = {pid: list(c) for pid, c in seen.items()}
        for read in (True, False):
            self.control(read, {pid: (d[0 if read else 1] / interval, d[2 if read else 3] / interval)
                                for pid, d in delta.items()}, now)
        self.periods += 1
        call_later(self.env, interval, self._tick)

    def control(self, read: bool, rates: Mapping[str, tuple[float, float]], now: float) -> None:
        """One period's control for reads or writes: ``rates`` gives each
        partition's (consumed, throttled) units per second."""
        alloc = self.allocation
        cfg = self.cfg
        provisioned = alloc.provisioned(read)
        consumed = sum(c for c, _t in rates.values())
        kind = "read" if read else "write"
        if consumed > provisioned:
            boosts = {pid: alloc.boost(pid, read) for pid in alloc.pids}
            total = sum(boosts.values())
            if total <= 0:
                return
            cut = min(total, cfg.adaptive_decrease_gain * (consumed - provisioned))
            for pid, boost in boosts.items():
                if boost > 0:
                    self._set(pid, read, boost - cut * boost / total, now, kind)
            return
        wants: dict[str, float] = {}
        for pid, (used, throttled) in sorted(rates.items()):
            if throttled <= 0 or pid not in alloc.boosts:
                continue
            target = min((used + throttled) * (1.0 + cfg.adaptive_headroom),
                         alloc.partition_max(read))
            gap = target - alloc.rate(pid, read)
            if gap > 0:
                wants[pid] = cfg.adaptive_gain * gap
        room = provisioned - consumed
        total = sum(wants.values())
        scale = min(1.0, room / total) if total > 0 else 0.0
        for pid, more in wants.items():
            self._set(pid, read, alloc.boost(pid, read) + more * scale, now, kind)

    def _set(self, pid: str, read: bool, boost: float, now: float, kind: str) -> None:
        alloc = self.allocation
        old = alloc.rate(pid, read)
        alloc.set_boost(pid, read, boost)
        new = alloc.rate(pid, read)
        if new != old:
            self.changes.append((round(now, 6), pid, kind, round(old, 3), round(new, 3)))
