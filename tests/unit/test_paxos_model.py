"""Model-based tests of one group's Multi-Paxos (hypothesis' stateful testing).

Three real :class:`~ddbsim.service.storage.paxos.Member` objects on the fake
network of :mod:`fakes`; hypothesis drives a random sequence of steps --
client writes and strong reads at whoever leads, elections, cut and healed
links, crashes and reboots, duplicated and long-delayed messages, time
passing -- and after every step checks the invariants:

* one value per chosen slot: replicas that committed a position agree on
  its record, and a position once seen committed never changes;
* an acknowledged write is never lost: its record stays, durably, at its
  position on a write quorum of replicas (a crash loses only what was not
  yet on disk, and a position is overwritten only with its chosen value);
* no two leases overlap: the lease spans leaders served strong reads on,
  cut at their leader's loss, are disjoint across ballots (the
  ``single_leader`` checker).

``make test`` runs a bounded number of examples; the ``slow`` profile
(``make test-all``) many more.  Mutants from :mod:`ddbsim.service.bugs`
switched on make it fail (see the tests at the end).
"""
from __future__ import annotations

from typing import Any

import pytest
from fakes import PID, Group
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ddbsim.config import ReplicationConfig
from ddbsim.lab.checkers import check_single_leader
from ddbsim.lab.metrics import Observation
from ddbsim.service.bugs import Bugs
from ddbsim.service.messages import GET_STRONG, PUT
from ddbsim.service.storage.log import PUT as PUT_RECORD

HOSTS = ("h1", "h2", "h3")
host_ids = st.sampled_from(HOSTS)


class PaxosGroup(RuleBasedStateMachine):
    bugs = Bugs()

    @initialize()
    def start(self) -> None:
        # Disks slower than the network, and unequal: an acknowledgement can
        # outrun a write by tens of milliseconds.
        self.g = Group(ReplicationConfig(), self.bugs)
        for host, disk_s in zip(HOSTS, (0.005, 0.02, 0.05), strict=True):
            self.g.hosts[host].disk_s = disk_s
        self.net = self.g.net
        self.net.carry_commits = True
        self.obs = Observation(None)
        for m in self.g.m.values():
            m.hooks = self.obs
        self.net.heartbeats(self.g.cfg.heartbeat_interval_s)
        self.writes = 0
        self.acked: dict[int, tuple[int, Any]] = {}  # op id -> (lsn, record)
        self.ops: dict[int, Any] = {}  # op id -> (leader, op)
        self.chosen: dict[int, Any] = {}  # lsn -> record, once seen committed

    # -- steps ------------------------------------------------------------
    def _leader(self) -> str | None:
        leaders = [h for h in HOSTS if self.g.m[h].is_leader and self.g.hosts[h].up]
        return max(leaders, key=lambda h: self.g.m[h].ballot) if leaders else None

    @rule(h=host_ids)
    def write(self, h: str) -> None:
        # at any host that believes it leads: a deposed leader may still try
        if not (self.g.m[h].is_leader and self.g.hosts[h].up):
            return
        self.writes += 1
        op = self.g.op(PUT, f"k{self.writes % 3}", f"v{self.writes}")
        self.ops[op.op_id] = (h, op)
        self.g.submit(h, op)

    @rule()
    def write_at_leader(self) -> None:
        leader = self._leader()
        if leader is not None:
            self.write(leader)

    @rule()
    def strong_read(self) -> None:
        leader = self._leader()
        if leader is not None:
            self.g.submit(leader, self.g.op(GET_STRONG, "k0"))

    @rule(h=host_ids)
    def elect(self, h: str) -> None:
        if self.g.hosts[h].up:
            self.g.m[h].start_election()

    @rule(a=host_ids, b=host_ids, one_way=st.booleans())
    def cut(self, a: str, b: str, one_way: bool) -> None:
        if a != b:
            self.net.cut_link(a, b, one_way)

    @rule()
    def heal(self) -> None:
        self.net.heal()

    @rule(h=host_ids)
    def crash(self, h: str) -> None:
        if self.g.hosts[h].up and sum(host.up for host in self.g.hosts.values()) > 1:
            self.g.hosts[h].power_off()

    @rule(hosts=st.sets(host_ids, min_size=2))
    def power_cut(self, hosts: set[str]) -> None:
        """A correlated power loss: several replicas at once."""
        for h in sorted(hosts):
            if self.g.hosts[h].up:
                self.g.hosts[h].power_off()

    @rule(h=host_ids)
    def reboot(self, h: str) -> None:
        if not self.g.hosts[h].up:
            self.g.hosts[h].power_on()

    @rule(n=st.integers(1, 6))
    def duplicate(self, n: int) -> None:
        self.net.duplicate_next = n

    @rule(delays=st.lists(st.sampled_from([0.0, 0.002, 0.05, 1.0, 3.0, 6.0]), max_size=6))
    def delay(self, delays: list[float]) -> None:
        self.net.extra_delays = delays

    @rule(dt=st.sampled_from([0.001, 0.01, 0.1, 0.5, 2.0, 5.0]))
    def wait(self, dt: float) -> None:
        self.net.run(self.net.now + dt)
        self._learn_acks()

    def _learn_acks(self) -> None:
        for host in self.g.hosts.values():
            for answer in host.replies:
                op_id = answer["op_id"]
                if answer["status"] != "ok" or op_id in self.acked or op_id not in self.ops:
                    continue
                leader, op = self.ops[op_id]
                log = self.g.m[leader].state.log
                found = [(lsn, e.record) for lsn, e in log.items()
                         if e.record.op == PUT_RECORD and e.record.value == op.request.value]
                assert found, f"write {op.request.value} acknowledged, yet not in its leader's log"
                self.acked[op_id] = found[0]

    # -- invariants -----------------------------------------------------------
    @invariant()
    def one_value_per_chosen_slot(self) -> None:
        if not hasattr(self, "g"):
            return
        for m in self.g.m.values():
            st_ = m.state
            for lsn in range(1, st_.commit_lsn + 1):
                entry = st_.log.get(lsn)
                if entry is None:
                    continue
                seen = self.chosen.setdefault(lsn, entry.record)
                assert seen == entry.record, (
                    f"position {lsn}: {m.me} committed {entry.record}, another replica {seen}")

    @invariant()
    def acknowledged_writes_stay_on_a_quorum(self) -> None:
        if not hasattr(self, "g"):
            return
        now = self.net.now
        for op_id, (lsn, record) in self.acked.items():
            holders = 0
            for m in self.g.m.values():
                entry = m.state.log.get(lsn)
                if (entry is not None and entry.record == record and entry.durable_at <= now) or (
                        entry is None and lsn <= m.state.commit_lsn):  # installed from a copy
                    holders += 1
            assert holders >= 2, (
                f"acknowledged write #{op_id} at {lsn} is on {holders} replicas")

    @invariant()
    def no_two_leases_overlap(self) -> None:
        if not hasattr(self, "g"):
            return
        check = check_single_leader(
            (pid, ballot, span[0], span[1])
            for (pid, ballot), span in self.obs.lease_spans.items() if pid == PID)
        assert check["valid"] is True, check


BOUNDED = settings(max_examples=20, stateful_step_count=40, deadline=None, database=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=400, stateful_step_count=80, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def _machine(bugs: Bugs) -> type[PaxosGroup]:
    return type("PaxosGroupWith", (PaxosGroup,), {"bugs": bugs})


def test_the_correct_protocol_keeps_every_invariant() -> None:
    PaxosGroup.TestCase.settings = BOUNDED
    PaxosGroup.TestCase().runTest()


@pytest.mark.slow
def test_the_correct_protocol_keeps_every_invariant_long() -> None:
    PaxosGroup.TestCase.settings = LONG
    PaxosGroup.TestCase().runTest()


@pytest.mark.parametrize("mutant", ["ack_before_quorum", "follower_ack_before_durable",
                                    "forget_uncommitted_on_crash"])
def test_a_mutant_breaks_an_invariant(mutant: str) -> None:
    machine = _machine(Bugs(**{mutant: True}))
    # no shrinking: finding the failure is the point, and shrinking costs minutes
    machine.TestCase.settings = settings(BOUNDED, max_examples=150, phases=[Phase.generate])
    with pytest.raises(AssertionError):
        machine.TestCase().runTest()
