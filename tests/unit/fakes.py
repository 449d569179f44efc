"""Fakes for unit tests of one replication group: a deterministic clock and
network (:class:`FakeNet`) and storage hosts (:class:`FakeHost`, a
:class:`~ddbsim.service.storage.paxos.ReplicaHost`) that carry real
:class:`~ddbsim.service.storage.paxos.Member` objects.

Everything is fixed and in order: a message takes ``latency_s`` (one value),
a disk write ``disk_s`` (per host, settable), events at one time run in the
order they were scheduled.  No SimPy, no random numbers except the
``paxos`` draws a Member makes for its back-offs (a seeded stream).

What a real storage node does (:mod:`ddbsim.service.storage.node`) and these
fakes do not, unless asked: they run no failure detector (a test calls
``start_election`` when the node would), and heartbeats, when started with
:meth:`FakeNet.heartbeats`, only stamp ``heard_at`` / ``acked_at`` (and, if
asked, carry commit points); revocations and withdrawals are recorded, not
sent.
"""
from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from typing import Any

from ddbsim.config import ReplicationConfig
from ddbsim.service.bugs import Bugs
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE, Ballot, Members
from ddbsim.service.messages import PUT, ClientRequest, Message, StorageOp
from ddbsim.service.storage.paxos import HANDLERS, LEADER, Member
from ddbsim.service.storage.replica import ALWAYS, ReplicaState
from ddbsim.world.streams import Streams

PID = "p-0000"


class RecordingHooks(ServiceHooks):
    """Service hooks that remember every call as ``(name, *args)``."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("_") and name != "calls" and hasattr(ServiceHooks, name):
            calls = object.__getattribute__(self, "calls")
            return lambda *args: calls.append((name, *args))
        return object.__getattribute__(self, name)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == name]


class Sent:
    """One message that left its sender (``t``: when it left)."""

    __slots__ = ("t", "src", "dst", "msg", "delivered_t")

    def __init__(self, t: float, src: str, dst: str, msg: Any) -> None:
        self.t = t
        self.src = src
        self.dst = dst
        self.msg = msg
        self.delivered_t: float | None = None

    def __repr__(self) -> str:
        return f"Sent({self.t:.4f} {self.src}->{self.dst} {type(self.msg).__name__})"


class _Beat:
    __slots__ = ("send_t", "commits")

    def __init__(self, send_t: float, commits: list[tuple[str, Ballot, int]]) -> None:
        self.send_t = send_t
        self.commits = commits


class _BeatAck:
    __slots__ = ("send_t",)

    def __init__(self, send_t: float) -> None:
        self.send_t = send_t


class FakeNet:
    """A clock, a queue of pending calls and a network of :class:`FakeHost`."""

    def __init__(self, latency_s: float = 0.001, disk_s: float = 0.0005) -> None:
        self.now = 0.0
        self.latency_s = latency_s
        self.disk_s = disk_s
        self.hosts: dict[str, FakeHost] = {}
        self.cut: set[tuple[str, str]] = set()  # (src, dst): links that drop messages
        self.sent: list[Sent] = []  # every message that left its sender, in order
        self._queue: list[tuple[float, int, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self.carry_commits = False
        # faults a test can aim at the next messages (none by default)
        self.duplicate_next = 0  # deliver the next this many messages twice
        self.extra_delays: list[float] = []  # extra latency for the next messages, in order

    # -- the clock -----------------------------------------------------------
    def at(self, t: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` at time ``t`` (after whatever is due then already)."""
        heapq.heappush(self._queue, (max(t, self.now), next(self._seq), fn, args))

    def step(self) -> bool:
        if not self._queue:
            return False
        t, _seq, fn, args = heapq.heappop(self._queue)
        self.now = t
        fn(*args)
        return True

    def run(self, until: float) -> None:
        """Run everything due up to and including ``until``; the clock ends there."""
        while self._queue and self._queue[0][0] <= until:
            self.step()
        self.now = max(self.now, until)

    def run_until(self, done: Callable[[], bool], limit: float) -> None:
        """Step until ``done()`` holds (checked after every event); fail past ``limit``."""
        while not done():
            if not self._queue or self._queue[0][0] > limit:
                raise AssertionError(f"not done by t={limit} (now {self.now})")
            self.step()

    # -- links -----------------------------------------------------------------
    def cut_link(self, a: str, b: str, one_way: bool = False) -> None:
        self.cut.add((a, b))
        if not one_way:
            self.cut.add((b, a))

    def heal(self) -> None:
        self.cut.clear()

    def _reachable(self, src: str, dst: str) -> bool:
        return (src, dst) not in self.cut

    # -- messages ----------------------------------------------------------------
    def send(self, src: str, dst: str, msg: Any, after_s: float = 0.0) -> None:
        """``msg`` leaves ``src`` ``after_s`` from now (lost if ``src`` is
        down or power-cycled by then) and arrives ``latency_s`` later (lost
        if ``dst`` is down, power-cycled meanwhile, or the link is cut)."""
        sender = self.hosts[src]
        self.at(self.now + after_s, self._depart, sender, sender.epoch, dst, msg)

    def _depart(self, sender: FakeHost, epoch: int, dst: str, msg: Any) -> None:
        if not sender.up or sender.epoch != epoch:
            return
        sent = Sent(self.now, sender.host_id, dst, msg)
        if not isinstance(msg, (_Beat, _BeatAck)):
            self.sent.append(sent)
        receiver = self.hosts.get(dst)
        if receiver is None or not self._reachable(sender.host_id, dst):
            return
        extra = self.extra_delays.pop(0) if self.extra_delays else 0.0
        self.at(self.now + self.latency_s + extra, self._arrive, sent, receiver, receiver.epoch)
        if self.duplicate_next > 0:
            self.duplicate_next -= 1
            self.at(self.now + 2 * self.latency_s, self._arrive, sent, receiver, receiver.epoch)

    def _arrive(self, sent: Sent, receiver: FakeHost, epoch: int) -> None:
        if not receiver.up or receiver.epoch != epoch or not self._reachable(sent.src, sent.dst):
            return
        sent.delivered_t = self.now
        receiver.deliver(sent.src, sent.msg)

    def messages(self, kind: type | None = None, src: str | None = None,
                 dst: str | None = None) -> list[Sent]:
        """The messages that left, filtered by type, sender and receiver."""
        return [s for s in self.sent if (kind is None or type(s.msg) is kind)
                and (src is None or s.src == src) and (dst is None or s.dst == dst)]

    # -- heartbeats ----------------------------------------------------------------
    def heartbeats(self, interval_s: float = 0.5, start: float | None = None) -> None:
        """Every ``interval_s``, every up host sends every other host a
        heartbeat (stamping the receiver's ``heard_at``), acknowledged back
        (stamping the sender's ``acked_at`` with the beat's send time).  With
        ``carry_commits``, a beat carries the commit point of every group its
        sender leads, handed to the receiver's replica as a commit notice."""
        self.at(self.now if start is None else start, self._beat, interval_s)

    def _beat(self, interval_s: float) -> None:
        for src, host in self.hosts.items():
            if not host.up or not host.ready:
                continue
            commits = [(pid, m.ballot, m.state.commit_lsn) for pid, m in host.members.items()
                       if m.role == LEADER] if self.carry_commits else []
            for dst in self.hosts:
                if dst != src:
                    self.send(src, dst, _Beat(self.now, commits))
        self.at(self.now + interval_s, self._beat, interval_s)


class FakeHost:
    """A storage host as its replicas see it: a :class:`ReplicaHost` on a
    :class:`FakeNet`, recording what the replicas ask of it."""

    def __init__(self, net: FakeNet, host_id: str, leader_timeout_s: float = 1.5) -> None:
        self.net = net
        self.host_id = host_id
        self.ready = True
        self.up = True
        self.epoch = 0
        self.boot_t = -math.inf
        self.leader_timeout_s = leader_timeout_s
        self.disk_s: float | None = None  # this host's disk delay (default: the net's)
        self.members: dict[str, Member] = {}
        self.last_recv: dict[str, float] = {}
        self.ack_send_t: dict[str, float] = {}
        # what the replicas asked for
        self.replies: list[dict[str, Any]] = []  # answers to routers that left, in order
        self.disk_writes = 0
        self.revoked: list[tuple[str, str, Ballot]] = []
        self.withdrawn: dict[str, Ballot] = {}
        self.retransmitting: set[Member] = set()
        self.behind: set[Member] = set()
        self.retired: list[str] = []
        self.committed_configs: list[tuple[str, int, Members]] = []
        self.activated: list[dict[str, Any]] = []
        self.corrupt_reads: list[tuple[str, str]] = []  # (pid, key) reads found corrupt
        self.other: list[tuple[str, Any]] = []  # messages no replica here handles
        # optional test hooks, called after recording
        self.on_config_committed: Callable[[Member, int, Members], None] | None = None
        self.on_leader_active: Callable[[Member], None] | None = None
        net.hosts[host_id] = self

    # -- ReplicaHost -------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.net.now

    def send(self, host_id: str, msg: Message, after_s: float = 0.0) -> None:
        self.net.send(self.host_id, host_id, msg, after_s)

    def disk_delay_s(self) -> float:
        self.disk_writes += 1
        return self.net.disk_s if self.disk_s is None else self.disk_s

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None:
        self.net.at(self.now + delay_s, self._timer, self.epoch, fn, args)

    def _timer(self, epoch: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        if epoch == self.epoch:
            fn(*args)

    def reply(self, src: str, op: StorageOp, status: str, value: Any = None, version: int = 0,
              applied: bool = True, leader_hint: str | None = None, after_s: float = 0.0) -> None:
        answer = {"to": src, "op_id": op.op_id, "status": status, "value": value,
                  "version": version, "applied": applied, "leader_hint": leader_hint,
                  "decided_t": self.now}
        self.net.at(self.now + after_s, self._reply_leaves, self.epoch, answer)

    def _reply_leaves(self, epoch: int, answer: dict[str, Any]) -> None:
        if self.up and epoch == self.epoch:
            answer["t"] = self.now
            self.replies.append(answer)

    def heard_at(self, host_id: str) -> float:
        return self.last_recv.get(host_id, -math.inf)

    @property
    def acks_seen(self) -> tuple[tuple[str, float], ...]:
        """Changes whenever an ``acked_at`` time does (tests may set them by hand)."""
        return tuple(sorted(self.ack_send_t.items()))

    def acked_at(self, host_id: str) -> float:
        return self.ack_send_t.get(host_id, -math.inf)

    def sees(self, host_id: str) -> bool:
        return self.now - self.heard_at(host_id) < self.leader_timeout_s

    def revoke(self, host_id: str, pid: str, ballot: Ballot) -> None:
        self.revoked.append((host_id, pid, ballot))

    def withdraw(self, pid: str, ballot: Ballot) -> None:
        self.withdrawn[pid] = ballot

    def unwithdraw(self, pid: str) -> None:
        self.withdrawn.pop(pid, None)

    def retransmit_later(self, member: Member) -> None:
        self.retransmitting.add(member)

    def lagging(self, member: Member, behind: bool) -> None:
        if behind:
            self.behind.add(member)
        else:
            self.behind.discard(member)

    def commit_advanced(self, member: Member) -> None:
        pass

    def holds(self, member: Member) -> bool:
        return self.members.get(member.pid) is member

    def retire(self, pid: str) -> None:
        self.retired.append(pid)
        member = self.members.pop(pid, None)
        if member is not None:
            member.step_down("retired")

    def membership_changed(self) -> None:
        pass

    def config_committed(self, member: Member, lsn: int, members: Members) -> None:
        self.committed_configs.append((member.pid, lsn, members))
        if self.on_config_committed is not None:
            self.on_config_committed(member, lsn, members)

    def item_corrupt(self, member: Member, key: str) -> None:
        self.corrupt_reads.append((member.pid, key))

    def leader_active(self, member: Member) -> None:
        self.activated.append({"t": self.now, "pid": member.pid, "ballot": member.ballot,
                               "commit_lsn": member.state.commit_lsn,
                               "recovery_lsn": member.recovery_lsn})
        if self.on_leader_active is not None:
            self.on_leader_active(member)

    # -- the host ------------------------------------------------------------------
    def deliver(self, src: str, msg: Any) -> None:
        if not self.ready:
            return
        if isinstance(msg, _Beat):
            self.last_recv[src] = self.now
            for pid, ballot, commit in msg.commits:
                member = self.members.get(pid)
                if member is not None:
                    member.on_commit_notice(ballot, commit)
            self.send(src, _BeatAck(msg.send_t))  # type: ignore[arg-type]
            return
        if isinstance(msg, _BeatAck):
            if msg.send_t > self.ack_send_t.get(src, -math.inf):
                self.ack_send_t[src] = msg.send_t
            return
        handler = HANDLERS.get(type(msg))
        if handler is None:
            self.other.append((src, msg))
            return
        member = self.members.get(msg.pid)
        if member is not None:
            handler(member, src, msg)

    def power_off(self) -> None:
        """Lose power: volatile state, timers and unsent messages go."""
        self.up = False
        self.ready = False
        self.epoch += 1
        for member in self.members.values():
            member.crash()
        self.last_recv.clear()
        self.ack_send_t.clear()

    def power_on(self) -> None:
        """Back at once (no boot delay): it has forgotten whom it granted leases."""
        self.up = True
        self.ready = True
        self.boot_t = self.now
        for member in self.members.values():
            member.state.replay()


# ----------------------------------------------------------------------
# a group of three
# ----------------------------------------------------------------------
HOSTS = ("h1", "h2", "h3")
MEMBERS: Members = tuple((h, STORAGE) for h in HOSTS)


class Group:
    """Three replicas of :data:`PID` on a :class:`FakeNet`, ``h1`` leading
    under ballot ``(1, "h1")`` from the start (as ``service.py`` places a
    table that was already running)."""

    def __init__(self, cfg: ReplicationConfig | None = None, bugs: Bugs | None = None,
                 seed: int = 1, latency_s: float = 0.001, disk_s: float = 0.0005,
                 members: Members = MEMBERS, leader: str | None = "h1") -> None:
        self.cfg = cfg or ReplicationConfig()
        self.bugs = bugs or Bugs()
        self.hooks = RecordingHooks()
        self.net = FakeNet(latency_s, disk_s)
        streams = Streams(seed)
        self.hosts: dict[str, FakeHost] = {}
        self.m: dict[str, Member] = {}
        ballot = (1, leader) if leader else None
        for host_id, kind in members:
            host = FakeHost(self.net, host_id, self.cfg.leader_timeout_s)
            state = ReplicaState(PID, host_id, kind, members)
            if ballot is not None:
                state.promise(ballot, ALWAYS)
            member = Member(host, state, self.cfg, streams.draws(f"storage/{host_id}/paxos"),
                            self.hooks, self.bugs)
            host.members[PID] = member
            self.hosts[host_id] = host
            self.m[host_id] = member
        if leader is not None and ballot is not None:
            self.m[leader].assume_leadership(ballot, [h for h, _ in members if h != leader])
        self._op_ids = itertools.count(1)

    def op(self, kind: str = PUT, key: str = "k", value: Any = "v",
           expected_version: int | None = None) -> StorageOp:
        op_id = next(self._op_ids)
        return StorageOp(op_id, PID, ClientRequest(op_id, kind, key, value, expected_version))

    def submit(self, host: str, op: StorageOp, router: str = "router") -> StorageOp:
        """``op`` reaches the replica on ``host`` from ``router``, now."""
        self.m[host].handle_op(router, op)
        return op

    def replies(self, op: StorageOp) -> list[dict[str, Any]]:
        return [r for h in self.hosts.values() for r in h.replies if r["op_id"] == op.op_id]


def is_put(record: Any, key: str, value: Any) -> bool:
    """Whether ``record`` is an unconditional put of ``key`` = ``value`` as a
    leader makes it: stamped with the time it proposed it (so it equals no
    record made without that time)."""
    return (record.op, record.key, record.value, record.expected_version) == (
        "put", key, value, None) and record.t_s is not None
