"""What one replica of a partition keeps: its WAL and, for a storage
replica, its B-tree of items.

Paper §3: a storage replica holds the write-ahead log and a B-tree of the
partition's items; a *log replica* (paper §5.1) holds only the recent WAL.
The B-tree is a ``SortedDict`` from key to ``(value, version, checksum)``
(the checksum, a CRC-32 of key, value and version, is computed when the item
is written and verified when it is read: a read of a rotten item raises
:class:`CorruptItem`); a delete leaves a tombstone ``(None, version, checksum)``
so that versions keep counting.

Durability is explicit, and costs no event.  Every change lands in memory
at once, stamped with the time the host's disk will have persisted it
(``durable_at``: the caller draws it from the disk model); it is *durable*
from then on.  :meth:`ReplicaState.crash` at time ``t`` throws away every
change not yet durable at ``t`` -- exactly what a power-off does -- and
restores what it had overwritten.  The B-tree is checkpointed every
``checkpoint_every`` applied records (``storage.checkpoint_every_records``);
on restart :meth:`replay` re-applies the WAL from the checkpoint (the
records are idempotent).

The log holds :class:`~ddbsim.service.storage.log.Entry` objects: a
:class:`~ddbsim.service.storage.log.LogRecord` and the ballot it was
accepted under.

**Archived WAL is trimmed** (paper §5.1): once the archive holds the records
up to ``archived_lsn`` (:mod:`ddbsim.service.storage.archiver`), :meth:`trim`
drops them -- on a storage replica only below its B-tree checkpoint (replay
starts there), on a log replica up to the archive's head -- so a log replica
holds only the unarchived tail and memory stays flat in run length.  Below
``trimmed_lsn`` the log is incomplete: a replica refuses a prepare that asks
for records from there (the candidate is behind; see
:meth:`ddbsim.service.storage.paxos.Member.on_prepare`), since it could not
hand over every record a quorum may have chosen.

**Checksums.**  A record read back from the disk is verified before it is
applied on replay (:meth:`replay`); one that fails is dropped and counted
(``bad_records``) and the replica catches up from its leader instead.  It
remembers the commit point it had (``damaged_upto``): until catch-up passes
it the replica is :attr:`~ReplicaState.damaged` and, like an acceptor that
lost its memory, takes no part in an election (a promise from a log with a
hole in its committed part would let a candidate fill the hole with a no-op
and lose an acknowledged write).  Bit
rot is injected through :meth:`rot_item` and :meth:`rot_wal`, the service's
side of :meth:`ddbsim.world.disk.Disk.rot`.
"""
from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Callable
from typing import Any

from sortedcontainers import SortedDict

from ddbsim.service.membership import STORAGE, Ballot, Members
from ddbsim.service.messages import Entries
from ddbsim.service.probes import HITS as PROBE_HITS
from ddbsim.service.storage.log import CONFIG, DELETE, PUT, Entry, LogRecord

NO_BALLOT: Ballot = (0, "")
ALWAYS = -math.inf  # durable since forever (installed from a copy, or persisted)
NEVER = math.inf  # not durable until someone says so (:meth:`ReplicaState.persisted`)


def item_checksum(key: str, value: Any, version: int) -> int:
    """The checksum a stored item carries."""
    return zlib.crc32(f"{key}\x00{value}\x00{version}".encode())


class CorruptItem(Exception):
    """A stored item failed its checksum when read."""


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
        self.trimmed_lsn = 0  # the log is incomplete at and below this position
        self.archived_lsn = 0  # the archive holds the records up to here (as far as we know)
        self.bad_records = 0  # records that failed their checksum when read back
        # The commit point we knew when a committed record was found missing
        # or corrupt (0: never); below it our log has a hole (see ``damaged``).
        self.damaged_upto = 0
        # Called with our pid when we may have records to archive or to check
        # against the archive again: the commit point moved, or what we knew
        # archived was taken back (the host's archiver keeps that set).
        self.on_archivable: Callable[[str], None] | None = None
        self.verify_reads = True  # off only with the bug apply_bad_checksum
        self.btree: SortedDict | None = SortedDict() if kind == STORAGE else None
        # Membership: the latest config entry in the log (committed or not).
        self.configs: SortedDict = SortedDict({config_lsn: config})
        self._configs_changed()
        self._base_lsn = config_lsn  # the membership we were created with: never dropped
        self._durable_promised: Ballot = NO_BALLOT
        self._pending_promises: list[tuple[float, Ballot]] = []  # (durable at, ballot)
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
        config = self._config = self.configs.peekitem(-1)[1]
        # What the hot path asks of the usual single membership, computed once.
        self._single = (config,)
        self._single_hosts = tuple(h for h, _ in config)
        self._single_others = [h for h in self._single_hosts if h != self.host_id]
        self._member = self.host_id in self._single_hosts

    def config_before(self, lsn: int) -> Members:
        idx = self.configs.bisect_left(lsn) - 1
        return self.configs.peekitem(max(idx, 0))[1]

    def is_member(self) -> bool:
        """Whether this host is in the latest membership."""
        return self._member

    def active_configs(self) -> tuple[Members, ...]:
        """The memberships every decision must satisfy: the latest committed
        one and each later (uncommitted) one in the log -- usually just one.
        A membership change swaps a member, so a majority of the old and a
        majority of the new membership need not intersect: until the change
        commits, quorums are needed in both (joint consensus, Raft §6)."""
        configs = self.configs
        if len(configs) == 1:
            return self._single
        first = max(configs.bisect_right(self.commit_lsn) - 1, 0)
        return tuple(configs.values()[first:])

    def other_hosts(self, members: Members | None = None) -> list[str]:
        """The hosts of ``members`` (default: the active memberships) other
        than this one.  Do not modify the list: it may be shared."""
        if members is None:
            if len(self.configs) == 1:
                return self._single_others
            return [h for h in self.active_hosts() if h != self.host_id]
        if members is self._config:
            return self._single_others
        return [h for h, _ in members if h != self.host_id]

    def active_hosts(self) -> tuple[str, ...]:
        """Every host of the active memberships, in order, once each."""
        if len(self.configs) == 1:
            return self._single_hosts
        seen: dict[str, None] = {}
        for members in self.active_configs():
            for h, _ in members:
                seen[h] = None
        return tuple(seen)

    # -- log -------------------------------------------------------------
    def write(self, lsn: int, ballot: Ballot, record: LogRecord, durable_at: float = NEVER) -> None:
        """Accept ``record`` at ``lsn``, durable from ``durable_at`` on.  An
        entry it overwrites is kept behind it until it is durable (a crash
        before then brings the old one back)."""
        log = self.log
        log[lsn] = Entry(ballot, record, durable_at, log.get(lsn))
        if lsn > self.last_lsn:
            self.last_lsn = lsn
        if record.op == CONFIG:
            self.configs[lsn] = record.members
            self._configs_changed()
        elif lsn in self.configs and lsn != self._base_lsn:
            del self.configs[lsn]
            self._configs_changed()

    def persisted(self, lsn: int) -> None:
        """The entry at ``lsn`` is durable now (whatever its stamp said)."""
        entry = self.log.get(lsn)
        if entry is not None:
            entry.durable_at = ALWAYS
            entry.prev = None

    def is_durable(self, lsn: int, now: float) -> bool:
        entry = self.log.get(lsn)
        return entry is not None and entry.durable_at <= now

    def promise(self, ballot: Ballot, durable_at: float = NEVER) -> None:
        """Promise ``ballot`` now; the promise is durable from ``durable_at``."""
        self.promised = ballot
        self.promise_durable_at(ballot, durable_at)

    def promise_durable_at(self, ballot: Ballot, durable_at: float) -> None:
        """The promise of ``ballot`` is on disk from ``durable_at`` on (an
        acceptor persists its promise with the records it accepts)."""
        if ballot <= self._durable_promised or durable_at == NEVER:
            return
        if durable_at == ALWAYS:
            self._durable_promised = ballot
            return
        pending = self._pending_promises
        for t, b in pending:
            if b >= ballot and t <= durable_at:
                return  # a higher promise is durable no later
        pending.append((durable_at, ballot))

    def _durable_promise_at(self, now: float) -> Ballot:
        """The highest promise durable at ``now``; forgets the pending ones
        that are durable by then."""
        if self._pending_promises:
            kept = []
            for t, b in self._pending_promises:
                if t <= now:
                    if b > self._durable_promised:
                        self._durable_promised = b
                else:
                    kept.append((t, b))
            self._pending_promises = kept
        return self._durable_promised

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
    def commit_to(self, lsn: int, now: float) -> list[tuple[int, LogRecord, tuple[bool, int]]]:
        """Commit up to ``lsn`` -- as far as this replica holds the records
        durably (at ``now``) and without gaps -- and apply what was committed.

        Returns ``(lsn, record, (applied, version))`` for each newly applied record.
        """
        log = self.log
        commit = self.commit_lsn
        while commit < lsn:
            entry = log.get(commit + 1)
            if entry is None or entry.durable_at > now:
                break
            entry.prev = None
            commit += 1
        if commit != self.commit_lsn:
            self.commit_lsn = commit
            if self.on_archivable is not None:
                self.on_archivable(self.pid)
        if self._pending_promises:
            self._durable_promise_at(now)
        return self._apply_committed()

    def _apply_committed(self, verify: bool = False) -> list[tuple[int, LogRecord, tuple[bool, int]]]:
        out = []
        while self.applied_lsn < self.commit_lsn:
            nxt = self.applied_lsn + 1
            entry = self.log.get(nxt)
            if entry is None:  # a gap below the commit point: wait for catch-up
                self.damaged_upto = max(self.damaged_upto, self.commit_lsn)
                self.commit_lsn = self.applied_lsn
                if self.on_archivable is not None:
                    self.on_archivable(self.pid)
                break
            record = entry.record
            if verify and self.verify_reads and not record.verify():
                # Read back corrupt from the disk: drop it, and catch up from
                # the leader from here (the record is committed elsewhere).
                self.bad_records += 1
                del self.log[nxt]
                self.damaged_upto = max(self.damaged_upto, self.commit_lsn)
                self.commit_lsn = self.applied_lsn
                if self.on_archivable is not None:
                    self.on_archivable(self.pid)
                break
            early = self._applied_early.pop(nxt, None) if self._applied_early else None
            out.append((nxt, record, early if early is not None else self.apply(record)))
            self.applied_lsn = nxt
        if self.applied_lsn - self.checkpoint_lsn >= self.checkpoint_every:
            self.checkpoint_lsn = self.applied_lsn
            self._undo.clear()
        return out

    @property
    def damaged(self) -> bool:
        """True while our log lacks a record we knew was committed (dropped
        as corrupt on replay, or a gap): until catch-up carries the commit
        point back past ``damaged_upto``, a promise of ours could hide a
        chosen value from a candidate, which would fill its slot with a
        no-op.  A damaged replica neither promises nor stands for election."""
        return self.commit_lsn < self.damaged_upto

    def apply(self, record: LogRecord) -> tuple[bool, int]:
        """Apply one record to the B-tree; returns (applied, item version)."""
        op = record.op
        if op != PUT and op != DELETE:
            return True, 0
        btree = self.btree
        if btree is None:  # a log replica keeps no items
            return True, 0
        key: str = record.key  # type: ignore[assignment]  # a put or a delete names its key
        old = btree.get(key)
        if old is not None:
            value, version = old[0], old[1]
        else:
            value, version = None, 0
        if op == PUT:
            expected = record.expected_version
            current = version if value is not None else 0
            if expected is not None and expected != current:
                return False, version
            value = record.value
        else:
            value = None
        version += 1
        # Every replica (and the archive's reference) applies the same record,
        # mostly at the same version: the item, checksum included, is made once.
        new = record.item
        if new is None or new[1] != version:
            new = record.item = (value, version, zlib.crc32(f"{key}\x00{value}\x00{version}".encode()))
        self._undo.append((key, old))
        if old is None:
            btree[key] = new  # a new key: the sorted index learns it
        else:
            dict.__setitem__(btree, key, new)  # the index is unchanged: skip its bookkeeping
        return True, version

    def apply_early(self, lsn: int) -> None:
        """Apply the record at ``lsn`` before it commits -- only the bug
        ``apply_before_commit`` does this; the commit then skips it."""
        entry = self.log.get(lsn)
        if entry is not None and lsn > self.applied_lsn and lsn not in self._applied_early:
            self._applied_early[lsn] = self.apply(entry.record)

    def read(self, key: str) -> tuple[Any, int]:
        if self.btree is None:
            raise RuntimeError(f"{self.pid}@{self.host_id} is a log replica: it serves no reads")
        item = self.btree.get(key)
        if item is None:
            return None, 0
        value, version, crc = item
        if zlib.crc32(f"{key}\x00{value}\x00{version}".encode()) != crc:
            raise CorruptItem(key)
        return value, version

    # -- power -------------------------------------------------------------
    def crash(self, now: float) -> None:
        """A power-off at ``now``: lose every change that was not yet
        durable, and the B-tree pages written since the last checkpoint.
        Everything up to the commit point is durable (only durable records
        commit, and committed ones are never overwritten)."""
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
        log = self.log
        for lsn in range(self.last_lsn, self.commit_lsn, -1):  # the uncommitted tail
            entry = log.get(lsn)
            if entry is None or entry.durable_at <= now:
                continue
            PROBE_HITS["crash_lost_unsynced_record"] += 1
            while entry is not None and entry.durable_at > now:
                entry = entry.prev
            if entry is None:
                del log[lsn]
                if lsn in self.configs and lsn != self._base_lsn:
                    del self.configs[lsn]
            else:
                entry.prev = None
                log[lsn] = entry
                if entry.record.op == CONFIG:
                    self.configs[lsn] = entry.record.members
                elif lsn in self.configs and lsn != self._base_lsn:
                    del self.configs[lsn]
        self._configs_changed()
        self.last_lsn = max(max(log, default=0), self.commit_lsn)
        self.promised = self._durable_promise_at(now)
        self._pending_promises = []

    def replay(self) -> int:
        """After a restart: re-apply the WAL from the B-tree checkpoint up to
        the commit point.  Returns the number of records replayed."""
        return len(self._apply_committed(verify=True))

    # -- archive and trimming ----------------------------------------------
    def recheck_archived_from(self, lsn: int) -> None:
        """Our copy of the archived record at ``lsn`` is bad: treat it (and
        what follows) as not yet checked against the archive, so that the
        archiver compares it with the archive's copy and repairs it."""
        if lsn - 1 < self.archived_lsn:
            self.archived_lsn = lsn - 1
            if self.on_archivable is not None:
                self.on_archivable(self.pid)

    def archive_learnt(self, lsn: int) -> None:
        """The archive holds (and we checked) the records up to ``lsn``."""
        if lsn > self.archived_lsn:
            self.archived_lsn = lsn

    def trim(self, keep: int = 0, upto: int | None = None) -> int:
        """Drop archived records no longer needed here, keeping the last
        ``keep`` archived ones (and none above ``upto``): a storage
        replica's below its checkpoint, a log replica's up to the archive's
        head.  Returns how many went."""
        limit = self.archived_lsn - keep
        if upto is not None:
            limit = min(limit, upto)
        if self.btree is not None:
            limit = min(limit, self.checkpoint_lsn)
        limit = min(limit, self.commit_lsn)
        dropped = 0
        log = self.log
        for lsn in range(self.trimmed_lsn + 1, limit + 1):
            if log.pop(lsn, None) is not None:
                dropped += 1
        if limit > self.trimmed_lsn:
            self.trimmed_lsn = limit
        return dropped

    def wal_records(self) -> int:
        """How many records the WAL holds now."""
        return len(self.log)

    # -- bit rot (the disk's faults; see ddbsim.world.disk) ---------------
    def rot_item(self, u: float) -> str | None:
        """Silently corrupt one stored item (picked by ``u`` in [0, 1)) in
        place: its value changes, nothing else does.  Returns its key."""
        btree = self.btree
        if not btree:
            return None
        key = btree.keys()[min(int(u * len(btree)), len(btree) - 1)]
        value, version, crc = btree[key]
        dict.__setitem__(btree, key, (f"{value}~rot", version, crc))
        return str(key)

    def rot_wal(self, u: float) -> int | None:
        """Silently corrupt one applied record of the WAL this replica still
        holds (picked by ``u``).  Returns its log position."""
        lsns = [lsn for lsn in self.log if lsn <= self.applied_lsn]
        if not lsns:
            return None
        lsns.sort()
        lsn = lsns[min(int(u * len(lsns)), len(lsns) - 1)]
        entry = self.log[lsn]
        entry.record = entry.record.rotten()
        return lsn

    def bad_wal_records(self) -> list[int]:
        """The positions of the records this replica holds whose checksum fails."""
        return sorted(lsn for lsn, e in self.log.items() if not e.record.verify())

    # -- snapshots and verification ----------------------------------------
    def snapshot(self) -> SortedDict:
        if self.btree is None:
            raise RuntimeError("a log replica has no B-tree to copy")
        return SortedDict(self.btree)

    def install(self, lsn: int, btree: SortedDict | None, entries: Entries) -> None:
        """Become a copy of another replica at commit point ``lsn``: its B-tree
        (for a storage replica) and the WAL records it sent (all durable: the
        copy is written to disk before it is installed).

        Every position up to ``lsn`` is decided, and the copy holds the
        outcome: entries this replica accepted there before are dropped (one
        accepted under an old ballot and never chosen must not pass for
        committed once the commit point moves over it)."""
        if self.kind == STORAGE:
            if btree is None:
                raise ValueError("a storage replica needs a B-tree to install")
            self.btree = btree
        log = self.log
        for old in [i for i in log if i <= lsn]:
            del log[old]
        self._undo.clear()
        # The copy holds the records from ``first`` on (a leader's WAL is
        # trimmed below what it archived); below, this log is incomplete.
        first = lsn + 1
        bad = False
        for entry_lsn, ballot, record in entries:
            if not record.verify():  # a corrupt copy: not taken (counted)
                self.bad_records += 1
                bad = True
                continue
            if entry_lsn <= lsn:
                first = min(first, entry_lsn)
            self.write(entry_lsn, ballot, record, ALWAYS)
        self.trimmed_lsn = lsn if bad else first - 1
        self.applied_lsn = self.checkpoint_lsn = lsn
        self.commit_lsn = max(lsn, self.commit_lsn)
        if self.on_archivable is not None:
            self.on_archivable(self.pid)
        self.last_lsn = max(self.last_lsn, lsn)
        self._apply_committed()

    def repair_from(self, lsn: int, btree: SortedDict) -> bool:
        """Rebuild the items from a good replica's at ``lsn`` (a scrub found
        ours corrupt): take its copy, then re-apply our own committed
        records above ``lsn``.  False if we lack one of them (the next scrub
        tries again)."""
        if self.btree is None:
            return False
        if lsn > self.applied_lsn:
            self.install(lsn, SortedDict(btree), [])
            return True
        records = []
        for i in range(lsn + 1, self.applied_lsn + 1):
            entry = self.log.get(i)
            if entry is None or not entry.record.verify():
                return False
            records.append(entry.record)
        self.btree = SortedDict(btree)
        for record in records:
            self.apply(record)
        self._undo.clear()
        self.checkpoint_lsn = self.applied_lsn  # the rebuilt B-tree is written out whole
        return True

    def checksum(self) -> str:
        """A checksum of the items (storage) or the committed log (log replica)."""
        digest = hashlib.blake2b(digest_size=16)
        if self.btree is not None:
            for key, (value, version, _crc) in self.btree.items():
                digest.update(f"{key}\x00{value}\x00{version}\x01".encode())
        else:
            for lsn in range(self.trimmed_lsn + 1, self.commit_lsn + 1):
                entry = self.log.get(lsn)
                digest.update(f"{lsn}\x00{entry.record if entry else None}\x01".encode())
        return digest.hexdigest()
