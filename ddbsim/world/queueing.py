"""A multi-server FIFO queue with exponential service times, as timestamps.

A storage node or a request router serves a few requests at once; the rest
wait.  Rather than a SimPy ``Resource`` and a process per request, the queue
keeps, for each server, the time it next falls free: a request starts on the
earliest-free server, finishes an exponential service time later, and its
callback is scheduled for then.  That is an M/M/c FIFO queue at the cost of
one heap operation and one scheduled callback per request.  On a slow host
(a gray failure, ``Host.slowdown``) every service time is that much longer.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import simpy

from ddbsim.world.scheduling import call_later
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

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` when the request has waited its turn and been served."""
        call_later(self.env, self.reserve(), fn, *args)

    def reserve(self) -> float:
        """Queue a request arriving now; return the delay until its service
        ends (for callers that act on arrival and only send at the end)."""
        now = self.env.now
        start = max(now, heapq.heappop(self._free_at))
        service_s = self._draws.exponential(self.mean_service_s)
        if self.host is not None:
            service_s *= self.host.slowdown
        done = start + service_s
        heapq.heappush(self._free_at, done)
        return done - now

    def reset(self) -> None:
        """Forget all queued work (the host lost power)."""
        self._free_at = [0.0] * self.servers
