"""Deliberate protocol bugs, for proving that the checkers can fail.

Tests and the mutation self-test switch these on through
:meth:`ddbsim.service.service.Service.inject_bug`, by name; an unknown name
is an error.  They are not part of :class:`~ddbsim.config.Config` and cannot
be set from the command line.  Components hold one :class:`Bugs` and read
its boolean fields on the hot path (a typo is an ``AttributeError``, never a
switch that is silently off).

* ``ack_before_quorum`` -- the leader acknowledges a write as soon as its
  own WAL record is persisted, without waiting for a quorum.
* ``skip_recovery`` -- a new leader does not recover accepted-but-uncommitted
  entries from the promises; it continues from its own log.
* ``no_lease_wait`` -- a candidate does not wait for the old leader's lease
  to run out, and acceptors do not refuse a prepare while they still grant
  a lease (or just booted): two leaders can hold leases at once.
* ``follower_strong_read`` -- a replica that does not lead answers a
  strongly consistent read from its own state (as it would an eventual
  one) instead of saying ``not_leader``; a router whose leader cache is
  stale then gets a stale "strong" read.
* ``log_replica_counts_twice`` -- a log replica's acknowledgement (and
  promise) counts as two votes toward the quorum, so a log replica alone
  can choose a record before anyone else -- the leader included -- has it
  on disk.
* ``apply_before_commit`` -- the leader applies a write to its B-tree when
  it proposes it, before a quorum has accepted it: reads see writes that
  may never commit, and a write replaced in recovery stays in the B-tree.
* ``apply_bad_checksum`` -- a replica replaying its WAL after a reboot does
  not verify the records' checksums: a record that rotted on its disk is
  applied, and its B-tree silently differs from the other replicas' (the
  scrub must catch it).

Plausible mistakes of the kinds that once escaped every checker (issue 13):

* ``follower_ack_before_durable`` -- an acceptor sends ``accepted`` as soon
  as it has the record in memory, not once it is on disk.
* ``partial_ballot_compare`` -- an acceptor compares only the round of a
  ballot, not the host that breaks ties: it takes accepts from a rival
  candidate of the same round after promising the other.
* ``acks_any_ballot`` -- a leader counts an ``accepted`` whatever ballot it
  was sent for (an old ballot's late ack for another value at that position).
* ``promise_not_durable`` -- an acceptor answers a prepare without writing
  its promise to disk: a reboot forgets it.
* ``follower_commits_accepted`` -- an acceptor takes what it accepted as
  committed, and applies it.
* ``recovery_lowest_ballot`` -- recovery takes, at each position, the value
  accepted under the *lowest* ballot rather than the highest.
* ``accept_any_ballot`` -- an acceptor takes accepts from any ballot, even
  one below its promise.
* ``forget_uncommitted_on_crash`` -- a reboot throws away every record above
  the commit point, durable or not (as if the WAL tail were a cache).
* ``lease_from_ack_receipt`` -- a leader measures its lease from when a
  heartbeat's acknowledgement arrived, not from when the heartbeat was sent.
* ``catchup_serves_uncommitted`` -- a leader catching a follower up sends
  its whole log, uncommitted tail included, which the follower commits.
* ``read_without_lease`` -- a leader serves a strong read even when its
  lease has run out (it may no longer lead).
* ``forget_lease_on_boot`` -- an acceptor that just booted promises at
  once, though it may have granted a lease it no longer remembers.
"""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(slots=True)
class Bugs:
    ack_before_quorum: bool = False
    skip_recovery: bool = False
    no_lease_wait: bool = False
    follower_strong_read: bool = False
    log_replica_counts_twice: bool = False
    apply_before_commit: bool = False
    apply_bad_checksum: bool = False
    follower_ack_before_durable: bool = False
    partial_ballot_compare: bool = False
    acks_any_ballot: bool = False
    promise_not_durable: bool = False
    follower_commits_accepted: bool = False
    recovery_lowest_ballot: bool = False
    accept_any_ballot: bool = False
    forget_uncommitted_on_crash: bool = False
    lease_from_ack_receipt: bool = False
    catchup_serves_uncommitted: bool = False
    read_without_lease: bool = False
    forget_lease_on_boot: bool = False

    def enable(self, name: str) -> None:
        """Switch on the bug called ``name``."""
        if name not in KNOWN_BUGS:
            raise ValueError(f"unknown bug {name!r}; known: {', '.join(sorted(KNOWN_BUGS))}")
        setattr(self, name, True)

    def enabled(self) -> list[str]:
        return [name for name in KNOWN_BUGS if getattr(self, name)]


#: The names of every deliberate bug.
KNOWN_BUGS: tuple[str, ...] = tuple(f.name for f in fields(Bugs))
