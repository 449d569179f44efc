"""Healing: replacing a lost replica, fast with a log replica, then for good.

Paper §5.1 and §6.1: when a replica becomes unhealthy, the leader adds a
**log replica** on a healthy host in the same AZ.  It copies only the
unarchived WAL (a few hundred MB), so it takes seconds, and the group has a
full write quorum again.  A **storage replica** is then rebuilt by copying
the B-tree (up to ~10 GB), which takes minutes; when it has caught up it
replaces the log replica.  Every membership change goes through the log.
With ``healing.log_replicas`` off only the slow path exists.

Copy times are the modelled sizes over the modelled bandwidths in
:class:`~ddbsim.config.HealingConfig`; what is copied is the real state (the
leader's committed WAL, or a snapshot of its B-tree).  If the lost replica's
AZ has no host that can take a replica (an AZ outage), the group keeps
running on two replicas and the healer retries every ``healing.retry_s``.

One healer (a SimPy process) runs per lost replica -- work grows with
failures, not with the number of partitions.
"""
from __future__ import annotations

from collections.abc import Generator

import simpy

from ddbsim.config import HealingConfig
from ddbsim.service.autoadmin.placement import Placement
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.messages import LOG, STORAGE, Bootstrap, Members
from ddbsim.service.storage.log import LogRecord
from ddbsim.service.storage.paxos import Member
from ddbsim.world.topology import Topology

_ACK_TIMEOUT_S = 5.0


class Healing:
    def __init__(self, env: simpy.Environment, cfg: HealingConfig, topology: Topology,
                 placement: Placement, hooks: ServiceHooks) -> None:
        self.env = env
        self.cfg = cfg
        self.topology = topology
        self.placement = placement
        self.hooks = hooks
        self._active: set[tuple[str, str]] = set()
        self._acks: dict[tuple[str, str, str], simpy.Event] = {}
        # pid -> fires when the membership change in progress there is done
        self._changing: dict[str, simpy.Event] = {}

    def start(self, member: Member, lost_host: str, last_seen_s: float) -> None:
        key = (member.pid, lost_host)
        if key in self._active:
            return
        self._active.add(key)
        self.env.process(self._heal(member, lost_host, last_seen_s, key))

    def bootstrap_acked(self, pid: str, host: str, kind: str) -> None:
        ev = self._acks.pop((pid, host, kind), None)
        if ev is not None and not ev.triggered:
            ev.succeed(True)

    # ------------------------------------------------------------------
    def _heal(self, member: Member, lost: str, last_seen_s: float,
              key: tuple[str, str]) -> Generator[simpy.Event, object, None]:
        try:
            yield from self._replace(member, lost, last_seen_s)
        finally:
            self._active.discard(key)

    def _leading(self, member: Member, ballot: tuple[int, str]) -> bool:
        node = member.host
        return (node.holds(member) and member.is_leader
                and member.ballot == ballot and node.host.powered)  # type: ignore[attr-defined]

    def _replace(self, member: Member, lost: str,
                 last_seen_s: float) -> Generator[simpy.Event, object, None]:
        env = self.env
        cfg = self.cfg
        ballot = member.ballot
        node = member.host
        pid = member.pid
        az = self.topology.hosts[lost].az
        self.hooks.replica_lost(env.now, pid, lost, last_seen_s)
        # Find a host in the same AZ; wait while there is none (AZ outage).
        while True:
            if not self._leading(member, ballot) or not _in(member.state.config, lost):
                return
            if node.is_healthy(lost):  # type: ignore[attr-defined]
                return  # it came back before we replaced it
            target = self.placement.replacement(pid, az)
            if target is not None:
                break
            yield env.timeout(cfg.retry_s)
        replaced = lost
        if cfg.log_replicas:
            yield env.timeout(cfg.unarchived_wal_bytes / cfg.log_copy_bytes_per_s)
            if not self._leading(member, ballot):
                return
            ok = yield from self._join(member, target.id, LOG, replaced)
            if not ok:
                return
            replaced = target.id
        yield env.timeout(cfg.partition_size_bytes / cfg.rebuild_bytes_per_s)
        if not self._leading(member, ballot) or not target.powered:
            return
        yield from self._join(member, target.id, STORAGE, replaced)

    def _join(self, member: Member, host: str, kind: str,
              replaced: str) -> Generator[simpy.Event, object, bool]:
        """Copy the partition to ``host`` as a ``kind`` replica, then commit
        the membership change that swaps it in for ``replaced``.

        One change at a time per partition: two healers computing their new
        membership from the same old one would each undo the other's swap
        (the last to commit wins, and the first's new replica is retired while
        the host it replaced is back in the group with no replica on it)."""
        env = self.env
        pid = member.pid
        while pid in self._changing:
            yield self._changing[pid]
        done = self._changing[pid] = env.event()
        try:
            return (yield from self._change(member, host, kind, replaced))
        finally:
            del self._changing[pid]
            done.succeed()

    def _change(self, member: Member, host: str, kind: str,
                replaced: str) -> Generator[simpy.Event, object, bool]:
        env = self.env
        st = member.state
        if st.config_lsn > st.commit_lsn:  # a change from an earlier leader: let it finish
            committed = yield self._wait_commit(member, st.config_lsn)
            if not committed:
                return False
        if not self._leading(member, member.ballot) or not _in(st.config, replaced):
            return False
        new_config: Members = tuple((host, kind) if h == replaced else (h, k) for h, k in st.config)
        msg = Bootstrap(member.pid, member.ballot, kind, new_config, st.commit_lsn, st.commit_lsn,
                        st.entries_from(1, st.commit_lsn) if kind == LOG else [],
                        st.snapshot() if kind == STORAGE else None)
        ack = env.event()
        self._acks[(member.pid, host, kind)] = ack
        member.host.send(host, msg)
        got = yield ack | env.timeout(_ACK_TIMEOUT_S)
        if ack not in got or not self._leading(member, member.ballot) or not _in(st.config, replaced):
            self._acks.pop((member.pid, host, kind), None)
            return False
        lsn = member.propose(LogRecord.config(new_config))
        committed = yield self._wait_commit(member, lsn)
        if not committed:
            return False
        self.hooks.replica_added(env.now, member.pid, host, kind, replaced)
        return True

    def _wait_commit(self, member: Member, lsn: int) -> simpy.Event:
        ev = self.env.event()
        member.on_commit(lsn, ev.succeed)
        return ev


def _in(members: Members, host: str) -> bool:
    return any(h == host for h, _ in members)
