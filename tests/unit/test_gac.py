"""Global admission control (paper §4.2): the ring, a server's grants, and
a router's time-limited tokens over the world's network -- including a GAC
server that crashes."""
from __future__ import annotations

from typing import Any

import pytest

from ddbsim.config import Config
from ddbsim.service.admission.gac import GacRing, GacServer
from ddbsim.service.admission.router_tokens import THROTTLED, RouterTokens
from ddbsim.service.messages import TokenGrant, TokenRequest
from ddbsim.world.region import World

TABLE = "orders"


def test_the_ring_gives_every_table_an_owner_and_the_rest_in_order() -> None:
    ring = GacRing(["a", "b", "c"])
    owners = {tuple(ring.owners(f"table-{i}")) for i in range(50)}
    assert {o[0] for o in owners} == {"a", "b", "c"}  # each server owns some tables
    for o in owners:
        assert sorted(o) == ["a", "b", "c"]
        # the same cyclic order whoever owns the table
        rotations = {tuple(o[i:] + o[:i]) for i in range(3)}
        assert len(rotations & {tuple(x) for x in owners}) >= 1
    assert ring.owners("orders") == GacRing(["c", "a", "b"]).owners("orders")
    assert GacRing([]).owners("orders") == []


class World_:
    """A real world (clock, network, topology) with GAC on."""

    def __init__(self, **overrides: Any) -> None:
        self.cfg = Config().with_overrides({"admission.policy": "gac", **overrides})
        self.world = World(self.cfg, 1)
        self.gac_hosts = [h for h in self.world.topology.of_kind("gac")]
        table = self.cfg.table
        self.servers = {h.id: GacServer(h, self.world, self.cfg.admission,
                                        lambda _t: (table.provisioned_rcu, table.provisioned_wcu))
                        for h in self.gac_hosts}
        self.ring = GacRing(list(self.servers))
        self.resumed: list[tuple[Any, bool]] = []
        self.routers = [RouterTokens(h, self.world, self.cfg.admission, TABLE, self.ring,
                                     lambda item, ok: self.resumed.append((item, ok)))
                        for h in self.world.topology.of_kind("router")]
        for r in self.routers:
            self.world.network.register(r.host, self._to(r))

    @staticmethod
    def _to(r: RouterTokens) -> Any:
        return lambda src, msg: r.on_grant(src, msg)

    def run(self, until: float) -> None:
        self.world.env.run(until=until)


def test_a_server_grants_demand_plus_an_equal_share_of_what_is_left() -> None:
    w = World_()
    server = next(iter(w.servers.values()))
    routers = w.world.topology.of_kind("router")
    sent: list[Any] = []
    w.world.network.send = lambda src, dst, msg, after_s=0.0: sent.append(msg)  # type: ignore[method-assign]
    server.receive(routers[0], TokenRequest(1, TABLE, 0.0, 100.0))
    server.receive(routers[1], TokenRequest(1, TABLE, 0.0, 500.0))
    refresh = w.cfg.admission.gac_refresh_s
    # 1,000 WCU provisioned; demands 100 and 500: each gets its demand + 200
    assert sent[1].write_units == pytest.approx((500 + 200) * refresh)
    # beyond the provisioned rate: shares in proportion to demand, never more than the bucket
    server.receive(routers[2], TokenRequest(1, TABLE, 0.0, 2900.0))
    share = 1000 * 2900 / 3500 * refresh
    bucket = 1000 * w.cfg.admission.gac_bucket_s - sent[0].write_units - sent[1].write_units
    assert sent[2].write_units == pytest.approx(min(share, bucket))


def test_a_router_spends_granted_tokens_and_waits_for_the_first_grant() -> None:
    w = World_()
    r = w.routers[0]
    assert r.admit("req-1", "p-0", "put", 1000.0) is None  # no tokens yet: it asks and waits
    w.run(0.05)
    assert w.resumed == [("req-1", True)]
    assert r.asks == 1 and r.grants == 1
    assert r.admit("req-2", "p-0", "put", 1000.0) is True  # tokens in stock: at once
    assert r.tokens[1] > 0


def test_tokens_expire_and_the_router_asks_every_refresh() -> None:
    w = World_()
    r = w.routers[0]
    r.admit("a", "p-0", "put", 100.0)
    w.run(1.0)
    asks = r.asks
    w.run(w.cfg.admission.gac_token_lifetime_s + 2.0)  # no traffic: nothing asked, tokens expire
    assert r.asks == asks and r.levels(w.world.env.now) == (0.0, 0.0)


def test_a_router_that_runs_out_within_min_ask_throttles_at_once() -> None:
    w = World_(**{"table.provisioned_wcu": 10.0})
    r = w.routers[0]
    r.admit("a", "p-0", "put", 1000.0)
    w.run(0.05)
    # the grant is small: spending it asks early, and what the stock cannot
    # cover waits for that answer; the answer covers some of them, not all
    results = [r.admit(i, "p-0", "put", 1000.0) for i in range(200)]
    assert True in results and None in results and False not in results
    w.run(0.1)
    assert [ok for _item, ok in w.resumed].count(False) > 0
    asks = r.asks
    # just answered and out of tokens: throttled at once, without asking again
    assert r.admit("late", "p-0", "put", 1000.0) is False
    assert r.asks == asks
    assert r.counters["p-0"][THROTTLED] >= 1


def test_a_crashed_owner_costs_a_timeout_then_the_next_server_on_the_ring_answers() -> None:
    w = World_()
    r = w.routers[0]
    owner = w.ring.owners(TABLE)[0]
    w.servers[owner].crash()
    assert r.admit("req", "p-0", "put", 1000.0) is None
    w.run(w.cfg.admission.gac_timeout_s / 2)
    assert w.resumed == []  # still waiting for the owner
    w.run(w.cfg.admission.gac_timeout_s + 0.05)
    assert w.resumed == [("req", True)]
    assert r.timeouts == 1 and w.servers[w.ring.owners(TABLE)[1]].grants == 1
    # while the owner is suspected, asks go to the next server directly
    w.run(5.0)
    r.admit("again", "p-0", "put", 1000.0)
    w.run(5.1)
    assert r.timeouts == 1
    # restarted, empty: the owner serves again once the suspicion ends
    w.servers[owner].restart()
    assert w.servers[owner].buckets == {}


def test_when_no_server_answers_the_waiting_requests_are_throttled() -> None:
    w = World_()
    for server in w.servers.values():
        server.crash()
    r = w.routers[0]
    assert r.admit("req", "p-0", "put", 1000.0) is None
    w.run(3 * w.cfg.admission.gac_timeout_s + 0.1)
    assert w.resumed == [("req", False)] and r.timeouts == 3


def test_a_power_off_of_the_gac_host_is_a_crash() -> None:
    w = World_()
    host = w.gac_hosts[0]
    server = w.servers[host.id]
    host.power_off(0.0)
    assert not server.up
    host.power_on()
    assert server.up and server.buckets == {}


def test_a_late_answer_from_a_slow_server_is_taken() -> None:
    w = World_(**{"network.impair_delay_sigma": 0.0})
    w.world.network.impair("region", None, 0.0, 0.2)  # every message 200 ms late: a 400 ms round trip
    r = w.routers[0]
    assert r.admit("req", "p-0", "put", 1000.0) is None
    w.run(0.3)
    assert r.timeouts == 1 and w.resumed == []  # gave up on the owner, asked the next one
    w.run(0.45)
    assert w.resumed == [("req", True)]  # the owner's late answer
    assert r.grants == 1
    w.run(1.0)  # the second server's answer (to the newer ask) tops the stock up
    assert r.grants == 2 and r.in_flight is None
    r.on_grant(w.gac_hosts[0], TokenGrant(1, TABLE, 5.0, 5.0, 4.0))  # older than the stock
    assert r.grants == 2 and r.tokens[1] != 5.0


def test_a_grant_tops_the_stock_up_to_the_share() -> None:
    w = World_()
    r = w.routers[0]
    r.admit("a", "p-0", "put", 1000.0)
    w.run(0.05)
    share = w.cfg.table.provisioned_wcu * w.cfg.admission.gac_refresh_s  # the only router asking
    assert r.tokens[1] == pytest.approx(share - 1.0)  # one WCU spent
    r._ask(w.world.env.now)  # ask again at once, holding nearly a whole share
    w.run(0.1)
    assert r.grants == 2
    assert r.tokens[1] == pytest.approx(share)  # topped up to the share, not a second share
