"""A storage node: one host's share of every replication group on it.

Paper §3: storage nodes host replicas of many partitions.  A node

* queues client operations and serves them with a service-time model
  (:class:`~ddbsim.service.service_queue.ServiceQueue`);
* carries its replicas' Paxos messages and persists their WAL records with
  a disk-latency model;
* sends **one heartbeat per peer host per interval** for all the groups the
  two hosts share (paper §5 leases, coalesced so that an idle region costs
  nothing per partition), and from the replies computes leases and notices
  peers that fell silent -- suspicion after ``leader_timeout_s`` starts
  elections, unhealthiness after ``healing.detection_s`` starts healing;
* on power-off loses everything volatile; on power-on boots, replays each
  replica's WAL from its B-tree checkpoint, and asks its peers who leads.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ddbsim.service.messages import (
    Heartbeat,
    HeartbeatAck,
    PaxosMessage,
    StorageOp,
    StorageReply,
)
from ddbsim.service.paxos import LEADER, Member
from ddbsim.service.replica import STORAGE, Ballot, Members, ReplicaState
from ddbsim.service.service_queue import ServiceQueue
from ddbsim.world.scheduling import call_later
from ddbsim.world.topology import Host

if TYPE_CHECKING:
    from ddbsim.service.region import Service

_PAXOS_HANDLERS = {
    "accept": "on_accept",
    "accepted": "on_accepted",
    "prepare": "on_prepare",
    "promise": "on_promise",
    "catchup_request": "on_catchup_request",
    "catchup": "on_catchup",
    "leader_check": "on_leader_check",
    "leader_check_reply": "on_leader_check_reply",
}


class StorageNode:
    def __init__(self, service: Service, host: Host) -> None:
        self.service = service
        self.host = host
        world = service.world
        self.env = world.env
        self.net = world.network
        self.cfg = service.cfg
        self.hooks = service.hooks
        self.bugs = service.bugs
        self.draws = world.streams.draws(f"storage/{host.id}")
        self.members: dict[str, Member] = {}
        self.queue = ServiceQueue(self.env, self.cfg.storage.servers_per_node,
                                  self.cfg.storage.service_time_s, self.draws, host)
        self.ready = True
        self.boot_t = -math.inf
        # Numbers our revocations; never reset, not even by a reboot: a peer
        # acknowledges "every revocation up to N", and numbers that started
        # again from 1 would be taken as already seen.
        self.revocation_seq = 0
        self._reset_volatile()
        host.listen(on_off=self._power_off, on_on=self._power_on)
        self.net.register(host, self.receive)

    def _reset_volatile(self) -> None:
        self.last_recv: dict[str, float] = {}  # heartbeat received from a peer (receive time)
        self.last_heard: dict[str, float] = {}  # any heartbeat traffic from a peer
        self.ack_send_t: dict[str, float] = {}  # newest heartbeat send time a peer acknowledged
        self.suspected: set[str] = set()
        self.unhealthy: set[str] = set()
        self.revocations: dict[str, list[tuple[int, str, Ballot]]] = {}
        self.revocations_seen: dict[str, int] = {}
        self.dirty_commits: dict[str, Member] = {}
        self.resync: set[str] = set()  # peers back from silence: tell them every commit point
        # peer -> pid -> (ballot, commit, first sent): commit points told to a
        # peer and repeated in every heartbeat until it acknowledges one that
        # carried them (a heartbeat may be lost; a follower that never learns
        # the last commit point would never apply it)
        self.unacked_commits: dict[str, dict[str, tuple[Ballot, int, float]]] = {}
        self.peer_since: dict[str, float] = {}  # when a host became our peer (grace for detection)
        self.retransmitting: set[Member] = set()  # leaders with unacknowledged proposals
        self.lagging: set[Member] = set()  # followers that know of commits they lack
        # pid -> a ballot this host stood for or led and gave up (told to peers
        # in every heartbeat until the partition moves on or leaves this host)
        self.withdrawn: dict[str, Ballot] = {}
        self._peers: list[str] | None = None

    @property
    def now(self) -> float:
        return self.env.now

    # ------------------------------------------------------------------
    # replicas
    # ------------------------------------------------------------------
    def add_replica(self, state: ReplicaState) -> Member:
        member = Member(self, state)
        self.members[state.pid] = member
        self._peers = None
        return member

    def retire(self, pid: str) -> None:
        """Drop a replica that is no longer in its group's membership."""
        member = self.members.pop(pid, None)
        self.withdrawn.pop(pid, None)
        if member is not None:
            member.step_down("retired")
            self._peers = None

    def peers(self) -> list[str]:
        if self._peers is None:
            hosts = set()
            for member in self.members.values():
                hosts.update(member.state.active_hosts())
            hosts.discard(self.host.id)
            self._peers = sorted(hosts)
            for h in self._peers:
                self.peer_since.setdefault(h, self.now)
        return self._peers

    # ------------------------------------------------------------------
    # transport and disk
    # ------------------------------------------------------------------
    def send_to(self, host_id: str, msg: Any) -> None:
        self.net.send(self.host, self.service.world.topology.hosts[host_id], msg)

    def persist(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once the disk has persisted a write issued now;
        never, if the host loses power first."""
        delay = self.draws.lognormal(self.cfg.storage.wal_persist_s, 0.3) * self.host.slowdown
        call_later(self.env, delay, self._persisted, self.host.epoch, fn, args)

    def _persisted(self, epoch: int, fn: Callable[..., Any], args: tuple) -> None:
        if epoch == self.host.epoch and self.host.powered:
            fn(*args)

    def reply(self, src: str, op: StorageOp, status: str, value: Any = None, version: int = 0,
              applied: bool = True, leader_hint: str | None = None) -> None:
        self.hooks.storage_request(self.now, op.pid, op.request.kind, status)
        self.send_to(src, StorageReply(op.op_id, status, value, version, applied, leader_hint))

    def reply_id(self, src: str, op_id: int, status: str, value: Any = None, version: int = 0,
                 applied: bool = True) -> None:
        self.send_to(src, StorageReply(op_id, status, value, version, applied, None))

    # ------------------------------------------------------------------
    # receiving
    # ------------------------------------------------------------------
    def receive(self, src: Host, msg: Any) -> None:
        if not self.ready:
            return
        if isinstance(msg, PaxosMessage):
            self._on_paxos(src.id, msg)
        elif isinstance(msg, StorageOp):
            self.queue.submit(self._serve, src.id, msg, self.host.epoch)
        elif isinstance(msg, Heartbeat):
            self._on_heartbeat(src.id, msg)
        elif isinstance(msg, HeartbeatAck):
            self._on_heartbeat_ack(src.id, msg)

    def _serve(self, src: str, op: StorageOp, epoch: int) -> None:
        if epoch != self.host.epoch or not self.ready:
            return
        member = self.members.get(op.pid)
        if member is None:
            self.reply(src, op, "not_leader")
            return
        member.handle_op(src, op)

    def _on_paxos(self, src: str, msg: PaxosMessage) -> None:
        if msg.kind == "bootstrap":
            self._on_bootstrap(src, msg)
            return
        if msg.kind == "bootstrap_ack":
            self.service.healing.bootstrap_acked(msg.pid, src, msg.body["kind"])
            return
        if msg.kind == "retire":
            member = self.members.get(msg.pid)
            if member is not None and self.host.id not in [h for h, _ in msg.body["config"]] \
                    and msg.ballot >= member.state.promised:
                self.retire(msg.pid)
            return
        member = self.members.get(msg.pid)
        if member is None:
            return
        getattr(member, _PAXOS_HANDLERS[msg.kind])(src, msg)

    def _on_bootstrap(self, src: str, msg: PaxosMessage) -> None:
        """A leader copied its partition here (healing): become a replica."""
        body = msg.body
        kind = body["kind"]
        member = self.members.get(msg.pid)
        if member is not None and member.state.kind != STORAGE and kind == STORAGE:
            member.state.kind = STORAGE  # the log replica here becomes a storage replica
        else:
            member = self.add_replica(ReplicaState(msg.pid, self.host.id, kind, body["config"],
                                                   body["config_lsn"]))
        st = member.state
        if st.promised < msg.ballot:
            st.promise(msg.ballot)
            st.promise_persisted(msg.ballot)
        st.install(body["lsn"], body.get("btree"), body["entries"])
        self.send_to(src, PaxosMessage("bootstrap_ack", msg.pid, msg.ballot, {"kind": body["kind"]}))

    # ------------------------------------------------------------------
    # heartbeats, leases, failure detection
    # ------------------------------------------------------------------
    def start(self) -> None:
        """Begin heartbeating (at t=0 and after every boot)."""
        self._tick(self.host.epoch)

    def _tick(self, epoch: int) -> None:
        if epoch != self.host.epoch or not self.host.powered:
            return
        now = self.now
        commits = [(pid, m.ballot, m.state.commit_lsn) for pid, m in self.dirty_commits.items()
                   if m.role == LEADER]
        self.dirty_commits = {}
        unacked = self.unacked_commits
        for peer in self.peers():
            if peer in self.resync:
                fresh = [(pid, m.ballot, m.state.commit_lsn) for pid, m in self.members.items()
                         if m.role == LEADER and self._hosts_partition(peer, pid)]
            else:
                fresh = [c for c in commits if self._hosts_partition(peer, c[0])]
            pending = unacked.get(peer)
            if fresh:
                if pending is None:
                    pending = unacked[peer] = {}
                for pid, ballot, commit in fresh:
                    pending[pid] = (ballot, commit, now)
            mine = [(pid, b, c) for pid, (b, c, _t) in pending.items()] if pending else []
            gone = [(pid, b) for pid, b in self.withdrawn.items()
                    if self._hosts_partition(peer, pid)] if self.withdrawn else None
            self.send_to(peer, Heartbeat(now, mine, self.revocations_seen.get(peer, 0), gone))
        self.resync.clear()
        for member in sorted(self.retransmitting, key=lambda m: m.pid):
            if not member.retransmit():
                self.retransmitting.discard(member)
        # A follower behind the commit point asks again for the missing
        # records (its last request, or the answer, may have been lost).
        for member in sorted(self.lagging, key=lambda m: m.pid):
            member.catch_up()
        self._detect(now)
        call_later(self.env, self.cfg.replication.heartbeat_interval_s, self._tick, epoch)

    def _hosts_partition(self, peer: str, pid: str) -> bool:
        member = self.members.get(pid)
        return member is not None and any(
            h == peer for members in member.state.active_configs() for h, _ in members)

    def _detect(self, now: float) -> None:
        timeout = self.cfg.replication.leader_timeout_s
        detection = self.cfg.healing.detection_s
        for peer in self.peers():
            heard = self.last_heard.get(peer, self.peer_since.get(peer, now))
            silent = now - heard
            if silent > timeout and peer not in self.suspected:
                self.suspected.add(peer)
                for member in list(self.members.values()):
                    if member.state.promised[1] == peer and member.role != LEADER:
                        member.start_election()
            if silent > detection and peer not in self.unhealthy:
                self.unhealthy.add(peer)
                for member in list(self.members.values()):
                    if member.is_leader and any(h == peer for h, _ in member.state.config):
                        self.service.healing.start(member, peer, heard)

    def sees(self, host_id: str) -> bool:
        """Whether this node heard a heartbeat from ``host_id`` recently."""
        return self.now - self.last_recv.get(host_id, -math.inf) < self.cfg.replication.leader_timeout_s

    def is_healthy(self, host_id: str) -> bool:
        return host_id not in self.unhealthy

    def _heard(self, src: str) -> None:
        if src in self.suspected or src not in self.last_heard:
            self.resync.add(src)
        self.last_heard[src] = self.now
        self.suspected.discard(src)
        self.unhealthy.discard(src)

    def _on_heartbeat(self, src: str, msg: Heartbeat) -> None:
        self.last_recv[src] = self.now
        self._heard(src)
        pending = self.revocations.get(src)
        if pending:
            kept = [r for r in pending if r[0] > msg.revocations_seen]
            self.revocations[src] = kept
            pending = kept
        for pid, ballot, commit in msg.commits:
            member = self.members.get(pid)
            if member is not None:
                member.on_commit_notice(ballot, commit)
        if msg.withdrawn:
            for pid, ballot in msg.withdrawn:
                member = self.members.get(pid)
                if member is not None:
                    member.on_withdrawn(ballot)
        self.send_to(src, HeartbeatAck(msg.send_t, list(pending) if pending else []))

    def _on_heartbeat_ack(self, src: str, msg: HeartbeatAck) -> None:
        self._heard(src)
        for seq, pid, ballot in msg.revocations:
            member = self.members.get(pid)
            if member is not None and member.role != "follower" and member.ballot < ballot:
                member.step_down("lease_revoked")
            if seq > self.revocations_seen.get(src, 0):
                self.revocations_seen[src] = seq
        if msg.send_t > self.ack_send_t.get(src, -math.inf):
            self.ack_send_t[src] = msg.send_t
        pending = self.unacked_commits.get(src)
        if pending:
            for pid in [pid for pid, (_b, _c, t) in pending.items() if t <= msg.send_t]:
                del pending[pid]

    def revoke(self, host_id: str, pid: str, ballot: Ballot) -> None:
        """Tell ``host_id`` (in every heartbeat ack until it confirms) that we
        no longer support its leadership of ``pid``."""
        self.revocation_seq += 1
        self.revocations.setdefault(host_id, []).append((self.revocation_seq, pid, ballot))

    # ------------------------------------------------------------------
    # callbacks from replicas
    # ------------------------------------------------------------------
    def commit_advanced(self, member: Member) -> None:
        self.dirty_commits[member.pid] = member

    def withdraw(self, pid: str, ballot: Ballot) -> None:
        """Our replica of ``pid`` gave up ``ballot`` (lost the election or
        stepped down): tell its peers in every heartbeat."""
        self.withdrawn[pid] = ballot

    def membership_changed(self) -> None:
        """A replica here learnt a new membership: recompute the peers."""
        self._peers = None

    def config_committed(self, member: Member, members: Members) -> None:
        self._peers = None
        if member.role == LEADER:
            self.service.partition_map.set_members(member.pid, members)
            removed = [h for h, _ in member.state.config_before(member.state.commit_lsn)
                       if h not in [m for m, _ in members]]
            for host in removed:
                self.send_to(host, PaxosMessage("retire", member.pid, member.ballot,
                                                {"config": members}))
        elif not member.state.is_member():
            self.retire(member.pid)

    def leader_active(self, member: Member) -> None:
        self.hooks.leader_elected(self.now, member.pid, member.ballot, self.host.id)
        self.service.partition_map.set_leader(member.pid, self.host.id)
        for peer, _kind in member.state.config:
            if peer in self.unhealthy:
                self.service.healing.start(member, peer, self.last_heard.get(peer, self.now))

    # ------------------------------------------------------------------
    # power
    # ------------------------------------------------------------------
    def _power_off(self, _host: Host) -> None:
        self.ready = False
        for member in self.members.values():
            member.crash()
        self.queue.reset()
        self._reset_volatile()

    def _power_on(self, _host: Host) -> None:
        records = sum(m.state.applied_lsn - m.state.checkpoint_lsn for m in self.members.values())
        storage = self.cfg.storage
        delay = storage.boot_s + storage.replay_per_record_s * max(records, 0)
        call_later(self.env, delay, self._booted, self.host.epoch)

    def _booted(self, epoch: int) -> None:
        if epoch != self.host.epoch or not self.host.powered:
            return
        for member in self.members.values():
            member.state.replay()
            if member.state.promised[1] == self.host.id:
                # We stood for or led this ballot before the power went: we
                # lead nothing now, so release the followers that promised it.
                self.withdrawn[member.pid] = member.state.promised
        self.ready = True
        self.boot_t = self.now
        self.start()
        # Ask the peers who leads each group (the election attempt begins with
        # that question, and stands down when someone sees a leader).
        for member in list(self.members.values()):
            jitter = self.draws.uniform() * self.cfg.replication.heartbeat_interval_s
            call_later(self.env, self.cfg.replication.leader_timeout_s + jitter,
                       self._after_boot_check, member, epoch)

    def _after_boot_check(self, member: Member, epoch: int) -> None:
        if epoch != self.host.epoch or self.members.get(member.pid) is not member:
            return
        leader = member.state.promised[1]
        if not leader or leader == self.host.id or not self.sees(leader):
            member.start_election()
