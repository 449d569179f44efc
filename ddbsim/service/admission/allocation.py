"""Legacy allocation: how many partitions a table has, and how its
provisioned throughput is divided over them (paper §4).

A partition serves at most ``admission.partition_max_rcu`` reads (3,000
RCU) and ``admission.partition_max_wcu`` writes (1,000 WCU) per second and
holds about 10 GB (``healing.partition_size_bytes``) [docs].  A new table
gets ``ceil(RCU / 3000 + WCU / 1000)`` partitions, or ``ceil(size / 10 GB)``
if more; raising the throughput beyond what they can serve splits every
partition in two (the count doubles) until they can; lowering it never
merges partitions.  The table's provisioned rate is divided evenly over
its partitions -- which is why a table split for size, or a table whose
throughput was raised and lowered again, has less per partition than a
single hot key range may need (*throughput dilution*).

The paper's worked example, 1,000 WCU per partition: a table created with
3,200 WCU has 4 partitions of 800 WCU; raised to 3,600 WCU, 4 of 900; raised
to 6,000 WCU, 8 of 750 (split); lowered to 5,000 WCU, 8 of 625 (the paper
prints 675, which is not 5,000 / 8).

:class:`Allocation` is the control plane's record of each partition's rate:
the even share plus any boost adaptive capacity gave it.  Like the partition
map, it is one authoritative object that storage nodes read at once
(:mod:`ddbsim.service.metadata.partition_map`); its ``version`` changes with
every change, so a partition's buckets notice a new rate without looking it
up on every request.
"""
from __future__ import annotations

import math
from collections.abc import Iterable


def partitions_for(rcu: float, wcu: float, size_bytes: float, max_rcu: float, max_wcu: float,
                   max_bytes: float) -> int:
    """A new table's partition count: enough for its throughput and its size."""
    for_throughput = math.ceil(rcu / max_rcu + wcu / max_wcu - 1e-12)
    for_size = math.ceil(size_bytes / max_bytes - 1e-12)
    return max(1, for_throughput, for_size)


def grown(current: int, rcu: float, wcu: float, size_bytes: float, max_rcu: float,
          max_wcu: float, max_bytes: float) -> int:
    """The partition count after the throughput or size changed: the current
    count, doubled (every partition split in two) until it is enough; never
    fewer (partitions are not merged)."""
    need = partitions_for(rcu, wcu, size_bytes, max_rcu, max_wcu, max_bytes)
    count = max(1, current)
    while count < need:
        count *= 2
    return count


def share(rate: float, partitions: int) -> float:
    """A partition's even share of a table's provisioned rate."""
    return rate / partitions


class Allocation:
    """Each partition's allocated read and write rate (RCU, WCU per second):
    the table's provisioned rate divided evenly, plus a boost."""

    def __init__(self, provisioned_rcu: float, provisioned_wcu: float, pids: Iterable[str],
                 max_rcu: float, max_wcu: float) -> None:
        self.provisioned_rcu = provisioned_rcu
        self.provisioned_wcu = provisioned_wcu
        self.max_rcu = max_rcu
        self.max_wcu = max_wcu
        self.pids: list[str] = list(pids)
        # pid -> [read boost, write boost]
        self.boosts: dict[str, list[float]] = {pid: [0.0, 0.0] for pid in self.pids}
        self.version = 0

    def provisioned(self, read: bool) -> float:
        return self.provisioned_rcu if read else self.provisioned_wcu

    def partition_max(self, read: bool) -> float:
        return self.max_rcu if read else self.max_wcu

    def base(self, read: bool) -> float:
        """A partition's even share of the table's provisioned rate."""
        return share(self.provisioned(read), len(self.pids))

    def rate(self, pid: str, read: bool) -> float:
        """``pid``'s allocated rate: its share plus its boost."""
        return self.base(read) + self.boosts[pid][0 if read else 1]

    def boost(self, pid: str, read: bool) -> float:
        return self.boosts[pid][0 if read else 1]

    def set_boost(self, pid: str, read: bool, boost: float) -> None:
        """Boost ``pid`` to ``base + boost`` (never above the partition
        maximum, never below its share)."""
        boost = min(max(0.0, boost), max(0.0, self.partition_max(read) - self.base(read)))
        slot = self.boosts[pid]
        if slot[0 if read else 1] != boost:
            slot[0 if read else 1] = boost
            self.version += 1

    def set_provisioned(self, rcu: float, wcu: float) -> None:
        """The table's provisioned rates changed (an on-demand table's
        capacity follows its traffic)."""
        if (rcu, wcu) != (self.provisioned_rcu, self.provisioned_wcu):
            self.provisioned_rcu = rcu
            self.provisioned_wcu = wcu
            self.version += 1

    def split(self, pid: str, children: Iterable[str]) -> None:
        """``pid`` was split: its children take its place (each starts
        unboosted; the table's share is recomputed over the new count)."""
        index = self.pids.index(pid)
        kids = list(children)
        self.pids[index:index + 1] = kids
        del self.boosts[pid]
        for kid in kids:
            self.boosts[kid] = [0.0, 0.0]
        self.version += 1
