"""A host's disk: how long a write takes to become durable.

Every storage host has one disk.  A write issued now is durable after a
log-normal delay (median ``storage.wal_persist_s``, shape
``storage.wal_persist_sigma``, both ``[chosen]``), times the host's
``slowdown`` while it suffers a gray failure.  Writes are independent (an
SSD with a deep queue), so they may finish out of order.  The disk only
says *when* a write is durable; whoever keeps the data stamps it with that
time, and a power-off throws away what was not yet durable (no event per
write: see :mod:`ddbsim.service.storage.replica`).

Disk faults (the mechanism; when and where they strike is the lab's policy,
:mod:`ddbsim.lab.faults` and :mod:`ddbsim.lab.nemesis`):

* **bit rot** (:meth:`Disk.rot`) -- silent corruption of one stored item or
  one WAL record: the bytes change, the stored checksum does not, and
  nothing notices until someone reads them back and verifies.  The disk
  does not know what it stores: whoever keeps data on it registers a
  listener (:meth:`Disk.listen`) that corrupts one of its things, chosen
  by two uniform numbers the caller drew, and says what it corrupted.
* **a lost disk** (:meth:`Disk.lose`) -- the disk is replaced while its host
  is off: everything it held is gone, and the host comes back empty.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ddbsim.world.streams import Draws
from ddbsim.world.topology import Host

#: What bit rot can hit: a stored item, or a record of the write-ahead log.
ROT_TARGETS = ("item", "wal")
#: ``listener(what, u1, u2)`` corrupts one thing of kind ``what`` (picked by
#: u1, u2 in [0, 1)) and describes it, or returns None if it holds none.
RotListener = Callable[[str, float, float], "dict[str, Any] | None"]


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
        self._rot: list[RotListener] = []
        self._lost: list[Callable[[], None]] = []
        self.losses = 0

    def listen(self, rot: RotListener | None = None,
               lost: Callable[[], None] | None = None) -> None:
        """Register what the data kept on this disk does on a fault."""
        if rot is not None:
            self._rot.append(rot)
        if lost is not None:
            self._lost.append(lost)

    def rot(self, what: str, u1: float, u2: float) -> dict[str, Any] | None:
        """Silently corrupt one thing of kind ``what`` (see :data:`ROT_TARGETS`);
        returns what was hit, or None if the disk holds nothing of that kind."""
        if what not in ROT_TARGETS:
            raise ValueError(f"bit rot hits one of {', '.join(ROT_TARGETS)}, not {what!r}")
        for listener in self._rot:
            hit = listener(what, u1, u2)
            if hit is not None:
                return hit
        return None

    def lose(self) -> None:
        """The disk is gone (replaced by an empty one); its host must be off."""
        if self.host.powered:
            raise RuntimeError(f"{self.host.id}: a disk is lost while its host is off")
        self.losses += 1
        for listener in self._lost:
            listener()

    def write_delay_s(self) -> float:
        """How long a write issued now takes to become durable."""
        self.writes += 1
        factors = self._factors
        if not factors:
            factors = self._factors = self._draws.lognormal_factors(self.sigma)
        return self.persist_s * factors.pop() * self.host.slowdown
