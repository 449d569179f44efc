"""Splitting partitions for consumption (paper §4.4).

Once a partition's load -- what it consumed plus what it had throttled,
reads or writes -- stays above ``admission.split_threshold`` of the
partition maximum for ``admission.split_hot_s``, autoadmin splits it in
two, at a point chosen from the key distribution the partition has seen:
the hash of the key at which half of its requests fall on each side.  The
copy takes ``admission.split_copy_s`` ("the order of minutes"); then the
partition is cut over to its children (:meth:`ddbsim.service.service.Service.split_partition`),
and the partition map -- and through it the routers -- learns them.

Some load no split can help, and autoadmin recognises it and declines:

* **a single hot key** -- one key has ``admission.split_single_key_share``
  or more of the partition's requests: both halves cannot share it;
* **sequential access** -- the keys of one period share less than
  ``admission.split_sequential_overlap`` of their requests with the keys of
  the period before: the load walks through the key range, and a split would
  leave the hot spot to one child and move on.

The storage nodes report, every ``admission.split_interval_s``, each
partition's counters and requests per key
(:mod:`ddbsim.service.admission.storage`) -- through the control plane, at
once, as the partition map is.  One timer per table.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import simpy

from ddbsim.config import AdmissionConfig
from ddbsim.service.admission.storage import (
    READ_THROTTLED,
    READ_UNITS,
    WRITE_THROTTLED,
    WRITE_UNITS,
)
from ddbsim.service.metadata.hashing import key_hash
from ddbsim.service.metadata.partition_map import PartitionMap
from ddbsim.world.scheduling import call_later

Counters = Callable[[], Mapping[str, Sequence[float]]]
KeyCounts = Callable[[], Mapping[str, Mapping[str, int]]]
#: ``split(pid, at_hash)``: cut ``pid`` over to two children; None when done, else why not now.
Splitter = Callable[[str, int], "str | None"]

SINGLE_KEY = "a single hot key"
SEQUENTIAL = "sequential access"


class SplitForConsumption:
    def __init__(self, env: simpy.Environment, cfg: AdmissionConfig, partition_map: PartitionMap,
                 counters: Counters, key_counts: KeyCounts, split: Splitter) -> None:
        self.env = env
        self.cfg = cfg
        self.partition_map = partition_map
        self._counters = counters
        self._key_counts = key_counts
        self._split = split
        self._last: dict[str, list[float]] = {}
        self._previous_keys: Mapping[str, Mapping[str, int]] = {}
        self.hot_since: dict[str, float] = {}
        self.pending: dict[str, int] = {}  # pid -> the hash it is being split at
        #: every split: decided_at_s, partition, at_hash_fraction, children, split_at_s
        self.splits: list[dict[str, object]] = []
        #: every partition declined, once per reason: t_s, partition, reason
        self.declined: list[dict[str, object]] = []
        self._declined: set[tuple[str, str]] = set()

    def start(self) -> None:
        call_later(self.env, self.cfg.split_interval_s, self._tick)

    def _tick(self) -> None:
        cfg = self.cfg
        interval = cfg.split_interval_s
        now = self.env.now
        counters = self._counters()
        keys = self._key_counts()
        for pid in self.partition_map.pids():
            c, before = counters.get(pid), self._last.get(pid)
            if c is None or pid in self.pending:
                continue
            d = [c[i] - (before[i] if before else 0.0)
                 for i in (READ_UNITS, WRITE_UNITS, READ_THROTTLED, WRITE_THROTTLED)]
            hot = ((d[0] + d[2]) / interval > cfg.split_threshold * cfg.partition_max_rcu
                   or (d[1] + d[3]) / interval > cfg.split_threshold * cfg.partition_max_wcu)
            if not hot:
                self.hot_since.pop(pid, None)
                continue
            since = self.hot_since.setdefault(pid, now - interval)
            if now - since < cfg.split_hot_s:
                continue
            point = self.split_point(pid, keys.get(pid, {}), self._previous_keys.get(pid))
            if isinstance(point, str):
                if (pid, point) not in self._declined:
                    self._declined.add((pid, point))
                    self.declined.append({"t_s": round(now, 6), "partition": pid,
                                          "reason": point})
                continue
            self.pending[pid] = point
            self.splits.append({"decided_at_s": round(now, 6), "partition": pid,
                                "at_hash_fraction": round(point / 2 ** 64, 6),
                                "children": None, "split_at_s": None})
            call_later(self.env, cfg.split_copy_s, self._cut_over, pid)
        self._last = {pid: list(c) for pid, c in counters.items()}
        self._previous_keys = keys
        call_later(self.env, interval, self._tick)

    def split_point(self, pid: str, counts: Mapping[str, int],
                    previous: Mapping[str, int] | None) -> int | str:
        """The hash to split ``pid`` at -- half its requests on each side --
        or why it should not be split."""
        total = sum(counts.values())
        if not total:
            return "no requests seen"
        if max(counts.values()) >= self.cfg.split_single_key_share * total:
            return SINGLE_KEY
        if previous:
            shared = sum(n for key, n in counts.items() if key in previous)
            if shared < self.cfg.split_sequential_overlap * total:
                return SEQUENTIAL
        info = self.partition_map.partition(pid)
        hashes = sorted((key_hash(key), n) for key, n in counts.items())
        seen = 0
        for h, n in hashes:
            if seen >= total / 2 and h > info.start_hash:
                return h
            seen += n
        return "no split point inside the range"

    def _cut_over(self, pid: str) -> None:
        if pid not in self.partition_map:
            return
        at = self.pending[pid]
        why_not = self._split(pid, at)
        if why_not is not None:  # e.g. no leader now: try again a little later
            call_later(self.env, self.cfg.split_interval_s, self._cut_over, pid)
            return
        del self.pending[pid]
        self.hot_since.pop(pid, None)
        record = next(r for r in reversed(self.splits) if r["partition"] == pid)
        record["split_at_s"] = round(self.env.now, 6)
        record["children"] = list(children_of(pid))


def children_of(pid: str) -> tuple[str, str]:
    """The names of ``pid``'s two children (``p-0002`` -> ``p-0002.0``, ``p-0002.1``)."""
    return f"{pid}.0", f"{pid}.1"
