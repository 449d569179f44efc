"""Code probes: which rare situations a run actually reached.

FoundationDB's ``CODE_PROBE``: coverage of *situations*, not of lines.  A
probe is a name at a place in the protocol or healing code where something
rare and interesting is going on ("a promise carried a value accepted under
an older ballot", "recovery re-proposed a value").  A run counts how often
each probe was hit; a sweep reports, per probe, how many seeds hit it, and
names the probes no seed hit -- the situations the sweep never tested, and
so the places where a bug would have gone unseen.

Probes are observation: a hit is one dictionary increment, in branches that
are rare already; nothing reads the counts but the lab, after the run.  The
counts live in this module (one process runs one simulation at a time);
:func:`reset` starts a run's count, :func:`counts` reads it.
"""
from __future__ import annotations

#: Every probe, with what it means.
PROBES: dict[str, str] = {
    "promise_carried_older_accepted":
        "a promise carried an uncommitted value accepted under an older ballot",
    "recovery_reproposed_value": "a new leader re-proposed a value it found in the promises",
    "recovery_filled_noop": "a new leader filled a hole in the log with a no-op",
    "recovery_took_higher_ballot":
        "recovery found two values at one position and took the higher ballot's",
    "ack_older_ballot_ignored": "a leader ignored an 'accepted' sent for another ballot",
    "accept_refused_older_ballot": "an acceptor refused an accept from an older ballot",
    "accept_already_committed":
        "an acceptor got a record it had committed already (a duplicate or a late retransmission)",
    "prepare_refused_lease": "an acceptor refused a prepare while it granted a lease",
    "prepare_refused_booting": "an acceptor refused a prepare because it had just booted",
    "rebooted_between_promise_and_accept":
        "a host booted having promised a ballot it accepted nothing under",
    "crash_lost_unsynced_record": "a power-off lost a WAL record that was not yet durable",
    "leader_preempted": "a leader or candidate stepped down for a higher ballot",
    "commit_waited_for_own_disk": "a chosen record waited for the leader's own disk",
    "joint_quorum": "a decision needed a quorum of two memberships (a change in flight)",
    "learnt_config_from_promise": "a candidate learnt a membership change from a promise",
    "catchup_snapshot": "a lagging replica was sent a snapshot (the log had a gap)",
    "membership_change_replica_down": "a leader proposed a membership change for a member it saw down",
    "healing_blocked_no_host": "a lost replica's AZ had no healthy host to take its place",
    "restored_from_archive":
        "a replica that dropped a rotten committed record on replay restored from the archive",
}

HITS: dict[str, int] = dict.fromkeys(PROBES, 0)


def reset() -> None:
    """Start counting a new run."""
    for name in HITS:
        HITS[name] = 0


def counts() -> dict[str, int]:
    """The probes hit since the last :func:`reset`, with their counts."""
    return {name: n for name, n in HITS.items() if n}
