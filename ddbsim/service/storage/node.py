"""A storage node: one host's share of every replication group on it.

Paper §3: storage nodes host replicas of many partitions.  A node

* queues client operations and serves them with a service-time model
  (:class:`~ddbsim.world.queueing.ServiceQueue`): an operation is decided
  when it arrives, and what it sends leaves when its service ends (one
  event, not two; a power-off meanwhile loses it all the same);
* carries its replicas' Paxos messages (it is their
  :class:`~ddbsim.service.storage.replica_host.ReplicaHost`) and persists
  their WAL records on the host's :class:`~ddbsim.world.disk.Disk`;
* sends **one heartbeat per peer host per interval** for all the groups the
  two hosts share (paper §5 leases, coalesced so that an idle region costs
  nothing per partition), and from the replies computes leases and notices
  peers that fell silent -- suspicion after ``leader_timeout_s`` starts
  elections, unhealthiness after ``healing.detection_s`` starts healing;
* tells the control plane (:class:`ControlPlane`) when a replica here takes
  the lead or commits a membership change;
* with admission control on, admits or throttles each operation it will
  serve before serving it
  (:class:`~ddbsim.service.admission.storage.StorageAdmission`), and tells
  its peers its node write bucket in its heartbeats;
* on power-off loses everything volatile; on power-on boots, replays each
  replica's WAL from its B-tree checkpoint, and asks its peers who leads;
* runs the host's :class:`~ddbsim.service.storage.archiver.Archiver` and
  :class:`~ddbsim.service.storage.scrub.Scrubber`, each one tick per host
  per interval (``durability.archive``, ``durability.scrub``);
* keeps its data on the host's disk, so bit rot there corrupts one of its
  replicas (:meth:`StorageNode._on_rot`), and a lost disk leaves it empty:
  it then answers no heartbeat, its peers find it unhealthy and replace its
  replicas as if it were down.

Messages are dispatched by type: every
:class:`~ddbsim.service.messages.GroupMessage` kind of
:data:`ddbsim.service.storage.paxos.HANDLERS` goes to the replica of its
partition, and :data:`NODE_HANDLERS` says what the node does with the rest.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Protocol

from ddbsim.config import Config
from ddbsim.service.admission.storage import StorageAdmission
from ddbsim.service.bugs import Bugs
from ddbsim.service.fault_points import INERT, FaultPoints
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE, Ballot, Members
from ddbsim.service.messages import (
    GET_EVENTUAL,
    THROTTLED,
    ArchiveCopy,
    Bootstrap,
    BootstrapAck,
    Heartbeat,
    HeartbeatAck,
    Message,
    ReferenceReply,
    Retire,
    ScrubFetch,
    ScrubRepair,
    ScrubReply,
    ScrubRequest,
    SegmentReply,
    StorageOp,
    StorageReply,
)
from ddbsim.service.object_store import STORE_HOST
from ddbsim.service.probes import HITS as PROBE_HITS
from ddbsim.service.storage.archiver import Archiver
from ddbsim.service.storage.healing import Healer, Replacements
from ddbsim.service.storage.paxos import HANDLERS as MEMBER_HANDLERS
from ddbsim.service.storage.paxos import LEADER, Member
from ddbsim.service.storage.replica import ALWAYS, ReplicaState
from ddbsim.service.storage.scrub import Scrubber
from ddbsim.world.queueing import ServiceQueue
from ddbsim.world.region import World
from ddbsim.world.scheduling import call_later
from ddbsim.world.topology import Host


class ControlPlane(Protocol):
    """What a storage node tells the control plane (the authoritative
    partition map, and through it the routers)."""

    def leader_changed(self, pid: str, host_id: str) -> None:
        """A replica on ``host_id`` now leads ``pid``."""

    def membership_committed(self, pid: str, members: Members) -> None:
        """``pid``'s leader committed the membership ``members``."""


class StorageNode:
    def __init__(self, host: Host, world: World, cfg: Config, hooks: ServiceHooks, bugs: Bugs,
                 control: ControlPlane, placement: Replacements,
                 partition_of: Callable[[str], str] | None = None,
                 points: FaultPoints = INERT,
                 admission: StorageAdmission | None = None) -> None:
        self.host = host
        self.host_id = host.id
        self.env = world.env
        self.net = world.network
        self._hosts = world.topology.hosts
        self.cfg = cfg
        self.hooks = hooks
        self.bugs = bugs
        self.points = points  # the service's fault points, handed to every replica here
        self.control = control
        self.admission = admission
        hosts = self._hosts
        self.healer = Healer(self, cfg.healing, placement, lambda h: hosts[h].az, hooks)
        # One random stream per concern: a new draw in one never moves another.
        streams = world.streams
        self.paxos_draws = streams.draws(f"storage/{host.id}/paxos")  # election back-offs
        self.boot_draws = streams.draws(f"storage/{host.id}/boot")  # boot-time jitter
        self.disk = world.disks[host.id]
        self.members: dict[str, Member] = {}
        self.members_version = 0  # bumped whenever a replica is added or retired
        self.queue = ServiceQueue(self.env, cfg.storage.servers_per_node,
                                  cfg.storage.service_time_s,
                                  streams.draws(f"storage/{host.id}/queue"), host)
        self.ready = True
        self.boot_t = -math.inf
        # Numbers our revocations; never reset, not even by a reboot: a peer
        # acknowledges "every revocation up to N", and numbers that started
        # again from 1 would be taken as already seen.
        self.revocation_seq = 0
        durability = cfg.durability
        self.archiver = (Archiver(self, durability, hooks, partition_of)
                         if durability.archive else None)
        self.scrubber = (Scrubber(self, durability, hooks, with_reference=durability.archive)
                         if durability.scrub else None)
        self._store = self._hosts.get(STORE_HOST)
        self.durability_draws = streams.draws(f"storage/{host.id}/durability")  # tick phases
        self.disk.listen(rot=self._on_rot, lost=self._on_disk_lost)
        self._reset_volatile()
        host.listen(on_off=self._power_off, on_on=self._power_on)
        self.net.register(host, self.receive)

    def _reset_volatile(self) -> None:
        self.last_recv: dict[str, float] = {}  # heartbeat received from a peer (receive time)
        self.last_heard: dict[str, float] = {}  # any heartbeat traffic from a peer
        self.ack_send_t: dict[str, float] = {}  # newest heartbeat send time a peer acknowledged
        self.acks_seen = 0  # counts changes to ack_send_t (leases are computed from it)
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
        self._lagging: set[Member] = set()  # followers that know of commits they lack
        # pid -> a ballot this host stood for or led and gave up (told to peers
        # in every heartbeat until the partition moves on or leaves this host)
        self.withdrawn: dict[str, Ballot] = {}
        self._peers: list[str] | None = None

    #: The simulated time, as ``Environment.now``: a C getter, no Python frame
    #: (the node's replicas read it several times per request).
    now: float = property(attrgetter("env._now"))  # type: ignore[assignment]

    # ------------------------------------------------------------------
    # replicas
    # ------------------------------------------------------------------
    def add_replica(self, state: ReplicaState) -> Member:
        member = Member(self, state, self.cfg.replication, self.paxos_draws, self.hooks, self.bugs)
        member.points = self.points
        self.members[state.pid] = member
        self.members_version += 1
        if self.archiver is not None:
            state.on_archivable = self.archiver.note
            self.archiver.note(state.pid)
        self._peers = None
        return member

    def new_state(self, pid: str, kind: str, config: Members, config_lsn: int = 0) -> ReplicaState:
        """An empty replica of ``pid`` for this host."""
        return ReplicaState(pid, self.host_id, kind, config, config_lsn,
                            self.cfg.storage.checkpoint_every_records)

    def retire(self, pid: str, reason: str = "retired") -> None:
        """Drop a replica that is no longer in its group's membership (or
        whose partition was split: ``reason`` "split")."""
        member = self.members.pop(pid, None)
        self.withdrawn.pop(pid, None)
        if member is not None:
            self.members_version += 1
            member.step_down(reason)
            self._peers = None

    def holds(self, member: Member) -> bool:
        return self.members.get(member.pid) is member

    def peers(self) -> list[str]:
        if self._peers is None:
            hosts: set[str] = set()
            for member in self.members.values():
                hosts.update(member.state.active_hosts())
            hosts.discard(self.host_id)
            self._peers = sorted(hosts)
            for h in self._peers:
                self.peer_since.setdefault(h, self.now)
        return self._peers

    # ------------------------------------------------------------------
    # transport, disk, timers
    # ------------------------------------------------------------------
    def send(self, host_id: str, msg: Message, after_s: float = 0.0) -> None:
        self.net.send(self.host, self._hosts[host_id], msg, after_s)

    def send_to_store(self, msg: Message) -> None:
        """Send ``msg`` to the object store."""
        if self._store is not None:
            self.net.send(self.host, self._store, msg)

    def disk_delay_s(self) -> float:
        return self.disk.write_delay_s()

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None:
        call_later(self.env, delay_s, self._timer, self.host.epoch, fn, args)

    def _timer(self, epoch: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if epoch == self.host.epoch:
            fn(*args)

    def reply(self, src: str, op: StorageOp, status: str, value: Any = None, version: int = 0,
              applied: bool = True, leader_hint: str | None = None, after_s: float = 0.0) -> None:
        self.hooks.storage_request(self.now, op.pid, op.request.kind, status)
        self.net.send(self.host, self._hosts[src],
                      StorageReply(op.op_id, status, value, version, applied, leader_hint), after_s)

    # ------------------------------------------------------------------
    # receiving
    # ------------------------------------------------------------------
    def receive(self, src: Host, msg: Message) -> None:
        if not self.ready:
            return
        kind = type(msg)
        to_member = MEMBER_HANDLERS.get(kind)
        if to_member is not None:  # about one partition: straight to its replica here
            member = self.members.get(msg.pid)  # type: ignore[attr-defined]
            if member is not None:
                to_member(member, src.id, msg)
        else:
            NODE_HANDLERS[kind](self, src.id, msg)

    def _on_op(self, src: str, op: StorageOp) -> None:
        after_s = self.queue.reserve()
        member = self.members.get(op.pid)
        if member is None:
            self.reply(src, op, "not_leader", after_s=after_s)
            return
        admission = self.admission
        if admission is not None:
            req = op.request
            # Admitted where it is served: the leader, or for an eventual
            # read the storage replica that reads.
            serves = member.is_leader if req.kind != GET_EVENTUAL else member.state.kind == STORAGE
            if serves and not admission.admit(op.pid, req.key, req.kind, req.size_bytes,
                                              member.state, self.env._now):  # type: ignore[attr-defined]
                self.reply(src, op, THROTTLED, after_s=after_s)
                return
        member.handle_op(src, op, after_s)

    def _on_retire(self, src: str, msg: Retire) -> None:
        member = self.members.get(msg.pid)
        if member is not None and self.host_id not in [h for h, _ in msg.config] \
                and msg.ballot >= member.state.promised:
            self.retire(msg.pid)

    def _on_bootstrap(self, src: str, msg: Bootstrap) -> None:
        """A leader copied its partition here (healing): become a replica.

        A copy that rebuilds the replica here in place (``replaces`` is this
        host) keeps what it holds: the entries it accepted may already count
        towards a quorum.  The log replica becomes a storage replica; a
        storage replica (a repeated copy) stays as it is.  A copy from a
        leader deposed since (a ballot below our promise) is ignored.  A copy
        that replaces another member starts a fresh replica: whatever this
        host held of the partition before belongs to an old membership."""
        kind = msg.kind
        member = self.members.get(msg.pid)
        if member is not None and msg.replaces == self.host_id:
            st = member.state
            if msg.ballot < st.promised:
                return
            if st.kind != STORAGE and kind == STORAGE:
                st.kind = STORAGE
                st.install(msg.lsn, msg.btree, msg.entries)
        else:
            if member is not None:
                # An old replica of the partition (a membership this host was
                # replaced from while it was away): retire it, or its timers
                # go on standing for elections beside the new replica.
                self.retire(msg.pid)
            member = self.add_replica(self.new_state(msg.pid, kind, msg.config, msg.config_lsn))
            st = member.state
            st.install(msg.lsn, msg.btree, msg.entries)
        if st.promised < msg.ballot:
            st.promise(msg.ballot, ALWAYS)  # the copy is written to disk before it is confirmed
        self.send(src, BootstrapAck(msg.pid, msg.ballot, kind))

    def _on_bootstrap_ack(self, src: str, msg: BootstrapAck) -> None:
        self.healer.bootstrap_acked(src, msg)

    # -- durability: the archiver's and the scrub's messages ---------------
    def _on_segment_reply(self, src: str, msg: SegmentReply) -> None:
        if self.archiver is not None:
            self.archiver.on_reply(msg)

    def _on_archive_copy(self, src: str, msg: ArchiveCopy) -> None:
        if self.archiver is not None:
            self.archiver.on_copy(msg)

    def _on_reference_reply(self, src: str, msg: ReferenceReply) -> None:
        if self.scrubber is not None:
            self.scrubber.on_reference(msg)

    def _on_scrub_request(self, src: str, msg: ScrubRequest) -> None:
        if self.scrubber is not None:
            self.scrubber.on_request(src, msg)

    def _on_scrub_reply(self, src: str, msg: ScrubReply) -> None:
        if self.scrubber is not None:
            self.scrubber.on_reply(src, msg)

    def _on_scrub_fetch(self, src: str, msg: ScrubFetch) -> None:
        if self.scrubber is not None:
            self.scrubber.on_fetch(src, msg)

    def _on_scrub_repair(self, src: str, msg: ScrubRepair) -> None:
        if self.scrubber is not None:
            self.scrubber.on_repair(src, msg)

    # ------------------------------------------------------------------
    # heartbeats, leases, failure detection
    # ------------------------------------------------------------------
    def start(self) -> None:
        """Begin heartbeating, archiving and scrubbing (at t=0 and after every boot)."""
        self._tick(self.host.epoch)
        durability = self.cfg.durability
        if self.archiver is not None:
            for pid in self.members:  # after a boot: look at every replica once
                self.archiver.note(pid)
            call_later(self.env, self.durability_draws.uniform() * durability.archive_interval_s,
                       self._archive_tick, self.host.epoch)
        if self.scrubber is not None:
            call_later(self.env, self.durability_draws.uniform() * durability.scrub_interval_s,
                       self._scrub_tick, self.host.epoch)

    def _archive_tick(self, epoch: int) -> None:
        if epoch != self.host.epoch or not self.host.powered or self.archiver is None:
            return
        if self.ready:
            self.archiver.tick()
        call_later(self.env, self.cfg.durability.archive_interval_s, self._archive_tick, epoch)

    def _scrub_tick(self, epoch: int) -> None:
        if epoch != self.host.epoch or not self.host.powered or self.scrubber is None:
            return
        if self.ready:
            self.scrubber.tick()
        call_later(self.env, self.cfg.durability.scrub_interval_s, self._scrub_tick, epoch)

    # ------------------------------------------------------------------
    # the disk's faults
    # ------------------------------------------------------------------
    def _on_rot(self, what: str, u1: float, u2: float) -> dict[str, Any] | None:
        """Bit rot on this host's disk: corrupt one replica's item or WAL record."""
        pids = sorted(pid for pid, m in self.members.items()
                      if what == "wal" or m.state.btree)
        if not pids:
            return None
        pid = pids[min(int(u1 * len(pids)), len(pids) - 1)]
        st = self.members[pid].state
        where = st.rot_item(u2) if what == "item" else st.rot_wal(u2)
        if where is None:
            return None
        return {"partition": pid, "what": what, "where": str(where)}

    def _on_disk_lost(self) -> None:
        """The disk is gone (the host is off): every replica with it."""
        self.members.clear()
        self.members_version += 1
        self.withdrawn.clear()
        self._peers = None

    def _tick(self, epoch: int) -> None:
        if epoch != self.host.epoch or not self.host.powered:
            return
        now = self.now
        me = self.host_id
        # The commit points that advanced since the last tick, for each peer
        # that replicates the partition.
        advanced: dict[str, list[tuple[str, Ballot, int]]] = {}
        for pid, m in self.dirty_commits.items():
            if m.role == LEADER:
                point = (pid, m.ballot, m.state.commit_lsn)
                for host in m.state.active_hosts():
                    if host != me:
                        advanced.setdefault(host, []).append(point)
        self.dirty_commits = {}
        unacked = self.unacked_commits
        admission = self.admission
        level = admission.write_level(now) if admission is not None and admission.reports else None
        for peer in self.peers():
            if peer in self.resync:
                fresh = [(pid, m.ballot, m.state.commit_lsn) for pid, m in self.members.items()
                         if m.role == LEADER and self._hosts_partition(peer, pid)]
            else:
                fresh = advanced.get(peer, [])
            pending = unacked.get(peer)
            if fresh:
                if pending is None:
                    pending = unacked[peer] = {}
                for pid, ballot, commit in fresh:
                    pending[pid] = (ballot, commit, now)
            mine = [(pid, b, c) for pid, (b, c, _t) in pending.items()] if pending else []
            gone = [(pid, b) for pid, b in self.withdrawn.items()
                    if self._hosts_partition(peer, pid)] if self.withdrawn else None
            self.send(peer, Heartbeat(now, mine, self.revocations_seen.get(peer, 0), gone, level))
        self.resync.clear()
        for member in sorted(self.retransmitting, key=lambda m: m.pid):
            if not member.retransmit():
                self.retransmitting.discard(member)
        # A follower behind the commit point asks again for the missing
        # records (its last request, or the answer, may have been lost).
        for member in sorted(self._lagging, key=lambda m: m.pid):
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
                self.healer.peer_unhealthy(peer)

    def heard_at(self, host_id: str) -> float:
        return self.last_recv.get(host_id, -math.inf)

    def acked_at(self, host_id: str) -> float:
        return self.ack_send_t.get(host_id, -math.inf)

    def sees(self, host_id: str) -> bool:
        """Whether this node heard a heartbeat from ``host_id`` recently."""
        return self.now - self.last_recv.get(host_id, -math.inf) < self.cfg.replication.leader_timeout_s

    def is_healthy(self, host_id: str) -> bool:
        return host_id not in self.unhealthy

    def unhealthy_hosts(self) -> set[str]:
        return self.unhealthy

    def last_contact(self, host_id: str) -> float:
        return self.last_heard.get(host_id, self.now)

    def _heard(self, src: str) -> None:
        if src in self.suspected or src not in self.last_heard:
            self.resync.add(src)
        self.last_heard[src] = self.now
        self.suspected.discard(src)
        if src in self.unhealthy:
            self.unhealthy.discard(src)
            self.healer.peer_healthy(src)

    def _on_heartbeat(self, src: str, msg: Heartbeat) -> None:
        if not self.members:
            return  # we hold nothing (a lost disk): we support no one's lease
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
        if msg.node_write_level is not None and self.admission is not None:
            self.admission.peer_reported(src, msg.node_write_level)
        self.send(src, HeartbeatAck(msg.send_t, list(pending) if pending else []))

    def _on_heartbeat_ack(self, src: str, msg: HeartbeatAck) -> None:
        self._heard(src)
        for seq, pid, ballot in msg.revocations:
            member = self.members.get(pid)
            if member is not None and member.role != "follower" and member.ballot < ballot:
                member.step_down("lease_revoked")
            if seq > self.revocations_seen.get(src, 0):
                self.revocations_seen[src] = seq
        sent_t = self.now if self.bugs.lease_from_ack_receipt else msg.send_t
        if sent_t > self.ack_send_t.get(src, -math.inf):
            self.ack_send_t[src] = sent_t
            self.acks_seen += 1
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
    # callbacks from replicas (the ReplicaHost protocol)
    # ------------------------------------------------------------------
    def commit_advanced(self, member: Member) -> None:
        self.dirty_commits[member.pid] = member

    def retransmit_later(self, member: Member) -> None:
        self.retransmitting.add(member)

    def lagging(self, member: Member, behind: bool) -> None:
        if behind:
            self._lagging.add(member)
        else:
            self._lagging.discard(member)

    def withdraw(self, pid: str, ballot: Ballot) -> None:
        """Our replica of ``pid`` gave up ``ballot`` (lost the election or
        stepped down): tell its peers in every heartbeat."""
        self.withdrawn[pid] = ballot

    def unwithdraw(self, pid: str) -> None:
        self.withdrawn.pop(pid, None)

    def membership_changed(self) -> None:
        """A replica here learnt a new membership: recompute the peers."""
        self._peers = None

    def config_committed(self, member: Member, lsn: int, members: Members) -> None:
        self._peers = None
        if member.role == LEADER:
            self.control.membership_committed(member.pid, members)
            previous = member.state.config_before(lsn)
            hosts = [h for h, _ in members]
            for host, _kind in previous:
                if host not in hosts:
                    self.send(host, Retire(member.pid, member.ballot, members))
            self.healer.config_committed(member, previous, members)
        elif not member.state.is_member():
            self.retire(member.pid)

    def item_corrupt(self, member: Member, key: str) -> None:
        """A read found an item corrupt: report it, and have it repaired now
        (a leader scrubs the partition at once; a follower's next scrub does)."""
        self.hooks.corruption_found(self.now, member.pid, self.host_id, "item", f"{key}..{key}",
                                    "read")
        if self.scrubber is not None and member.is_leader:
            self.scrubber.scrub_now(member)

    def leader_active(self, member: Member) -> None:
        self.hooks.leader_elected(self.now, member.pid, member.ballot, self.host_id)
        self.control.leader_changed(member.pid, self.host_id)
        self.healer.reconcile(member.pid)

    # ------------------------------------------------------------------
    # power
    # ------------------------------------------------------------------
    def _power_off(self, _host: Host) -> None:
        self.ready = False
        for member in self.members.values():
            member.crash()
        self.queue.reset()
        self.healer.reset()
        if self.scrubber is not None:
            self.scrubber.reset()
        if self.admission is not None:
            self.admission.reset(self.now)
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
            st = member.state
            st.verify_reads = not self.bugs.apply_bad_checksum
            bad = st.bad_records
            st.replay()
            if st.bad_records > bad:  # a record read back corrupt: dropped, caught up later
                where = str(st.applied_lsn + 1)
                self.hooks.corruption_found(self.now, member.pid, self.host_id, "wal", where,
                                            "replay")
                # repaired: the record is dropped; the replica catches it up
                # from its leader like any record it lacks
                self.hooks.corruption_repaired(self.now, member.pid, self.host_id, "wal", where)
            last = st.log.get(st.last_lsn)
            if st.promised[1] not in ("", self.host_id) and (last is None
                                                               or last.ballot < st.promised):
                PROBE_HITS["rebooted_between_promise_and_accept"] += 1
            if member.state.promised[1] == self.host_id:
                # We stood for or led this ballot before the power went: we
                # lead nothing now, so release the followers that promised it.
                self.withdrawn[member.pid] = member.state.promised
        self.ready = True
        self.boot_t = self.now
        self.start()
        # Ask the peers who leads each group (the election attempt begins with
        # that question, and stands down when someone sees a leader).
        for member in list(self.members.values()):
            jitter = self.boot_draws.uniform() * self.cfg.replication.heartbeat_interval_s
            call_later(self.env, self.cfg.replication.leader_timeout_s + jitter,
                       self._after_boot_check, member, epoch)

    def _after_boot_check(self, member: Member, epoch: int) -> None:
        if epoch != self.host.epoch or self.members.get(member.pid) is not member:
            return
        leader = member.state.promised[1]
        if not leader or leader == self.host_id or not self.sees(leader):
            member.start_election()


#: What a storage node does itself with each message, by type (the
#: partition messages of ``paxos.HANDLERS`` go to the partition's replica).
NODE_HANDLERS: dict[type, Callable[[StorageNode, str, Any], None]] = {
    StorageOp: StorageNode._on_op,
    Heartbeat: StorageNode._on_heartbeat,
    HeartbeatAck: StorageNode._on_heartbeat_ack,
    Bootstrap: StorageNode._on_bootstrap,
    BootstrapAck: StorageNode._on_bootstrap_ack,
    Retire: StorageNode._on_retire,
    SegmentReply: StorageNode._on_segment_reply,
    ArchiveCopy: StorageNode._on_archive_copy,
    ReferenceReply: StorageNode._on_reference_reply,
    ScrubRequest: StorageNode._on_scrub_request,
    ScrubReply: StorageNode._on_scrub_reply,
    ScrubFetch: StorageNode._on_scrub_fetch,
    ScrubRepair: StorageNode._on_scrub_repair,
}
