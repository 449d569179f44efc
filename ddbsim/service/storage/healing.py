"""Healing: a leader repairs its replication group, fast with a log replica,
then for good with a storage replica.

Paper §5.1 and §6.1: when a replica becomes unhealthy, the leader adds a
**log replica** on a healthy host in the same AZ.  It copies only the
unarchived WAL (a few hundred MB), so it takes seconds, and the group has a
full write quorum again.  A **storage replica** is then rebuilt by copying
the B-tree (up to ~10 GB), which takes minutes; when it has caught up it
replaces the log replica.  Every membership change goes through the log.
With ``healing.log_replicas`` off only the slow path exists.

**Reconciliation, not reaction.**  One :class:`Healer` per storage node
repairs the groups that node leads, from what the membership *is*, never
from the failure it happened to see (a control loop in the Kubernetes
sense).  For every member:

* a member the leader considers unhealthy (silent for
  ``healing.detection_s``) is replaced by a log replica (or, without log
  replicas, a storage replica) on another host of the same AZ;
* a log replica is rebuilt in place into a storage replica;
* otherwise it is whole, and when every member is, so is the group.

A leader that cannot hear a quorum of its group repairs nothing (its
changes could not commit, and its view is the suspect one).  Copies run in
parallel, but the membership changes one swap at a time: while a change
is in the log but not yet committed, the healer waits for it (two changes
computed from one membership would each undo the other's swap).  The repair in progress is
the leader's volatile state and is lost with its leadership; whoever leads
next sees the same membership and resumes the job (a log replica left
behind is rebuilt by the next leader).  The plan is recomputed at every
trigger -- the node became leader, a peer became unhealthy or healthy
again, a membership change committed, a copy finished -- and a repair that
no longer matches the plan is dropped (a new replica already copied to,
but not yet in the group, is told to retire).

**Where a replacement goes** is the least-loaded host of the lost
replica's AZ that holds no replica of the partition
(:class:`~ddbsim.service.autoadmin.placement.Placement`, from the control
plane's partition map), avoiding the hosts this leader considers unhealthy
and any that recently failed to confirm a copy -- the leader's own view of
health, not the hosts' true power state.  A copy to a host that turns out
to be down is noticed when its confirmation does not come within
``healing.bootstrap_timeout_s``.  If the AZ has no candidate (an AZ
outage), the group runs on two replicas (never two in one AZ) and the
healer looks again every ``healing.retry_s``.

Copy times are the modelled sizes over the modelled bandwidths of
:class:`~ddbsim.config.HealingConfig`; what is copied is the real state
(the leader's committed WAL, or a snapshot of its B-tree) at the end of the
copy.  Work grows with repairs, not with partitions: nothing runs for a
group that is whole.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol

from ddbsim.config import HealingConfig
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import LOG, STORAGE, Members
from ddbsim.service.messages import Bootstrap, BootstrapAck, Message, Retire
from ddbsim.service.probes import HITS as PROBE_HITS
from ddbsim.service.storage.log import LogRecord
from ddbsim.service.storage.paxos import Member


class HealerHost(Protocol):
    """What a healer needs from its storage node."""

    host_id: str
    members: dict[str, Member]

    @property
    def now(self) -> float: ...

    def send(self, host_id: str, msg: Message) -> None: ...

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None: ...

    def is_healthy(self, host_id: str) -> bool:
        """False once ``host_id`` has been silent for ``healing.detection_s``."""

    def unhealthy_hosts(self) -> Collection[str]: ...

    def last_contact(self, host_id: str) -> float:
        """When any heartbeat traffic from ``host_id`` last arrived."""


class Replacements(Protocol):
    """The control plane's placement, as a healer asks it."""

    def replacement(self, pid: str, az: str, avoid: Collection[str]) -> str | None: ...


class _Plan:
    """What one member needs: a ``kind`` replica in place of ``replaced``
    (in ``az``) -- a replacement elsewhere if ``lost``, else an in-place
    rebuild of the log replica on ``replaced``."""

    __slots__ = ("replaced", "kind", "az", "lost")

    def __init__(self, replaced: str, kind: str, az: str, lost: bool) -> None:
        self.replaced = replaced
        self.kind = kind
        self.az = az
        self.lost = lost  # the replaced member is unhealthy (else: a log replica to rebuild)

    def same(self, other: _Plan) -> bool:
        return self.replaced == other.replaced and self.kind == other.kind


class _Repair:
    """A repair in progress on one group (the leader's volatile state):
    ``waiting`` for a host, ``copying``, ``bootstrapping`` (the copy was
    sent; waiting for the target to confirm it), ``ready`` (confirmed;
    waiting for its turn to change the membership), ``committing``."""

    __slots__ = ("plan", "ballot", "target", "step", "token", "copied")

    def __init__(self, plan: _Plan, ballot: tuple[int, str], target: str | None, token: int) -> None:
        self.plan = plan
        self.ballot = ballot
        self.target = target
        self.step = "copying" if target is not None else "waiting"
        self.token = token
        self.copied = False  # the target holds a copy (it confirmed)


class Healer:
    def __init__(self, node: HealerHost, cfg: HealingConfig, placement: Replacements,
                 az_of: Callable[[str], str], hooks: ServiceHooks) -> None:
        self.node = node
        self.cfg = cfg
        self.placement = placement
        self.az_of = az_of
        self.hooks = hooks
        self._tokens = 0
        self.reset()

    def reset(self) -> None:
        """The node lost power: every repair in progress is forgotten."""
        # pid -> the member being replaced -> its repair
        self.repairs: dict[str, dict[str, _Repair]] = {}
        # hosts that did not confirm a copy -> until when to avoid them
        self.avoid_until: dict[str, float] = {}
        # partitions whose repairs we dropped for want of a quorum (see reconcile)
        self.paused: set[str] = set()

    # ------------------------------------------------------------------
    # triggers
    # ------------------------------------------------------------------
    def peer_unhealthy(self, peer: str) -> None:
        """``peer`` has been silent for the detection time."""
        for pid, member in list(self.node.members.items()):
            if member.is_leader and any(h == peer for h, _ in member.state.config):
                self.reconcile(pid)

    def peer_healthy(self, peer: str) -> None:
        """``peer`` was heard again: repairs of it may be moot, and a group
        that could not hear a quorum may now."""
        for pid, member in list(self.node.members.items()):
            if member.is_leader and (pid in self.repairs or any(
                    h == peer for h, _ in member.state.config)):
                self.reconcile(pid)

    def config_committed(self, member: Member, previous: Members, members: Members) -> None:
        """``member`` (leading) committed the change from ``previous`` to
        ``members`` -- ours, or one an earlier leader proposed."""
        now = self.node.now
        for (old_host, old_kind), (host, kind) in zip(previous, members, strict=False):
            if (old_host, old_kind) != (host, kind):
                self.hooks.replica_added(now, member.pid, host, kind, old_host)
        group = self.repairs.get(member.pid)
        if group:
            for replaced, repair in list(group.items()):
                if repair.step == "committing":
                    del group[replaced]
        self.reconcile(member.pid)

    def bootstrap_acked(self, src: str, msg: BootstrapAck) -> None:
        for repair in self.repairs.get(msg.pid, {}).values():
            if (repair.step == "bootstrapping" and repair.target == src
                    and repair.ballot == msg.ballot and repair.plan.kind == msg.kind):
                repair.copied = True
                repair.step = "ready"
                self.reconcile(msg.pid)
                return

    # ------------------------------------------------------------------
    # the control loop
    # ------------------------------------------------------------------
    def reconcile(self, pid: str) -> None:
        """Compare the group's membership with a whole group: drop repairs
        that are no longer wanted, start the missing ones, and propose the
        next membership change when none is in flight."""
        member = self.node.members.get(pid)
        group = self.repairs.get(pid)
        plans = self._plans(member) if member is not None and member.is_leader else None
        if plans is None:  # not leading, or cannot hear a quorum: repair nothing
            if group and member is not None and member.is_leader and pid not in self.paused:
                self.paused.add(pid)
                self.hooks.repairs_paused(self.node.now, pid)
            for replaced in list(group or ()):
                self._drop(pid, replaced)
            self.repairs.pop(pid, None)
            return
        assert member is not None
        if pid in self.paused:
            self.paused.discard(pid)
            self.hooks.repairs_resumed(self.node.now, pid)
        st = member.state
        wanted = {p.replaced: p for p in plans}
        if group is None:
            group = self.repairs[pid] = {}
        for replaced, repair in list(group.items()):
            plan = wanted.get(replaced)
            if repair.ballot != member.ballot:
                self._drop(pid, replaced)  # left over from an earlier term of ours
            elif repair.step == "committing":
                if st.config_lsn <= st.commit_lsn:
                    self._drop(pid, replaced)  # our change is gone (a new term replaced it)
            elif plan is None or not plan.same(repair.plan) or repair.step == "waiting":
                self._drop(pid, replaced)
        if not plans and not group:
            del self.repairs[pid]
            self.hooks.group_whole(self.node.now, pid, st.config)
            return
        for plan in plans:
            if plan.lost:
                self.hooks.replica_lost(self.node.now, pid, plan.replaced,
                                        self.node.last_contact(plan.replaced))
            if plan.replaced not in group:
                self._start(member, plan)
        self._propose_next(member, group)

    def _plans(self, member: Member) -> list[_Plan] | None:
        """What the group needs, in membership order; None if this leader
        cannot hear a quorum of it (its changes could not commit, and its
        own view is the suspect one)."""
        node = self.node
        config = member.state.config
        healthy = sum(1 for host, _ in config if host == node.host_id or node.is_healthy(host))
        if healthy < member.quorum(config):
            return None
        plans = []
        for host, kind in config:
            if host != node.host_id and not node.is_healthy(host):
                new_kind = LOG if self.cfg.log_replicas else STORAGE
                plans.append(_Plan(host, new_kind, self.az_of(host), lost=True))
            elif kind == LOG:
                plans.append(_Plan(host, STORAGE, self.az_of(host), lost=False))
        return plans

    def _start(self, member: Member, plan: _Plan) -> None:
        pid = member.pid
        node = self.node
        if not plan.lost:
            target: str | None = plan.replaced  # rebuild the log replica in place
        else:
            now = node.now
            avoid = {h for h, t in self.avoid_until.items() if t > now}
            avoid.update(node.unhealthy_hosts())
            avoid.update(h for h, _ in member.state.config)
            avoid.update(r.target for r in self.repairs[pid].values() if r.target is not None)
            target = self.placement.replacement(pid, plan.az, avoid)
        self._tokens += 1
        repair = _Repair(plan, member.ballot, target, self._tokens)
        self.repairs[pid][plan.replaced] = repair
        if target is None:
            PROBE_HITS["healing_blocked_no_host"] += 1
            self.hooks.healing_blocked(node.now, pid, plan.replaced,
                                       f"no healthy host in {plan.az} can take a replica")
            node.later(self.cfg.retry_s, self._retry, pid, plan.replaced, repair.token)
            return
        copy_s = self.cfg.log_copy_s if plan.kind == LOG else self.cfg.rebuild_s
        node.later(copy_s, self._copied, pid, plan.replaced, repair.token)

    def _propose_next(self, member: Member, group: dict[str, _Repair]) -> None:
        """One membership change at a time: two changes computed from the
        same membership would each undo the other's swap."""
        st = member.state
        if st.config_lsn > st.commit_lsn or any(r.step == "committing" for r in group.values()):
            return
        for host, _kind in st.config:
            repair = group.get(host)
            if repair is not None and repair.step == "ready":
                assert repair.target is not None
                new: Members = tuple((repair.target, repair.plan.kind) if h == host else (h, k)
                                     for h, k in st.config)
                repair.step = "committing"
                if repair.plan.lost:
                    PROBE_HITS["membership_change_replica_down"] += 1
                member.propose(LogRecord.config(new))
                return

    def _repair(self, pid: str, replaced: str, token: int) -> _Repair | None:
        repair = self.repairs.get(pid, {}).get(replaced)
        return repair if repair is not None and repair.token == token else None

    def _retry(self, pid: str, replaced: str, token: int) -> None:
        if self._repair(pid, replaced, token) is not None:
            self._drop(pid, replaced)
            self.reconcile(pid)

    def _copied(self, pid: str, replaced: str, token: int) -> None:
        """The copy time has passed: send the copy and wait for the target
        to confirm it."""
        repair = self._repair(pid, replaced, token)
        if repair is None:
            return
        member = self.node.members.get(pid)
        plans = self._plans(member) if member is not None and member.is_leader \
            and member.ballot == repair.ballot else None
        if plans is None or not any(p.same(repair.plan) for p in plans):
            self.reconcile(pid)  # drops it, and starts what is wanted now
            return
        assert member is not None and repair.target is not None
        st = member.state
        kind = repair.plan.kind
        new: Members = tuple((repair.target, kind) if h == replaced else (h, k)
                             for h, k in st.config)
        repair.step = "bootstrapping"
        self.node.send(repair.target, Bootstrap(
            pid, member.ballot, kind, new, st.commit_lsn, st.commit_lsn,
            st.entries_from(1, st.commit_lsn) if kind == LOG else [],
            st.snapshot() if kind == STORAGE else None, replaced))
        self.node.later(self.cfg.bootstrap_timeout_s, self._unconfirmed, pid, replaced, token)

    def _unconfirmed(self, pid: str, replaced: str, token: int) -> None:
        repair = self._repair(pid, replaced, token)
        if repair is None or repair.step != "bootstrapping":
            return
        assert repair.target is not None
        if repair.target != replaced:  # not an in-place rebuild: try another host
            self.avoid_until[repair.target] = self.node.now + self.cfg.retry_s
        self._drop(pid, replaced)
        self.reconcile(pid)

    def _drop(self, pid: str, replaced: str) -> None:
        """Forget a repair; a new replica that holds a copy but never joined
        the group is told to retire."""
        group = self.repairs.get(pid)
        repair = group.pop(replaced, None) if group else None
        if repair is None or repair.target is None or not repair.copied \
                or repair.target == replaced or repair.step == "committing":
            return
        member = self.node.members.get(pid)
        if member is not None and all(h != repair.target for h, _ in member.state.config):
            self.node.send(repair.target, Retire(pid, repair.ballot, member.state.config))
