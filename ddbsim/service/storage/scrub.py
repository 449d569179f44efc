"""The scrub: continuous verification of the data at rest.

Paper §5: "continuously verifying data at rest" -- every replica of a group
should hold the same items at the same log position, and a live replica
should match a reference replica rebuilt from the archived WAL.  One
:class:`Scrubber` per storage node, ticking every
``durability.scrub_interval_s`` (per host, never a timer per partition),
scrubs the partitions the node leads -- every one of them, unless that is
more than ``durability.scrub_partitions_per_s`` allows in an interval: the
scrub is background work with a bounded rate, so a host that leads many
partitions scrubs them in turn (round robin, from where the last tick
stopped) and each less often, and the scrub's cost per host stays flat
however many partitions the region holds.  Scrubbing one partition:

1. the leader fixes the log position ``lsn`` (its commit point), splits the
   key space into ``durability.scrub_ranges`` ranges and computes one digest
   per range (:mod:`ddbsim.service.storage.digest`);
2. it asks every storage replica of the group for its digests at ``lsn``
   (:class:`~ddbsim.service.messages.ScrubRequest`; a follower applies
   exactly up to ``lsn`` first, and skips this round if it is already past
   it), and the object store for the reference replica's digests at ``lsn``;
3. each replica reads its items to answer: the reply leaves after
   ``items * durability.scrub_per_item_s`` of disk time;
4. once every answer is in (or after half a scrub interval), each range is
   judged: against the reference when the store could rebuild it, else
   against the majority of the replicas.  A replica that differs is reported
   (which replica, which key range, when found) and **repaired** by
   rebuilding its items from a good replica
   (:class:`~ddbsim.service.messages.ScrubRepair`; when the leader itself is
   the bad one, a good follower is asked to send it,
   :class:`~ddbsim.service.messages.ScrubFetch`).

Every replica also verifies the checksums of the WAL records it still holds
when it answers (a log replica too: it has no items, only a WAL).  A
rotten record is reported; one the archive holds is re-checked against the
archive by the archiver (which repairs it from the archive's copy), and one
that is archived and below the B-tree checkpoint is simply trimmed.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from ddbsim.config import DurabilityConfig
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE
from ddbsim.service.messages import (
    Message,
    ReferenceReply,
    ReferenceRequest,
    ScrubFetch,
    ScrubRepair,
    ScrubReply,
    ScrubRequest,
)
from ddbsim.service.storage.digest import pick_bounds, range_digests, range_name
from ddbsim.service.storage.paxos import Member


class ScrubHost(Protocol):
    """What a scrubber needs from its storage node."""

    host_id: str
    members: dict[str, Member]
    members_version: int  # changes whenever ``members`` gains or loses a replica

    @property
    def now(self) -> float: ...

    def send(self, host_id: str, msg: Message, after_s: float = 0.0) -> None: ...

    def send_to_store(self, msg: Message) -> None: ...

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None: ...


class _Scrub:
    __slots__ = ("pid", "ballot", "lsn", "bounds", "expected", "digests", "reference",
                 "reference_in", "done")

    def __init__(self, pid: str, ballot: Any, lsn: int, bounds: list[str], expected: set[str]) -> None:
        self.pid = pid
        self.ballot = ballot
        self.lsn = lsn
        self.bounds = bounds
        self.expected = expected
        self.digests: dict[str, list[int] | None] = {}
        self.reference: list[int] | None = None
        self.reference_in = False
        self.done = False


class Scrubber:
    def __init__(self, node: ScrubHost, cfg: DurabilityConfig, hooks: ServiceHooks,
                 with_reference: bool = True) -> None:
        self.node = node
        self.cfg = cfg
        self.hooks = hooks
        self.with_reference = with_reference
        self._ids = 0
        self.scrubs: dict[int, _Scrub] = {}
        self.under_way: set[str] = set()  # the partitions a scrub of is in progress
        self.cursor = ""  # the last partition a tick scrubbed (the round robin resumes after it)
        self._order: list[str] = []  # the node's partitions, sorted (rebuilt when they change)
        self._order_version = -1
        self.mismatches = 0
        self.repairs = 0

    def reset(self) -> None:
        """The node lost power: scrubs in progress are forgotten."""
        self.scrubs = {}
        self.under_way = set()

    # ------------------------------------------------------------------
    # the leader's side
    # ------------------------------------------------------------------
    def tick(self) -> None:
        node = self.node
        members = node.members
        if self._order_version != node.members_version:
            self._order = sorted(members)
            self._order_version = node.members_version
        order = self._order
        n = len(order)
        budget = max(1, int(self.cfg.scrub_partitions_per_s * self.cfg.scrub_interval_s))
        # The partitions we lead, in turn from after the cursor; a walk that
        # stops once it has found one more than the budget, so that a host
        # holding many replicas looks at a few dozen of them, not all.
        start = bisect_right(order, self.cursor)
        led: list[str] = []
        for k in range(n):
            pid = order[(start + k) % n]
            if members[pid].is_leader:
                led.append(pid)
                if len(led) > budget:
                    break
        if len(led) > budget:  # more than the rate allows: the next ones in turn
            led = led[:budget]
            self.cursor = led[-1]
        else:
            led.sort()  # every one of them, from the first
        for pid in led:
            self.scrub_now(members[pid])

    def scrub_now(self, member: Member) -> None:
        """Scrub ``member``'s partition now, unless a scrub of it is under way."""
        st = member.state
        if st.btree is not None and st.applied_lsn == st.commit_lsn and \
                member.pid not in self.under_way:
            self.start(member)

    def start(self, member: Member) -> None:
        node = self.node
        st = member.state
        assert st.btree is not None
        self._ids += 1
        scrub_id = self._ids
        lsn = st.applied_lsn
        bounds = pick_bounds(st.btree, self.cfg.scrub_ranges)
        others = [h for h, kind in st.config if h != node.host_id and kind == STORAGE]
        scrub = _Scrub(member.pid, member.ballot, lsn, bounds, {node.host_id, *others})
        self.scrubs[scrub_id] = scrub
        self.under_way.add(member.pid)
        self.check_wal(member)
        mine = range_digests(st.btree, bounds)
        cost_s = len(st.btree) * self.cfg.scrub_per_item_s
        node.later(cost_s, self._own_digests, scrub_id, mine)
        for host in others:
            node.send(host, ScrubRequest(member.pid, member.ballot, scrub_id, lsn, bounds))
        if self.with_reference:
            records = st.entries_from(st.archived_lsn + 1, lsn)
            node.send_to_store(ReferenceRequest(member.pid, scrub_id, lsn,
                                                [(i, r) for i, _b, r in records], bounds))
        else:
            scrub.reference_in = True
        node.later(self.cfg.scrub_interval_s / 2, self._finish, scrub_id)

    def _own_digests(self, scrub_id: int, digests: list[int]) -> None:
        scrub = self.scrubs.get(scrub_id)
        if scrub is not None:
            scrub.digests[self.node.host_id] = digests
            self._maybe_finish(scrub_id)

    def on_reply(self, src: str, msg: ScrubReply) -> None:
        scrub = self.scrubs.get(msg.scrub_id)
        if scrub is not None and src in scrub.expected:
            scrub.digests[src] = msg.digests
            self._maybe_finish(msg.scrub_id)

    def on_reference(self, msg: ReferenceReply) -> None:
        scrub = self.scrubs.get(msg.scrub_id)
        if scrub is not None:
            scrub.reference = msg.digests
            scrub.reference_in = True
            self._maybe_finish(msg.scrub_id)

    def _maybe_finish(self, scrub_id: int) -> None:
        scrub = self.scrubs[scrub_id]
        if scrub.reference_in and set(scrub.digests) >= scrub.expected:
            self._finish(scrub_id)

    def _finish(self, scrub_id: int) -> None:
        scrub = self.scrubs.pop(scrub_id, None)
        if scrub is None:
            return
        self.under_way.discard(scrub.pid)
        node = self.node
        member = node.members.get(scrub.pid)
        if member is None or not member.is_leader or member.ballot != scrub.ballot:
            return
        answered = {h: d for h, d in scrub.digests.items() if d is not None}
        self.hooks.scrubbed(node.now, scrub.pid, scrub.lsn, len(answered),
                            scrub.reference is not None)
        bad: dict[str, list[int]] = {}
        for r in range(len(scrub.bounds) + 1):
            values = {h: d[r] for h, d in answered.items()}
            if scrub.reference is not None:
                good = scrub.reference[r]
            else:
                counts = Counter(values.values()).most_common()
                if len(counts) < 2 or counts[0][1] == counts[1][1]:
                    continue  # all agree, or no majority to judge by
                good = counts[0][0]
            for h in sorted(values):
                if values[h] != good:
                    bad.setdefault(h, []).append(r)
        if not bad:
            return
        good_hosts = sorted(h for h in answered if h not in bad)
        for host in sorted(bad):
            for r in bad[host]:
                self.mismatches += 1
                self.hooks.corruption_found(node.now, scrub.pid, host, "item",
                                            range_name(scrub.bounds, r), "scrub")
            self._repair(member, host, good_hosts)

    def _repair(self, member: Member, bad: str, good_hosts: list[str]) -> None:
        node = self.node
        st = member.state
        if bad != node.host_id:
            if node.host_id in good_hosts:
                assert st.btree is not None
                node.send(bad, ScrubRepair(member.pid, member.ballot, st.applied_lsn,
                                           st.snapshot()))
            return
        if good_hosts:  # we are the bad one: a good follower sends us its items
            node.send(good_hosts[0], ScrubFetch(member.pid, member.ballot))

    # ------------------------------------------------------------------
    # every replica's side
    # ------------------------------------------------------------------
    def check_wal(self, member: Member) -> None:
        """Verify the WAL records this replica holds; report the rotten ones
        and set their repair going."""
        st = member.state
        node = self.node
        for lsn in st.bad_wal_records():
            where = str(lsn)
            self.hooks.corruption_found(node.now, st.pid, node.host_id, "wal", where, "scrub")
            if lsn <= st.archived_lsn:
                # Not needed here (archived): trim it if the B-tree checkpoint
                # is past it, else have the archiver compare it again.
                if st.btree is None or lsn <= st.checkpoint_lsn:
                    st.trim(0, upto=lsn)
                    self.hooks.corruption_repaired(node.now, st.pid, node.host_id, "wal", where)
                else:
                    st.recheck_archived_from(lsn)

    def on_request(self, src: str, msg: ScrubRequest) -> None:
        node = self.node
        member = node.members.get(msg.pid)
        if member is None or msg.ballot != member.state.promised:
            return
        self.check_wal(member)
        if member.state.btree is None:
            return
        st = member.state
        if st.applied_lsn < msg.lsn:
            member.apply_upto(msg.lsn)
        digests = None
        cost_s = 0.0
        if st.applied_lsn == msg.lsn and st.btree is not None:
            digests = range_digests(st.btree, msg.bounds)
            cost_s = len(st.btree) * self.cfg.scrub_per_item_s
        node.send(src, ScrubReply(msg.pid, msg.ballot, msg.scrub_id, msg.lsn, digests), cost_s)

    def on_fetch(self, src: str, msg: ScrubFetch) -> None:
        member = self.node.members.get(msg.pid)
        if member is None or member.state.btree is None or msg.ballot != member.state.promised:
            return
        st = member.state
        self.node.send(src, ScrubRepair(msg.pid, msg.ballot, st.applied_lsn, st.snapshot()))

    def on_repair(self, src: str, msg: ScrubRepair) -> None:
        node = self.node
        member = node.members.get(msg.pid)
        if member is None or member.state.btree is None or msg.ballot != member.state.promised:
            return
        if member.state.repair_from(msg.lsn, msg.btree):
            self.repairs += 1
            self.hooks.corruption_repaired(node.now, msg.pid, node.host_id, "item", "")
