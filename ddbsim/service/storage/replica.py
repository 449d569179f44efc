"""What one replica of a partition keeps: its WAL and, for a storage
replica, its B-tree of items.

Paper §3: a storage replica holds the write-ahead log and a B-tree of the
partition's items; a *log replica* (paper §5.1) holds only the recent WAL.
The B-tree is a ``SortedDict`` from key to ``(value, version)``; a delete
leaves a tombstone ``(None, version)`` so that versions keep counting.

Durability is explicit.  Every change first lands in memory; a change is
*durable* once the host's disk has persisted it (the caller says when).
:meth:`ReplicaState.crash` throws away what was not yet durable, which is
exactly what a power-off does.  The B-tree is checkpointed every
``checkpoint_every`` applied records (``storage.checkpoint_every_records``);
on restart :meth:`replay` re-applies the WAL from the checkpoint (the
records are idempotent).

The log holds :class:`~ddbsim.service.storage.log.Entry` objects: a
:class:`~ddbsim.service.storage.log.LogRecord` and the ballot it was
accepted under.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sortedcontainers import SortedDict

from ddbsim.service.messages import STORAGE, Ballot, Entries, Members
from ddbsim.service.storage.log import CONFIG, DELETE, PUT, Entry, LogRecord

NO_BALLOT: Ballot = (0, "")

_MISSING = object()


class ReplicaState:
    """The persistent state of one replica, with its not-yet-durable edge."""

    def __init__(self, pid: str, host_id: str, kind: str, config: Members,
                 config_lsn: int = 0, checkpoint_every: int = 1000) -> None:
        self.pid = pid
        self.host_id = host_id
        self.kind = kind
        self.log: dict[int, Entry] = {}
        self.last_lsn = 0
        self.promised: Ballot = NO_BALLOT
        self.commit_lsn = 0
        self.applied_lsn = 0
        self.checkpoint_lsn = 0
        self.checkpoint_every = checkpoint_every
        self.btree: SortedDict | None = SortedDict() if kind == STORAGE else None
        # Membership: the latest config entry in the log (committed or not).
        self.configs: SortedDict = SortedDict({config_lsn: config})
        self._config: Members = config
        self._base_lsn = config_lsn  # the membership we were created with: never dropped
        # Not yet durable: lsn -> the entry it replaced (or _MISSING).
        self._volatile: dict[int, Any] = {}
        self._durable_promised: Ballot = NO_BALLOT
        # B-tree changes since the last checkpoint: (key, old item or None).
        self._undo: list[tuple[str, Any]] = []
        # Only with the bug apply_before_commit: lsn -> result of an early apply.
        self._applied_early: dict[int, tuple[bool, int]] = {}

    # -- membership ------------------------------------------------------
    @property
    def config(self) -> Members:
        """The latest membership in the log (committed or not)."""
        return self._config

    @property
    def config_lsn(self) -> int:
        """The log position of the latest membership."""
        return self.configs.peekitem(-1)[0]

    def adopt_config(self, lsn: int, members: Members) -> None:
        """Take a membership learnt from a copy of another replica."""
        self.configs[lsn] = members
        self._configs_changed()

    def _configs_changed(self) -> None:
        self._config = self.configs.peekitem(-1)[1]

    def config_before(self, lsn: int) -> Members:
        idx = self.configs.bisect_left(lsn) - 1
        return self.configs.peekitem(max(idx, 0))[1]

    def is_member(self) -> bool:
        return any(h == self.host_id for h, _ in self.config)

    def active_configs(self) -> tuple[Members, ...]:
        """The memberships every decision must satisfy: the latest committed
        one and each later (uncommitted) one in the log -- usually just one.
        A membership change swaps a member, so a majority of the old and a
        majority of the new membership need not intersect: until the change
        commits, quorums are needed in both (joint consensus, Raft §6)."""
        configs = self.configs
        if len(configs) == 1:
            return (self._config,)
        first = max(configs.bisect_right(self.commit_lsn) - 1, 0)
        return tuple(configs.values()[first:])

    def active_hosts(self) -> list[str]:
        """Every host of the active memberships, in order, once each."""
        seen: dict[str, None] = {}
        for members in self.active_configs():
            for h, _ in members:
                seen[h] = None
        return list(seen)

    # -- log -------------------------------------------------------------
    def write(self, lsn: int, ballot: Ballot, record: LogRecord) -> None:
        """Accept ``record`` at ``lsn`` in memory; it is volatile until :meth:`persisted`."""
        if lsn not in self._volatile:
            self._volatile[lsn] = self.log.get(lsn, _MISSING)
        self.log[lsn] = Entry(ballot, record)
        if lsn > self.last_lsn:
            self.last_lsn = lsn
        if record.op == CONFIG:
            self.configs[lsn] = record.members
            self._configs_changed()
        elif lsn in self.configs and lsn != self._base_lsn:
            del self.configs[lsn]
            self._configs_changed()

    def persisted(self, lsn: int) -> None:
        self._volatile.pop(lsn, None)

    def is_durable(self, lsn: int) -> bool:
        return lsn in self.log and lsn not in self._volatile

    def promise(self, ballot: Ballot) -> None:
        self.promised = ballot

    def promise_persisted(self, ballot: Ballot) -> None:
        if ballot > self._durable_promised:
            self._durable_promised = ballot

    def entries_from(self, lsn: int, upto: int | None = None) -> Entries:
        end = self.last_lsn if upto is None else min(upto, self.last_lsn)
        out = []
        log = self.log
        for i in range(lsn, end + 1):
            e = log.get(i)
            if e is not None:
                out.append((i, e.ballot, e.record))
        return out

    # -- commit and apply --------------------------------------------------
    def commit_to(self, lsn: int) -> list[tuple[int, LogRecord, tuple[bool, int]]]:
        """Commit up to ``lsn`` -- as far as this replica holds the records
        durably and without gaps -- and apply what was committed.

        Returns ``(lsn, record, (applied, version))`` for each newly applied record.
        """
        log, volatile = self.log, self._volatile
        commit = self.commit_lsn
        while commit < lsn and (commit + 1) in log and (commit + 1) not in volatile:
            commit += 1
        self.commit_lsn = commit
        return self._apply_committed()

    def _apply_committed(self) -> list[tuple[int, LogRecord, tuple[bool, int]]]:
        out = []
        while self.applied_lsn < self.commit_lsn:
            nxt = self.applied_lsn + 1
            entry = self.log.get(nxt)
            if entry is None:  # a gap below the commit point: wait for catch-up
                self.commit_lsn = self.applied_lsn
                break
            record = entry.record
            early = self._applied_early.pop(nxt, None) if self._applied_early else None
            out.append((nxt, record, early if early is not None else self.apply(record)))
            self.applied_lsn = nxt
        if self.applied_lsn - self.checkpoint_lsn >= self.checkpoint_every:
            self.checkpoint_lsn = self.applied_lsn
            self._undo.clear()
        return out

    def apply(self, record: LogRecord) -> tuple[bool, int]:
        """Apply one record to the B-tree; returns (applied, item version)."""
        op = record.op
        if op != PUT and op != DELETE:
            return True, 0
        btree = self.btree
        if btree is None:  # a log replica keeps no items
            return True, 0
        key = record.key
        old = btree.get(key)
        value, version = old if old is not None else (None, 0)
        if op == PUT:
            expected = record.expected_version
            current = version if value is not None else 0
            if expected is not None and expected != current:
                return False, version
            new = (record.value, version + 1)
        else:
            new = (None, version + 1)
        self._undo.append((key, old))
        btree[key] = new
        return True, new[1]

    def apply_early(self, lsn: int) -> None:
        """Apply the record at ``lsn`` before it commits -- only the bug
        ``apply_before_commit`` does this; the commit then skips it."""
        entry = self.log.get(lsn)
        if entry is not None and lsn > self.applied_lsn and lsn not in self._applied_early:
            self._applied_early[lsn] = self.apply(entry.record)

    def read(self, key: str) -> tuple[Any, int]:
        if self.btree is None:
            raise RuntimeError(f"{self.pid}@{self.host_id} is a log replica: it serves no reads")
        value, version = self.btree.get(key, (None, 0))
        return value, version

    # -- power -------------------------------------------------------------
    def crash(self) -> None:
        """A power-off: lose every change that was not yet durable, and the
        B-tree pages written since the last checkpoint."""
        btree = self.btree
        for key, old in reversed(self._undo):
            if btree is None:
                break
            if old is None:
                btree.pop(key, None)
            else:
                btree[key] = old
        self._undo.clear()
        self._applied_early.clear()
        self.applied_lsn = self.checkpoint_lsn
        for lsn, old in sorted(self._volatile.items(), reverse=True):
            if old is _MISSING:
                self.log.pop(lsn, None)
                if lsn in self.configs and lsn != self._base_lsn:
                    del self.configs[lsn]
            else:
                self.log[lsn] = old
                if old.record.op == CONFIG:
                    self.configs[lsn] = old.record.members
                elif lsn in self.configs and lsn != self._base_lsn:
                    del self.configs[lsn]
        self._volatile.clear()
        self._configs_changed()
        self.last_lsn = max(self.log, default=0)
        self.promised = self._durable_promised

    def replay(self) -> int:
        """After a restart: re-apply the WAL from the B-tree checkpoint up to
        the commit point.  Returns the number of records replayed."""
        return len(self._apply_committed())

    # -- snapshots and verification ----------------------------------------
    def snapshot(self) -> SortedDict:
        if self.btree is None:
            raise RuntimeError("a log replica has no B-tree to copy")
        return SortedDict(self.btree)

    def install(self, lsn: int, btree: SortedDict | None, entries: Entries) -> None:
        """Become a copy of another replica at commit point ``lsn``: its B-tree
        (for a storage replica) and the WAL records it sent (all durable: the
        copy is written to disk before it is installed)."""
        if self.kind == STORAGE:
            if btree is None:
                raise ValueError("a storage replica needs a B-tree to install")
            self.btree = btree
        self._undo.clear()
        for entry_lsn, ballot, record in entries:
            self.write(entry_lsn, ballot, record)
            self.persisted(entry_lsn)
        self.applied_lsn = self.checkpoint_lsn = lsn
        self.commit_lsn = max(lsn, self.commit_lsn)
        self.last_lsn = max(self.last_lsn, lsn)
        self._apply_committed()

    def checksum(self) -> str:
        """A checksum of the items (storage) or the committed log (log replica)."""
        digest = hashlib.blake2b(digest_size=16)
        if self.btree is not None:
            for key, (value, version) in self.btree.items():
                digest.update(f"{key}\x00{value}\x00{version}\x01".encode())
        else:
            for lsn in range(1, self.commit_lsn + 1):
                entry = self.log.get(lsn)
                digest.update(f"{lsn}\x00{entry.record if entry else None}\x01".encode())
        return digest.hexdigest()
