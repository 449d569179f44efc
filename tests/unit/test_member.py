"""Member (one replica's Multi-Paxos) through fake hosts: elections, quorum
commits, leases, prepare refusals and crashes, on a deterministic network.

Three real :class:`~ddbsim.service.storage.paxos.Member` objects of one
partition sit on :class:`fakes.FakeHost` s: a message takes 1 ms, a disk write
0.5 ms unless a test says otherwise, heartbeats (when started) go every
0.5 s.  Nothing here runs a failure detector: a test calls
``start_election`` where the storage node would.
"""
from __future__ import annotations

import pytest
from fakes import PID, Group, is_put

from ddbsim.config import ReplicationConfig
from ddbsim.service.bugs import Bugs
from ddbsim.service.messages import (
    GET_STRONG,
    PUT,
    Accepted,
    LeaderCheck,
    LeaderCheckReply,
    Prepare,
    PrepareRefused,
    Promise,
    StorageOp,
)
from ddbsim.service.storage.log import NOOP_RECORD
from ddbsim.service.storage.paxos import FOLLOWER, LEADER

B1 = (1, "h1")
B2 = (2, "h2")


# ----------------------------------------------------------------------
# an election
# ----------------------------------------------------------------------
def _elect_h2_after_h1_dies(bugs: Bugs | None = None) -> tuple[Group, dict]:
    """h1 leads; it proposes put(k, v), which only h3 accepts (h1-h2 is
    cut, and h3's acknowledgement never reaches h1); then h1 loses power.
    h2, once it no longer sees h1, stands for election.  Returns the group
    and what was observed on the way."""
    # A lease longer than suspicion + the guard's wait, so that waiting it
    # out is visible: h2 suspects h1 1.5 s after its last heartbeat, its
    # guard waits up to 0.5 s for h1's answer, the lease runs 3 s.
    cfg = ReplicationConfig(lease_s=3.0)
    g = Group(cfg, bugs)
    net = g.net
    net.heartbeats(cfg.heartbeat_interval_s)
    net.run(1.2)
    net.cut_link("h1", "h2")
    net.cut_link("h3", "h1", one_way=True)
    op = g.submit("h1", g.op(PUT, "k", "v"))
    net.run(1.25)
    h1, h2, h3 = g.m["h1"], g.m["h2"], g.m["h3"]
    # Accepted by h1 and h3 (durably), not by h2, and not chosen.
    assert h3.state.is_durable(1, net.now) and is_put(h3.state.log[1].record, "k", "v")
    assert 1.2 <= h3.state.log[1].record.t_s < 1.25  # stamped when h1 proposed it
    assert 1 not in h2.state.log
    assert h1.state.commit_lsn == 0 and h3.state.commit_lsn == 0
    g.hosts["h1"].power_off()
    host2 = g.hosts["h2"]
    heard = host2.heard_at("h1")
    assert heard == g.hosts["h3"].heard_at("h1")  # both last heard h1's beat of t=1.0

    net.run_until(lambda: not host2.sees("h1"), limit=5.0)
    # the record h1 made, stamped with the time it proposed it
    seen = {"suspect_t": net.now, "heard": heard, "op": op, "leader_t": None,
            "record": h3.state.log[1].record}
    h2.start_election()  # what the node's failure detector does now
    while not h2.active:
        net.step()
        if h2.role == LEADER and seen["leader_t"] is None:
            seen["leader_t"] = net.now
        # Never active before the recovery (everything up to its no-op) commits.
        assert not h2.active or h2.state.commit_lsn >= h2.recovery_lsn >= 1
        if h2.role == LEADER and not h2.active:
            assert not h2.is_leader and h2.leader_hint() is None
        assert net.now < 10.0, "h2 did not become an active leader"
    seen["active_t"] = net.now
    net.run(net.now + 0.1)
    return g, seen


def test_election_runs_the_guard_waits_out_the_lease_and_recovers_an_accepted_entry() -> None:
    _assert_sound_election(*_elect_h2_after_h1_dies())


def _assert_sound_election(g: Group, seen: dict) -> None:
    net, cfg = g.net, g.cfg
    h2, h3 = g.m["h2"], g.m["h3"]

    # The gray-failure guard first: h2 asks the others whether they still
    # see h1; h3 does not (h1 is dead), h1 cannot answer.
    checks = net.messages(LeaderCheck, src="h2")
    assert {s.dst for s in checks} == {"h1", "h3"}
    assert all(s.t == seen["suspect_t"] for s in checks)
    answers = net.messages(LeaderCheckReply, src="h3", dst="h2")
    assert len(answers) == 1 and not answers[0].msg.sees and answers[0].msg.leader == "h1"

    # Then it waits out the lease it granted h1 (3 s from its last heartbeat)
    # -- well after the guard is done -- before its prepare.
    prepares = net.messages(Prepare, src="h2")
    assert {s.dst for s in prepares} == {"h1", "h3"}
    first_prepare = min(s.t for s in prepares)
    guard_done = seen["suspect_t"] + cfg.election_timeout_s
    assert first_prepare >= seen["heard"] + cfg.lease_s, "prepared inside the old lease"
    assert seen["heard"] + cfg.lease_s > guard_done + 0.4
    assert first_prepare == pytest.approx(seen["heard"] + cfg.lease_s)
    assert all(s.msg.ballot == B2 and s.msg.from_lsn == 1 for s in prepares)

    # h3 promises, carrying the entry it accepted from h1 (not committed).
    promises = net.messages(Promise, src="h3", dst="h2")
    assert len(promises) == 1
    assert promises[0].msg.entries == [(1, B1, seen["record"])]
    assert promises[0].msg.commit_lsn == 0

    # With h2's own vote that is a quorum: h2 leads, re-proposes the entry
    # under its ballot at the same position, then a no-op, and commits both.
    assert h2.role == LEADER and h2.ballot == B2 and h2.state.promised == B2
    assert [(lsn, e.ballot, e.record) for lsn, e in sorted(h2.state.log.items())] == [
        (1, B2, seen["record"]), (2, B2, NOOP_RECORD)], "the accepted entry was lost"
    assert h2.state.log[1].record.t_s == seen["record"].t_s  # re-proposed, it keeps h1's stamp
    assert h2.recovery_lsn == 2
    assert h2.state.commit_lsn == 2 and h2.state.read("k") == ("v", 1)
    assert h3.state.log[1].ballot == B2 and is_put(h3.state.log[1].record, "k", "v")

    # Active only once its recovery committed, and only then.
    assert len(g.hosts["h2"].activated) == 1
    act = g.hosts["h2"].activated[0]
    assert act["ballot"] == B2 and act["commit_lsn"] >= act["recovery_lsn"] == 2
    assert seen["leader_t"] < act["t"] == seen["active_t"]
    # h1 never chose the write, so nobody told the router it was done.
    assert g.replies(seen["op"]) == []


def test_election_without_recovery_loses_the_accepted_entry() -> None:
    """The check above can fail: with the bug ``skip_recovery`` the new
    leader fills position 1 with its own log (nothing there: a no-op)."""
    g, seen = _elect_h2_after_h1_dies(Bugs(skip_recovery=True))
    with pytest.raises(AssertionError, match="the accepted entry was lost"):
        _assert_sound_election(g, seen)
    assert g.m["h2"].state.log[1].record == NOOP_RECORD
    assert g.m["h2"].state.read("k") == (None, 0)


def test_election_without_lease_wait_prepares_before_the_lease_ran_out() -> None:
    """The check above can fail: with ``no_lease_wait`` the prepare leaves
    as soon as the guard is done, inside the lease h2 granted h1."""
    g, seen = _elect_h2_after_h1_dies(Bugs(no_lease_wait=True))
    with pytest.raises(AssertionError, match="prepared inside the old lease"):
        _assert_sound_election(g, seen)
    first_prepare = min(s.t for s in g.net.messages(Prepare, src="h2"))
    assert first_prepare < seen["heard"] + g.cfg.lease_s


def test_guard_stands_down_while_another_replica_sees_the_leader() -> None:
    """h2 is cut from h1, but h3 still hears it: the guard makes h2 stand
    down (and ask again after a back-off), never prepare."""
    g = Group()
    net = g.net
    net.heartbeats(g.cfg.heartbeat_interval_s)
    net.run(1.0)
    net.cut_link("h1", "h2")
    host2 = g.hosts["h2"]
    net.run_until(lambda: not host2.sees("h1"), limit=5.0)
    g.m["h2"].start_election()
    net.run(net.now + 3.0)
    answers = net.messages(LeaderCheckReply, src="h3", dst="h2")
    assert answers and all(a.msg.sees and a.msg.leader == "h1" for a in answers)
    assert len(net.messages(LeaderCheck, src="h2", dst="h3")) >= 2  # it asked again
    assert net.messages(Prepare) == []
    assert g.m["h2"].role == FOLLOWER and g.m["h2"].state.promised == B1
    assert g.m["h1"].is_leader


# ----------------------------------------------------------------------
# a write commits on a quorum
# ----------------------------------------------------------------------
@pytest.mark.parametrize(("disks", "down", "acked_at"), [
    # the leader's own disk is the slow one: h2's ack (at 2.5 ms) is not
    # enough until the leader's copy is durable (10 ms)
    ({"h1": 0.010, "h2": 0.0005}, "h3", 0.010),
    # the leader's copy is durable at 0.5 ms; h2's at 21 ms, its ack arrives at 22 ms
    ({"h1": 0.0005, "h2": 0.020}, "h3", 0.022),
    # all up: the fast follower's ack completes the quorum; the slow one is not awaited
    ({"h1": 0.0005, "h2": 0.020, "h3": 0.0005}, None, 0.0025),
], ids=["slow-leader-disk", "slow-follower-disk", "fastest-quorum"])
def test_write_is_acknowledged_once_two_copies_are_durable(disks: dict, down: str | None,
                                                           acked_at: float) -> None:
    g = _write_group(disks, down)
    op = g.submit("h1", g.op(PUT, "k", "v"))
    g.net.run(0.1)
    _assert_acked_on_a_quorum(g, op, acked_at)


def _assert_acked_on_a_quorum(g: Group, op: StorageOp, acked_at: float) -> None:
    replies = g.replies(op)
    assert [(r["status"], r["version"]) for r in replies] == [("ok", 1)]
    t = replies[0]["t"]
    assert t == pytest.approx(acked_at)
    durable = [h for h, m in g.m.items() if m.state.is_durable(1, t)]
    assert "h1" in durable and len(durable) >= 2
    assert g.m["h1"].state.commit_lsn == 1


def _write_group(disks: dict, down: str | None, bugs: Bugs | None = None) -> Group:
    g = Group(bugs=bugs)
    for host, disk_s in disks.items():
        g.hosts[host].disk_s = disk_s
    if down is not None:
        g.hosts[down].power_off()
    return g


def test_a_write_acknowledged_on_the_leaders_disk_alone_is_caught() -> None:
    """The check above can fail: with ``ack_before_quorum`` the answer
    leaves when the leader's own copy is durable, h2's still on its way."""
    g = _write_group({"h1": 0.0005, "h2": 0.020}, "h3", Bugs(ack_before_quorum=True))
    op = g.submit("h1", g.op(PUT, "k", "v"))
    g.net.run(0.1)
    with pytest.raises(AssertionError):
        _assert_acked_on_a_quorum(g, op, 0.022)
    t = g.replies(op)[0]["t"]
    assert t == pytest.approx(0.0005)
    assert [h for h, m in g.m.items() if m.state.is_durable(1, t)] == ["h1"]


# ----------------------------------------------------------------------
# a lease expiry
# ----------------------------------------------------------------------
def test_strong_reads_are_served_while_a_quorum_acknowledged_heartbeats_within_the_lease() -> None:
    g = Group()
    net, cfg = g.net, g.cfg
    net.heartbeats(cfg.heartbeat_interval_s)  # beats at 0, 0.5, 1.0, ...
    write = g.submit("h1", g.op(PUT, "k", "v"))
    net.run(0.6)
    net.cut_link("h1", "h3")  # h3 acknowledged the beat of t=0.5 last
    net.run(1.2)
    net.cut_link("h1", "h2")  # h2 acknowledged the beat of t=1.0 last
    h1 = g.m["h1"]
    assert g.hosts["h1"].acked_at("h3") == 0.5 and g.hosts["h1"].acked_at("h2") == 1.0
    # One supporter besides itself makes a quorum: the newest acknowledgement counts.
    assert h1.lease_until() == pytest.approx(1.0 + cfg.lease_s)
    reads = {}
    for t in (1.5, 2.7, 2.99, 3.0, 3.5):  # 2.7: past the lease h3's last ack alone gives
        net.run(t)
        reads[t] = g.submit("h1", g.op(GET_STRONG, "k"))
    net.run(3.6)
    assert {t: [(r["status"], r["value"]) for r in g.replies(op)] for t, op in reads.items()} == {
        1.5: [("ok", "v")], 2.7: [("ok", "v")], 2.99: [("ok", "v")],
        3.0: [("unavailable", None)], 3.5: [("unavailable", None)]}
    assert g.replies(reads[3.0])[0]["leader_hint"] == "h1"
    assert g.replies(write)[0]["status"] == "ok"
    assert g.hooks.named("lease_held") == [(PID, B1, 1.5, 1.0 + cfg.lease_s)]
    # Heal: the next acknowledged heartbeat (t=4.0) renews the lease.
    net.heal()
    net.run(4.01)
    again = g.submit("h1", g.op(GET_STRONG, "k"))
    net.run(4.02)
    assert g.replies(again)[0]["status"] == "ok"
    assert h1.lease_until() == pytest.approx(4.0 + cfg.lease_s)


def test_a_leader_without_a_lease_makes_a_live_follower_a_supporter_with_a_noop() -> None:
    """A follower that answers heartbeats but accepted nothing of the
    leader's ballot (cut off while the writes came) gives no lease; once the
    only supporter is gone too, a strong read has the leader propose a no-op,
    whose accept makes that follower a supporter: the reads after it are
    served, not refused until the next write."""
    g = Group()
    net, cfg = g.net, g.cfg
    net.heartbeats(cfg.heartbeat_interval_s)
    net.cut_link("h1", "h3")
    write = g.submit("h1", g.op(PUT, "k", "v"))
    net.run(0.6)
    h1 = g.m["h1"]
    net.heal()
    net.run(1.1)  # h3 acknowledges the heartbeats again, and catches up
    # As when h3 came back from a reboot and was caught up by catch-up, not by
    # accepts (game_day seed 32 with the constant-work cache): no supporter.
    h1.supporters.discard("h3")
    net.cut_link("h1", "h2")
    assert g.hosts["h1"].acked_at("h3") == 1.0
    net.run(1.0 + cfg.lease_s + 0.1)  # h2's last acknowledgement is older than a lease
    refused = g.submit("h1", g.op(GET_STRONG, "k"))
    net.run(1.0 + cfg.lease_s + 0.2)
    assert g.replies(refused)[0]["status"] == "unavailable"
    assert h1.supporters == {"h2", "h3"}  # the no-op's accept
    assert h1.state.log.get(2) is not None and h1.state.log[2].record == NOOP_RECORD
    net.run(1.0 + cfg.lease_s + 0.6)  # the next heartbeat h3 acknowledges
    served = g.submit("h1", g.op(GET_STRONG, "k"))
    net.run(1.0 + cfg.lease_s + 0.7)
    assert [(r["status"], r["value"]) for r in g.replies(served)] == [("ok", "v")]
    assert g.replies(write)[0]["status"] == "ok"


# ----------------------------------------------------------------------
# a follower refuses a prepare while it grants a lease
# ----------------------------------------------------------------------
def _prepare_h3(g: Group, at: float) -> None:
    g.net.run(at)
    g.net.send("h2", "h3", Prepare(PID, B2, 1))
    g.net.run(at + 0.01)


def test_follower_refuses_a_prepare_while_it_grants_a_lease_then_promises() -> None:
    g = _lease_refusal_group()
    net, cfg = g.net, g.cfg
    h3 = g.m["h3"]
    heard = g.hosts["h3"].heard_at("h1")
    assert heard == pytest.approx(1.001)
    _prepare_h3(g, 1.01)  # h1 heard 9 ms ago
    g.hosts["h1"].power_off()
    _prepare_h3(g, heard + cfg.lease_s - 0.02)  # h1 silent, but its lease still runs
    refusals = net.messages(PrepareRefused, src="h3")
    assert [(s.msg.reason, s.msg.promised) for s in refusals] == [("lease", B1), ("lease", B1)]
    assert h3.state.promised == B1 and net.messages(Promise) == []

    _prepare_h3(g, heard + cfg.lease_s + 0.01)  # the lease has run out
    assert len(net.messages(PrepareRefused, src="h3")) == 2
    promises = net.messages(Promise, src="h3", dst="h2")
    assert len(promises) == 1 and promises[0].msg.ballot == B2
    assert promises[0].t == pytest.approx(heard + cfg.lease_s + 0.01 + net.latency_s + net.disk_s)
    assert h3.state.promised == B2
    assert g.hosts["h3"].revoked == [("h1", PID, B2)]  # h1's lease on h3 is void


def test_a_damaged_follower_neither_promises_nor_stands_for_election() -> None:
    """A replica whose committed log has a hole (a rotten record dropped on
    replay) must not promise: a candidate would fill the hole with a no-op."""
    g = _lease_refusal_group()
    h3 = g.m["h3"]
    g.hosts["h1"].power_off()
    h3.state.damaged_upto = h3.state.commit_lsn + 1
    _prepare_h3(g, 1.0 + g.cfg.lease_s + 0.5)  # no lease to wait out any more
    assert [s.msg.reason for s in g.net.messages(PrepareRefused, src="h3")] == ["damaged"]
    assert g.net.messages(Promise) == [] and h3.state.promised == B1
    h3.start_election()
    assert not h3.electing
    h3.state.damaged_upto = 0  # caught up: it promises again
    _prepare_h3(g, 1.0 + g.cfg.lease_s + 0.6)
    assert len(g.net.messages(Promise, src="h3", dst="h2")) == 1


def _damaged_h3() -> tuple[Group, list]:
    """h1 leads and commits three puts everywhere; then h3 reboots with its
    WAL record at lsn 2 rotten: replay drops it, and h3 is damaged."""
    g = Group()
    g.net.carry_commits = True
    g.net.heartbeats(g.cfg.heartbeat_interval_s)
    for i in range(3):
        g.submit("h1", g.op(PUT, f"k{i}", f"v{i}"))
        g.net.run(1.0 + 0.1 * i)
    h3 = g.m["h3"]
    g.net.run(2.0)  # the last commit point reaches h3 with a heartbeat
    records = [(lsn, h3.state.log[lsn].record) for lsn in sorted(h3.state.log)]
    last = records[-1][0]
    assert h3.state.commit_lsn == last == 3
    h3.state.log[2].record = h3.state.log[2].record.rotten()
    g.hosts["h3"].power_off()
    g.net.cut_link("h1", "h3")  # no catch-up from the leader: only the archive can help
    g.hosts["h3"].power_on()
    assert h3.state.damaged and h3.state.commit_lsn == 1 and h3.state.damaged_upto == 3
    return g, records


def test_a_damaged_replica_restores_the_records_it_lacks_from_the_archive() -> None:
    g, records = _damaged_h3()
    h3 = g.m["h3"]
    assert h3.restore_from_archive(records[-1][0], records[1:], None)
    g.net.run(2.1)
    assert not h3.state.damaged and h3.state.commit_lsn == records[-1][0]
    assert h3.state.read("k2") == ("v2", 1) and h3.state.log[2].record.verify()


def test_a_damaged_replica_restores_from_the_archives_b_tree_when_the_records_are_gone() -> None:
    g, records = _damaged_h3()
    h3 = g.m["h3"]
    assert not h3.restore_from_archive(1, [], None)  # the archive ends below the hole
    head = 2
    btree = g.m["h1"].state.snapshot()  # h1 at lsn 3: the archive's items at 2 ...
    del btree["k2"]  # ... but for the put at lsn 3, which h3 still holds itself
    assert h3.restore_from_archive(head, [], btree)
    g.net.run(2.1)
    assert not h3.state.damaged and h3.state.commit_lsn == records[-1][0]
    assert h3.state.read("k2") == ("v2", 1)  # applied from its own log above the restore point
    assert h3.state.trimmed_lsn == head


def _lease_refusal_group(bugs: Bugs | None = None) -> Group:
    g = Group(bugs=bugs)
    g.net.heartbeats(g.cfg.heartbeat_interval_s)
    g.net.run(1.0 + 0.005)
    return g


def test_follower_without_the_lease_rule_promises_at_once() -> None:
    """The check above can fail: with ``no_lease_wait`` h3 promises h2
    while it still hears h1 every half second."""
    g = _lease_refusal_group(Bugs(no_lease_wait=True))
    _prepare_h3(g, 1.01)
    assert g.net.messages(PrepareRefused) == []
    assert g.m["h3"].state.promised == B2


# ----------------------------------------------------------------------
# a crash of a follower before its disk write lands
# ----------------------------------------------------------------------
@pytest.mark.parametrize(("crash_at", "kept"), [(0.005, False), (0.0115, True)],
                         ids=["before-durable", "after-durable"])
def test_follower_crash_before_its_write_is_durable_loses_the_entry_and_the_ack(
        crash_at: float, kept: bool) -> None:
    """h2's disk takes 10 ms; h3 is down, so h2's ack is the quorum.  The
    accept arrives at 1 ms, the copy is durable (and the ack leaves) at 11 ms."""
    g = Group()
    net = g.net
    g.hosts["h2"].disk_s = 0.010
    g.hosts["h3"].power_off()
    op = g.submit("h1", g.op(PUT, "k", "v"))
    net.run(crash_at)
    assert 1 in g.m["h2"].state.log
    g.hosts["h2"].power_off()
    assert (1 in g.m["h2"].state.log) is kept
    net.run(0.5)
    g.hosts["h2"].power_on()
    net.run(1.0)
    acks = net.messages(Accepted, src="h2")
    assert [(s.t, s.msg.lsns) for s in acks] == ([(pytest.approx(0.011), [1])] if kept else [])
    assert (1 in g.m["h2"].state.log) is kept
    assert g.m["h1"].state.commit_lsn == (1 if kept else 0)
    assert [r["status"] for r in g.replies(op)] == (["ok"] if kept else [])


@pytest.mark.parametrize("reason", ["not_member", "behind"])
def test_a_candidate_that_cannot_win_stands_aside_then_tries_again(reason: str) -> None:
    """Refused by a member that holds a newer membership leaving it out (a
    replaced replica that slept through its replacement), or whose log starts
    above its commit point, a candidate stops bidding for a lease and an
    election, so that its rising ballots do not keep preempting a candidate
    that can win; it tries again afterwards, or as soon as it learns of more
    commits."""
    from ddbsim.service.storage.paxos import CANDIDATE

    g = Group(leader=None)
    h1, cfg, now = g.m["h1"], g.cfg, g.net.now
    h1._promise((7, "h1"))  # its own ballot, above the refuser's promise (so not "retire")
    h1.role, h1.ballot, h1.electing = CANDIDATE, (7, "h1"), True
    st = h1.state
    newer = (("h4", "log"), ("h2", "storage"), ("h3", "storage"))
    h1.on_prepare_refused("h2", PrepareRefused(PID, (7, "h1"), reason, (5, "h2"), newer,
                                               st.config_lsn + 1))
    assert h1.role == FOLLOWER and not h1.electing
    window = cfg.lease_s + cfg.election_timeout_s + cfg.leader_timeout_s
    h1.start_election()
    assert not h1.electing  # standing aside
    g.net.run(now + window - 0.01)
    assert not h1.electing
    g.net.run(now + window + 0.5)
    # the time is up: it stood again (its own retry), and won
    assert h1.is_leader and h1.ballot > (7, "h1")


def test_a_candidate_refused_by_an_older_membership_keeps_bidding() -> None:
    from ddbsim.service.storage.paxos import CANDIDATE

    g = Group(leader=None)
    h1 = g.m["h1"]
    h1._promise((7, "h1"))
    h1.role, h1.ballot, h1.electing = CANDIDATE, (7, "h1"), True
    older = (("h4", "log"), ("h2", "storage"), ("h3", "storage"))
    h1.on_prepare_refused("h2", PrepareRefused(PID, (7, "h1"), "not_member", (5, "h2"), older,
                                               h1.state.config_lsn))
    assert h1.role == CANDIDATE and h1.aside is None
