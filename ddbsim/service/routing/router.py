"""A request router: the front door of the service.

Paper §3: every client request reaches a request router, which finds the
partition that holds the key, finds the replica that should serve it, and
forwards the request.  Writes and strongly consistent reads go to the
partition's leader; an eventually consistent read goes to any storage
replica.  A router remembers the leader of each partition it has used; a
storage node that is not the leader says so (naming the leader where it
knows it) and the router follows the hint, at most ``router.max_redirects``
times.  A storage node that does not answer within
``router.request_timeout_s`` makes the router forget that leader, avoid that
host for ``router.suspect_s`` when it has a choice, and report a timeout to
the client -- except for an eventually consistent read, which has no side
effect and is tried at once on another replica.

With global admission control (``admission.policy=gac``, paper §4.2) a
router admits each request against its local GAC tokens first
(:class:`~ddbsim.service.admission.router_tokens.RouterTokens`); a request
it cannot admit is answered ``throttled`` without reaching a storage node.

Routers reach the partition map through a router cache
(:mod:`ddbsim.service.routing.route_cache`, paper §6.6): ``direct`` reads
the authoritative map in zero time; ``bimodal`` and ``constant_work`` look
keys up over the network, in the metadata table or in MemDS, and a request
whose lookup missed waits for the answer (or is answered ``unavailable`` if
none comes).  A ``not_leader`` answer, or a leader that did not answer,
tells the cache its routing of that partition is stale.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from ddbsim.config import RouterConfig
from ddbsim.service.admission.router_tokens import RouterTokens
from ddbsim.service.messages import (
    GET_EVENTUAL,
    THROTTLED,
    ClientReply,
    ClientRequest,
    MemDSAnswer,
    Message,
    RoutingTable,
    StorageOp,
    StorageReply,
    TokenGrant,
)
from ddbsim.service.metadata.partition_map import PartitionInfo, PartitionMap
from ddbsim.service.routing.route_cache import DirectRoutes, RouteCache
from ddbsim.world.queueing import ServiceQueue
from ddbsim.world.region import World
from ddbsim.world.scheduling import Deadlines
from ddbsim.world.topology import Host


class _Pending:
    __slots__ = ("client", "request", "pid", "redirects", "tried")

    def __init__(self, client: str, request: ClientRequest, pid: str) -> None:
        self.client = client
        self.request = request
        self.pid = pid
        self.redirects = 0
        self.tried: list[str] = []


class Router:
    def __init__(self, host: Host, world: World, cfg: RouterConfig,
                 routing: PartitionMap | RouteCache) -> None:
        self.host = host
        # A partition map is read directly (routing.cache = direct).
        self.cache: RouteCache = (DirectRoutes(routing) if isinstance(routing, PartitionMap)
                                  else routing)
        self._direct = isinstance(self.cache, DirectRoutes)
        self.routing = self.cache.map if isinstance(self.cache, DirectRoutes) else None
        self.env = world.env
        self.net = world.network
        self.hosts = world.topology.hosts
        self.cfg = cfg
        self._op_ids = itertools.count(1)
        streams = world.streams
        self.pick_draws = streams.draws(f"router/{host.id}/pick")  # which replica serves a read
        self.queue = ServiceQueue(self.env, self.cfg.servers_per_router, self.cfg.service_time_s,
                                  streams.draws(f"router/{host.id}/queue"), host)
        self.leaders: dict[str, str] = {}
        # storage hosts that recently failed to answer -> until when to avoid them
        self.suspect_until: dict[str, float] = {}
        self.pending: dict[int, _Pending] = {}
        self._deadlines = Deadlines(self.env, self.cfg.request_timeout_s, self._timeout,
                                    pending=self.pending)
        #: GAC tokens (admission.policy=gac), set by the service
        self.tokens: RouterTokens | None = None
        host.listen(on_off=self._power_off)
        self.net.register(host, self.receive)

    def _power_off(self, _host: Host) -> None:
        self.pending.clear()
        self._deadlines.clear()
        self.leaders.clear()
        self.suspect_until.clear()
        self.queue.reset()
        self.cache.power_off()
        if self.tokens is not None:
            self.tokens.reset()

    def receive(self, src: Host, msg: Message) -> None:
        ROUTER_HANDLERS[type(msg)](self, src, msg)

    def _on_request(self, src: Host, msg: ClientRequest) -> None:
        # The request waits its turn and is served; the router decides
        # where it goes on arrival and the forward leaves when service
        # ends (one event for both).
        after_s = self.queue.reserve()
        if self.routing is not None:  # direct: the authoritative map, in zero time
            info = self.routing.partition_for(msg.key)
        else:
            found = self.cache.lookup(msg.key)
            if found is None:
                ready_at = self.env._now + after_s  # type: ignore[attr-defined]
                client = src.id
                self.cache.wait(msg.key, lambda i: self._routed(client, msg, ready_at, i))
                return
            info = found
        if self.tokens is None:  # nothing to admit against: straight to _forward
            self._forward(_Pending(src.id, msg, info.pid), None, after_s, info)
        else:
            self._admit(_Pending(src.id, msg, info.pid), after_s, info)

    def _routed(self, client: str, msg: ClientRequest, ready_at: float,
                info: PartitionInfo | None) -> None:
        """A missed lookup came back (None: it could not be had)."""
        if not self.host.powered:
            return
        after_s = max(0.0, ready_at - self.env.now)
        if info is None:
            self._answer(_Pending(client, msg, ""), "unavailable", after_s=after_s)
            return
        self._admit(_Pending(client, msg, info.pid), after_s, info)

    def _admit(self, p: _Pending, after_s: float, info: PartitionInfo) -> None:
        """Admit the request against the router's GAC tokens (with them), and
        forward it."""
        if self.tokens is not None:
            msg = p.request
            admitted = self.tokens.admit(p, info.pid, msg.kind, msg.size_bytes)
            if admitted is None:
                return  # waiting for GAC: resumed by _admitted
            if not admitted:
                self._answer(p, THROTTLED, after_s=after_s)
                return
        self._forward(p, None, after_s, info)

    def _admitted(self, p: _Pending, admitted: bool) -> None:
        """A request that waited for GAC tokens: on its way, or throttled."""
        if admitted:
            self._forward(p, None)
        else:
            self._answer(p, THROTTLED)

    def _on_grant(self, src: Host, msg: TokenGrant) -> None:
        if self.tokens is not None:
            self.tokens.on_grant(src, msg)

    def _on_routing(self, src: Host, msg: Message) -> None:
        self.cache.receive(src, msg)

    # ------------------------------------------------------------------

    def _target(self, p: _Pending, hint: str | None, info: PartitionInfo | None) -> str | None:
        if info is None:
            if self.routing is not None:
                # a retry: the key's partition again (it may have been split since)
                info = self.routing.partition_for(p.request.key)
                p.pid = info.pid
            else:
                info = self.cache.partition(p.pid)
                if info is None:  # flushed meanwhile
                    return hint
        if p.request.kind == GET_EVENTUAL:
            hosts: Sequence[str] = info.storage_hosts()
            if p.tried:
                hosts = [h for h in hosts if h not in p.tried] or hosts
            return self._pick(hosts)
        if hint is not None:
            return hint
        for known in (self.leaders.get(p.pid), info.leader):
            if known is not None and known not in p.tried:
                if (self.routing is None and self.suspect_until
                        and self.suspect_until.get(known, -1.0) > self.env.now):
                    continue  # a cached leader that timed out may be stale: ask another
                return known
        return self._pick([h for h in info.storage_hosts() if h not in p.tried])

    def _pick(self, hosts: Sequence[str]) -> str | None:
        """A random host, preferring those not suspected of being down."""
        if not hosts:
            return None
        if self.suspect_until:
            now = self.env.now
            healthy = [h for h in hosts if self.suspect_until.get(h, -1.0) <= now]
            hosts = healthy or hosts
        return hosts[self.pick_draws.choice_index(len(hosts))]

    def _forward(self, p: _Pending, hint: str | None, after_s: float = 0.0,
                 info: PartitionInfo | None = None) -> None:
        target = self._target(p, hint, info)
        if target is None:
            self._answer(p, "unavailable", after_s=after_s)
            return
        p.tried.append(target)
        op_id = next(self._op_ids)
        self.pending[op_id] = p
        self.net.send(self.host, self.hosts[target], StorageOp(op_id, p.pid, p.request), after_s)
        self._deadlines.add(op_id)

    def _timeout(self, op_id: int) -> None:
        p = self.pending.pop(op_id, None)
        if p is None:
            return
        target = p.tried[-1]
        if self.leaders.get(p.pid) == target:
            del self.leaders[p.pid]
        if p.request.kind != GET_EVENTUAL:
            self.cache.stale_route(p.pid)
        self.suspect_until[target] = self.env.now + self.cfg.suspect_s
        if p.request.kind == GET_EVENTUAL and p.redirects < self.cfg.max_redirects:
            p.redirects += 1  # a read has no side effect: try another replica at once
            self._forward(p, None)
            return
        self._answer(p, "timeout")

    def _on_reply(self, src_host: Host, msg: StorageReply) -> None:
        src = src_host.id
        p = self.pending.pop(msg.op_id, None)
        if p is None:
            return  # late: the request already timed out
        status = msg.status
        if status == "ok":
            if p.request.kind != GET_EVENTUAL:
                self.leaders[p.pid] = src
            self._answer(p, "ok", msg.value, msg.version, msg.applied)
            return
        if status == "not_leader":
            if self.leaders.get(p.pid) == src:
                del self.leaders[p.pid]
            self.cache.stale_route(p.pid)
            hint = msg.leader_hint if msg.leader_hint != src else None
            if p.redirects < self.cfg.max_redirects:
                p.redirects += 1
                if hint is not None:
                    self.leaders[p.pid] = hint
                self._forward(p, hint)
                return
        # throttled passes through (ProvisionedThroughputExceeded); anything else is unavailable
        self._answer(p, THROTTLED if status == THROTTLED else "unavailable")

    def _answer(self, p: _Pending, status: str, value: Any = None, version: int = 0,
                applied: bool = True, after_s: float = 0.0) -> None:
        self.net.send(self.host, self.hosts[p.client],
                      ClientReply(p.request.req_id, status, value, version, applied, p.pid), after_s)


#: What a router does with each message, by type.
ROUTER_HANDLERS: dict[type, Callable[[Router, Host, Any], None]] = {
    ClientRequest: Router._on_request,
    StorageReply: Router._on_reply,
    RoutingTable: Router._on_routing,
    MemDSAnswer: Router._on_routing,
    TokenGrant: Router._on_grant,
}
