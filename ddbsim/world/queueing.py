"""A multi-server FIFO queue with exponential service times, as timestamps.

A storage node or a request router serves a few requests at once; the rest
wait.  Rather than a SimPy ``Resource`` and a process per request, the queue
keeps, for each server, the time it next falls free: a request starts on the
earliest-free server and finishes an exponential service time later; the
caller learns that delay at once and schedules what follows for then.  That
is an M/M/c FIFO queue at the cost of one heap operation per request.  On a slow host
(a gray failure, ``Host.slowdown``) every service time is that much longer.
"""
from __future__ import annotations

import heapq

import simpy

from ddbsim.world.streams import Draws
from ddbsim.world.topology import Host


class ServiceQueue:
    def __init__(self, env: simpy.Environment, servers: int, mean_service_s: float,
                 draws: Draws, host: Host | None = None) -> None:
        self.env = env
        self.host = host
        self.servers = servers
        self.mean_service_s = mean_service_s
        self._draws = draws
        self._free_at = [0.0] * servers

    def reserve(self, jobs: int = 1) -> float:
        """Queue a request arriving now; return the delay until its service
        ends.  The caller acts on arrival and sends what it has to send that
        much later: one event per request, not two.  ``jobs`` > 1 queues a
        batch served as one request of that many mean service times (one
        exponential draw, scaled)."""
        now = self.env._now  # type: ignore[attr-defined]  # as Environment.now, without the property
        free = heapq.heappop(self._free_at)
        start = free if free > now else now
        service_s = self._draws.exponential(self.mean_service_s * jobs)
        if self.host is not None:
            service_s *= self.host.slowdown
        done = start + service_s
        heapq.heappush(self._free_at, done)
        return done - now

    def reset(self) -> None:
        """Forget all queued work (the host lost power)."""
        self._free_at = [0.0] * self.servers
