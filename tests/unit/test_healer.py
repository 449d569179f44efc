"""The Healer through fakes: a fake HealerHost whose timers fire by hand, a
fake placement, and real Members (on the fake hosts of :mod:`fakes`).

The group is ``h1``, ``h2``, ``h3`` in ``az-1``, ``az-2``, ``az-3``; spare
hosts (``n2``, ``m2`` in ``az-2``) exist only as names: what the healer
sends them (``Bootstrap``, ``Retire``) is recorded, and the test answers
for them (``bootstrap_acked``).  The Members' Paxos traffic runs on the fake
network, so a membership change the healer proposes really commits (or not).
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import pytest
from fakes import PID, FakeHost, Group, is_put

from ddbsim.config import HealingConfig
from ddbsim.service.membership import LOG, STORAGE, Members
from ddbsim.service.messages import PUT, Bootstrap, BootstrapAck, Message, Retire
from ddbsim.service.storage.healing import Healer
from ddbsim.service.storage.log import CONFIG
from ddbsim.service.storage.paxos import LEADER, Member
from ddbsim.service.storage.replica import ALWAYS, ReplicaState
from ddbsim.world.streams import Streams

AZ = {"h1": "az-1", "h2": "az-2", "h3": "az-3", "n2": "az-2", "m2": "az-2", "n3": "az-3"}
B1 = (1, "h1")
B3 = (2, "h3")


class Timer:
    __slots__ = ("due", "fn", "args")

    def __init__(self, due: float, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.due = due
        self.fn = fn
        self.args = args

    @property
    def name(self) -> str:
        return self.fn.__name__

    def __repr__(self) -> str:
        return f"Timer({self.due:g} {self.name}{self.args})"


class FakeNode:
    """A HealerHost: the members of the fake host it stands for, health as
    the test sets it, sends recorded, timers held until fired by hand."""

    def __init__(self, host: FakeHost) -> None:
        self.host = host
        self.host_id = host.host_id
        self.members: dict[str, Member] = host.members
        self.unhealthy: set[str] = set()
        self.contact: dict[str, float] = {}
        self.sent: list[tuple[float, str, Message]] = []
        self.timers: list[Timer] = []

    @property
    def now(self) -> float:
        return self.host.now

    def send(self, host_id: str, msg: Message) -> None:
        self.sent.append((self.now, host_id, msg))

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None:
        self.timers.append(Timer(self.now + delay_s, fn, args))

    def is_healthy(self, host_id: str) -> bool:
        return host_id not in self.unhealthy

    def unhealthy_hosts(self) -> Collection[str]:
        return self.unhealthy

    def last_contact(self, host_id: str) -> float:
        return self.contact.get(host_id, self.now)

    # -- for the tests ---------------------------------------------------------
    def pending(self, name: str = "_copied") -> list[Timer]:
        return [t for t in self.timers if t.name == name]

    def fire(self, name: str, replaced: str | None = None) -> Timer:
        """Run the earliest pending ``name`` timer (of the repair of
        ``replaced``), the fake network first brought to its due time."""
        timers = [t for t in self.pending(name) if replaced is None or t.args[1] == replaced]
        assert timers, f"no {name} timer for {replaced}: {self.timers}"
        timer = min(timers, key=lambda t: t.due)
        self.timers.remove(timer)
        self.host.net.run(timer.due)
        timer.fn(*timer.args)
        return timer

    def bootstraps(self) -> list[tuple[str, Bootstrap]]:
        return [(dst, m) for _t, dst, m in self.sent if isinstance(m, Bootstrap)]


class FakePlacement:
    """Replacements: the first spare host of the AZ not avoided."""

    def __init__(self, spares: dict[str, list[str]]) -> None:
        self.spares = spares
        self.calls: list[tuple[str, str, set[str]]] = []

    def replacement(self, pid: str, az: str, avoid: Collection[str]) -> str | None:
        self.calls.append((pid, az, set(avoid)))
        return next((h for h in self.spares.get(az, []) if h not in avoid), None)


class Bench:
    """A group on the fake network, with a healer on each storage host that
    is wired as a storage node wires it (membership commits and leadership
    go to the node's healer)."""

    def __init__(self, members: Members | None = None, spares: dict[str, list[str]] | None = None,
                 cfg: HealingConfig | None = None) -> None:
        self.g = Group(members=members) if members is not None else Group()
        self.cfg = cfg or HealingConfig()
        self.placement = FakePlacement(spares if spares is not None else {"az-2": ["n2", "m2"]})
        self.nodes: dict[str, FakeNode] = {}
        self.healers: dict[str, Healer] = {}
        for host_id, host in self.g.hosts.items():
            node = self.nodes[host_id] = FakeNode(host)
            healer = self.healers[host_id] = Healer(node, self.cfg, self.placement, AZ.__getitem__,
                                                    self.g.hooks)
            host.on_config_committed = self._committed(healer)
            host.on_leader_active = lambda m, healer=healer: healer.reconcile(m.pid)
        # some data, committed everywhere up
        self.g.submit("h1", self.g.op(PUT, "k", "v"))
        self.g.net.run(0.1)

    @staticmethod
    def _committed(healer: Healer) -> Callable[[Member, int, Members], None]:
        def committed(member: Member, lsn: int, members: Members) -> None:
            if member.role == LEADER:  # as StorageNode.config_committed
                healer.config_committed(member, member.state.config_before(lsn), members)
        return committed

    def join(self, host_id: str, boot: Bootstrap) -> Member:
        """``boot`` reaches ``host_id``: what StorageNode._on_bootstrap does
        (a new replica, or a log replica becoming a storage replica)."""
        host = self.g.hosts.get(host_id)
        if host is None:
            host = self.g.hosts[host_id] = FakeHost(self.g.net, host_id, self.g.cfg.leader_timeout_s)
        member = host.members.get(boot.pid)
        if member is not None and member.state.kind != STORAGE and boot.kind == STORAGE:
            member.state.kind = STORAGE
        else:
            state = ReplicaState(boot.pid, host_id, boot.kind, boot.config, boot.config_lsn)
            member = Member(host, state, self.g.cfg, Streams(1).draws(f"storage/{host_id}/paxos"),
                            self.g.hooks, self.g.bugs)
            host.members[boot.pid] = member
            self.g.m[host_id] = member
        if member.state.promised < boot.ballot:
            member.state.promise(boot.ballot, ALWAYS)
        member.state.install(boot.lsn, boot.btree, boot.entries)
        return member

    def down(self, host: str) -> None:
        """``host`` loses power; every node finds it unhealthy."""
        self.g.hosts[host].power_off()
        for node in self.nodes.values():
            node.unhealthy.add(host)

    def config_records(self, host: str) -> list[tuple[int, Members]]:
        st = self.g.m[host].state
        return [(lsn, e.record.members) for lsn, e in sorted(st.log.items())
                if e.record.op == CONFIG]


def swap(config: Members, old: str, new: str, kind: str) -> Members:
    return tuple((new, kind) if h == old else (h, k) for h, k in config)


FULL = (("h1", STORAGE), ("h2", STORAGE), ("h3", STORAGE))


# ----------------------------------------------------------------------
# an unhealthy member gets a log replica in its AZ
# ----------------------------------------------------------------------
def test_an_unhealthy_member_gets_a_log_replica_in_its_az() -> None:
    b = Bench()
    node, healer, h1 = b.nodes["h1"], b.healers["h1"], b.g.m["h1"]
    b.down("h2")
    node.contact["h2"] = 0.05
    healer.peer_unhealthy("h2")
    t0 = node.now
    # a host in h2's AZ, avoiding the members and the unhealthy
    assert [(pid, az) for pid, az, _ in b.placement.calls] == [(PID, "az-2")]
    assert {"h1", "h2", "h3"} <= b.placement.calls[0][2]
    assert b.g.hooks.named("replica_lost") == [(t0, PID, "h2", 0.05)]
    # the copy takes log_copy_s (the unarchived WAL over the log-copy bandwidth)
    [copy] = node.pending()
    assert copy.due == pytest.approx(t0 + b.cfg.log_copy_s) and b.cfg.log_copy_s == pytest.approx(3.0)
    assert node.sent == []
    node.fire("_copied")
    new = swap(FULL, "h2", "n2", LOG)
    [(dst, boot)] = node.bootstraps()
    assert dst == "n2" and boot.kind == LOG and boot.ballot == B1 and boot.config == new
    assert boot.lsn == h1.state.commit_lsn == 1 and boot.btree is None
    assert boot.entries == [(1, B1, h1.state.log[1].record)] and is_put(boot.entries[0][2], "k", "v")
    assert b.config_records("h1") == []  # nothing proposed before the target confirms
    # n2 confirms: the change is proposed, and commits (h1 and h3 hold it)
    healer.bootstrap_acked("n2", BootstrapAck(PID, B1, LOG))
    assert b.config_records("h1") == [(2, new)]
    b.g.net.run(node.now + 0.1)
    assert h1.state.commit_lsn == 2 and h1.state.config == new
    [(t_added, *added)] = b.g.hooks.named("replica_added")
    assert added == [PID, "n2", LOG, "h2"]
    # then, the group not whole yet, the log replica is rebuilt in place
    [rebuild] = node.pending()
    assert rebuild.args[1] == "n2" and rebuild.due == pytest.approx(t_added + b.cfg.rebuild_s)
    assert len(b.placement.calls) == 1


# ----------------------------------------------------------------------
# a healing resumed by a new leader
# ----------------------------------------------------------------------
def test_a_log_replica_left_by_a_deposed_leader_is_rebuilt_by_the_next() -> None:
    b = Bench()
    net = b.g.net
    node1, node3 = b.nodes["h1"], b.nodes["h3"]
    h1, h3 = b.g.m["h1"], b.g.m["h3"]
    # Leader A (h1) replaces the lost h2 by a log replica on n2 ...
    b.down("h2")
    b.healers["h1"].peer_unhealthy("h2")
    node1.fire("_copied")
    [(_dst, boot)] = node1.bootstraps()
    n2 = b.join("n2", boot)
    b.healers["h1"].bootstrap_acked("n2", BootstrapAck(PID, B1, LOG))
    net.run(node1.now + 0.1)
    with_log = swap(FULL, "h2", "n2", LOG)
    assert h1.state.config == with_log and h1.state.commit_lsn == 2
    # ... and starts rebuilding it (minutes of copying).
    assert [t.args[1] for t in node1.pending()] == ["n2"]
    b.g.submit("h1", b.g.op(PUT, "k2", "v2"))  # its accept tells h3 and n2 the change committed
    net.run(node1.now + 0.1)
    for follower in (h3, n2):  # they apply at their next heartbeat tick, as the node would
        follower.catch_up()
    assert h3.state.commit_lsn >= 2 and n2.state.commit_lsn >= 2

    # A is cut off; B (h3) is elected by itself and n2 -- a quorum of the
    # membership with the log replica in it.
    net.cut_link("h1", "h3")
    net.cut_link("h1", "n2")
    h3.start_election()  # what h3's failure detector does
    net.run_until(lambda: h3.is_leader, limit=node3.now + 5.0)
    assert h3.ballot == B3 and h3.state.config == with_log
    assert h1.is_leader  # A does not know yet
    # The partition heals; B's next write tells A it has been deposed.
    net.heal()
    b.g.submit("h3", b.g.op(PUT, "k3", "v3"))
    net.run(node3.now + 0.1)
    assert not h1.is_leader and h1.state.promised == B3

    # A's copy time passes: it sends nothing more, and its repair is gone.
    node1.fire("_copied", "n2")
    assert [boot.kind for _dst, boot in node1.bootstraps()] == [LOG]
    assert b.healers["h1"].repairs == {}

    # B, reconciling the membership it leads, rebuilds the log replica in
    # place into a storage replica (no new host asked for).
    assert len(b.placement.calls) == 1
    [rebuild] = node3.pending()
    assert rebuild.args[1] == "n2"
    assert rebuild.due == pytest.approx(b.g.hosts["h3"].activated[0]["t"] + b.cfg.rebuild_s)
    node3.fire("_copied", "n2")
    [(dst, boot)] = node3.bootstraps()
    whole = swap(FULL, "h2", "n2", STORAGE)
    assert dst == "n2" and boot.kind == STORAGE and boot.ballot == B3 and boot.config == whole
    assert boot.btree is not None
    assert {k: item[:2] for k, item in boot.btree.items()} == {
        "k": ("v", 1), "k2": ("v2", 1), "k3": ("v3", 1)}
    b.join("n2", boot)
    assert n2.state.kind == STORAGE and n2.state.read("k3") == ("v3", 1)
    b.healers["h3"].bootstrap_acked("n2", BootstrapAck(PID, B3, STORAGE))
    net.run(node3.now + 0.1)
    assert h3.state.config == whole and h3.state.commit_lsn == h3.state.config_lsn
    assert b.g.hooks.named("replica_added")[-1][1:] == (PID, "n2", STORAGE, "n2")
    assert b.g.hooks.named("group_whole")[-1][1:] == (PID, whole)
    assert node3.pending() == [] and b.healers["h3"].repairs == {}


# ----------------------------------------------------------------------
# a leader that cannot hear a quorum repairs nothing
# ----------------------------------------------------------------------
def test_a_leader_that_cannot_hear_a_quorum_repairs_nothing() -> None:
    b = Bench()
    node, healer = b.nodes["h1"], b.healers["h1"]
    node.unhealthy.add("h2")
    healer.peer_unhealthy("h2")
    assert len(node.pending()) == 1  # a repair under way ...
    node.unhealthy.add("h3")
    healer.peer_unhealthy("h3")  # ... until h1 hears only itself
    assert healer.repairs == {}
    node.fire("_copied")
    assert node.sent == [] and b.config_records("h1") == []
    assert len(b.placement.calls) == 1 and node.pending() == []
    # and nothing starts while it cannot hear a quorum
    healer.reconcile(PID)
    assert healer.repairs == {} and node.timers == [] and len(b.placement.calls) == 1
    assert b.g.hooks.named("replica_lost") == [(0.1, PID, "h2", 0.1)]


# ----------------------------------------------------------------------
# a target that does not confirm is avoided and another chosen
# ----------------------------------------------------------------------
def test_a_target_that_does_not_confirm_is_avoided_and_another_chosen() -> None:
    b = Bench()
    node, healer = b.nodes["h1"], b.healers["h1"]
    b.down("h2")
    healer.peer_unhealthy("h2")
    node.fire("_copied")
    assert [dst for dst, _ in node.bootstraps()] == ["n2"]
    [wait] = node.pending("_unconfirmed")
    assert wait.due == pytest.approx(node.now + b.cfg.bootstrap_timeout_s)
    node.fire("_unconfirmed")  # n2 never confirmed
    assert healer.avoid_until["n2"] == pytest.approx(node.now + b.cfg.retry_s)
    assert "n2" in b.placement.calls[-1][2] and len(b.placement.calls) == 2
    node.fire("_copied")
    assert [dst for dst, _ in node.bootstraps()] == ["n2", "m2"]
    healer.bootstrap_acked("n2", BootstrapAck(PID, B1, LOG))  # too late: ignored
    assert b.config_records("h1") == []
    healer.bootstrap_acked("m2", BootstrapAck(PID, B1, LOG))
    assert b.config_records("h1") == [(2, swap(FULL, "h2", "m2", LOG))]
    assert not any(isinstance(m, Retire) for _t, _d, m in node.sent)


# ----------------------------------------------------------------------
# two repairs: copies in parallel, membership changes one at a time
# ----------------------------------------------------------------------
def test_two_repairs_copy_in_parallel_and_change_the_membership_one_at_a_time() -> None:
    start = (("h1", STORAGE), ("h2", STORAGE), ("h3", LOG))
    b = Bench(members=start)
    node, healer, h1 = b.nodes["h1"], b.healers["h1"], b.g.m["h1"]
    b.down("h2")
    healer.peer_unhealthy("h2")
    # two repairs, both copying at once: h2 lost (a log replica on n2), the
    # log replica h3 rebuilt in place
    copies = {t.args[1]: t.due - node.now for t in node.pending()}
    assert copies == pytest.approx({"h2": b.cfg.log_copy_s, "h3": b.cfg.rebuild_s})
    # The first change cannot commit while h3 does not hear h1.
    b.g.net.cut_link("h1", "h3")
    node.fire("_copied", "h2")
    healer.bootstrap_acked("n2", BootstrapAck(PID, B1, LOG))
    first = swap(start, "h2", "n2", LOG)
    assert b.config_records("h1") == [(2, first)]
    node.fire("_copied", "h3")  # the rebuild is done meanwhile (minutes later)
    assert [(dst, boot.kind) for dst, boot in node.bootstraps()] == [("n2", LOG), ("h3", STORAGE)]
    healer.bootstrap_acked("h3", BootstrapAck(PID, B1, STORAGE))
    b.g.net.run(node.now + 1.0)
    assert h1.state.commit_lsn == 1
    assert b.config_records("h1") == [(2, first)]  # it waits for the first change
    # The link heals; the node's heartbeat has h1 retransmit; the first
    # change commits, and only then the second is proposed -- computed
    # from the first (n2 stays).
    b.g.net.heal()
    h1.retransmit()
    b.g.net.run(node.now + 0.1)
    second = swap(first, "h3", "h3", STORAGE)
    assert b.config_records("h1") == [(2, first), (3, second)]
    assert h1.state.commit_lsn == 3 and h1.state.config == second
    added = [c[1:] for c in b.g.hooks.named("replica_added")]
    assert added == [(PID, "n2", LOG, "h2"), (PID, "h3", STORAGE, "h3")]


# ----------------------------------------------------------------------
# an in-place rebuild that is not confirmed is copied again
# ----------------------------------------------------------------------
def test_an_unconfirmed_in_place_rebuild_is_copied_again_to_the_same_host() -> None:
    """The log replica h3 is rebuilt in place; its confirmation does not
    come in time (lost, or late).  The healer does not avoid h3 (it is the
    member to rebuild) and copies to it again: a second ``Bootstrap`` of
    kind storage reaches a replica the first may already have converted
    (what the node then does: test_bootstrap.py)."""
    start = (("h1", STORAGE), ("h2", STORAGE), ("h3", LOG))
    b = Bench(members=start)
    node, healer = b.nodes["h1"], b.healers["h1"]
    healer.reconcile(PID)  # as on becoming leader
    assert b.placement.calls == []
    node.fire("_copied", "h3")
    node.fire("_unconfirmed")
    assert "h3" not in healer.avoid_until
    [again] = node.pending()
    assert again.args[1] == "h3" and again.due == pytest.approx(node.now + b.cfg.rebuild_s)
    node.fire("_copied", "h3")
    assert [(dst, boot.kind) for dst, boot in node.bootstraps()] == [("h3", STORAGE), ("h3", STORAGE)]
    assert b.placement.calls == []
