"""Multi-Paxos for one partition, as seen by one of its replicas.

Paper §3 and §5: each partition is a replication group; its replicas use
Multi-Paxos to agree on a write-ahead log.  This module is one replica's
side of that protocol (:class:`Member`); the storage node it lives on
(:mod:`ddbsim.service.storage.node`, through the
:class:`~ddbsim.service.storage.replica_host.ReplicaHost` protocol) carries its messages, its disk writes
and the heartbeats of every group on the host.

**Roles.**  A *follower* accepts; a *candidate* runs phase 1; a *leader*
runs phase 2 for every write and, once it holds a lease, serves strongly
consistent reads.  Only storage replicas stand for election; log replicas
only accept (paper §5.1).

**Ballots** are ``(round, host_id)`` tuples, so two hosts never share one
and the leader of a ballot is named by it.

**Phase 1 (election).**  A follower that has stopped hearing its leader's
host first asks the other replicas whether *they* still see the leader
(the gray-failure guard, paper §5); if any does, it stands down, and asks
again after a back-off until it hears a leader (the one they see may be a
ghost, up but leading nothing, whose word has not reached us).  Otherwise
it waits until its own view of the old lease has run out, then sends
``prepare(ballot, from_lsn)``.  An acceptor promises unless it has promised
a higher ballot, or has trimmed its log at or above ``from_lsn`` (archived
records it can no longer hand over: the candidate is behind), or still
grants a lease to another leader's host (it heard that host less than
``lease_s`` ago), or booted less than ``lease_s`` ago (it has forgotten
whom it granted a lease).  A promise carries the
acceptor's log from ``from_lsn`` and its commit point.

A promise that carries a membership change the candidate lacks makes the
candidate win in that membership too (it sends its prepare to the new
members): the change may have been chosen, and later records chosen by the
new membership alone, whose quorum a stale candidate's need not meet.  A
candidate refused as behind, or by a member of a newer membership that
leaves it out, cannot win while that member stands in the way: it stands
aside for a lease and an election (or until it learns of more commits)
rather than raise every shared acceptor's promise and so preempt, again and
again, a candidate that can.

**Recovery.**  With a quorum of promises the new leader takes, for every
log position above its own commit point, the value that a promiser already
knows committed, else the value accepted under the highest ballot, else a
no-op; it re-proposes all of them under its own ballot and then a no-op.
It serves only when all of those have committed.

**Phase 2 (replication).**  The leader writes each record to its own WAL and
sends ``accept`` to the other replicas; a replica answers ``accepted`` once
the record (and its promise) are durable.  A record is chosen when a write
quorum of the group's members has persisted it -- for a membership change,
a quorum of both the old and the new membership.  The leader commits in log
order, applies to its B-tree, and answers the client.  Commit points reach
followers on the next ``accept``, and in every heartbeat until the follower
acknowledges one that carried them; a follower applies what it learnt at
its next heartbeat tick, or at once before serving a read (a batch costs
less than a record at a time); one that finds a gap asks the leader to
catch it up.

**Durability costs no event.**  A write's entry is stamped with the time
the host's disk will have it (:mod:`ddbsim.service.storage.replica`): the
leader counts its own vote once that time has passed, and a follower's
``accepted`` leaves when its write lands (lost if the power goes first).
Only when a decision waits on nothing but our own disk is a recheck
scheduled for the moment it lands.

**Leases.**  A heartbeat from host L that host F acknowledges renews, for
every partition led on L, F's promise not to support another leader for
``lease_s`` from the moment F received it.  The leader therefore holds a
lease until ``lease_s`` after the *send* time of the newest heartbeat that
``quorum - 1`` of its supporters acknowledged -- computed from those
timestamps when a strong read needs it, never by a timer.  A *supporter* is
a follower that accepted something under the leader's ballot (so it
promised that ballot).  A strong read that finds no lease while a follower
that answers the leader's heartbeats is not a supporter -- it came back
while no write came, so it accepted nothing since -- has the leader
propose a no-op, whose accepts make it one.  A supporter that
later promises a higher ballot says so in its heartbeat acknowledgements
(a *revocation*), and the old leader steps down.  So does a replica that
finds, in a heartbeat's commit points, a leader whose ballot is below the
one it promised (it stood for election while cut off, and lost): it would
refuse that leader's records, and never catch up, if the leader did not
stand again above its ballot.

Membership changes are ordinary log records.  A change swaps one member for
another, and a majority of ``{A, B, C}`` need not meet a majority of
``{A, R, C}``; so until the change commits, every decision -- choosing a
record, winning an election, holding a lease -- needs a quorum of *each*
membership from the latest committed one to the latest one in the log
(joint consensus, Raft §6).  Replicas of either membership answer prepares.
The chaos tests found the simpler rule ("the latest membership in the log,
committed or not") unsafe: a rebooted old leader with an uncommitted change
in its log won an election with the new log replica alone and overwrote
records that the old membership had chosen meanwhile.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ddbsim.service.bugs import Bugs
from ddbsim.service.fault_points import INERT, FaultPoints
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import LOG, STORAGE, Ballot, Members
from ddbsim.service.messages import (
    COND_PUT,
    GET_EVENTUAL,
    GET_STRONG,
    Accept,
    Accepted,
    AcceptRefused,
    CatchupEntries,
    CatchupRequest,
    CatchupSnapshot,
    GroupMessage,
    LeaderCheck,
    LeaderCheckReply,
    Message,
    Prepare,
    PrepareRefused,
    Promise,
    StorageOp,
)
from ddbsim.service.messages import DELETE as DELETE_REQUEST
from ddbsim.service.probes import HITS as PROBE_HITS
from ddbsim.service.storage.log import CONFIG, NOOP, NOOP_RECORD, LogRecord
from ddbsim.service.storage.log import DELETE as DELETE_RECORD
from ddbsim.service.storage.log import PUT as PUT_RECORD
from ddbsim.service.storage.replica import NEVER, NO_BALLOT, CorruptItem, ReplicaState
from ddbsim.world.streams import Draws

if TYPE_CHECKING:
    from sortedcontainers import SortedDict


# ----------------------------------------------------------------------
# what a replica needs from its host
# ----------------------------------------------------------------------
class ReplicaHost(Protocol):
    #: this host's id (ballots and memberships name hosts by id)
    host_id: str
    #: False while the host boots: it takes part in nothing
    ready: bool
    #: when the host last finished booting (-inf if never rebooted)
    boot_t: float

    @property
    def now(self) -> float:
        """Simulated time."""

    # -- the world -------------------------------------------------------
    def send(self, host_id: str, msg: Message, after_s: float = 0.0) -> None:
        """Send ``msg`` to the storage node on ``host_id``, leaving
        ``after_s`` from now (it is lost if this host power-cycles first,
        or on the way)."""

    def disk_delay_s(self) -> float:
        """How long a disk write issued now takes to become durable."""

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` after ``delay_s``, unless the host power-cycles first."""

    def reply(self, src: str, op: StorageOp, status: str, value: Any = None, version: int = 0,
              applied: bool = True, leader_hint: str | None = None, after_s: float = 0.0) -> None:
        """Answer the router on ``src`` about ``op``, ``after_s`` from now."""

    # -- the failure detector (heartbeats) -------------------------------
    def heard_at(self, host_id: str) -> float:
        """When a heartbeat from ``host_id`` last arrived (-inf if never)."""

    @property
    def acks_seen(self) -> object:
        """A value that changes whenever an ``acked_at`` time does (the node
        counts the acknowledgements it took in): leases are remembered until then."""

    def acked_at(self, host_id: str) -> float:
        """The send time of the newest heartbeat ``host_id`` acknowledged."""

    def sees(self, host_id: str) -> bool:
        """Whether a heartbeat from ``host_id`` arrived within the leader timeout."""

    # -- node-wide bookkeeping that heartbeats carry -----------------------
    def revoke(self, host_id: str, pid: str, ballot: Ballot) -> None:
        """Tell ``host_id`` we promised ``ballot`` on ``pid``: its lease there is void."""

    def withdraw(self, pid: str, ballot: Ballot) -> None:
        """We gave up ``ballot`` on ``pid``: tell its followers."""

    def unwithdraw(self, pid: str) -> None:
        """We stand again on ``pid``: stop saying we gave up."""

    def retransmit_later(self, member: Member) -> None:
        """``member`` leads with unacknowledged proposals: call its
        ``retransmit()`` every heartbeat until it returns False."""

    def lagging(self, member: Member, behind: bool) -> None:
        """``member`` (a follower) knows of commits it lacks (or no longer):
        call its ``catch_up()`` every heartbeat while it does."""

    def commit_advanced(self, member: Member) -> None:
        """``member`` leads and committed more: tell the followers."""

    # -- membership and leadership ----------------------------------------
    def holds(self, member: Member) -> bool:
        """Whether ``member`` is still this host's replica of its partition."""

    def retire(self, pid: str) -> None:
        """Drop this host's replica of ``pid`` (it left the group)."""

    def membership_changed(self) -> None:
        """A replica here learnt a new membership (its peers may change)."""

    def config_committed(self, member: Member, lsn: int, members: Members) -> None:
        """``member`` committed the membership ``members``, at ``lsn``."""

    def leader_active(self, member: Member) -> None:
        """``member`` finished recovery and leads."""

    def item_corrupt(self, member: Member, key: str) -> None:
        """``member`` found the item ``key`` corrupt when reading it."""


FOLLOWER = "follower"
CANDIDATE = "candidate"
LEADER = "leader"


class Proposal:
    __slots__ = ("record", "origin", "configs", "acks", "chosen", "sent_s", "waiting")

    def __init__(self, record: LogRecord, origin: tuple[str, StorageOp] | None,
                 configs: tuple[Members, ...], sent_s: float) -> None:
        self.record = record
        self.origin = origin  # (router host id, its operation) to answer, if any
        self.configs = configs
        self.acks: set[str] = set()  # the other members that hold it durably
        self.chosen = False
        self.sent_s = sent_s
        self.waiting = False  # a recheck is scheduled for when our own copy is durable


def quorum_of(members: Members, write_quorum: int, replicas: int) -> int:
    """The write quorum for a membership: the configured one for a full group."""
    return write_quorum if len(members) == replicas else len(members) // 2 + 1


class Member:
    """One replica's part in its partition's Multi-Paxos group.

    It is handed what it needs: its host (:class:`ReplicaHost`: messages,
    the disk, timers, the failure detector's timestamps), its durable state,
    the replication config, the host's ``paxos`` random stream (election
    back-offs), the hooks observation listens on, and the bug switches.  Its
    host may hand it the service's fault points (:attr:`points`; none by
    default).
    """

    points: FaultPoints = INERT

    def __init__(self, host: ReplicaHost, state: ReplicaState, cfg: Any, draws: Draws,
                 hooks: ServiceHooks, bugs: Bugs) -> None:
        self.host = host
        self.state = state
        self.pid = state.pid
        self.me = host.host_id
        self.cfg = cfg
        self.draws = draws
        self.hooks = hooks
        self.bugs = bugs
        self.max_seen_round = 0
        self.reset_volatile()

    # ------------------------------------------------------------------
    # dispatch
    # ------------------------------------------------------------------
    def receive(self, src: str, msg: GroupMessage) -> None:
        """Handle a message about this partition from host ``src``."""
        HANDLERS[type(msg)](self, src, msg)

    # ------------------------------------------------------------------
    # volatile state
    # ------------------------------------------------------------------
    def reset_volatile(self) -> None:
        self.role = FOLLOWER
        self.active = False
        self.ballot: Ballot = NO_BALLOT
        self.next_lsn = 0
        self.proposals: dict[int, Proposal] = {}
        self.promises: dict[str, tuple[list, int]] = {}
        # memberships found in promised records (a candidate must win in them too)
        self.learnt_configs: set[tuple[int, Members]] = set()
        self.prepared: set[str] = set()  # hosts this candidate sent its prepare to
        self.from_lsn = 0
        self.recovery_lsn = 0
        self.supporters: set[str] = set()
        self._lease_key: tuple[object, int, tuple[Members, ...]] | None = None  # see lease_until
        self._lease_until = -math.inf
        self.electing = False
        self.attempt = 0
        self.check_replies: dict[str, tuple[bool, str, bool]] = {}
        self.check_ballot: Ballot = NO_BALLOT
        self.known_commit = 0
        self.catchup_until_s = -math.inf
        self.reported_lease_until = -math.inf
        # refused by a member we cannot win over: (stand aside until, our commit point then)
        self.aside: tuple[float, int] | None = None
        self.withdrawn: Ballot = NO_BALLOT  # our promised leader said it gave this ballot up
        self.nacked: Ballot = NO_BALLOT  # a lower-ballot leader we told we promised higher
        self.check_targets = 0
        self.recheck_pending = False  # a follower's commit waits for its own disk

    def crash(self) -> None:
        """The host lost power: volatile state goes, durable state stays."""
        if self.role == LEADER:
            self.hooks.leader_lost(self.host.now, self.pid, self.ballot, self.me, "power_off")
        if self.bugs.forget_uncommitted_on_crash:
            st = self.state
            for lsn in range(st.commit_lsn + 1, st.last_lsn + 1):
                entry = st.log.get(lsn)
                while entry is not None:
                    entry.durable_at = math.inf
                    entry = entry.prev
        self.state.crash(self.host.now)
        self.reset_volatile()

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        return self.role == LEADER and self.active

    def leader_hint(self) -> str | None:
        if self.role == LEADER:
            return self.me if self.active else None
        host = self.state.promised[1]
        return host or None

    def _others(self, members: Members | None = None) -> list[str]:
        return self.state.other_hosts(members)

    def quorum(self, members: Members) -> int:
        """The write quorum of membership ``members``."""
        return quorum_of(members, self.cfg.write_quorum, self.cfg.replicas)

    def _votes(self, members: Members, voters: set[str] | dict[str, Any]) -> int:
        """How many of ``members`` are among ``voters``: one vote each."""
        if self.bugs.log_replica_counts_twice:
            return sum(2 if kind == LOG else 1 for h, kind in members if h in voters)
        return sum(1 for h, _ in members if h in voters)

    def _promise(self, ballot: Ballot, durable_at: float | None = None) -> None:
        """Promise ``ballot`` (higher than any before): step down if we led,
        and revoke the lease we granted to the previous leader's host.  The
        promise is written to disk now (durable after a disk write) unless
        ``durable_at`` says when it is."""
        st = self.state
        old = st.promised
        if ballot <= old:
            return
        if self.role != FOLLOWER and ballot != self.ballot:
            self.step_down("preempted")
        if durable_at is None:
            durable_at = self.host.now + self.host.disk_delay_s()
        st.promise(ballot, durable_at)
        if old[1] and old[1] != ballot[1] and old[1] != self.me:
            self.host.revoke(old[1], self.pid, ballot)
        self.max_seen_round = max(self.max_seen_round, ballot[0])

    def step_down(self, reason: str) -> None:
        host = self.host
        if reason == "preempted":
            PROBE_HITS["leader_preempted"] += 1
        if self.role == LEADER:
            self.hooks.leader_lost(host.now, self.pid, self.ballot, self.me, reason)
        if self.role != FOLLOWER and self.ballot != NO_BALLOT:
            host.withdraw(self.pid, self.ballot)
            if reason not in ("retired", "split"):
                # Nobody may be left to stand (we led; a revocation does not
                # say who else will): try again after a back-off unless a
                # leader shows up.
                host.later(self.draws.exponential(self.cfg.election_backoff_s), self._retry,
                           self.attempt)
        self.role = FOLLOWER
        self.active = False
        self.electing = False  # a candidate's attempt ends here too
        self.proposals = {}
        self.promises = {}
        self.supporters = set()
        self._lease_key = None  # the supporters changed

    # ------------------------------------------------------------------
    # client operations
    # ------------------------------------------------------------------
    def handle_op(self, src: str, op: StorageOp, after_s: float = 0.0) -> None:
        """Serve ``op`` from the router on ``src``: decided now, with what
        it sends leaving ``after_s`` later (the node's service time)."""
        req = op.request
        host = self.host
        st = self.state
        if self.known_commit > st.commit_lsn and self.role != LEADER:
            self._try_commit()  # apply what we know is committed before reading
        if req.kind == GET_EVENTUAL:
            if st.kind != STORAGE or not st.is_member():
                host.reply(src, op, "not_leader", leader_hint=self.leader_hint(), after_s=after_s)
                return
            self._serve_read(src, op, after_s)
            return
        if not (self.role == LEADER and self.active):  # not self.is_leader, without the property
            if req.kind == GET_STRONG and self.bugs.follower_strong_read and (
                    st.kind == STORAGE and st.is_member()):
                self._serve_read(src, op, after_s)
                return
            host.reply(src, op, "not_leader", leader_hint=self.leader_hint(), after_s=after_s)
            return
        if req.kind == GET_STRONG:
            until = self.lease_until()
            now = host.now
            if until <= now and not self.bugs.read_without_lease:
                if self.next_lsn - 1 <= st.commit_lsn and self._could_gain_support():
                    # No lease from the supporters we have (down, cut off),
                    # while a follower that answers our heartbeats has
                    # accepted nothing of our ballot (it came back while no
                    # write came), so is not one.  A no-op's round of
                    # accepts makes it one.
                    self.propose(NOOP_RECORD)
                host.reply(src, op, "unavailable", leader_hint=self.me, after_s=after_s)
                return
            if until > self.reported_lease_until:
                self.hooks.lease_held(self.pid, self.ballot, now, until)
                self.reported_lease_until = until
            self._serve_read(src, op, after_s)
            return
        # Stamped with the time the leader proposes it: what a point-in-time
        # restore replays records by (ddbsim.service.object_store).  Made
        # without LogRecord.put / .delete: one call less per write.
        if req.kind == DELETE_REQUEST:
            record = LogRecord(DELETE_RECORD, req.key, t_s=host.now)
        else:
            expected = req.expected_version if req.kind == COND_PUT else None
            record = LogRecord(PUT_RECORD, req.key, req.value, expected, t_s=host.now)
        self.propose(record, origin=(src, op), after_s=after_s)

    def _serve_read(self, src: str, op: StorageOp, after_s: float) -> None:
        """Answer a read from our items; an item that fails its checksum is
        not served (the router tries again) and is reported to the host."""
        try:
            value, version = self.state.read(op.request.key)
        except CorruptItem:
            self.host.reply(src, op, "unavailable", leader_hint=self.leader_hint(), after_s=after_s)
            self.host.item_corrupt(self, op.request.key)
            return
        self.host.reply(src, op, "ok", value, version, after_s=after_s)

    def lease_until(self) -> float:
        """Until when this leader's lease is valid, from heartbeat timestamps
        (remembered until an acknowledgement, a supporter or the membership
        changes: a strong read asks every time)."""
        if not self.is_leader:
            return -math.inf
        configs = self.state.active_configs()
        key = (self.host.acks_seen, len(self.supporters), configs)
        if key == self._lease_key:
            return self._lease_until
        until, lasting = self._compute_lease_until(configs)
        if lasting:
            self._lease_key = key
            self._lease_until = until
        return until

    def _could_gain_support(self) -> bool:
        """Whether a follower that answers our heartbeats is not (yet) a
        supporter -- one that accepted nothing of our ballot -- while the
        lease has run out: a round of accepts would make it one."""
        now = self.host.now
        acked_at = self.host.acked_at
        lease_s = self.cfg.lease_s
        return any(h not in self.supporters and acked_at(h) + lease_s > now
                   for h in self._others())

    def _compute_lease_until(self, configs: tuple[Members, ...]) -> tuple[float, bool]:
        """The lease's end, and whether it holds until the next acknowledgement
        (not so when a membership needs no one else: that lease runs from now)."""
        until = math.inf
        lasting = True
        acked_at = self.host.acked_at
        for members in configs:
            need = self.quorum(members) - (1 if any(h == self.me for h, _ in members) else 0)
            if need <= 0:
                until = min(until, self.host.now + self.cfg.lease_s)
                lasting = False
                continue
            times = sorted((acked_at(h) for h in self._others(members)
                            if h in self.supporters), reverse=True)
            if len(times) < need:
                return -math.inf, lasting
            until = min(until, times[need - 1] + self.cfg.lease_s)
        return until, lasting

    # ------------------------------------------------------------------
    # phase 2: leader side
    # ------------------------------------------------------------------
    def propose(self, record: LogRecord, origin: tuple[str, StorageOp] | None = None,
                lsn: int | None = None, after_s: float = 0.0) -> int:
        """Write ``record`` to our WAL and send it to the other members,
        ``after_s`` from now; returns its log position."""
        st = self.state
        host = self.host
        if lsn is None:
            lsn = self.next_lsn
            self.next_lsn += 1
        now = host.now
        disk_s = after_s + host.disk_delay_s()
        st.write(lsn, self.ballot, record, now + disk_s)
        if record.op == CONFIG:
            host.membership_changed()
        if self.bugs.apply_before_commit and self.active:
            st.apply_early(lsn)
        configs = st.active_configs()
        proposal = Proposal(record, origin, configs, now + after_s)
        self.proposals[lsn] = proposal
        host.retransmit_later(self)
        if self.bugs.ack_before_quorum and origin is not None and (
                record.op == DELETE_RECORD or (record.op == PUT_RECORD
                                               and record.expected_version is None)):
            host.later(disk_s, self._acked_by_own_disk, lsn, self.ballot)
        targets = st.other_hosts(configs[0]) if len(configs) == 1 else self._others()
        accept = Accept(self.pid, self.ballot, [(lsn, record)], st.commit_lsn)
        for target in targets:  # one message object for all: nobody changes a message
            host.send(target, accept, after_s)
        return lsn

    def retransmit(self) -> bool:
        """Re-send ``accept`` for proposals some replica has not acknowledged
        within an election timeout (messages to a dead or cut-off replica are
        lost).  Returns False once nothing is outstanding."""
        if self.role != LEADER or not self.proposals:
            return False
        now = self.host.now
        stale = now - self.cfg.election_timeout_s
        missing: dict[str, list[tuple[int, LogRecord]]] = {}
        for lsn in sorted(self.proposals):
            p = self.proposals[lsn]
            if p.sent_s > stale:
                continue
            for members in p.configs:
                for host, _kind in members:
                    if host != self.me and host not in p.acks:
                        batch = missing.setdefault(host, [])
                        if len(batch) < self.cfg.catchup_batch and (not batch or batch[-1][0] != lsn):
                            batch.append((lsn, p.record))
        for host in sorted(missing):
            self.host.send(host, Accept(self.pid, self.ballot, missing[host], self.state.commit_lsn))
        return True

    def _acked_by_own_disk(self, lsn: int, ballot: Ballot) -> None:
        """The bug ``ack_before_quorum``: answer the client once our own WAL
        record is durable, without waiting for a quorum."""
        proposal = self.proposals.get(lsn)
        if self.role == LEADER and ballot == self.ballot and proposal is not None \
                and proposal.origin is not None:
            src, op = proposal.origin
            self.host.reply(src, op, "ok")
            proposal.origin = None

    def _own_durable(self, lsn: int, ballot: Ballot) -> None:
        """Our own copy of the proposal at ``lsn`` is durable now: it may
        complete a quorum, or unblock the commit point."""
        if self.role != LEADER or ballot != self.ballot:
            return
        proposal = self.proposals.get(lsn)
        if proposal is None:
            return
        proposal.waiting = False
        if proposal.chosen:
            self._advance_commit()
        else:
            self._check(lsn, proposal)

    def _wait_for_own_copy(self, lsn: int, proposal: Proposal) -> None:
        if not proposal.waiting:
            entry = self.state.log.get(lsn)
            if entry is not None and entry.ballot == self.ballot:
                PROBE_HITS["commit_waited_for_own_disk"] += 1
                proposal.waiting = True
                self.host.later(entry.durable_at - self.host.now, self._own_durable, lsn,
                                self.ballot)

    def on_accepted(self, src: str, msg: Accepted) -> None:
        if self.role != LEADER or (msg.ballot != self.ballot and not self.bugs.acks_any_ballot):
            if self.role == LEADER:
                PROBE_HITS["ack_older_ballot_ignored"] += 1
            return
        self.supporters.add(src)
        for lsn in msg.lsns:
            proposal = self.proposals.get(lsn)
            if proposal is not None:
                proposal.acks.add(src)
                self._check(lsn, proposal)

    def on_accept_refused(self, src: str, msg: AcceptRefused) -> None:
        if msg.promised > self.state.promised:
            self._promise(msg.promised)

    def _check(self, lsn: int, proposal: Proposal) -> None:
        """Chosen once a quorum of every active membership holds it durably
        -- the other members that acknowledged it, and us once our own copy
        is durable (no event for that: the entry knows when it is)."""
        if proposal.chosen:
            return
        entry = self.state.log.get(lsn)
        mine = entry is not None and entry.ballot == self.ballot and \
            entry.durable_at <= self.host.now
        configs = proposal.configs
        if len(configs) == 1 and not self.bugs.log_replica_counts_twice:
            # The common case: acks come only from the other members of the
            # one membership (the only hosts the accepts went to).
            members = configs[0]
            cfg = self.cfg
            # self.quorum(members), inlined: this runs for every ack
            quorum = (cfg.write_quorum if len(members) == cfg.replicas
                      else len(members) // 2 + 1)
            if len(proposal.acks) + mine < quorum:
                if not mine:
                    self._wait_for_own_copy(lsn, proposal)
                return
            proposal.chosen = True
            self._advance_commit()
            return
        if len(configs) > 1:
            PROBE_HITS["joint_quorum"] += 1
        for members in configs:
            votes = self._votes(members, proposal.acks)
            if mine and any(h == self.me for h, _ in members):
                votes += 1
            if votes < self.quorum(members):
                if not mine:
                    self._wait_for_own_copy(lsn, proposal)
                return
        proposal.chosen = True
        self._advance_commit()

    def _advance_commit(self) -> None:
        st = self.state
        commit = st.commit_lsn
        proposals = self.proposals
        while True:
            p = proposals.get(commit + 1)
            if p is None or not p.chosen:
                break
            commit += 1
        if commit == st.commit_lsn:
            return
        applied = st.commit_to(commit, self.host.now)
        if st.commit_lsn < commit:
            # We commit only what we hold durably: our own copy of the next
            # chosen record is still on its way to disk.
            nxt = st.commit_lsn + 1
            blocked = proposals.get(nxt)
            if blocked is not None:
                self._wait_for_own_copy(nxt, blocked)
        host = self.host
        for lsn, record, (ok, version) in applied:
            proposal = proposals.pop(lsn, None)
            if proposal is not None and proposal.origin is not None:
                src, op = proposal.origin
                host.reply(src, op, "ok", version=version, applied=ok,
                           value=record.value if record.op == PUT_RECORD else None)
                if self.points.on:
                    self.points.passed("acknowledged", self.me)
            if record.op == CONFIG:
                assert record.members is not None  # a config record names its members
                host.config_committed(self, lsn, record.members)
        host.commit_advanced(self)
        if self.role == LEADER and not self.active and st.commit_lsn >= self.recovery_lsn:
            self._activate()

    # ------------------------------------------------------------------
    # phase 2: acceptor side
    # ------------------------------------------------------------------
    def on_accept(self, src: str, msg: Accept) -> None:
        """Write the entries (and our promise of their ballot) to disk, and
        acknowledge them once they are durable: the acknowledgement leaves
        when the disk write completes, and is lost if the power goes first."""
        st = self.state
        host = self.host
        ballot = msg.ballot
        if ballot < st.promised and not self.bugs.accept_any_ballot and not (
                self.bugs.partial_ballot_compare and ballot[0] == st.promised[0]):
            PROBE_HITS["accept_refused_older_ballot"] += 1
            host.send(src, AcceptRefused(self.pid, ballot, st.promised))
            return
        disk_s = host.disk_delay_s()
        reply_s = disk_s
        points = self.points
        if points.on:  # buggify: a slow write, a slow answer
            disk_s += points.delay_s("before_persist")
            reply_s = disk_s + points.delay_s("before_reply")
        durable_at = host.now + disk_s
        if ballot > st.promised:
            self._promise(ballot, durable_at)
        else:
            if self.role != FOLLOWER and ballot != self.ballot:
                self.step_down("preempted")
            st.promise_durable_at(ballot, durable_at)
        lsns = []
        for lsn, record in msg.entries:
            lsns.append(lsn)
            if lsn <= st.commit_lsn:
                PROBE_HITS["accept_already_committed"] += 1
                continue  # committed here already: final, and durable
            st.write(lsn, ballot, record, durable_at)
            if record.op == CONFIG:
                host.membership_changed()
        if self.bugs.follower_ack_before_durable:
            reply_s = 0.0
        host.send(src, Accepted(self.pid, ballot, lsns), reply_s)
        if points.on:
            points.passed("accepted", self.me)
        # Learn the commit point, and apply up to it at the next heartbeat
        # tick, or before serving a read, whichever comes first: applying a
        # batch costs less than a record at a time, and nobody can tell.
        if msg.commit_lsn > self.known_commit:
            self.known_commit = msg.commit_lsn
        if self.bugs.follower_commits_accepted and lsns and max(lsns) > self.known_commit:
            self.known_commit = max(lsns)
        if self.known_commit > st.commit_lsn:
            host.lagging(self, True)

    def on_withdrawn(self, ballot: Ballot) -> None:
        """The host we promised ``ballot`` to no longer stands for it (its
        heartbeat says so): its lease is void; after a random back-off, stand
        for election ourselves."""
        if ballot != self.state.promised or self.role != FOLLOWER or self.withdrawn == ballot:
            return
        self.withdrawn = ballot
        self.host.later(self.draws.exponential(self.cfg.election_backoff_s),
                        self._after_withdrawn, ballot)

    def _after_withdrawn(self, ballot: Ballot) -> None:
        if self.state.promised == ballot and self.role == FOLLOWER:
            self.start_election()

    def on_commit_notice(self, ballot: Ballot, commit: int) -> None:
        """A heartbeat said the leader of ``ballot`` has committed ``commit``."""
        if self.role == LEADER:
            return
        if ballot < self.state.promised:
            # We promised higher (say we stood for election while cut off and
            # lost): we refuse that leader's records, so we would never catch
            # up.  Tell it, as a rejected accept would; it steps down and the
            # group elects again above our ballot.
            if self.nacked != ballot:
                self.nacked = ballot
                self.host.revoke(ballot[1], self.pid, self.state.promised)
            return
        if ballot > self.state.promised:
            self._promise(ballot)
        self.learn_commit(commit, ballot)

    def learn_commit(self, commit: int, ballot: Ballot) -> None:
        if commit > self.known_commit:
            self.known_commit = commit
        self._try_commit()

    def apply_upto(self, lsn: int) -> None:
        """Commit and apply exactly up to ``lsn``, which the leader says is
        committed (a scrub compares the replicas there)."""
        if lsn > self.known_commit:
            self.known_commit = lsn
        self._try_commit(lsn)

    def _try_commit(self, upto: int | None = None) -> None:
        if self.role == LEADER:
            return
        st = self.state
        target = self.known_commit if upto is None else min(upto, self.known_commit)
        if st.commit_lsn >= target:
            return
        ballot = st.promised
        commit = st.commit_lsn
        log = st.log
        now = self.host.now
        durable_at = None  # set when the next record is here but not yet durable
        while commit < target:
            entry = log.get(commit + 1)
            if entry is None or entry.ballot != ballot:
                break
            if entry.durable_at > now:
                durable_at = entry.durable_at
                break
            commit += 1
        for lsn, record, _res in st.commit_to(commit, now):
            if record.op == CONFIG:
                assert record.members is not None  # a config record names its members
                self.host.config_committed(self, lsn, record.members)
        if st.commit_lsn >= self.known_commit:
            self.host.lagging(self, False)
        elif st.commit_lsn >= target:  # stopped short on purpose (apply_upto)
            self.host.lagging(self, True)
        elif durable_at is not None:
            if not self.recheck_pending:  # no need to ask: it is on its way to disk
                self.recheck_pending = True
                self.host.later(durable_at - now, self._recheck_commit)
        else:
            self.host.lagging(self, True)
            self._request_catchup()

    def _recheck_commit(self) -> None:
        self.recheck_pending = False
        self._try_commit()

    def catch_up(self) -> None:
        """Called on every heartbeat tick while this follower lags."""
        if self.role == LEADER or self.state.commit_lsn >= self.known_commit \
                or not self.host.holds(self):
            self.host.lagging(self, False)
            return
        self._try_commit()

    def _request_catchup(self) -> None:
        now = self.host.now
        leader = self.state.promised[1]
        if now < self.catchup_until_s or not leader or leader == self.me:
            return
        self.catchup_until_s = now + self.cfg.election_timeout_s
        self.host.send(leader, CatchupRequest(self.pid, self.state.promised,
                                              self.state.commit_lsn + 1,
                                              self.state.kind == STORAGE))

    def on_catchup_request(self, src: str, msg: CatchupRequest) -> None:
        # Committed records are final: a leader still recovering may send them.
        if self.role != LEADER:
            return
        st = self.state
        first = msg.from_lsn
        last = st.last_lsn if self.bugs.catchup_serves_uncommitted else st.commit_lsn
        upto = min(last, first + self.cfg.catchup_batch - 1)
        if upto < first:
            return
        entries = st.entries_from(first, upto)
        if len(entries) == upto - first + 1:
            self.host.send(src, CatchupEntries(self.pid, self.ballot, entries, upto))
        else:  # our log has a gap there (we were installed from a copy): send the B-tree
            PROBE_HITS["catchup_snapshot"] += 1
            self.host.send(src, CatchupSnapshot(
                self.pid, self.ballot, st.entries_from(st.applied_lsn + 1, st.commit_lsn),
                st.applied_lsn, st.snapshot() if msg.storage else None, st.config))

    def on_catchup_entries(self, src: str, msg: CatchupEntries) -> None:
        st = self.state
        if msg.ballot != st.promised or self.role == LEADER:
            return
        self._take_catchup(msg.entries, msg.lsn)

    def on_catchup_snapshot(self, src: str, msg: CatchupSnapshot) -> None:
        st = self.state
        if msg.ballot != st.promised or self.role == LEADER:
            return
        if st.kind == STORAGE and msg.btree is None:
            return
        st.install(msg.lsn, msg.btree, [])
        if st.config != msg.config:
            st.adopt_config(msg.lsn, msg.config)
        self._take_catchup(msg.entries, msg.lsn)

    def _take_catchup(self, entries: list, lsn: int) -> None:
        st = self.state
        host = self.host
        disk_s = host.disk_delay_s()
        for entry_lsn, ballot, record in entries:
            if entry_lsn > st.commit_lsn:
                if not record.verify():  # the leader's copy rotted: ask again later
                    st.bad_records += 1
                    break
                st.write(entry_lsn, ballot, record, host.now + disk_s)
                if record.op == CONFIG:
                    host.membership_changed()
        last = max(entries[-1][0], lsn) if entries else lsn
        host.later(disk_s, self._catchup_persisted, last)

    def restore_from_archive(self, head: int, records: list[tuple[int, LogRecord]],
                             btree: SortedDict | None) -> bool:
        """Fill the hole in our committed log (a rotten record dropped on
        replay) from the archive (paper §5.1: the WAL archived to S3): the
        archived ``records`` we lack, or -- when the store no longer keeps
        them -- its reference ``btree`` at ``head``; then commit our own
        records up to the commit point we knew (they were chosen).  False if
        the archive could not help (it ends below the hole)."""
        st = self.state
        if not st.damaged:
            return False
        if btree is not None or (not records and st.kind != STORAGE and head > st.commit_lsn):
            st.install(head, btree, [])  # a restore point: the archive's copy at its head
            st.archive_learnt(head)
            PROBE_HITS["restored_from_archive"] += 1
            self._take_catchup([], max(st.damaged_upto, head))
            return True
        entries = []
        for lsn, record in records:
            mine = st.log.get(lsn)
            if lsn > st.commit_lsn and (mine is None or not mine.record.verify()):
                entries.append((lsn, mine.ballot if mine is not None else NO_BALLOT, record))
        if not entries:
            return False
        PROBE_HITS["restored_from_archive"] += 1
        self._take_catchup(entries, st.damaged_upto)
        return True

    def _catchup_persisted(self, last: int) -> None:
        st = self.state
        was_damaged = st.damaged
        for lsn, record, _res in st.commit_to(last, self.host.now):  # known chosen
            if record.op == CONFIG:
                assert record.members is not None  # a config record names its members
                self.host.config_committed(self, lsn, record.members)
        self.catchup_until_s = -math.inf
        self._try_commit()
        if was_damaged and not st.damaged:
            # Whole again: stand for election if nobody leads that we see
            # (the check after boot found us damaged and let it pass).
            leader = st.promised[1]
            if self.role == FOLLOWER and (not leader or leader == self.me
                                          or not self.host.sees(leader)):
                self.start_election()

    # ------------------------------------------------------------------
    # phase 1: elections
    # ------------------------------------------------------------------
    def start_election(self) -> None:
        """Begin an election attempt, starting with the gray-failure guard."""
        st = self.state
        if st.kind != STORAGE or self.role != FOLLOWER or self.electing or not st.is_member() \
                or self.me not in st.active_hosts() or st.damaged:
            return
        if not self.host.holds(self):
            return  # replaced on this host (its timers outlive it): the new replica decides
        if not self.host.ready:
            return
        if self.aside is not None:
            until_s, commit = self.aside
            if self.host.now < until_s and st.commit_lsn == commit:
                # try again when the time is up, in case nobody else could win
                self.host.later(until_s - self.host.now, self._retry, self.attempt)
                return
            self.aside = None
        self.electing = True
        self.attempt += 1
        attempt = self.attempt
        self.check_replies = {}
        others = self._others()
        leader = st.promised[1]
        if leader and leader != self.me and leader not in others:
            others = [*others, leader]  # a leader we promised that has left the group
        self.check_targets = len(others)
        for host in others:
            self.host.send(host, LeaderCheck(self.pid, st.promised, attempt))
        if others:
            self.host.later(self.cfg.election_timeout_s, self._check_done, attempt)
        else:
            self._check_done(attempt)

    def on_leader_check(self, src: str, msg: LeaderCheck) -> None:
        """Answer the gray-failure guard: do we still see the leader we
        promised?  And do *we* lead (the authoritative word about ourselves)?"""
        st = self.state
        leader = st.promised[1]
        sees = bool(leader) and leader != src and st.promised != self.withdrawn and (
            self.is_leader or (leader != self.me and self.host.sees(leader)))
        self.host.send(src, LeaderCheckReply(self.pid, st.promised, msg.attempt, sees, leader,
                                             self.is_leader))

    def on_leader_check_reply(self, src: str, msg: LeaderCheckReply) -> None:
        if not self.electing or msg.attempt != self.attempt or self.role != FOLLOWER:
            return
        self.max_seen_round = max(self.max_seen_round, msg.ballot[0])
        self.check_replies[src] = (msg.sees, msg.leader, msg.leading)
        if len(self.check_replies) >= self.check_targets:
            self._check_done(self.attempt)

    def _someone_sees_a_leader(self) -> bool:
        """True if a replica sees a leader that has not itself told us it
        does not lead (a host can be up and heartbeating yet lead nothing)."""
        not_leading = {h for h, (_s, _l, leading) in self.check_replies.items() if not leading}
        not_leading.add(self.me)  # we know we do not lead, whatever others promised
        return any(sees and leader not in not_leading
                   for sees, leader, _leading in self.check_replies.values())

    def _check_done(self, attempt: int) -> None:
        if attempt != self.attempt or not self.electing:
            return
        if self._someone_sees_a_leader() or self.role != FOLLOWER:
            # Someone still sees a leader: stand down.  Ask again later in
            # case that leader is a ghost (alive, leading nothing) whose word
            # did not reach us; _retry stops once we hear our leader.
            self.electing = False
            delay = self.cfg.election_timeout_s + self.draws.exponential(self.cfg.election_backoff_s)
            self.host.later(delay, self._retry, attempt)
            return
        self.check_ballot = self.state.promised
        wait = max(0.0, self._lease_wait_until() - self.host.now)
        self.host.later(wait, self._prepare, attempt)

    def _lease_wait_until(self) -> float:
        """Until when we still grant a lease to the leader we promised (or
        may have, if we rebooted since): no new ballot of ours before then."""
        host = self.host
        if self.bugs.no_lease_wait:
            return -math.inf
        lease_s = self.cfg.lease_s
        wait_until = -math.inf if self.bugs.forget_lease_on_boot else host.boot_t + lease_s
        leader = self.state.promised[1]
        if leader and leader != self.me and self.state.promised != self.withdrawn:
            wait_until = max(wait_until, host.heard_at(leader) + lease_s)
        return wait_until

    def _prepare(self, attempt: int) -> None:
        if attempt != self.attempt or not self.electing:
            return
        if not self.host.holds(self):
            self.electing = False  # replaced on this host while it waited
            return
        st = self.state
        if self.role != FOLLOWER or not st.is_member() or st.promised != self.check_ballot \
                or st.damaged:
            self.electing = False  # a leader appeared while we waited: stand down
            return
        wait = self._lease_wait_until() - self.host.now
        if wait > 0:  # the leader we promised was heard from meanwhile: wait on
            self.host.later(wait, self._prepare, attempt)
            return
        self._try_commit()  # apply what we know is committed: recovery starts above it
        ballot = (max(st.promised[0], self.max_seen_round) + 1, self.me)
        self.host.unwithdraw(self.pid)
        self._promise(ballot)
        self.role = CANDIDATE
        self.ballot = ballot
        self.from_lsn = st.commit_lsn + 1
        self.promises = {self.me: (st.entries_from(self.from_lsn), st.commit_lsn)}
        self.learnt_configs = set()
        self.prepared = {self.me}
        for host in self._others():
            self.prepared.add(host)
            self.host.send(host, Prepare(self.pid, ballot, self.from_lsn))
        if self.points.on:
            self.points.passed("prepared", self.me)
        self.host.later(self.cfg.election_timeout_s, self._candidate_timeout, attempt)
        self._check_promises()

    def on_prepare(self, src: str, msg: Prepare) -> None:
        st = self.state
        host = self.host
        ballot = msg.ballot
        refuse = None
        active = st.active_hosts()
        if self.me not in active or src not in active:
            refuse = "not_member"
        elif st.damaged:
            refuse = "damaged"  # our committed log has a hole: no promise can cover it
        elif ballot < st.promised:
            refuse = "promised"
        elif msg.from_lsn <= st.trimmed_lsn:
            # Our log no longer holds every record from there (archived and
            # trimmed, or installed from a copy): a promise could not carry
            # what a quorum may have chosen.  The candidate is behind.
            refuse = "behind"
        elif self.bugs.no_lease_wait:
            pass
        elif host.now < host.boot_t + self.cfg.lease_s and not self.bugs.forget_lease_on_boot:
            refuse = "booting"
        else:
            leader = st.promised[1]
            if leader and leader != src and ballot != st.promised:
                if leader == self.me:
                    if self.role == LEADER and self.lease_until() > host.now:
                        refuse = "lease"
                elif host.now < host.heard_at(leader) + self.cfg.lease_s and (
                        st.promised != self.withdrawn):
                    refuse = "lease"
        if refuse is not None:
            if refuse == "lease":
                PROBE_HITS["prepare_refused_lease"] += 1
            elif refuse == "booting":
                PROBE_HITS["prepare_refused_booting"] += 1
            host.send(src, PrepareRefused(self.pid, ballot, refuse, st.promised, st.config,
                                          st.config_lsn))
            return
        disk_s = host.disk_delay_s()
        if self.points.on:  # buggify: a slow promise
            disk_s += self.points.delay_s("before_promise")
        self._promise(ballot, NEVER if self.bugs.promise_not_durable else host.now + disk_s)
        host.later(disk_s, self._promise_persisted, src, ballot, msg.from_lsn)

    def _promise_persisted(self, src: str, ballot: Ballot, from_lsn: int) -> None:
        st = self.state
        if st.promised != ballot:
            return
        self.host.send(src, Promise(self.pid, ballot, st.entries_from(from_lsn), st.commit_lsn))
        if self.points.on:
            self.points.passed("promised", self.me)

    def on_promise(self, src: str, msg: Promise) -> None:
        if self.role != CANDIDATE or msg.ballot != self.ballot:
            return
        for _lsn, _ballot, record in msg.entries:
            if not record.verify():
                return  # a corrupt record (a rotten WAL): not counted as a promise
        self.promises[src] = (msg.entries, msg.commit_lsn)
        for lsn, ballot, record in msg.entries:
            if lsn > msg.commit_lsn and ballot < msg.ballot:
                PROBE_HITS["promise_carried_older_accepted"] += 1
            if record.op == CONFIG and (lsn, record.members) not in self.learnt_configs:
                assert record.members is not None  # a config record names its members
                self._learn_config(lsn, record.members)
        self._check_promises()

    def on_prepare_refused(self, src: str, msg: PrepareRefused) -> None:
        if self.role != CANDIDATE or msg.ballot != self.ballot:
            return
        st = self.state
        if msg.reason == "not_member":
            hosts = [h for h, _ in msg.config]
            if self.me not in hosts and msg.promised >= st.promised:
                self.host.retire(self.pid)  # we were replaced while away
                return
            if self.me in hosts and src not in hosts and msg.config_lsn > st.config_lsn:
                # The membership changed while we were away: we are still
                # in it, the refuser is not.  Take the newer membership (as
                # if we had its log record) and stand again among it.
                st.adopt_config(msg.config_lsn, msg.config)
                self.host.membership_changed()
                self._abandon()
                return
        left_out = (msg.reason == "not_member" and msg.config_lsn > st.config_lsn
                    and all(h != self.me for h, _ in msg.config))
        if msg.reason == "behind" or left_out:
            # That member's log starts above our commit point, or it holds a
            # newer membership that leaves us out: we cannot win while it is
            # in the way, and each prepare of ours would only raise the
            # promise of the members we share with a candidate that can win
            # (a replaced replica that slept through its replacement kept a
            # group leaderless this way, outbidding the rightful candidate
            # every second).  Stand aside for a lease and an election, or
            # until we learn of more commits, then try again.
            cfg = self.cfg
            self.aside = (self.host.now + cfg.lease_s + cfg.election_timeout_s
                          + cfg.leader_timeout_s, st.commit_lsn)
            self._abandon()
            return
        if msg.promised > self.ballot:
            self._promise(msg.promised)
            self._abandon()

    def _learn_config(self, lsn: int, members: Members) -> None:
        """A promise holds a membership change we lack.  It may have been
        chosen, and records after it chosen by a quorum of the new membership
        alone -- a quorum that need not meet ours (a replica that slept
        through the change still counts the replica it replaced).  So win in
        that membership too, and ask its members we have not asked."""
        PROBE_HITS["learnt_config_from_promise"] += 1
        self.learnt_configs.add((lsn, members))
        for host, _kind in members:
            if host not in self.prepared:
                self.prepared.add(host)
                self.host.send(host, Prepare(self.pid, self.ballot, self.from_lsn))

    def _check_promises(self) -> None:
        configs = self.state.active_configs()
        if self.learnt_configs:
            configs = (*configs, *(members for _lsn, members in self.learnt_configs))
        if all(self._votes(members, self.promises) >= self.quorum(members)
               for members in configs):
            self._become_leader()

    def _candidate_timeout(self, attempt: int) -> None:
        if attempt == self.attempt and self.role == CANDIDATE and self.host.holds(self):
            self.role = FOLLOWER
            self._abandon()

    def _abandon(self) -> None:
        """Give up this attempt; try again after a random back-off if no
        leader shows up meanwhile."""
        if self.role == CANDIDATE:
            self.role = FOLLOWER
        if self.ballot != NO_BALLOT:
            self.host.withdraw(self.pid, self.ballot)
        self.electing = False
        self.promises = {}
        self.host.later(self.draws.exponential(self.cfg.election_backoff_s), self._retry,
                        self.attempt)

    def _retry(self, attempt: int) -> None:
        if attempt != self.attempt or self.role != FOLLOWER:
            return
        leader = self.state.promised[1]
        if leader and leader != self.me and self.host.sees(leader):
            return
        self.start_election()

    def _become_leader(self) -> None:
        st = self.state
        self.role = LEADER
        self.active = False
        self.electing = False
        self.supporters = {h for h in self.promises if h != self.me}
        self._lease_key = None  # the supporters changed
        merged: dict[int, tuple[LogRecord, Ballot, bool]] = {}
        # The bug "skip_recovery" looks only at its own log, not the promises.
        sources = ([self.promises[self.me]] if self.bugs.skip_recovery
                   else list(self.promises.values()))
        for entries, commit in sources:
            for lsn, ballot, record in entries:
                chosen = lsn <= commit
                have = merged.get(lsn)
                if have is not None and not chosen and not have[2] and have[1] != ballot:
                    PROBE_HITS["recovery_took_higher_ballot"] += 1
                better = ballot < have[1] if (
                    have is not None and self.bugs.recovery_lowest_ballot) else (
                    have is not None and ballot > have[1])
                if have is None or (chosen and not have[2]) or (not have[2] and better):
                    merged[lsn] = (record, ballot, chosen)
        last = max(merged, default=self.from_lsn - 1)
        self.promises = {}
        self.next_lsn = max(last, st.commit_lsn) + 1
        wait_s = self.points.delay_s("promise_to_accept") if self.points.on else 0.0
        for lsn in range(self.from_lsn, last + 1):
            found = merged.get(lsn)
            if found is None:
                PROBE_HITS["recovery_filled_noop"] += 1
            elif found[0].op != NOOP:
                PROBE_HITS["recovery_reproposed_value"] += 1
            self.propose(found[0] if found is not None else NOOP_RECORD, lsn=lsn, after_s=wait_s)
        self.recovery_lsn = self.propose(NOOP_RECORD, after_s=wait_s)
        if not st.is_member():
            self.step_down("not_member")

    def assume_leadership(self, ballot: Ballot, supporters: list[str]) -> None:
        """Lead from the start under ``ballot``, as if elected with an empty
        log (a table that was already running when the simulation began)."""
        self.role = LEADER
        self.active = True
        self.ballot = ballot
        self.next_lsn = 1
        self.supporters = set(supporters)
        self._lease_key = None  # the supporters changed
        self.hooks.leader_elected(self.host.now, self.pid, ballot, self.me)

    def _activate(self) -> None:
        self.active = True
        self.host.leader_active(self)


#: What a replica does with each message about its partition, by type.
HANDLERS: dict[type, Callable[[Member, str, Any], None]] = {
    Prepare: Member.on_prepare,
    Promise: Member.on_promise,
    PrepareRefused: Member.on_prepare_refused,
    Accept: Member.on_accept,
    Accepted: Member.on_accepted,
    AcceptRefused: Member.on_accept_refused,
    CatchupRequest: Member.on_catchup_request,
    CatchupEntries: Member.on_catchup_entries,
    CatchupSnapshot: Member.on_catchup_snapshot,
    LeaderCheck: Member.on_leader_check,
    LeaderCheckReply: Member.on_leader_check_reply,
}
