"""The request router through fakes: a real World (its clock and network),
a PartitionMap as the routing source, and scripted storage hosts.

The storage hosts of the one partition are not storage nodes: each is a
handler on the network that records the operations it receives and answers
as the test says (or not at all).  The client is a handler that records
the router's replies.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ddbsim.config import Config
from ddbsim.service.membership import STORAGE
from ddbsim.service.messages import GET_EVENTUAL, PUT, ClientReply, ClientRequest, StorageOp, StorageReply
from ddbsim.service.metadata.partition_map import PartitionMap
from ddbsim.service.routing.router import Router
from ddbsim.world.region import World
from ddbsim.world.topology import Host

S1, S2, S3 = "az-1/r1/h1", "az-2/r1/h1", "az-3/r1/h1"
Answer = Callable[[str, StorageOp], "StorageReply | None"]


class Bench:
    """One router, one client, one partition on three scripted storage hosts."""

    def __init__(self, answer: Answer, leader: str | None = S1, seed: int = 1) -> None:
        self.cfg = Config()
        self.world = World(self.cfg, seed)
        self.env = self.world.env
        self.net = self.world.network
        hosts = self.world.topology.hosts
        self.map = PartitionMap("orders", 1)
        self.pid = self.map.pids()[0]
        self.map.set_members(self.pid, ((S1, STORAGE), (S2, STORAGE), (S3, STORAGE)))
        self.map.set_leader(self.pid, leader)
        self.router_host = hosts["az-1/router-1"]
        self.router = Router(self.router_host, self.world, self.cfg.router, self.map)
        self.client = hosts["az-1/client-1"]
        self.answer = answer
        self.ops: list[tuple[float, str, StorageOp]] = []  # (arrival, storage host, op)
        self.replies: list[tuple[float, ClientReply]] = []
        for sid in (S1, S2, S3):
            self.net.register(hosts[sid], self._storage(hosts[sid]))
        self.net.register(self.client, self._client)
        self._req_ids = iter(range(1, 10_000))

    def _storage(self, host: Host) -> Callable[[Host, Any], None]:
        def receive(src: Host, msg: Any) -> None:
            assert isinstance(msg, StorageOp) and src is self.router_host
            self.ops.append((self.env.now, host.id, msg))
            reply = self.answer(host.id, msg)
            if reply is not None:
                self.net.send(host, src, reply)
        return receive

    def _client(self, src: Host, msg: Any) -> None:
        assert isinstance(msg, ClientReply)
        self.replies.append((self.env.now, msg))

    def request(self, kind: str = PUT, key: str = "k", value: Any = "v") -> int:
        req_id = next(self._req_ids)
        self.net.send(self.client, self.router_host, ClientRequest(req_id, kind, key, value))
        return req_id

    def run(self, for_s: float) -> None:
        self.env.run(until=self.env.now + for_s)

    def targets(self, req_id: int | None = None) -> list[str]:
        return [h for _t, h, op in self.ops if req_id is None or op.request.req_id == req_id]

    def statuses(self, req_id: int) -> list[str]:
        return [r.status for _t, r in self.replies if r.req_id == req_id]


def ok(op: StorageOp, value: Any = None) -> StorageReply:
    return StorageReply(op.op_id, "ok", value, 1)


def not_leader(op: StorageOp, hint: str | None) -> StorageReply:
    return StorageReply(op.op_id, "not_leader", leader_hint=hint)


# ----------------------------------------------------------------------
# redirects
# ----------------------------------------------------------------------
def test_a_not_leader_answer_with_a_hint_sends_the_request_to_the_hinted_host() -> None:
    def answer(host: str, op: StorageOp) -> StorageReply:
        return not_leader(op, S3) if host == S1 else ok(op)

    b = Bench(answer)
    req = b.request()
    b.run(1.0)
    assert b.targets(req) == [S1, S3]
    assert b.statuses(req) == ["ok"]
    assert b.router.leaders[b.pid] == S3  # it remembers the leader for the next request
    req2 = b.request()
    b.run(1.0)
    assert b.targets(req2) == [S3]


def test_redirects_stop_after_max_redirects_with_unavailable() -> None:
    hints = {S1: S2, S2: S3, S3: S1}  # a ring of hosts that each name the next

    def answer(host: str, op: StorageOp) -> StorageReply:
        return not_leader(op, hints[host])

    b = Bench(answer)
    assert b.cfg.router.max_redirects == 2
    req = b.request()
    b.run(1.0)
    # The first try and at most max_redirects redirects, each to the hint.
    assert b.targets(req) == [S1, S2, S3][:1 + b.cfg.router.max_redirects]
    assert b.statuses(req) == ["unavailable"]
    assert b.router.pending == {}


# ----------------------------------------------------------------------
# timeouts
# ----------------------------------------------------------------------
def test_a_timeout_forgets_the_leader_and_avoids_the_host() -> None:
    silent: set[str] = set()

    def answer(host: str, op: StorageOp) -> StorageReply | None:
        return None if host in silent else ok(op, "v")

    b = Bench(answer, leader=None)  # the map names no leader: the router picks
    first = b.request()
    b.run(1.0)
    [learnt] = b.targets(first)
    assert b.router.leaders[b.pid] == learnt
    silent.add(learnt)  # the host it learnt as leader goes quiet
    lost = b.request()
    b.run(1.0)
    assert b.targets(lost) == [learnt]
    assert b.statuses(lost) == ["timeout"]
    replied_t = [t for t, r in b.replies if r.req_id == lost][0]
    timeout_s = b.cfg.router.request_timeout_s
    # (measured from the op's arrival, a hop after the router armed its timeout)
    assert timeout_s - 0.01 <= replied_t - b.ops[-1][0] <= timeout_s * 1.1 + 0.01
    assert b.pid not in b.router.leaders  # forgotten
    # avoided for suspect_s from the timeout (the client heard of it one hop later)
    assert b.router.suspect_until[learnt] == pytest.approx(replied_t + b.cfg.router.suspect_s,
                                                           abs=0.01)
    # For suspect_s it is avoided whenever the router has a choice: writes
    # (no leader known) and eventually consistent reads go elsewhere.
    later = [b.request(kind) for kind in [PUT] + [GET_EVENTUAL] * 20]
    b.run(1.0)
    assert all(b.statuses(r) == ["ok"] for r in later)
    assert learnt not in {h for r in later for h in b.targets(r)}
    assert len({h for r in later for h in b.targets(r)}) == 2  # both others serve reads


def test_an_eventual_read_that_times_out_is_retried_at_once_on_another_replica() -> None:
    silent: set[str] = set()

    def answer(host: str, op: StorageOp) -> StorageReply | None:
        return None if host in silent else ok(op, "v")

    b = Bench(answer)
    silent.update({S1, S2, S3})
    probe = b.request(GET_EVENTUAL)  # learn where the router's first pick goes
    b.run(0.01)
    [first] = b.targets(probe)
    # Same seed, same picks: now only that first pick is silent.
    b = Bench(answer)
    silent.clear()
    silent.add(first)
    req = b.request(GET_EVENTUAL)
    b.run(2.0)
    tried = b.ops
    assert [h for _t, h, _op in tried] == [first, tried[1][1]]
    assert tried[1][1] != first
    timeout_s = b.cfg.router.request_timeout_s
    gap = tried[1][0] - tried[0][0]
    # retried by the router at once on timing out (a sweep may add a tenth
    # of the timeout; then one network hop), not by the client later
    assert timeout_s - 0.01 <= gap <= timeout_s * 1.1 + 0.01
    assert [(r.status, r.value) for _t, r in b.replies if r.req_id == req] == [("ok", "v")]
