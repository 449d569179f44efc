"""What a run observes and what it measures.

Two parts, so that switching the figures off (``metrics.enabled = false``)
leaves everything the checks need:

* :class:`Observation` is always on.  It is the service's
  :class:`~ddbsim.service.ServiceHooks`: it hears leader changes, the lease
  each leader served on, lost replicas and their replacements (healing
  episodes) -- what the single-leader, healing and placement checks and the
  result's ``leaders`` and ``healing`` are made of.
* :class:`Figures` are the performance figures, collected only with
  ``metrics.enabled``: every client operation's outcome and latency per
  window (paper §6.3: availability is measured from the client side, per
  5-minute window, as the fraction of processed requests that succeed; read
  and write availability are kept apart; throttled requests are their own
  outcome and never count against availability), the partitions that saw
  client errors and for how long, the canaries per AZ, and the server-side
  counts of the storage nodes' answers; the routing figures (paper §6.6:
  each router cache's hits and misses, the lookups the metadata table and
  MemDS received); and, with ``metrics.traffic_series_s`` above 0, time series in
  buckets of that width (client attempts and goodput, metadata and MemDS
  load, cache misses).  Everything aggregates as it goes --
  counters per window, log-bucketed latency histograms -- so a long run
  costs memory by windows and buckets, not by requests.  With workload
  phases, the same per traffic source (the background and each phase):
  operations by outcome, latency, attempts and throttled attempts, and the
  attempts and throttled attempts per ``metrics.series_s`` (when throttling
  starts and stops).

Both only record: they never change what the service or the clients do.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import Members
from ddbsim.service.messages import READS

# Latency histogram: bucket i holds latencies in [B**i, B**(i+1)) microseconds.
_BUCKET_BASE = 1.04
_LOG_BASE = math.log(_BUCKET_BASE)

OK, ERROR, THROTTLED = "ok", "error", "throttled"
OUTCOMES = (OK, ERROR, THROTTLED)
#: A sample (``metrics.series_s``) whose throttled share of a traffic
#: source's attempts is above this counts as throttling (the phases' figures).
THROTTLING_THRESHOLD = 0.01

# How a healing episode ends.
STORAGE_REPLICA = "storage replica"  # a storage replica took the lost one's place
RETURNED = "returned"  # the lost host came back before it was replaced
REPLACEMENT_LOST = "replacement lost"  # its log replica was lost too: a new episode goes on


class LatencyHistogram:
    __slots__ = ("counts", "n")

    def __init__(self) -> None:
        self.counts: dict[int, int] = defaultdict(int)
        self.n = 0

    def add(self, latency_s: float) -> None:
        us = max(latency_s * 1e6, 1.0)
        self.counts[int(math.log(us) / _LOG_BASE)] += 1
        self.n += 1

    def merge(self, other: LatencyHistogram) -> None:
        for b, c in other.counts.items():
            self.counts[b] += c
        self.n += other.n

    def percentile_ms(self, q: float) -> float:
        """The q-quantile (0..1), to within the bucket width (4%)."""
        if self.n == 0:
            return 0.0
        rank = q * self.n
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen >= rank:
                # the bucket's geometric middle, in ms
                return round(_BUCKET_BASE ** (b + 0.5) / 1000.0, 4)
        return 0.0


class SourceFigures:
    """One traffic source's figures (see :class:`Figures`)."""

    __slots__ = ("outcomes", "latency", "attempts", "throttled_attempts", "series")

    def __init__(self) -> None:
        self.outcomes = {OK: 0, ERROR: 0, THROTTLED: 0}
        self.latency = LatencyHistogram()
        self.attempts = 0
        self.throttled_attempts = 0
        #: series bucket index -> [attempts, throttled attempts]
        self.series: dict[int, list[int]] = defaultdict(lambda: [0, 0])


class Figures:
    """The performance figures (see the module docstring): client outcomes
    and latency per window, partition error spans, canaries, server-side
    counts.  A run has them only with ``metrics.enabled``."""

    def __init__(self, window_s: float, series_s: float = 5.0,
                 traffic_series_s: float = 0.0) -> None:
        self.window_s = window_s
        self.series_s = series_s
        self.traffic_series_s = traffic_series_s
        # series name -> bucket index -> count (with traffic_series_s > 0)
        self.series: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        # gauge name -> bucket index -> the value sampled at the bucket's end
        self.gauges: dict[str, dict[int, int]] = defaultdict(dict)
        self.routing_load: dict[str, int] = defaultdict(int)  # server kind -> lookups
        #: per traffic source (only with workload phases)
        self.sources: dict[str, SourceFigures] = defaultdict(SourceFigures)
        # window index -> [read ok, read error, write ok, write error, throttled]
        self.windows: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
        # (window index, operation kind) -> [ok, error]
        self.window_kinds: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        self.totals = {OK: 0, ERROR: 0, THROTTLED: 0}
        self.by_kind: dict[str, dict[str, int]] = defaultdict(lambda: {OK: 0, ERROR: 0, THROTTLED: 0})
        self.latency: dict[str, LatencyHistogram] = defaultdict(LatencyHistogram)
        self.canary: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # az -> [ok, error]
        # partition -> [errors, first error at, last error at]
        self.partition_errors: dict[str, list[float]] = {}
        self.server: dict[str, int] = defaultdict(int)

    # -- client side -----------------------------------------------------
    def record(self, t_s: float, kind: str, outcome: str, latency_s: float, pid: str | None,
               canary_az: str | None = None) -> None:
        """One client operation finished (after its retries)."""
        index = int(t_s // self.window_s)
        w = self.windows[index]
        is_read = kind in READS
        if outcome == OK:
            w[0 if is_read else 2] += 1
            self.window_kinds[(index, kind)][0] += 1
            self.latency[kind].add(latency_s)
        elif outcome == ERROR:
            w[1 if is_read else 3] += 1
            self.window_kinds[(index, kind)][1] += 1
            if pid is not None:
                e = self.partition_errors.get(pid)
                if e is None:
                    self.partition_errors[pid] = [1, t_s, t_s]
                else:
                    e[0] += 1
                    e[2] = t_s
        else:
            w[4] += 1
        self.totals[outcome] += 1
        self.by_kind[kind][outcome] += 1
        if canary_az is not None and outcome != THROTTLED:
            self.canary[canary_az][0 if outcome == OK else 1] += 1
        if self.traffic_series_s and outcome != THROTTLED:
            done = int((t_s + latency_s) // self.traffic_series_s)
            self.series["goodput" if outcome == OK else "errors"][done] += 1

    def count(self, name: str, t_s: float, n: int = 1) -> None:
        """``n`` events of series ``name`` at ``t_s`` (with ``traffic_series_s`` on)."""
        if self.traffic_series_s:
            self.series[name][int(t_s // self.traffic_series_s)] += n

    def sample(self, name: str, t_s: float, value: int) -> None:
        """Gauge ``name`` reads ``value`` at ``t_s``, the end of a bucket."""
        self.gauges[name][int(round(t_s / self.traffic_series_s)) - 1] = value

    def route_missed(self, t_s: float, router: str) -> None:
        if self.traffic_series_s:
            self.series["misses"][int(t_s // self.traffic_series_s)] += 1

    def routing_lookups(self, t_s: float, server: str, lookups: int) -> None:
        self.routing_load[server] += lookups
        if self.traffic_series_s:
            self.series[server][int(t_s // self.traffic_series_s)] += lookups

    def series_data(self, end_s: float) -> dict[str, Any] | None:
        """Each series as a rate per second per bucket, from 0 to ``end_s``."""
        if not self.traffic_series_s:
            return None
        n = max(1, math.ceil(end_s / self.traffic_series_s - 1e-9))
        out: dict[str, Any] = {"bucket_s": self.traffic_series_s}
        for name in sorted(self.series):
            counts = self.series[name]
            out[name] = [round(counts.get(i, 0) / self.traffic_series_s, 6) for i in range(n)]
        for name in sorted(self.gauges):  # a level, not a rate: as sampled
            values = self.gauges[name]
            out[name] = [values.get(i, 0) for i in range(n)]
        return out

    def routing_data(self, cache: str, lookups: dict[str, tuple[int, int]]) -> dict[str, Any]:
        """The router caches' hits and misses (``lookups``: router -> (hits,
        misses), read from the caches at the end), and the metadata servers'
        load."""
        hits = sum(c[0] for c in lookups.values())
        misses = sum(c[1] for c in lookups.values())
        return {"cache": cache, "hits": hits, "misses": misses,
                "hit_rate": None if hits + misses == 0 else round(hits / (hits + misses), 6),
                "by_router": {r: {"hits": c[0], "misses": c[1],
                                  "hit_rate": round(c[0] / (c[0] + c[1]), 6) if sum(c) else None}
                              for r, c in sorted(lookups.items())},
                "lookups": {"metadata": self.routing_load.get("metadata", 0),
                            "memds": self.routing_load.get("memds", 0)}}

    def attempt(self, t_s: float, source: str, throttled: bool) -> None:
        """An attempt of ``source``'s traffic got an answer at ``t_s``."""
        f = self.sources[source]
        f.attempts += 1
        bucket = f.series[int(t_s // self.series_s)]
        bucket[0] += 1
        if throttled:
            f.throttled_attempts += 1
            bucket[1] += 1

    def record_source(self, source: str, outcome: str, latency_s: float) -> None:
        """One operation of ``source``'s traffic finished (after its retries)."""
        f = self.sources[source]
        f.outcomes[outcome] += 1
        if outcome == OK:
            f.latency.add(latency_s)

    def storage_request(self, t_s: float, pid: str, kind: str, status: str) -> None:
        """A storage node answered a request (through :class:`Observation`)."""
        self.server[status] += 1

    # -- views -------------------------------------------------------------
    def availability(self, end_s: float) -> dict[str, Any]:
        windows = []
        n = max(1, math.ceil(end_s / self.window_s - 1e-9))
        tot = [0, 0, 0, 0]
        for i in range(n):
            w = self.windows.get(i, [0, 0, 0, 0, 0])
            tot = [a + b for a, b in zip(tot, w[:4], strict=True)]
            windows.append({
                "start_s": i * self.window_s, "end_s": min((i + 1) * self.window_s, end_s),
                "read": _ratio(w[0], w[1]), "write": _ratio(w[2], w[3]),
                "requests": sum(w), "errors": w[1] + w[3], "throttled": w[4],
                "by_kind": {k: _ratio(*self.window_kinds[(i, k)])
                            for (j, k) in sorted(self.window_kinds) if j == i}})
        return {"overall": _ratio(tot[0] + tot[2], tot[1] + tot[3]),
                "read": _ratio(tot[0], tot[1]), "write": _ratio(tot[2], tot[3]),
                "windows": windows}


class Observation(ServiceHooks):
    """What the service tells the lab, always on (see the module docstring):
    leader changes and losses, lease spans, healing episodes.  The service
    has one hooks object, so the server-side counts it reports pass through
    here to the figures, when there are any."""

    def __init__(self, figures: Figures | None = None) -> None:
        self.figures = figures
        self.leader_changes: list[dict[str, Any]] = []
        self.leader_losses: list[dict[str, Any]] = []
        # (partition, t_s): a leader dropped its repairs (no quorum in sight) / took them up again
        self.repair_pauses: list[tuple[str, float]] = []
        self.repair_resumes: list[tuple[str, float]] = []
        self.lease_spans: dict[tuple[str, tuple[int, str]], list[float]] = {}
        # Healing episodes: one per replica a leader set out to replace,
        # from detection until a storage replica took its place (or why not).
        self.healing: list[dict[str, Any]] = []
        self._open: dict[tuple[str, str], dict[str, Any]] = {}  # (pid, lost host) -> episode
        self._by_replica: dict[tuple[str, str], dict[str, Any]] = {}  # (pid, new replica's host)
        # Durability: the archive and the scrub (counts; corruptions as events).
        self.archive: dict[str, Any] = {"segments": 0, "records": 0, "refusals": 0,
                                        "refused": [], "restores": 0}
        self.scrubs: dict[str, int] = {"scrubs": 0, "with_reference": 0}
        # kind -> the most WAL records a replica of that kind held after a trim
        self.wal_max_after_trim: dict[str, int] = {}
        self.corruptions_found: list[dict[str, Any]] = []
        self.corruptions_repaired: list[dict[str, Any]] = []
        self._found_seen: set[tuple[str, str, str, str]] = set()

    # -- service hooks -----------------------------------------------------
    def leader_elected(self, t_s: float, pid: str, ballot: tuple[int, str], host: str) -> None:
        self.leader_changes.append({"t_s": round(t_s, 6), "partition": pid, "host": host,
                                    "ballot": list(ballot)})

    def leader_lost(self, t_s: float, pid: str, ballot: tuple[int, str], host: str,
                    reason: str) -> None:
        self.leader_losses.append({"t_s": round(t_s, 6), "partition": pid, "host": host,
                                   "ballot": list(ballot), "reason": reason})
        # A leader that stepped down (or died) serves nothing more: its lease
        # ends for the single-leader check, whatever it had computed.
        span = self.lease_spans.get((pid, ballot))
        if span is not None and span[1] > t_s:
            span[1] = t_s

    def lease_held(self, pid: str, ballot: tuple[int, str], from_s: float, until_s: float) -> None:
        span = self.lease_spans.get((pid, ballot))
        if span is None:
            self.lease_spans[(pid, ballot)] = [from_s, until_s]
        else:
            span[1] = max(span[1], until_s)

    def replica_lost(self, t_s: float, pid: str, host: str, last_seen_s: float) -> None:
        if (pid, host) in self._open:
            return  # a later leader resuming the same job
        earlier = self._by_replica.get((pid, host))
        if earlier is not None:  # the replacement of an open episode was lost in turn
            self._end(earlier, t_s, f"{REPLACEMENT_LOST}: its replica on {host} was lost too "
                                    "(healed in that episode)")
        rec = {"partition": pid, "lost_host": host, "lost_at_s": round(last_seen_s, 6),
               "detected_at_s": round(t_s, 6), "log_replica_host": None, "log_replica_at_s": None,
               "storage_replica_host": None, "storage_replica_at_s": None,
               "ended_at_s": None, "end": None, "blocked": None}
        self.healing.append(rec)
        self._open[(pid, host)] = rec

    def replica_added(self, t_s: float, pid: str, host: str, kind: str, replaces: str) -> None:
        rec = self._open.get((pid, replaces)) or self._by_replica.get((pid, replaces))
        if rec is None or rec["end"] is not None:
            return  # not a replacement of a lost replica
        if rec[f"{kind}_replica_at_s"] is None:
            rec[f"{kind}_replica_host"] = host
            rec[f"{kind}_replica_at_s"] = round(t_s, 6)
        self._by_replica[(pid, host)] = rec
        if kind == "storage":
            self._end(rec, t_s, STORAGE_REPLICA)
        elif (pid, host) in self._open:
            # its host was lost between the copy and the membership change
            # committing: an episode of its own replaces it in turn
            self._end(rec, t_s, f"{REPLACEMENT_LOST}: its replica on {host} was lost before "
                                "it joined (healed in that episode)")

    def repairs_paused(self, t_s: float, pid: str) -> None:
        self.repair_pauses.append((pid, t_s))

    def repairs_resumed(self, t_s: float, pid: str) -> None:
        self.repair_resumes.append((pid, t_s))

    def healing_blocked(self, t_s: float, pid: str, host: str, reason: str) -> None:
        rec = self._open.get((pid, host))
        if rec is not None:
            rec["blocked"] = reason

    def group_whole(self, t_s: float, pid: str, members: Members) -> None:
        hosts = {h for h, _ in members}
        for (p, lost), rec in list(self._open.items()):
            if p == pid:
                self._end(rec, t_s, RETURNED if lost in hosts else
                          "the group is whole, but not through this episode's replacement")

    def _end(self, rec: dict[str, Any], t_s: float, how: str) -> None:
        rec["ended_at_s"] = round(t_s, 6)
        rec["end"] = how
        pid = rec["partition"]
        self._open.pop((pid, rec["lost_host"]), None)
        for key in [k for k, r in self._by_replica.items() if r is rec]:
            del self._by_replica[key]

    def archived(self, t_s: float, pid: str, host: str, first: int, last: int) -> None:
        self.archive["segments"] += 1
        self.archive["records"] += last - first + 1

    def archive_refused(self, t_s: float, pid: str, host: str, first: int, last: int,
                        reason: str) -> None:
        self.archive["refusals"] += 1
        if len(self.archive["refused"]) < 20:
            self.archive["refused"].append({"t_s": round(t_s, 6), "partition": pid, "host": host,
                                            "first": first, "last": last, "reason": reason})

    def restored_from_archive(self, t_s: float, pid: str, host: str, first: int,
                              head: int) -> None:
        self.archive["restores"] += 1

    def wal_trimmed(self, t_s: float, pid: str, host: str, kind: str, records: int) -> None:
        if records > self.wal_max_after_trim.get(kind, -1):
            self.wal_max_after_trim[kind] = records

    def scrubbed(self, t_s: float, pid: str, lsn: int, replicas: int, reference: bool) -> None:
        self.scrubs["scrubs"] += 1
        self.scrubs["with_reference"] += int(reference)

    def corruption_found(self, t_s: float, pid: str, host: str, what: str, where: str,
                         by: str) -> None:
        key = (pid, host, what, where)
        if by == "read" and key in self._found_seen:
            return  # the same item read again before its repair
        self._found_seen.add(key)
        self.corruptions_found.append({"t_s": round(t_s, 6), "partition": pid, "host": host,
                                       "what": what, "where": where, "by": by})

    def corruption_repaired(self, t_s: float, pid: str, host: str, what: str, where: str) -> None:
        self._found_seen = {k for k in self._found_seen if k[:3] != (pid, host, what)}
        self.corruptions_repaired.append({"t_s": round(t_s, 6), "partition": pid, "host": host,
                                          "what": what, "where": where})

    def storage_request(self, t_s: float, pid: str, kind: str, status: str) -> None:
        if self.figures is not None:
            self.figures.storage_request(t_s, pid, kind, status)

    def routing_load(self, t_s: float, server: str, lookups: int) -> None:
        if self.figures is not None:
            self.figures.routing_lookups(t_s, server, lookups)

    def route_missed(self, t_s: float, router: str) -> None:
        if self.figures is not None:
            self.figures.route_missed(t_s, router)


def _ratio(ok: int, err: int) -> float:
    return 1.0 if ok + err == 0 else ok / (ok + err)
