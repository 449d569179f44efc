"""Log records: what a replication group agrees on, one per log position.

Paper §3: every write of a partition is a record in its write-ahead log,
agreed by Multi-Paxos before it is applied to the B-tree.  A record names
its operation and carries the fields that operation needs:

* ``put`` -- ``key``, ``value`` and ``expected_version`` (``None`` for an
  unconditional put, else the version the item must have; 0: it must not
  exist);
* ``delete`` -- ``key``;
* ``config`` -- ``members``, a membership change: a tuple of
  ``(host_id, kind)``, ``kind`` being ``storage`` or ``log``;
* ``noop`` -- what a new leader proposes to fill gaps and to commit.

Records are immutable once made and compared by value (two replicas agree
when they hold equal records at the same positions).

A record carries ``t_s``, the time the leader stamped on it when it made it
to propose (``Member.handle_op``; None on a no-op and on a membership
change, which hold no data): a point-in-time restore
(:meth:`ddbsim.service.object_store.ObjectStore.restore`) replays the
archived records stamped at or before the instant asked for.  The stamp is
made once: a new leader re-proposing a record it recovered keeps the old
one.  Every record carries a
``checksum`` (CRC-32 of its fields, the stamp included), computed once when it is made: whoever
reads a record from a disk or a copy -- a replica applying it, the archiver
uploading it, the object store storing it -- checks it with :meth:`LogRecord.verify`
(paper §5: "every log record ... is checksummed").  Silent corruption on a
disk (:mod:`ddbsim.world.disk`) is modelled by :meth:`LogRecord.rotten`: a
copy whose content changed under the same checksum.  Since a record never
changes, one made from its fields matches its checksum for good: only a
rotten copy needs the CRC recomputed when verified (a record is verified by
every replica's archiver and by the object store; the cost was per copy).
A log *entry* is a
record with the ballot it was accepted under.
"""
from __future__ import annotations

import zlib
from typing import Any

from ddbsim.service.membership import Ballot, Members

PUT = "put"
DELETE = "delete"
CONFIG = "config"
NOOP = "noop"


class LogRecord:
    __slots__ = ("op", "key", "value", "expected_version", "members", "t_s", "checksum", "_sound",
                 "item")

    def __init__(self, op: str, key: str | None = None, value: Any = None,
                 expected_version: int | None = None, members: Members | None = None,
                 t_s: float | None = None) -> None:
        self.op = op
        self.key = key
        self.value = value
        self.expected_version = expected_version
        self.members = members
        self.t_s = t_s
        self.checksum = zlib.crc32(  # self._text(), inlined: a record is made per write
            f"{op}\x00{key}\x00{value}\x00{expected_version}\x00{members}\x00{t_s!r}".encode())
        # Made from its own fields, which never change: it verifies (a
        # rotten copy clears this, and is checked the long way).
        self._sound = True
        #: The B-tree item ``(value, version, checksum)`` a put or a delete
        #: made when last applied, for the next replica that applies it at the
        #: same version to share (see :meth:`ReplicaState.apply`); None so far.
        self.item: tuple[Any, int, int] | None = None

    def _text(self) -> bytes:
        return (f"{self.op}\x00{self.key}\x00{self.value}\x00{self.expected_version}"
                f"\x00{self.members}\x00{self.t_s!r}").encode()

    def verify(self) -> bool:
        """Whether the record's content still matches its checksum."""
        return self._sound or zlib.crc32(self._text()) == self.checksum

    def rotten(self) -> LogRecord:
        """A copy of this record with its value flipped under the old
        checksum: what bit rot leaves on a disk (the original is shared by
        every replica that holds it, so it is never changed)."""
        copy = LogRecord(self.op, self.key, f"{self.value}~rot", self.expected_version,
                         self.members, self.t_s)
        copy.checksum = self.checksum
        copy._sound = False
        return copy

    @staticmethod
    def put(key: str, value: Any, expected_version: int | None = None,
            t_s: float | None = None) -> LogRecord:
        return LogRecord(PUT, key, value, expected_version, t_s=t_s)

    @staticmethod
    def delete(key: str, t_s: float | None = None) -> LogRecord:
        return LogRecord(DELETE, key, t_s=t_s)

    @staticmethod
    def config(members: Members) -> LogRecord:
        return LogRecord(CONFIG, members=members)

    def _fields(self) -> tuple[Any, ...]:
        return (self.op, self.key, self.value, self.expected_version, self.members, self.t_s)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LogRecord) and self._fields() == other._fields()

    def __repr__(self) -> str:
        if self.op == PUT:
            return f"put({self.key!r}, {self.value!r}, expected={self.expected_version!r})"
        if self.op == DELETE:
            return f"delete({self.key!r})"
        if self.op == CONFIG:
            return f"config({self.members!r})"
        return "noop()"


#: The record a new leader proposes to fill a gap or to commit its recovery.
NOOP_RECORD = LogRecord(NOOP)


class Entry:
    """A record at one log position, with the ballot it was accepted under,
    the time it is durable from, and the entry it overwrote (kept until this
    one is durable: a crash before then brings it back; None if none)."""

    __slots__ = ("ballot", "record", "durable_at", "prev")

    def __init__(self, ballot: Ballot, record: LogRecord, durable_at: float,
                 prev: Entry | None = None) -> None:
        self.ballot = ballot
        self.record = record
        self.durable_at = durable_at
        self.prev = prev
