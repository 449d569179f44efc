"""Multi-Paxos for one partition, as seen by one of its replicas.

Paper §3 and §5: each partition is a replication group; its replicas use
Multi-Paxos to agree on a write-ahead log.  This module is one replica's
side of that protocol (:class:`Member`); the storage node it lives on
(:mod:`ddbsim.service.storage_node`) carries its messages, its disk writes
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
a higher ballot, or still grants a lease to another leader's host (it heard
that host less than ``lease_s`` ago), or booted less than ``lease_s`` ago
(it has forgotten whom it granted a lease).  A promise carries the
acceptor's log from ``from_lsn`` and its commit point.

A promise that carries a membership change the candidate lacks makes the
candidate win in that membership too (it sends its prepare to the new
members): the change may have been chosen, and later records chosen by the
new membership alone, whose quorum a stale candidate's need not meet.

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
acknowledges one that carried them; a follower that finds a gap asks the
leader to catch it up.

**Leases.**  A heartbeat from host L that host F acknowledges renews, for
every partition led on L, F's promise not to support another leader for
``lease_s`` from the moment F received it.  The leader therefore holds a
lease until ``lease_s`` after the *send* time of the newest heartbeat that
``quorum - 1`` of its supporters acknowledged -- computed from those
timestamps when a strong read needs it, never by a timer.  A supporter that
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
from typing import TYPE_CHECKING, Any

import simpy

from ddbsim.service.messages import GET_EVENTUAL, GET_STRONG, PaxosMessage, StorageOp
from ddbsim.service.replica import LOG, NO_BALLOT, STORAGE, Ballot, Members, ReplicaState
from ddbsim.world.scheduling import call_later

if TYPE_CHECKING:
    from ddbsim.service.storage_node import StorageNode

FOLLOWER = "follower"
CANDIDATE = "candidate"
LEADER = "leader"
NOOP = ("noop",)


class Proposal:
    __slots__ = ("cmd", "origin", "configs", "acks", "chosen", "sent_s")

    def __init__(self, cmd: tuple, origin: tuple[str, int] | None, configs: tuple[Members, ...],
                 sent_s: float) -> None:
        self.cmd = cmd
        self.origin = origin  # (router host id, op id) to answer, if any
        self.configs = configs
        self.acks: set[str] = set()
        self.chosen = False
        self.sent_s = sent_s


def quorum_of(members: Members, write_quorum: int, replicas: int) -> int:
    """The write quorum for a membership: the configured one for a full group."""
    return write_quorum if len(members) == replicas else len(members) // 2 + 1


class Member:
    """One replica's part in its partition's Multi-Paxos group."""

    def __init__(self, node: StorageNode, state: ReplicaState) -> None:
        self.node = node
        self.state = state
        self.pid = state.pid
        self.me = node.host.id
        self.cfg = node.cfg.replication
        self.commit_waiters: dict[int, simpy.Event] = {}
        self.max_seen_round = 0
        self.reset_volatile()

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
        self.electing = False
        self.attempt = 0
        self.check_replies: dict[str, tuple[bool, str, bool]] = {}
        self.check_ballot: Ballot = NO_BALLOT
        self.known_commit = 0
        self.catchup_until_s = -math.inf
        self.reported_lease_until = -math.inf
        self.withdrawn: Ballot = NO_BALLOT  # our promised leader said it gave this ballot up
        self.nacked: Ballot = NO_BALLOT  # a lower-ballot leader we told we promised higher
        self.check_targets = 0
        for ev in self.commit_waiters.values():
            if not ev.triggered:
                ev.succeed(False)
        self.commit_waiters = {}

    def crash(self) -> None:
        """The host lost power: volatile state goes, durable state stays."""
        if self.role == LEADER:
            self.node.hooks.leader_lost(self.node.now, self.pid, self.ballot, self.me, "power_off")
        self.state.crash()
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

    def _send(self, host: str, kind: str, body: dict[str, Any], ballot: Ballot | None = None) -> None:
        self.node.send_to(host, PaxosMessage(kind, self.pid, ballot or self.ballot, body))

    def _others(self, members: Members | None = None) -> list[str]:
        if members is None:
            return [h for h in self.state.active_hosts() if h != self.me]
        return [h for h, _ in members if h != self.me]

    def _quorum(self, members: Members) -> int:
        return quorum_of(members, self.cfg.write_quorum, self.cfg.replicas)

    def _votes(self, members: Members, voters: set[str] | dict[str, Any]) -> int:
        """How many of ``members`` are among ``voters``: one vote each."""
        if "log_replica_counts_twice" in self.node.bugs:
            return sum(2 if kind == LOG else 1 for h, kind in members if h in voters)
        return sum(1 for h, _ in members if h in voters)

    def _promise(self, ballot: Ballot, persist: bool = True) -> None:
        """Promise ``ballot`` (higher than any before): step down if we led,
        and revoke the lease we granted to the previous leader's host."""
        st = self.state
        old = st.promised
        if ballot <= old:
            return
        if self.role != FOLLOWER and ballot != self.ballot:
            self.step_down("preempted")
        st.promise(ballot)
        if persist:
            self.node.persist(st.promise_persisted, ballot)
        if old[1] and old[1] != ballot[1] and old[1] != self.me:
            self.node.revoke(old[1], self.pid, ballot)
        self.max_seen_round = max(self.max_seen_round, ballot[0])

    def step_down(self, reason: str) -> None:
        if self.role == LEADER:
            self.node.hooks.leader_lost(self.node.now, self.pid, self.ballot, self.me, reason)
        if self.role != FOLLOWER and self.ballot != NO_BALLOT:
            self.node.withdraw(self.pid, self.ballot)
            if reason != "retired":
                # Nobody may be left to stand (we led; a revocation does not
                # say who else will): try again after a back-off unless a
                # leader shows up.
                call_later(self.node.env, self.node.draws.exponential(self.cfg.election_backoff_s),
                           self._retry, self.attempt, self.node.host.epoch)
        self.role = FOLLOWER
        self.active = False
        self.electing = False  # a candidate's attempt ends here too
        self.proposals = {}
        self.promises = {}
        self.supporters = set()
        for ev in self.commit_waiters.values():
            if not ev.triggered:
                ev.succeed(False)
        self.commit_waiters = {}

    # ------------------------------------------------------------------
    # client operations
    # ------------------------------------------------------------------
    def handle_op(self, src: str, op: StorageOp) -> None:
        req = op.request
        node = self.node
        st = self.state
        if req.kind == GET_EVENTUAL:
            if st.kind != STORAGE or not st.is_member():
                node.reply(src, op, "not_leader", leader_hint=self.leader_hint())
                return
            value, version = st.read(req.key)
            node.reply(src, op, "ok", value=value, version=version)
            return
        if not self.is_leader:
            if req.kind == GET_STRONG and "follower_strong_read" in node.bugs and (
                    st.kind == STORAGE and st.is_member()):
                value, version = st.read(req.key)
                node.reply(src, op, "ok", value=value, version=version)
                return
            node.reply(src, op, "not_leader", leader_hint=self.leader_hint())
            return
        if req.kind == GET_STRONG:
            until = self.lease_until()
            now = node.now
            if until <= now:
                node.reply(src, op, "unavailable", leader_hint=self.me)
                return
            if until > self.reported_lease_until:
                node.hooks.lease_held(self.pid, self.ballot, now, until)
                self.reported_lease_until = until
            value, version = st.read(req.key)
            node.reply(src, op, "ok", value=value, version=version)
            return
        if req.kind == "delete":
            cmd: tuple = ("delete", req.key)
        else:
            expected = req.expected_version if req.kind == "cond_put" else None
            cmd = ("put", req.key, req.value, expected)
        self.propose(cmd, origin=(src, op.op_id))

    def lease_until(self) -> float:
        """Until when this leader's lease is valid, from heartbeat timestamps."""
        if not self.is_leader:
            return -math.inf
        until = math.inf
        acked = self.node.ack_send_t
        for members in self.state.active_configs():
            need = self._quorum(members) - (1 if any(h == self.me for h, _ in members) else 0)
            if need <= 0:
                until = min(until, self.node.now + self.cfg.lease_s)
                continue
            times = sorted((acked.get(h, -math.inf) for h in self._others(members)
                            if h in self.supporters), reverse=True)
            if len(times) < need:
                return -math.inf
            until = min(until, times[need - 1] + self.cfg.lease_s)
        return until

    # ------------------------------------------------------------------
    # phase 2: leader side
    # ------------------------------------------------------------------
    def propose(self, cmd: tuple, origin: tuple[str, int] | None = None, lsn: int | None = None) -> int:
        st = self.state
        if lsn is None:
            lsn = self.next_lsn
            self.next_lsn += 1
        st.write(lsn, self.ballot, cmd)
        if cmd[0] == "config":
            self.node.membership_changed()
        if "apply_before_commit" in self.node.bugs and self.active:
            st.apply_early(lsn)
        configs = st.active_configs()
        proposal = Proposal(cmd, origin, configs, self.node.now)
        self.proposals[lsn] = proposal
        self.node.retransmitting.add(self)
        self.node.persist(self._own_persisted, lsn, self.ballot)
        body = {"entries": [(lsn, cmd)], "commit": st.commit_lsn}
        targets = self._others(configs[0]) if len(configs) == 1 else self._others()
        for host in targets:
            self._send(host, "accept", body)
        return lsn

    def retransmit(self) -> bool:
        """Re-send ``accept`` for proposals some replica has not acknowledged
        within an election timeout (messages to a dead or cut-off replica are
        lost).  Returns False once nothing is outstanding."""
        if self.role != LEADER or not self.proposals:
            return False
        now = self.node.now
        stale = now - self.cfg.election_timeout_s
        missing: dict[str, list[tuple[int, tuple]]] = {}
        for lsn in sorted(self.proposals):
            p = self.proposals[lsn]
            if p.sent_s > stale:
                continue
            for members in p.configs:
                for host, _kind in members:
                    if host != self.me and host not in p.acks:
                        batch = missing.setdefault(host, [])
                        if len(batch) < self.cfg.catchup_batch and (not batch or batch[-1][0] != lsn):
                            batch.append((lsn, p.cmd))
        for host in sorted(missing):
            self._send(host, "accept", {"entries": missing[host], "commit": self.state.commit_lsn})
        return True

    def _own_persisted(self, lsn: int, ballot: Ballot) -> None:
        st = self.state
        entry = st.log.get(lsn)
        if entry is not None and entry.ballot == ballot:
            st.persisted(lsn)
        if self.role != LEADER or ballot != self.ballot:
            return
        proposal = self.proposals.get(lsn)
        if proposal is None:
            return
        proposal.acks.add(self.me)
        cmd = proposal.cmd
        if "ack_before_quorum" in self.node.bugs and proposal.origin is not None and (
                cmd[0] == "delete" or (cmd[0] == "put" and cmd[3] is None)):
            src, op_id = proposal.origin
            self.node.reply_id(src, op_id, "ok")
            proposal.origin = None
        if proposal.chosen:
            # Chosen on the followers' acks while our own write was in
            # flight: the commit point waited for it (we apply only what we
            # hold durably), so advance now.
            self._advance_commit()
        else:
            self._check(lsn, proposal)

    def on_accepted(self, src: str, msg: PaxosMessage) -> None:
        body = msg.body
        if not body["ok"]:
            if body["promised"] > self.state.promised:
                self._promise(body["promised"])
            return
        if self.role != LEADER or msg.ballot != self.ballot:
            return
        self.supporters.add(src)
        for lsn in body["lsns"]:
            proposal = self.proposals.get(lsn)
            if proposal is not None:
                proposal.acks.add(src)
                self._check(lsn, proposal)

    def _check(self, lsn: int, proposal: Proposal) -> None:
        if proposal.chosen:
            return
        for members in proposal.configs:
            if self._votes(members, proposal.acks) < self._quorum(members):
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
        applied = st.commit_to(commit)
        node = self.node
        for lsn, cmd, (ok, version) in applied:
            proposal = proposals.pop(lsn, None)
            if proposal is not None and proposal.origin is not None:
                src, op_id = proposal.origin
                node.reply_id(src, op_id, "ok", version=version, applied=ok,
                              value=cmd[2] if cmd[0] == "put" else None)
            if cmd[0] == "config":
                node.config_committed(self, cmd[1])
            waiter = self.commit_waiters.pop(lsn, None)
            if waiter is not None and not waiter.triggered:
                waiter.succeed(True)
        node.commit_advanced(self)
        if self.role == LEADER and not self.active and st.commit_lsn >= self.recovery_lsn:
            self._activate()

    def wait_commit(self, lsn: int) -> simpy.Event:
        """An event that succeeds with True when ``lsn`` commits here, or
        with False if this replica stops leading first."""
        ev = self.node.env.event()
        if self.state.commit_lsn >= lsn:
            ev.succeed(True)
        elif self.role != LEADER:
            ev.succeed(False)
        else:
            self.commit_waiters[lsn] = ev
        return ev

    # ------------------------------------------------------------------
    # phase 2: acceptor side
    # ------------------------------------------------------------------
    def on_accept(self, src: str, msg: PaxosMessage) -> None:
        st = self.state
        ballot = msg.ballot
        if ballot < st.promised:
            self._send(src, "accepted", {"ok": False, "promised": st.promised, "lsns": []}, ballot)
            return
        if ballot > st.promised:
            self._promise(ballot, persist=False)
        elif self.role != FOLLOWER and ballot != self.ballot:
            self.step_down("preempted")
        lsns = []
        for lsn, cmd in msg.body["entries"]:
            lsns.append(lsn)
            if lsn <= st.commit_lsn:
                continue  # committed here already: final, and durable
            st.write(lsn, ballot, cmd)
            if cmd[0] == "config":
                self.node.membership_changed()
        self.node.persist(self._accepted_persisted, src, lsns, ballot)
        self.learn_commit(msg.body["commit"], ballot)

    def _accepted_persisted(self, src: str, lsns: list[int], ballot: Ballot) -> None:
        st = self.state
        st.promise_persisted(ballot)
        for lsn in lsns:
            entry = st.log.get(lsn)
            if entry is not None and entry.ballot == ballot:
                st.persisted(lsn)
        self._send(src, "accepted", {"ok": True, "lsns": lsns}, ballot)
        self._try_commit()

    def on_withdrawn(self, ballot: Ballot) -> None:
        """The host we promised ``ballot`` to no longer stands for it (its
        heartbeat says so): its lease is void; after a random back-off, stand
        for election ourselves."""
        if ballot != self.state.promised or self.role != FOLLOWER or self.withdrawn == ballot:
            return
        self.withdrawn = ballot
        delay = self.node.draws.exponential(self.cfg.election_backoff_s)
        call_later(self.node.env, delay, self._after_withdrawn, ballot, self.node.host.epoch)

    def _after_withdrawn(self, ballot: Ballot, epoch: int) -> None:
        if epoch == self.node.host.epoch and self.state.promised == ballot and self.role == FOLLOWER:
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
                self.node.revoke(ballot[1], self.pid, self.state.promised)
            return
        if ballot > self.state.promised:
            self._promise(ballot)
        self.learn_commit(commit, ballot)

    def learn_commit(self, commit: int, ballot: Ballot) -> None:
        if commit > self.known_commit:
            self.known_commit = commit
        self._try_commit()

    def _try_commit(self) -> None:
        if self.role == LEADER:
            return
        st = self.state
        target = self.known_commit
        if st.commit_lsn >= target:
            return
        ballot = st.promised
        commit = st.commit_lsn
        log = st.log
        while commit < target:
            entry = log.get(commit + 1)
            if entry is None or entry.ballot != ballot or not st.is_durable(commit + 1):
                break
            commit += 1
        for _lsn, cmd, _res in st.commit_to(commit):
            if cmd[0] == "config":
                self.node.config_committed(self, cmd[1])
        if st.commit_lsn < target:
            self.node.lagging.add(self)
            self._request_catchup()
        else:
            self.node.lagging.discard(self)

    def catch_up(self) -> None:
        """Called on every heartbeat tick while this follower lags."""
        if self.role == LEADER or self.state.commit_lsn >= self.known_commit \
                or self.node.members.get(self.pid) is not self:
            self.node.lagging.discard(self)
            return
        self._try_commit()

    def _request_catchup(self) -> None:
        now = self.node.now
        leader = self.state.promised[1]
        if now < self.catchup_until_s or not leader or leader == self.me:
            return
        self.catchup_until_s = now + self.cfg.election_timeout_s
        self._send(leader, "catchup_request", {"from": self.state.commit_lsn + 1,
                                               "storage": self.state.kind == STORAGE},
                   self.state.promised)

    def on_catchup_request(self, src: str, msg: PaxosMessage) -> None:
        # Committed records are final: a leader still recovering may send them.
        if self.role != LEADER:
            return
        st = self.state
        first = msg.body["from"]
        upto = min(st.commit_lsn, first + self.cfg.catchup_batch - 1)
        if upto < first:
            return
        entries = st.entries_from(first, upto)
        if len(entries) == upto - first + 1:
            body: dict[str, Any] = {"entries": entries, "lsn": upto}
        else:  # our log has a gap there (we were installed from a copy): send the B-tree
            body = {"entries": st.entries_from(st.applied_lsn + 1, st.commit_lsn),
                    "lsn": st.applied_lsn,
                    "btree": st.snapshot() if msg.body["storage"] else None,
                    "config": st.config}
        self._send(src, "catchup", body)

    def on_catchup(self, src: str, msg: PaxosMessage) -> None:
        st = self.state
        if msg.ballot != st.promised or self.role == LEADER:
            return
        body = msg.body
        if "btree" in body:
            if st.kind == STORAGE and body["btree"] is None:
                return
            st.install(body["lsn"], body["btree"], [])
            if st.config != body["config"]:
                st.adopt_config(body["lsn"], body["config"])
        for lsn, ballot, cmd in body["entries"]:
            if lsn > st.commit_lsn:
                st.write(lsn, ballot, cmd)
                if cmd[0] == "config":
                    self.node.membership_changed()
        last = body["entries"][-1][0] if body["entries"] else body["lsn"]
        self.node.persist(self._catchup_persisted, [e[0] for e in body["entries"]], last)

    def _catchup_persisted(self, lsns: list[int], last: int) -> None:
        st = self.state
        for lsn in lsns:
            st.persisted(lsn)
        for _lsn, cmd, _res in st.commit_to(last):  # these records are known chosen
            if cmd[0] == "config":
                self.node.config_committed(self, cmd[1])
        self.catchup_until_s = -math.inf
        self._try_commit()

    # ------------------------------------------------------------------
    # phase 1: elections
    # ------------------------------------------------------------------
    def start_election(self) -> None:
        """Begin an election attempt, starting with the gray-failure guard."""
        st = self.state
        if st.kind != STORAGE or self.role != FOLLOWER or self.electing or not st.is_member() \
                or self.me not in st.active_hosts():
            return
        if not self.node.ready:
            return
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
            self._send(host, "leader_check", {"attempt": attempt}, st.promised)
        if others:
            call_later(self.node.env, self.cfg.election_timeout_s, self._check_done, attempt,
                       self.node.host.epoch)
        else:
            self._check_done(attempt, self.node.host.epoch)

    def on_leader_check(self, src: str, msg: PaxosMessage) -> None:
        """Answer the gray-failure guard: do we still see the leader we
        promised?  And do *we* lead (the authoritative word about ourselves)?"""
        st = self.state
        leader = st.promised[1]
        sees = bool(leader) and leader != src and st.promised != self.withdrawn and (
            self.is_leader or (leader != self.me and self.node.sees(leader)))
        self._send(src, "leader_check_reply", {"attempt": msg.body["attempt"], "sees": sees,
                                               "leader": leader, "leading": self.is_leader},
                   st.promised)

    def on_leader_check_reply(self, src: str, msg: PaxosMessage) -> None:
        if not self.electing or msg.body["attempt"] != self.attempt or self.role != FOLLOWER:
            return
        self.max_seen_round = max(self.max_seen_round, msg.ballot[0])
        self.check_replies[src] = (msg.body["sees"], msg.body["leader"], msg.body["leading"])
        if len(self.check_replies) >= self.check_targets:
            self._check_done(self.attempt, self.node.host.epoch)

    def _someone_sees_a_leader(self) -> bool:
        """True if a replica sees a leader that has not itself told us it
        does not lead (a host can be up and heartbeating yet lead nothing)."""
        not_leading = {h for h, (_s, _l, leading) in self.check_replies.items() if not leading}
        not_leading.add(self.me)  # we know we do not lead, whatever others promised
        return any(sees and leader not in not_leading
                   for sees, leader, _leading in self.check_replies.values())

    def _check_done(self, attempt: int, epoch: int) -> None:
        if attempt != self.attempt or not self.electing or epoch != self.node.host.epoch:
            return
        if self._someone_sees_a_leader() or self.role != FOLLOWER:
            # Someone still sees a leader: stand down.  Ask again later in
            # case that leader is a ghost (alive, leading nothing) whose word
            # did not reach us; _retry stops once we hear our leader.
            self.electing = False
            delay = self.cfg.election_timeout_s + self.node.draws.exponential(self.cfg.election_backoff_s)
            call_later(self.node.env, delay, self._retry, attempt, epoch)
            return
        node = self.node
        self.check_ballot = self.state.promised
        wait = max(0.0, self._lease_wait_until() - node.now)
        call_later(node.env, wait, self._prepare, attempt, node.host.epoch)

    def _lease_wait_until(self) -> float:
        """Until when we still grant a lease to the leader we promised (or
        may have, if we rebooted since): no new ballot of ours before then."""
        node = self.node
        if "no_lease_wait" in node.bugs:
            return -math.inf
        lease_s = self.cfg.lease_s
        wait_until = node.boot_t + lease_s
        leader = self.state.promised[1]
        if leader and leader != self.me and self.state.promised != self.withdrawn:
            wait_until = max(wait_until, node.last_recv.get(leader, -math.inf) + lease_s)
        return wait_until

    def _prepare(self, attempt: int, epoch: int) -> None:
        if attempt != self.attempt or not self.electing or epoch != self.node.host.epoch:
            return
        st = self.state
        if self.role != FOLLOWER or not st.is_member() or st.promised != self.check_ballot:
            self.electing = False  # a leader appeared while we waited: stand down
            return
        wait = self._lease_wait_until() - self.node.now
        if wait > 0:  # the leader we promised was heard from meanwhile: wait on
            call_later(self.node.env, wait, self._prepare, attempt, epoch)
            return
        ballot = (max(st.promised[0], self.max_seen_round) + 1, self.me)
        self.node.withdrawn.pop(self.pid, None)
        self._promise(ballot)
        self.role = CANDIDATE
        self.ballot = ballot
        self.from_lsn = st.commit_lsn + 1
        self.promises = {self.me: (st.entries_from(self.from_lsn), st.commit_lsn)}
        self.learnt_configs = set()
        self.prepared = {self.me}
        for host in self._others():
            self.prepared.add(host)
            self._send(host, "prepare", {"from": self.from_lsn})
        call_later(self.node.env, self.cfg.election_timeout_s, self._candidate_timeout, attempt,
                   self.node.host.epoch)
        self._check_promises()

    def on_prepare(self, src: str, msg: PaxosMessage) -> None:
        st = self.state
        node = self.node
        ballot = msg.ballot
        refuse = None
        active = st.active_hosts()
        if self.me not in active or src not in active:
            refuse = "not_member"
        elif ballot < st.promised:
            refuse = "promised"
        elif "no_lease_wait" in node.bugs:
            pass
        elif node.now < node.boot_t + self.cfg.lease_s:
            refuse = "booting"
        else:
            leader = st.promised[1]
            if leader and leader != src and ballot != st.promised:
                if leader == self.me:
                    if self.role == LEADER and self.lease_until() > node.now:
                        refuse = "lease"
                elif node.now < node.last_recv.get(leader, -math.inf) + self.cfg.lease_s and (
                        st.promised != self.withdrawn):
                    refuse = "lease"
        if refuse is not None:
            self._send(src, "promise", {"ok": False, "reason": refuse, "promised": st.promised,
                                        "config": st.config, "config_lsn": st.config_lsn},
                       ballot)
            return
        self._promise(ballot, persist=False)
        node.persist(self._promise_persisted, src, ballot, msg.body["from"])

    def _promise_persisted(self, src: str, ballot: Ballot, from_lsn: int) -> None:
        st = self.state
        st.promise_persisted(ballot)
        if st.promised != ballot:
            return
        self._send(src, "promise", {"ok": True, "entries": st.entries_from(from_lsn),
                                    "commit": st.commit_lsn}, ballot)

    def on_promise(self, src: str, msg: PaxosMessage) -> None:
        if self.role != CANDIDATE or msg.ballot != self.ballot:
            return
        body = msg.body
        if not body["ok"]:
            st = self.state
            if body["reason"] == "not_member":
                hosts = [h for h, _ in body["config"]]
                if self.me not in hosts and body["promised"] >= st.promised:
                    self.node.retire(self.pid)  # we were replaced while away
                    return
                if self.me in hosts and src not in hosts and body["config_lsn"] > st.config_lsn:
                    # The membership changed while we were away: we are still
                    # in it, the refuser is not.  Take the newer membership (as
                    # if we had its log record) and stand again among it.
                    st.adopt_config(body["config_lsn"], body["config"])
                    self.node.membership_changed()
                    self._abandon()
                    return
            if body["promised"] > self.ballot:
                self._promise(body["promised"])
                self._abandon()
            return
        self.promises[src] = (body["entries"], body["commit"])
        for lsn, _ballot, cmd in body["entries"]:
            if cmd[0] == "config" and (lsn, cmd[1]) not in self.learnt_configs:
                self._learn_config(lsn, cmd[1])
        self._check_promises()

    def _learn_config(self, lsn: int, members: Members) -> None:
        """A promise holds a membership change we lack.  It may have been
        chosen, and records after it chosen by a quorum of the new membership
        alone -- a quorum that need not meet ours (a replica that slept
        through the change still counts the replica it replaced).  So win in
        that membership too, and ask its members we have not asked."""
        self.learnt_configs.add((lsn, members))
        for host, _kind in members:
            if host not in self.prepared:
                self.prepared.add(host)
                self._send(host, "prepare", {"from": self.from_lsn})

    def _check_promises(self) -> None:
        configs = self.state.active_configs()
        if self.learnt_configs:
            configs = (*configs, *(members for _lsn, members in self.learnt_configs))
        if all(self._votes(members, self.promises) >= self._quorum(members)
               for members in configs):
            self._become_leader()

    def _candidate_timeout(self, attempt: int, epoch: int) -> None:
        if attempt == self.attempt and self.role == CANDIDATE and epoch == self.node.host.epoch:
            self.role = FOLLOWER
            self._abandon()

    def _abandon(self) -> None:
        """Give up this attempt; try again after a random back-off if no
        leader shows up meanwhile."""
        if self.role == CANDIDATE:
            self.role = FOLLOWER
        if self.ballot != NO_BALLOT:
            self.node.withdraw(self.pid, self.ballot)
        self.electing = False
        self.promises = {}
        attempt = self.attempt
        delay = self.node.draws.exponential(self.cfg.election_backoff_s)
        call_later(self.node.env, delay, self._retry, attempt, self.node.host.epoch)

    def _retry(self, attempt: int, epoch: int) -> None:
        if attempt != self.attempt or epoch != self.node.host.epoch or self.role != FOLLOWER:
            return
        leader = self.state.promised[1]
        if leader and leader != self.me and self.node.sees(leader):
            return
        self.start_election()

    def _become_leader(self) -> None:
        st = self.state
        self.role = LEADER
        self.active = False
        self.electing = False
        self.supporters = {h for h in self.promises if h != self.me}
        merged: dict[int, tuple[tuple, Ballot, bool]] = {}
        # The bug "skip_recovery" looks only at its own log, not the promises.
        sources = ([self.promises[self.me]] if "skip_recovery" in self.node.bugs
                   else list(self.promises.values()))
        for entries, commit in sources:
            for lsn, ballot, cmd in entries:
                chosen = lsn <= commit
                have = merged.get(lsn)
                if have is None or (chosen and not have[2]) or (not have[2] and ballot > have[1]):
                    merged[lsn] = (cmd, ballot, chosen)
        last = max(merged, default=self.from_lsn - 1)
        self.promises = {}
        self.next_lsn = max(last, st.commit_lsn) + 1
        for lsn in range(self.from_lsn, last + 1):
            self.propose(merged[lsn][0] if lsn in merged else NOOP, lsn=lsn)
        self.recovery_lsn = self.propose(NOOP)
        if not st.is_member():
            self.step_down("not_member")

    def _activate(self) -> None:
        self.active = True
        self.node.leader_active(self)
