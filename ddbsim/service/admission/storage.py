"""A storage node's admission control (paper §4.1.1): its node buckets,
the buckets of the partitions it serves, and its peers' node buckets as
they last reported them.

The leader of a partition admits its writes and strong reads; whichever
replica serves an eventually consistent read admits it against its own
buckets for that partition.  A request costs its capacity units
(:mod:`.capacity`) and is admitted:

* when the partition's *allocated* bucket has the tokens: they are spent,
  and so are the *node* bucket's (which may go into debt: the node does the
  work either way);
* otherwise (with bursting) when the partition's *burst* bucket and the
  node bucket both have the tokens -- and, for a write, when every other
  replica's node write bucket had tokens when it last reported to this
  node (a write is work on every replica);
* otherwise it is throttled: ``ProvisionedThroughputExceeded``.

Under GAC (:mod:`.gac`) the table's limit is enforced at the routers; the
partition buckets stay as defence in depth, their rate capped at the
partition maximum (3,000 RCU, 1,000 WCU) rather than the table's share, so
that one key range never takes a node; there are no burst or node buckets
(the paper keeps only the partitions' buckets, §4.2).

Every node tells its peers the level of its node write bucket in its
heartbeats (every ``replication.heartbeat_interval_s``).  All of
it is volatile: a power-off forgets the buckets (a new leader starts with
a full allocated bucket and nothing saved for bursts).  The counters --
units and requests admitted and throttled, per partition -- are what the
node reports to the control plane (adaptive capacity, metrics) and are
never reset.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ddbsim.config import AdmissionConfig
from ddbsim.service.admission.allocation import Allocation
from ddbsim.service.admission.bucket import EPSILON, TokenBucket
from ddbsim.service.admission.capacity import units
from ddbsim.service.admission.partition import PartitionBuckets
from ddbsim.service.admission.policy import Policy
from ddbsim.service.messages import READS


class Replicas(Protocol):
    """What a partition's replica state tells admission: its replicas' hosts."""

    def active_hosts(self) -> tuple[str, ...]: ...


# Counter slots of a partition's counters (units are RCU for reads, WCU for writes).
READ_UNITS, WRITE_UNITS, READ_THROTTLED, WRITE_THROTTLED, ADMITTED, THROTTLED, BURST = range(7)
COUNTERS = 7


class StorageAdmission:
    def __init__(self, host_id: str, cfg: AdmissionConfig, policy: Policy,
                 allocation: Allocation, now_s: float = 0.0) -> None:
        self.host_id = host_id
        self.cfg = cfg
        self.policy = policy
        self.allocation = allocation
        self._burst_s = cfg.burst_s if policy.bursting else 0.0
        self._node_buckets = policy.node_buckets
        self._check_peers = policy.bursting
        #: pid -> the counters above, cumulative (see the module docstring)
        self.counters: dict[str, list[float]] = {}
        #: pid -> key -> requests since autoadmin last took them (splits only)
        self.key_counts: dict[str, dict[str, int]] | None = {} if cfg.split else None
        self.reset(now_s)

    def reset(self, now_s: float) -> None:
        """Forget the volatile state (the host lost power, or booted)."""
        cfg = self.cfg
        self.node_read = TokenBucket(cfg.node_rcu_per_s, cfg.node_rcu_per_s * cfg.node_bucket_s,
                                     now_s)
        self.node_write = TokenBucket(cfg.node_wcu_per_s, cfg.node_wcu_per_s * cfg.node_bucket_s,
                                      now_s)
        self.reads: dict[str, PartitionBuckets] = {}
        self.writes: dict[str, PartitionBuckets] = {}
        #: peer host -> its node write bucket's level when it last reported
        self.peer_write_levels: dict[str, float] = {}

    # ------------------------------------------------------------------
    def _rate(self, pid: str, read: bool) -> float:
        if self.policy.gac:
            return self.allocation.partition_max(read)
        return self.allocation.rate(pid, read)

    def buckets(self, pid: str, read: bool, now_s: float) -> PartitionBuckets:
        """``pid``'s buckets for reads or writes, up to date at ``now_s``."""
        table = self.reads if read else self.writes
        pb = table.get(pid)
        version = self.allocation.version
        if pb is None:
            pb = table[pid] = PartitionBuckets(self._rate(pid, read), now_s,
                                               self.cfg.allocated_bucket_s, self._burst_s, version)
        elif pb.version != version:
            pb.set_rate(self._rate(pid, read), now_s, version)
        pb.refill(now_s)
        return pb

    def admit(self, pid: str, key: str, kind: str, size_bytes: float, replicas: Replicas,
              now_s: float) -> bool:
        """Admit or throttle one request on ``pid`` served here; ``replicas``
        gives the hosts of the partition's replicas (asked only for a burst
        write).  On every served request's path, so the buckets' refill and
        take are written out here rather than called."""
        cost = units(kind, size_bytes)
        read = kind in READS
        pb = (self.reads if read else self.writes).get(pid)
        if pb is None or pb.version != self.allocation.version:
            pb = self.buckets(pid, read, now_s)
        allocated = pb.allocated
        dt = now_s - allocated.t_s
        if dt > 0.0:  # allocated.refill, the overflow to the burst bucket
            allocated.t_s = now_s
            full = allocated.tokens + allocated.rate_per_s * dt
            if full > allocated.capacity:
                burst = pb.burst
                if burst is not None:  # burst.add(the overflow)
                    saved = burst.tokens + full - allocated.capacity
                    burst.tokens = saved if saved < burst.capacity else burst.capacity
                full = allocated.capacity
            allocated.tokens = full
        counters = self.counters.get(pid)
        if counters is None:
            counters = self.counters[pid] = [0.0] * COUNTERS
        if self.key_counts is not None:
            keys = self.key_counts.setdefault(pid, {})
            keys[key] = keys.get(key, 0) + 1
        if allocated.tokens + EPSILON >= cost:
            allocated.tokens -= cost
            if self._node_buckets:  # node.charge(cost, now_s)
                node = self.node_read if read else self.node_write
                dt = now_s - node.t_s
                if dt > 0.0:
                    node.t_s = now_s
                    full = node.tokens + node.rate_per_s * dt
                    node.tokens = full if full < node.capacity else node.capacity
                node.tokens -= cost
        elif pb.can_burst(cost) and self._burst_ok(read, cost, replicas, now_s):
            pb.take_burst(cost)
            (self.node_read if read else self.node_write).charge(cost, now_s)
            counters[BURST] += cost
        else:
            counters[READ_THROTTLED if read else WRITE_THROTTLED] += cost
            counters[THROTTLED] += 1
            return False
        counters[READ_UNITS if read else WRITE_UNITS] += cost
        counters[ADMITTED] += 1
        return True

    def _burst_ok(self, read: bool, cost: float, replicas: Replicas, now_s: float) -> bool:
        """A burst needs the node's tokens, and for a write every other
        replica's node write bucket's, as they last reported."""
        node = self.node_read if read else self.node_write
        return node.has(cost, now_s) and (read or self._peers_can_take(replicas.active_hosts(),
                                                                         cost))

    def take_key_counts(self) -> dict[str, dict[str, int]]:
        """The requests per key since the last call, per partition (what the
        node reports to autoadmin for splits), and start counting afresh."""
        counts = self.key_counts or {}
        if self.key_counts is not None:
            self.key_counts = {}
        return counts

    def _peers_can_take(self, hosts: Iterable[str], cost: float) -> bool:
        """Whether every other replica's node write bucket had ``cost``
        tokens when it last reported (one that never reported is assumed to)."""
        if not self._check_peers:
            return True
        levels = self.peer_write_levels
        me = self.host_id
        return all(levels.get(h, cost) + EPSILON >= cost for h in hosts if h != me)

    # -- node reports ----------------------------------------------------
    @property
    def reports(self) -> bool:
        """Whether this node tells its peers its node write bucket (bursting)."""
        return self._check_peers

    def write_level(self, now_s: float) -> float:
        """The node write bucket's level now (what a report says)."""
        return self.node_write.level(now_s)

    def peer_reported(self, host_id: str, write_level: float) -> None:
        self.peer_write_levels[host_id] = write_level
