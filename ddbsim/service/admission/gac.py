"""Global admission control: the GAC servers (paper §4.2).

GAC tracks a table's total consumption in tokens.  Every request router
keeps a local stock of time-limited tokens (:mod:`.router_tokens`) and asks
GAC for more every few seconds, or when it runs out.  A GAC server keeps,
per table and per kind (reads, writes), a token bucket at the table's
provisioned rate holding ``admission.gac_bucket_s`` of it, and each router's
demand as the router last reported it.  A router's grant tops its stock
(the tokens it still holds, which it reports) up to its share of the next
``admission.gac_refresh_s`` of the table's rate, taken from the bucket:

* while the routers' demands add up to less than the provisioned rate,
  each router gets its demand plus an equal part of what is left over (so a
  router whose traffic grows finds room at once);
* beyond it, each router gets the provisioned rate in proportion to its
  demand;

and never more than the bucket holds, so over any stretch of time GAC vends
at most the provisioned rate times its length plus the bucket.  A router
whose traffic all goes to one key range gets the whole table's rate for
it: throughput follows the traffic, not the partitioning -- up to the
partition maximum, which the partitions' own buckets still enforce.

The state is ephemeral -- demands and buckets are computed on the fly from
the routers' requests -- so a server that crashes and restarts starts
empty, and any server can take over a table.  The servers sit on a hash
ring of their own (:class:`GacRing`): a table belongs to the first server
at or after its hash, and a router that gets no answer from it asks the
next one.  A crash (:meth:`GacServer.crash`) and a restart
(:meth:`GacServer.restart`) are the mechanisms a fault uses; a power-off of
the server's host does the same.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from ddbsim.config import AdmissionConfig
from ddbsim.service.admission.bucket import TokenBucket
from ddbsim.service.messages import Message, TokenGrant, TokenRequest
from ddbsim.service.metadata.hashing import key_hash
from ddbsim.world.region import World
from ddbsim.world.topology import Host


class GacRing:
    """The GAC servers on their own consistent-hash ring."""

    def __init__(self, servers: list[str]) -> None:
        self._ring = sorted((key_hash(f"gac/{host}"), host) for host in servers)
        self._hashes = [h for h, _ in self._ring]

    def __len__(self) -> int:
        return len(self._ring)

    def owners(self, table: str) -> list[str]:
        """Every server, starting with ``table``'s owner and going round the ring."""
        if not self._ring:
            return []
        start = bisect_left(self._hashes, key_hash(table)) % len(self._ring)
        return [self._ring[(start + i) % len(self._ring)][1] for i in range(len(self._ring))]


class GacServer:
    """One GAC server on its own host; ``provisioned(table)`` gives a
    table's (RCU, WCU) provisioned rates (the control plane's record)."""

    def __init__(self, host: Host, world: World, cfg: AdmissionConfig,
                 provisioned: Callable[[str], tuple[float, float]]) -> None:
        self.host = host
        self.env = world.env
        self.net = world.network
        self.cfg = cfg
        self._provisioned = provisioned
        self.up = True
        self.grants = 0  # requests answered (ever; not state)
        self._clear()
        host.listen(on_off=lambda _h: self.crash(), on_on=lambda _h: self.restart())
        self.net.register(host, self.receive)

    def _clear(self) -> None:
        #: (table, read) -> the table's bucket for that kind
        self.buckets: dict[tuple[str, bool], TokenBucket] = {}
        #: table -> router -> (read demand, write demand, reported at)
        self.demands: dict[str, dict[str, tuple[float, float, float]]] = {}

    # -- the fault mechanisms --------------------------------------------
    def crash(self) -> None:
        """The server process dies: it answers nothing and forgets everything."""
        self.up = False
        self._clear()

    def restart(self) -> None:
        """The server process starts again, empty (its state is ephemeral)."""
        if self.host.powered:
            self.up = True
            self._clear()

    # -- serving -----------------------------------------------------------
    def receive(self, src: Host, msg: Message) -> None:
        if self.up:
            GAC_HANDLERS[type(msg)](self, src, msg)

    def _on_request(self, src: Host, msg: TokenRequest) -> None:
        now = self.env.now
        table = msg.table
        routers = self.demands.setdefault(table, {})
        routers[src.id] = (msg.read_demand_per_s, msg.write_demand_per_s, now)
        ttl = self.cfg.gac_demand_ttl_s
        for router in [r for r, d in routers.items() if now - d[2] > ttl]:
            del routers[router]
        rcu, wcu = self._provisioned(table)
        read = self._grant(table, True, rcu, src.id, routers, msg.read_stock, now)
        write = self._grant(table, False, wcu, src.id, routers, msg.write_stock, now)
        self.grants += 1
        self.net.send(self.host, src, TokenGrant(msg.seq, table, read, write,
                                                 self.cfg.gac_token_lifetime_s))

    def _grant(self, table: str, read: bool, rate: float, router: str,
               routers: dict[str, tuple[float, float, float]], stock: float,
               now: float) -> float:
        bucket = self.buckets.get((table, read))
        if bucket is None:
            bucket = self.buckets[(table, read)] = TokenBucket(rate, rate * self.cfg.gac_bucket_s,
                                                               now)
        elif bucket.rate_per_s != rate:
            bucket.set_rate(rate, rate * self.cfg.gac_bucket_s, now)
        slot = 0 if read else 1
        mine = routers[router][slot]
        total = sum(d[slot] for d in routers.values())
        if total <= rate:
            share = mine + (rate - total) / len(routers)
        else:
            share = rate * mine / total
        bucket.refill(now)
        grant = min(max(0.0, share * self.cfg.gac_refresh_s - stock), max(0.0, bucket.tokens))
        bucket.tokens -= grant
        return grant


#: What a GAC server does with each message, by type.
GAC_HANDLERS: dict[type, Callable[[GacServer, Host, Any], None]] = {
    TokenRequest: GacServer._on_request,
}
