"""Every replication group of a region through its hosts' outages: when it
serves writes and reads, and when it loses data.

**What it models.**  The detailed model's groups (paper §3, §5.1, §6.2),
reduced to their membership: each partition has ``replication.replicas``
members, one per AZ, each a **storage replica** (B-tree and WAL), a **log
replica** (recent WAL only: counts towards the write quorum, never leads,
serves no reads) or **dead** (its host's disk was lost).  It is driven by
the host outages of :mod:`.failures` and follows the healing policy of
``ddbsim.service.storage.healing``, event by event (a heap of timed events,
no per-request traffic, no periodic process):

* a member is up while its host is up and booted (``boot_s`` after the
  power returns), and its data is intact;
* the group **serves writes** while a leader (a storage replica) is up and
  a write quorum of members is up; a leader that loses its quorum keeps its
  leadership and serves again as soon as a member returns;
* when the leader's host fails, a new leader serves ``failover_s`` after
  the group has a quorum with a storage replica up (an election restarts if
  the quorum is lost meanwhile); with a quorum of log replicas only, nobody
  can lead until a storage member returns;
* a serving leader replaces a member that is down ``detection_s`` after its
  failure, with a **log replica** ``log_join_s`` later (or, with
  ``healing.log_replicas`` off, a storage replica ``rebuild_s`` later) on
  the least-loaded ready host of the same AZ that holds no replica of the
  partition (``Placement.replacement``); with none, the group runs on what
  it has and the leader looks again every ``healing.retry_s`` (the model
  wakes it at the first look after a host of that AZ is ready again) --
  never two replicas in one AZ.  The replaced member is no longer one when
  its host returns;
* a serving leader rebuilds each up log replica into a storage replica in
  ``rebuild_s``; the copy is the leader's volatile state: it starts again
  when the group stops serving (leadership moves or the quorum is lost) or
  the log replica's host fails;
* the group **serves eventually consistent reads** while a storage replica
  is up (log replicas serve no reads);
* a member is **current** (holds every acknowledged write) unless it was
  down while the group served writes; a down member catches up when it
  returns to a serving group, and a new replica is current when it joins.
  **Data loss**: a disk failure leaves no intact current member -- the
  newest acknowledged writes are gone (with the WAL archive, all but the
  last ``nines.archive_lag_s`` of them are in the archive); or it leaves no
  intact storage replica and there is no archive to restore the B-tree
  from -- the partition is gone.  A group left with no storage replica is
  restored (from the archive and the surviving WAL, or from nothing) in
  ``rebuild_s``, so the simulation goes on.

**Simplifications** (where the detailed model does more): a replacement's
host is chosen when its copy ends, not when it starts (a host failing
mid-copy is not retried); the leader sees a host's true state (no gray
failures, no false suspicion); membership changes commit at once; routers
learn a new leader at once; a write fails only while its group cannot
serve (no time-outs, no retries), so the region's write availability is the
mean of the groups' (writes spread evenly); a returning member never
preempts a serving leader; catch-up is instantaneous.

With ``nines.distribution=exponential`` every failover, healing and rebuild
time is exponential with its mean, restarted when interrupted -- the
continuous-time Markov chain of :mod:`ddbsim.lab.markov`, which this module
must then agree with (cross-check a).
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np
from sortedcontainers import SortedList

from ddbsim.lab.nines.durations import Durations
from ddbsim.lab.nines.failures import Outages
from ddbsim.lab.nines.fleet import Fleet

STORAGE, LOG, DEAD = 0, 1, 2
# event codes, in the order ties are broken at one instant
_UP, _READY, _DOWN, _ELECT, _HEAL, _REBUILD, _RESTORE = range(7)


@dataclass
class GroupsOutcome:
    """What the groups did over the horizon."""

    horizon_s: float
    partitions: int
    write_down: tuple[np.ndarray, np.ndarray, np.ndarray]  # (partition, start_s, end_s)
    read_down: tuple[np.ndarray, np.ndarray, np.ndarray]
    write_losses: list[tuple[float, int]] = field(default_factory=list)  # (t_s, partition)
    partition_losses: list[tuple[float, int]] = field(default_factory=list)
    quorum_losses: int = 0  # episodes with fewer than a write quorum of members up
    all_down: int = 0  # episodes with no member up
    heals: int = 0
    rebuilds: int = 0
    heal_retries: int = 0  # heals that found no host and waited for one
    events: int = 0
    # Exposure (group-seconds): time a group spent one disk failure away from
    # a loss -- exactly one intact current member (its newest acknowledged
    # writes on one disk), exactly one intact storage replica (its B-tree on
    # one disk: lost without an archive).
    write_exposure_s: float = 0.0
    storage_exposure_s: float = 0.0


def _toggle(since: list[float], p: int, on: bool, t: float) -> float:
    """Open (``on``) or close ``p``'s span in ``since`` (-1: none open) at
    ``t``; the length of the span it closed, else 0."""
    if on == (since[p] >= 0):
        return 0.0
    if on:
        since[p] = t
        return 0.0
    length = t - since[p]
    since[p] = -1.0
    return length


def simulate_groups(fleet: Fleet, outages: Outages, dur: Durations, *, horizon_s: float,
                    write_quorum: int, log_replicas: bool, archive: bool,
                    rng: np.random.Generator | None = None,
                    same_az: bool = True) -> GroupsOutcome:
    """Run every group of ``fleet`` through ``outages``.  ``rng`` given:
    exponential durations (``nines.distribution=exponential``); None: fixed."""
    n_p, n_r = fleet.placement.shape
    q = write_quorum
    host_az = fleet.host_az.tolist()
    exp = rng.standard_exponential if rng is not None else None

    def draw(mean: float) -> float:
        return mean * float(exp()) if exp is not None else mean

    # members: flat arrays indexed by p * n_r + s
    mh = fleet.placement.reshape(-1).tolist()  # host
    mk = [STORAGE] * (n_p * n_r)  # kind
    mu = [True] * (n_p * n_r)  # up
    mc = [True] * (n_p * n_r)  # current
    mt = [0] * (n_p * n_r)  # timer id: a heal or rebuild timer is valid while it matches
    down_at = [0.0] * (n_p * n_r)
    leader = [0] * n_p  # slot of the leader, -1 none
    tok = [0] * n_p  # bumped when the group stops or starts serving, or an election is dropped
    serving = [True] * n_p
    electing = [False] * n_p
    wd_since = [-1.0] * n_p
    rd_since = [-1.0] * n_p
    below_q = [False] * n_p
    none_up = [False] * n_p
    wd_p: list[int] = []
    wd_a: list[float] = []
    wd_b: list[float] = []
    rd_p: list[int] = []
    rd_a: list[float] = []
    rd_b: list[float] = []
    out = GroupsOutcome(horizon_s, n_p, (np.empty(0), np.empty(0), np.empty(0)),
                        (np.empty(0), np.empty(0), np.empty(0)))

    n_h = fleet.hosts
    held: list[set[int]] = [set() for _ in range(n_h)]  # host -> member codes it holds
    load = [0] * n_h
    for code, h in enumerate(mh):
        held[h].add(code)
        load[h] += 1
    down_count = [0] * n_h
    ready = [True] * n_h
    epoch = [0] * n_h
    # The ready hosts a replacement may go to, by (load, host id): one pool per
    # AZ (or one for the region when AZs are ignored), kept sorted as loads
    # and readiness change, so the least-loaded pick is O(log hosts).
    rank = [0] * n_h
    pool_of = [0] * n_h
    groups = ([a.tolist() for a in fleet.az_hosts] if same_az
              else [sorted(range(n_h), key=lambda h: fleet.host_ids[h])])
    for g, members in enumerate(groups):
        for r, h in enumerate(members):
            rank[h], pool_of[h] = r, g
    pools = [SortedList((load[h], rank[h], h) for h in members) for members in groups]

    parked: list[list[tuple[int, int, float]]] = [[] for _ in pools]  # heals with no host

    def set_load(h: int, value: int) -> None:
        if ready[h]:
            pool = pools[pool_of[h]]
            pool.remove((load[h], rank[h], h))
            pool.add((value, rank[h], h))
        load[h] = value

    def set_ready(h: int, value: bool) -> None:
        if ready[h] != value:
            if value:
                pools[pool_of[h]].add((load[h], rank[h], h))
            else:
                pools[pool_of[h]].remove((load[h], rank[h], h))
            ready[h] = value

    heap: list[tuple[float, int, int, int, int]] = []
    seq = 0

    def push(t: float, kind: int, a: int, b: int = 0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, kind, seq, a, b))

    heal_join = dur.log_join_s if log_replicas else dur.rebuild_s
    heal_mean = dur.detection_s + heal_join

    def arm_heal(p: int, s: int, t: float) -> None:
        code = p * n_r + s
        mt[code] += 1
        when = (t + draw(heal_mean) if exp is not None
                else max(t, down_at[code] + dur.detection_s) + heal_join)
        push(when, _HEAL, code, (tok[p] << 20) | (mt[code] & 0xFFFFF))

    def arm_rebuild(p: int, s: int, t: float) -> None:
        code = p * n_r + s
        mt[code] += 1
        push(t + draw(dur.rebuild_s), _REBUILD, code, (tok[p] << 20) | (mt[code] & 0xFFFFF))

    def valid(p: int, code: int, stamp: int) -> bool:
        return serving[p] and stamp == ((tok[p] << 20) | (mt[code] & 0xFFFFF))

    w_exp_since = [-1.0] * n_p  # one intact current member since (-1: not)
    s_exp_since = [-1.0] * n_p  # one intact storage replica since

    def expose(p: int, t: float) -> None:
        """Open or close ``p``'s exposure spans (call after any change of its
        members' kinds, disks or currency)."""
        base = p * n_r
        cur = stor = 0
        for code in range(base, base + n_r):
            if mk[code] != DEAD:
                cur += mc[code]
                stor += mk[code] == STORAGE
        out.write_exposure_s += _toggle(w_exp_since, p, cur == 1, t)
        out.storage_exposure_s += _toggle(s_exp_since, p, stor == 1, t)

    def recompute(p: int, t: float) -> None:
        base = p * n_r
        k = s_up = 0
        for code in range(base, base + n_r):
            if mu[code]:
                k += 1
                if mk[code] == STORAGE:
                    s_up += 1
        ld = leader[p]
        now_serving = ld >= 0 and k >= q
        if k < q and not below_q[p]:
            below_q[p] = True
            out.quorum_losses += 1
        elif k >= q:
            below_q[p] = False
        if k == 0 and not none_up[p]:
            none_up[p] = True
            out.all_down += 1
        elif k > 0:
            none_up[p] = False
        if now_serving != serving[p]:
            tok[p] += 1
            serving[p] = now_serving
            if now_serving:
                wd_p.append(p)
                wd_a.append(wd_since[p])
                wd_b.append(t)
                wd_since[p] = -1.0
                for s in range(n_r):
                    code = base + s
                    if not mu[code]:
                        arm_heal(p, s, t)
                    elif mk[code] == LOG:
                        arm_rebuild(p, s, t)
            else:
                wd_since[p] = t
        if now_serving:
            for code in range(base, base + n_r):
                mc[code] = mu[code]  # the up catch up; the down miss the writes from now on
        elif ld < 0:
            if k >= q and s_up >= 1:
                if not electing[p]:
                    electing[p] = True
                    push(t + draw(dur.failover_s), _ELECT, p, tok[p])
            elif electing[p]:
                electing[p] = False
                tok[p] += 1
        if s_up == 0:
            if rd_since[p] < 0:
                rd_since[p] = t
        elif rd_since[p] >= 0:
            rd_p.append(p)
            rd_a.append(rd_since[p])
            rd_b.append(t)
            rd_since[p] = -1.0
        expose(p, t)

    def check_loss(p: int, t: float) -> None:
        base = p * n_r
        codes = range(base, base + n_r)
        if not any(mk[c] != DEAD and mc[c] for c in codes):
            out.write_losses.append((t, p))
            for c in codes:  # what survives is now the partition's data
                if mk[c] != DEAD:
                    mc[c] = True
        if not any(mk[c] == STORAGE for c in codes):
            if not archive:
                out.partition_losses.append((t, p))
            push(t + dur.rebuild_s, _RESTORE, p)
        expose(p, t)

    def pick_host(p: int, az: int) -> int:
        """``Placement.replacement``: the least-loaded ready host (ties by id)
        of the AZ that holds no replica of ``p``; -1 if none."""
        base = p * n_r
        holding = {mh[c] for c in range(base, base + n_r)}
        for _, _, h in pools[az if same_az else 0]:
            if h not in holding:
                return h
        return -1

    def replace(p: int, code: int, h: int, kind: int) -> None:
        old = mh[code]
        held[old].discard(code)
        set_load(old, load[old] - 1)
        mh[code] = h
        held[h].add(code)
        set_load(h, load[h] + 1)
        mk[code] = kind
        mu[code] = True
        mc[code] = True
        mt[code] += 1

    ostart = outages.start_s.tolist()
    oend = outages.end_s.tolist()
    ohost = outages.host.tolist()
    olost = outages.data_lost.tolist()
    n_out = len(ostart)
    i = 0
    events = 0
    while True:
        if i < n_out and (not heap or ostart[i] < heap[0][0]):
            t, h, lost = ostart[i], ohost[i], olost[i]
            push(oend[i], _UP, h)
            i += 1
            kind = _DOWN
        elif heap:
            t, kind, _, a, b = heapq.heappop(heap)
        else:
            break
        if t >= horizon_s:
            break
        events += 1
        if kind == _DOWN:
            down_count[h] += 1
            epoch[h] += 1
            set_ready(h, False)
            for code in sorted(held[h]):
                p = code // n_r
                if mk[code] == DEAD:
                    continue
                if lost:
                    mk[code] = DEAD
                    mc[code] = False
                if mu[code]:
                    mu[code] = False
                    down_at[code] = t
                    if leader[p] == code - p * n_r:
                        leader[p] = -1
                    was = serving[p]
                    recompute(p, t)
                    if was and serving[p]:
                        arm_heal(p, code - p * n_r, t)
                if lost:
                    check_loss(p, t)
        elif kind == _UP:
            h = a
            down_count[h] -= 1
            if down_count[h] == 0:
                push(t + dur.boot_s, _READY, h, epoch[h])
        elif kind == _READY:
            h = a
            if b != epoch[h] or down_count[h]:
                continue
            set_ready(h, True)
            waiting = parked[pool_of[h]]
            if waiting:
                parked[pool_of[h]] = []
                retry = dur.retry_s
                for code, stamp, t0 in waiting:
                    push(t0 + retry * max(1, math.ceil((t - t0) / retry - 1e-9)), _HEAL, code,
                         stamp)
            for code in sorted(held[h]):
                if mk[code] != DEAD and not mu[code]:
                    p = code // n_r
                    mu[code] = True
                    was = serving[p]
                    recompute(p, t)
                    if was and mk[code] == LOG:
                        arm_rebuild(p, code - p * n_r, t)
        elif kind == _ELECT:
            p = a
            if b != tok[p]:
                continue
            electing[p] = False
            base = p * n_r
            for s in range(n_r):
                if mu[base + s] and mk[base + s] == STORAGE:
                    leader[p] = s
                    break
            recompute(p, t)
        elif kind == _HEAL:
            code = a
            p = code // n_r
            if not valid(p, code, b) or mu[code]:
                continue
            az = host_az[mh[code]]
            h = pick_host(p, az)
            if h < 0:
                # The leader looks again every retry_s; nothing it could find
                # changes before a host of the pool is ready again, so the heal
                # waits for that and fires at the first retry after it.
                out.heal_retries += 1
                parked[az if same_az else 0].append((code, b, t))
                continue
            out.heals += 1
            kind_new = LOG if log_replicas else STORAGE
            replace(p, code, h, kind_new)
            recompute(p, t)
            if kind_new == LOG and serving[p]:
                arm_rebuild(p, code - p * n_r, t)
        elif kind == _REBUILD:
            code = a
            p = code // n_r
            if not valid(p, code, b) or not mu[code] or mk[code] != LOG:
                continue
            out.rebuilds += 1
            mk[code] = STORAGE
            recompute(p, t)
        elif kind == _RESTORE:
            p = a
            base = p * n_r
            if any(mk[c] == STORAGE for c in range(base, base + n_r)):
                continue
            # the B-tree back (from the archive and a WAL copy, or empty) on a
            # surviving log replica, else on a ready host of a dead member's AZ
            target = next((c for c in range(base, base + n_r) if mk[c] == LOG), -1)
            if target >= 0:
                mk[target] = STORAGE
            else:
                c = base
                h = pick_host(p, host_az[mh[c]])
                if h < 0:
                    push(t + dur.retry_s, _RESTORE, p)
                    continue
                replace(p, c, h, STORAGE)
            recompute(p, t)
    out.events = events
    # close what is still open at the horizon
    for p in range(n_p):
        if wd_since[p] >= 0:
            wd_p.append(p)
            wd_a.append(wd_since[p])
            wd_b.append(horizon_s)
        if rd_since[p] >= 0:
            rd_p.append(p)
            rd_a.append(rd_since[p])
            rd_b.append(horizon_s)
        out.write_exposure_s += _toggle(w_exp_since, p, False, horizon_s)
        out.storage_exposure_s += _toggle(s_exp_since, p, False, horizon_s)
    out.write_down = (np.array(wd_p, dtype=np.int64), np.array(wd_a), np.array(wd_b))
    out.read_down = (np.array(rd_p, dtype=np.int64), np.array(rd_a), np.array(rd_b))
    return out
