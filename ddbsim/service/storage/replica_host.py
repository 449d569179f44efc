"""What a replica needs from the storage node it lives on.

A :class:`~ddbsim.service.storage.paxos.Member` is one partition's replica;
everything it does beyond its own state goes through its host: messages to
other hosts, the disk, timers, the failure detector's timestamps (leases
are computed from them), and the node-wide bookkeeping that heartbeats
carry (commit points, withdrawn ballots, lease revocations).  The storage
node implements this protocol; unit tests implement it with a fake.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ddbsim.service.messages import Ballot, Members, Message, StorageOp

if TYPE_CHECKING:
    from ddbsim.service.storage.paxos import Member


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
    def send(self, host_id: str, msg: Message) -> None:
        """Send ``msg`` to the storage node on ``host_id`` (it may be lost)."""

    def persist(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once the disk has persisted a write issued now;
        never, if the host loses power first."""

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` after ``delay_s``, unless the host power-cycles first."""

    def reply(self, src: str, op: StorageOp, status: str, value: Any = None, version: int = 0,
              applied: bool = True, leader_hint: str | None = None) -> None:
        """Answer the router on ``src`` about ``op``."""

    # -- the failure detector (heartbeats) -------------------------------
    def heard_at(self, host_id: str) -> float:
        """When a heartbeat from ``host_id`` last arrived (-inf if never)."""

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
