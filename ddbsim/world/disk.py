"""A host's disk: how long a write takes to become durable.

Every storage host has one disk.  A write issued now is durable after a
log-normal delay (median ``storage.wal_persist_s``, shape
``storage.wal_persist_sigma``, both ``[chosen]``), times the host's
``slowdown`` while it suffers a gray failure.  Writes are independent (an
SSD with a deep queue), so they may finish out of order.  A power-off
loses every write still in flight: its completion never runs.

This is the place where the durability work's disk faults (bit rot, a lost
disk) will happen; the storage node keeps *what* is durable, the disk says
*when*.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from ddbsim.world.scheduling import call_later
from ddbsim.world.streams import Draws
from ddbsim.world.topology import Host


class Disk:
    def __init__(self, env: simpy.Environment, host: Host, persist_s: float, sigma: float,
                 draws: Draws) -> None:
        if persist_s <= 0 or sigma < 0:
            raise ValueError(f"a disk needs persist_s > 0 and sigma >= 0, got {persist_s}, {sigma}")
        self.env = env
        self.host = host
        self.persist_s = persist_s
        self.sigma = sigma
        self._draws = draws
        self.writes = 0

    def write_delay_s(self) -> float:
        """How long a write issued now takes to become durable."""
        self.writes += 1
        return self._draws.lognormal(self.persist_s, self.sigma) * self.host.slowdown

    def write(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` once a write issued now is durable; never, if
        the host loses power first."""
        call_later(self.env, self.write_delay_s(), self._done, self.host.epoch, fn, args)

    def _done(self, epoch: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        host = self.host
        if epoch == host.epoch and host.powered:
            fn(*args)
