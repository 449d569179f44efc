"""A host's disk: how long a write takes to become durable.

Every storage host has one disk.  A write issued now is durable after a
log-normal delay (median ``storage.wal_persist_s``, shape
``storage.wal_persist_sigma``, both ``[chosen]``), times the host's
``slowdown`` while it suffers a gray failure.  Writes are independent (an
SSD with a deep queue), so they may finish out of order.  The disk only
says *when* a write is durable; whoever keeps the data stamps it with that
time, and a power-off throws away what was not yet durable (no event per
write: see :mod:`ddbsim.service.storage.replica`).

This is the place where the durability work's disk faults (bit rot, a lost
disk) will happen.
"""
from __future__ import annotations

from ddbsim.world.streams import Draws
from ddbsim.world.topology import Host


class Disk:
    def __init__(self, host: Host, persist_s: float, sigma: float, draws: Draws) -> None:
        if persist_s <= 0 or sigma < 0:
            raise ValueError(f"a disk needs persist_s > 0 and sigma >= 0, got {persist_s}, {sigma}")
        self.host = host
        self.persist_s = persist_s
        self.sigma = sigma
        self._draws = draws
        self._factors: list[float] = []  # log-normal factors, drawn in batches
        self.writes = 0

    def write_delay_s(self) -> float:
        """How long a write issued now takes to become durable."""
        self.writes += 1
        factors = self._factors
        if not factors:
            factors = self._factors = self._draws.lognormal_factors(self.sigma)
        return self.persist_s * factors.pop() * self.host.slowdown
