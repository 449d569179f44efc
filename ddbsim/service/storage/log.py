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
when they hold equal records at the same positions).  ``checksum`` is
reserved for the durability work (0 until then).  A log *entry* is a record
with the ballot it was accepted under.
"""
from __future__ import annotations

from typing import Any

from ddbsim.service.membership import Ballot, Members

PUT = "put"
DELETE = "delete"
CONFIG = "config"
NOOP = "noop"


class LogRecord:
    __slots__ = ("op", "key", "value", "expected_version", "members", "checksum")

    def __init__(self, op: str, key: str | None = None, value: Any = None,
                 expected_version: int | None = None, members: Members | None = None) -> None:
        self.op = op
        self.key = key
        self.value = value
        self.expected_version = expected_version
        self.members = members
        self.checksum = 0

    @staticmethod
    def put(key: str, value: Any, expected_version: int | None = None) -> LogRecord:
        return LogRecord(PUT, key, value, expected_version)

    @staticmethod
    def delete(key: str) -> LogRecord:
        return LogRecord(DELETE, key)

    @staticmethod
    def config(members: Members) -> LogRecord:
        return LogRecord(CONFIG, members=members)

    def _fields(self) -> tuple[Any, ...]:
        return (self.op, self.key, self.value, self.expected_version, self.members)

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
