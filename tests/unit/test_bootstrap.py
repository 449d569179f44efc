"""A storage node receiving a healing copy (``Bootstrap``) for a partition
it already replicates, on the real region (World + Service).

How it happens: a leader rebuilds a log replica in place into a storage
replica (healing.py).  The first copy converts it (the node keeps its
state, and installs the B-tree); if the confirmation does not reach the
leader within ``healing.bootstrap_timeout_s`` -- lost, late, or the leader
deposed and its successor resuming the rebuild of a membership change that
never committed -- the rebuild starts again and a second ``Bootstrap`` of
kind ``storage`` reaches a replica that is now a storage replica
(test_healer.py shows the healer sending it).
"""
from __future__ import annotations

from typing import Any

from fakes import RecordingHooks, is_put
from sortedcontainers import SortedDict

from ddbsim.config import Config
from ddbsim.service.membership import LOG, STORAGE
from ddbsim.service.messages import PUT, Bootstrap, ClientRequest, Prepare, StorageOp
from ddbsim.service.service import Service
from ddbsim.service.storage.log import LogRecord
from ddbsim.service.storage.replica import ALWAYS
from ddbsim.world.region import World

PID = "p-0000"
ROUTER = "az-1/router-1"


def test_a_second_storage_copy_keeps_what_the_replica_acknowledged() -> None:
    cfg = Config()
    world = World(cfg, 1)
    hooks = RecordingHooks()
    service = Service(world, cfg, hooks)
    env, net, hosts = world.env, world.network, world.topology.hosts
    a, r, c = [h for h, _ in service.partition_map.partition(PID).members]
    leader = service.nodes[a].members[PID]
    env.run(until=1.0)

    # The leader's write needs r's copy (c is cut off from the leader).
    net.cut_hosts(a, c)
    leader.handle_op(ROUTER, StorageOp(1, PID, ClientRequest(1, PUT, "k", "v")))
    while 1 not in service.nodes[r].members[PID].state.log:
        env.step()
    # r accepted it (its acknowledgement leaves when its disk write lands);
    # now a copy of the leader at its commit point (0) arrives: the retried
    # in-place rebuild.
    assert leader.state.commit_lsn == 0
    service.nodes[r].receive(hosts[a], Bootstrap(
        PID, leader.ballot, STORAGE, service.partition_map.partition(PID).members,
        leader.state.commit_lsn, leader.state.commit_lsn, [], leader.state.snapshot(), r))
    env.run(until=env.now + 0.1)
    # The leader counted r's acknowledgement: the write is chosen and acknowledged.
    assert leader.state.commit_lsn == 1
    assert (PID, PUT, "ok") in [(p, k, s) for _t, p, k, s in hooks.named("storage_request")]
    # So r must still hold it, durably.
    r_state = service.nodes[r].members[PID].state
    assert 1 in r_state.log and is_put(r_state.log[1].record, "k", "v")
    assert r_state.is_durable(1, env.now)

    # The consequence: the leader dies; r and c elect a leader without it.
    hosts[a].power_off(env.now)
    net.heal_all()
    env.run(until=env.now + 15.0)
    new = service.leader_of(PID)
    assert new is not None and new.me != a
    assert new.state.read("k") == ("v", 1)


def test_a_copy_from_a_lower_ballot_does_not_lower_a_storage_replicas_promise() -> None:
    """r promised a higher ballot (a candidate's); a copy from the leader it
    deposed, which does not know yet, arrives.  A promise never goes back:
    r would otherwise accept that leader's proposals again."""
    cfg = Config()
    world = World(cfg, 1)
    service = Service(world, cfg)
    a, r, c = [h for h, _ in service.partition_map.partition(PID).members]
    leader = service.nodes[a].members[PID]
    replica = service.nodes[r].members[PID]
    higher = (leader.ballot[0] + 1, c)
    replica.state.promise(higher, ALWAYS)  # durable: c's prepare, long ago
    service.nodes[r].receive(world.topology.hosts[a], Bootstrap(
        PID, leader.ballot, STORAGE, service.partition_map.partition(PID).members,
        leader.state.commit_lsn, leader.state.commit_lsn, [], leader.state.snapshot(), r))
    assert service.nodes[r].members[PID].state.promised == higher


def test_a_storage_copy_does_not_make_a_stale_entry_look_committed() -> None:
    """r is a log replica.  It accepted ``cond_put(k)`` at position 1 from
    the old leader (ballot 1), which died before anyone else held it; the
    next leader (ballot 2, without r, which it did not hear) chose a no-op
    there.  Its copy -- B-tree at commit point 1, no log entries -- turns r
    into a storage replica.  r's log must not keep the old entry at 1 as
    committed: as leader r would send it in catch-up to a follower that had
    not learnt position 1 was committed (it would apply the cond_put the
    group never chose), and as a promiser it would present it to a
    candidate as chosen.  (The window: the copy lands before r catches up
    with the position it missed -- catch-up does not rewrite positions at
    or below the commit point.)"""
    cfg = Config()
    world = World(cfg, 1)
    service = Service(world, cfg)
    a, r, c = [h for h, _ in service.partition_map.partition(PID).members]
    node = service.nodes[r]
    with_log = ((a, STORAGE), (r, LOG), (c, STORAGE))
    state = node.new_state(PID, LOG, with_log)
    old = (1, a)
    state.promise(old, ALWAYS)
    state.write(1, old, LogRecord.put("k", "old", 0), ALWAYS)
    node.add_replica(state)  # r as the log replica it was
    new_leader = (2, c)
    node.receive(world.topology.hosts[c], Bootstrap(
        PID, new_leader, STORAGE, ((a, STORAGE), (r, STORAGE), (c, STORAGE)), 1, 1, [],
        SortedDict(), r))  # the leader's B-tree at commit point 1: the no-op left it empty
    st = node.members[PID].state
    assert st.kind == STORAGE and st.commit_lsn == 1 and st.read("k") == (None, 0)
    committed = st.entries_from(1, st.commit_lsn)
    assert (1, old, LogRecord.put("k", "old", 0)) not in committed


def test_a_copy_replacing_another_member_retires_the_old_replica_held_here() -> None:
    # host_churn seed 1 (p-0000, t = 2278-2433 s): a host replaced while it
    # was away kept its old replica, which stood for elections; chosen later
    # as a replacement, the host took the copy as a new replica, and the old
    # one's timers went on standing beside it -- every stand revoked the
    # leader's lease, about once a second for minutes.
    cfg = Config()
    world = World(cfg, 1)
    hooks = RecordingHooks()
    service = Service(world, cfg, hooks)
    env, hosts = world.env, world.topology.hosts
    members = service.partition_map.partition(PID).members
    a, b, c = [h for h, _ in members]
    leader = service.nodes[a].members[PID]
    env.run(until=1.0)
    assert leader.role == "leader"
    # h: another host of c's AZ, holding a replica from a membership of old
    h = next(x.id for x in world.topology.of_kind("storage")
             if x.az == hosts[c].az and x.id != c and PID not in service.nodes[x.id].members)
    old = tuple((x, k) if x != c else (h, k) for x, k in members)
    node_h = service.nodes[h]
    ghost = node_h.add_replica(node_h.new_state(PID, STORAGE, old))
    # it stood for election in that membership, and stands again
    ghost.state.promise((leader.ballot[0] + 3, h), ALWAYS)
    ghost.start_election()
    prepares: list[Prepare] = []
    send = world.network.send

    def spy(src: Any, dst: Any, msg: Any, after_s: float = 0.0) -> None:
        if src.id == h and isinstance(msg, Prepare) and msg.pid == PID:
            prepares.append(msg)
        send(src, dst, msg, after_s)

    world.network.send = spy  # type: ignore[method-assign]
    # the leader's healing copy replacing c arrives at h
    new = tuple((x, k) if x != c else (h, LOG) for x, k in members)
    node_h.receive(hosts[a], Bootstrap(
        PID, leader.ballot, LOG, new, leader.state.commit_lsn, leader.state.commit_lsn,
        leader.state.entries_from(1, leader.state.commit_lsn), SortedDict(), c))
    assert node_h.members[PID] is not ghost
    env.run(until=env.now + 30.0)
    assert leader.role == "leader"
    assert [x for x in hooks.named("leader_lost") if x[1] == PID] == []
    assert ghost.role == "follower" and not ghost.electing
    assert prepares == []  # the old replica stood for nothing more
