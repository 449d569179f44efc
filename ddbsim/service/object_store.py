"""The object store: an S3-like, durable archive of every partition's WAL.

Paper §5.1: storage replicas archive their write-ahead logs to S3, and a
replica that is rebuilt, or verified, draws on the archive.  Here the store
is one component on its own host (``region/object-store``, in no AZ: the
store is regional and treated as durable -- no fault reaches it), reached
only through the world's network.  Each request takes a log-normal time
(median ``durability.object_store_latency_s``) before the reply leaves.

**Puts are checked.**  A segment (:class:`~ddbsim.service.messages.SegmentPut`)
is taken only if its content checksum matches its records' checksums, every
record verifies, it starts right after the archive's head (no hole) and it
holds every position up to its end.  Records of it the archive already has
are not stored again: the store sends its own copy back, so that the
archiver compares it with its WAL (an already-archived segment is checked
by every replica that archives it).  A manifest per partition says which
segments were taken (first and last position, uploader, time).

**The reference replica.**  Every archived record is also applied to a
reference replica of the partition kept by the store (a snapshot: the
B-tree as of the archive's head), and only the last
``durability.store_segment_records`` records are kept as segments, so the
store's memory is bounded by the data, not by the run's length.  The scrub
asks for the reference's digests at a log position
(:class:`~ddbsim.service.messages.ReferenceRequest`), handing over the
leader's committed records above the head.

**Point-in-time restore** (paper §5; the developer guide's PITR), with
``durability.pitr`` on.  The archive also keeps, per partition, periodic
**snapshots** -- a copy of the reference B-tree at a log position, every
``durability.snapshot_every_records`` archived records, with the newest
stamp of the records it holds -- and every archived record since the
oldest snapshot kept.  Each record carries the time its leader stamped on
it when it proposed it (:class:`~ddbsim.service.storage.log.LogRecord`
``t_s``).  :meth:`ObjectStore.restore` brings a partition back as of an
instant ``t``: the newest snapshot stamped at or before ``t``, then the
archived records after it stamped at or before ``t``, in log order, into a
fresh B-tree (a new table: the running partition and the archive are not
touched).  Only ``durability.pitr_window_s`` back from now is kept: at
every archived record, a snapshot is dropped once the next one is itself
older than the window, and the records below the oldest snapshot left go
with it -- so the store's memory is a window's records, whatever the run's
length.  A restore outside the window, before the partition's first
snapshot, or over a hole in the archived records is a :class:`RestoreError`
that says so.

Why the records "stamped at or before ``t``" hold every write acknowledged
by ``t`` and none invoked after it: a record is stamped after its request
was invoked, and before it is chosen, hence before any acknowledgement;
records commit in log order, so a record stamped after ``t`` -- chosen after
``t`` -- lies above every record committed by ``t``.  So when the archive
holds a record stamped after ``t`` (``RestoredPartition.later``), it holds
every record acknowledged by ``t``; when it does not, only the live group
can tell whether it has committed records not yet archived
(:func:`ddbsim.lab.restore.restore_table` asks it).
"""
from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

from sortedcontainers import SortedDict

from ddbsim.config import DurabilityConfig
from ddbsim.service.membership import STORAGE
from ddbsim.service.messages import (
    ArchiveCopy,
    ArchiveFetch,
    Message,
    ReferenceReply,
    ReferenceRequest,
    SegmentPut,
    SegmentReply,
)
from ddbsim.service.storage.digest import range_digests
from ddbsim.service.storage.log import DELETE, PUT, LogRecord
from ddbsim.service.storage.replica import ReplicaState
from ddbsim.world.region import World
from ddbsim.world.topology import Host

#: The host id of the object store.
STORE_HOST = "region/object-store"


def segment_crc(records: list[tuple[int, LogRecord]]) -> int:
    """The content checksum of a segment: a CRC-32 over its positions and
    its records' checksums."""
    # One CRC over the joined text: the same value as chaining one CRC per
    # record, at one call instead of three per record.
    return zlib.crc32("".join([f"{lsn}:{record.checksum};" for lsn, record in records]).encode())


class RestoreError(ValueError):
    """A point-in-time restore that cannot be done: one line saying why."""


class Snapshot:
    """A copy of a partition's reference B-tree at log position ``lsn``;
    ``t_s``: the newest stamp of the records it holds (its birth, if none)."""

    __slots__ = ("lsn", "t_s", "items")

    def __init__(self, lsn: int, t_s: float, items: SortedDict) -> None:
        self.lsn = lsn
        self.t_s = t_s
        self.items = items


class RestoredPartition:
    """One partition restored as of ``t_s``: its ``items`` (a B-tree of its
    own: key -> ``(value, version, checksum)``, a delete's tombstone with
    value None), the snapshot it started from, the records applied over it
    (``applied``), those after the snapshot stamped after ``t_s`` and so
    left out (``later``), and the archive's head."""

    __slots__ = ("pid", "t_s", "items", "snapshot_lsn", "snapshot_t_s", "applied", "later",
                 "head_lsn")

    def __init__(self, pid: str, t_s: float, items: SortedDict, snapshot_lsn: int,
                 snapshot_t_s: float, applied: int, later: int, head_lsn: int) -> None:
        self.pid = pid
        self.t_s = t_s
        self.items = items
        self.snapshot_lsn = snapshot_lsn
        self.snapshot_t_s = snapshot_t_s
        self.applied = applied
        self.later = later
        self.head_lsn = head_lsn


class _Archive:
    """One partition's archive: the reference replica at ``head``, the last
    archived records, and the manifest of the segments taken; with PITR,
    the snapshots and the records since the oldest of them."""

    __slots__ = ("ref", "recent", "manifest", "segments", "snapshots", "pitr", "newest_t_s",
                 "since_snapshot")

    def __init__(self, pid: str) -> None:
        # checkpointed at every record: a power-off never reaches it (durable)
        self.ref = ReplicaState(pid, STORE_HOST, STORAGE, (), checkpoint_every=1)
        self.recent: deque[tuple[int, LogRecord]] = deque()
        self.manifest: deque[dict[str, Any]] = deque(maxlen=64)  # the latest segments
        self.segments = 0
        self.snapshots: deque[Snapshot] = deque()  # oldest first (PITR only)
        self.pitr: deque[tuple[int, LogRecord]] = deque()  # records above snapshots[0]
        self.newest_t_s = 0.0  # the newest stamp archived (or the birth)
        self.since_snapshot = 0  # records archived since the last snapshot

    @property
    def head(self) -> int:
        return self.ref.applied_lsn

    def snapshot(self, t_s: float) -> None:
        """Snapshot the reference B-tree at the head, as of ``t_s``."""
        btree = self.ref.btree
        assert btree is not None
        self.snapshots.append(Snapshot(self.head, t_s, SortedDict(btree)))
        self.since_snapshot = 0


class ObjectStore:
    def __init__(self, host: Host, world: World, cfg: DurabilityConfig) -> None:
        self.host = host
        self.env = world.env
        self.net = world.network
        self._hosts = world.topology.hosts
        self.cfg = cfg
        self._draws = world.streams.draws("object_store/latency")
        self.archives: dict[str, _Archive] = {}
        self.refused = 0
        self.net.register(host, self.receive)

    def receive(self, src: Host, msg: Message) -> None:
        STORE_HANDLERS[type(msg)](self, src, msg)

    def _reply(self, dst: Host, msg: Message) -> None:
        self.net.send(self.host, dst, msg, self._draws.lognormal(
            self.cfg.object_store_latency_s, self.cfg.object_store_sigma))

    def archive(self, pid: str) -> _Archive:
        a = self.archives.get(pid)
        if a is None:
            a = self.archives[pid] = _Archive(pid)
            if self.cfg.pitr:  # the table is created empty with the region, at time 0
                a.snapshot(0.0)
        return a

    def seed(self, pid: str, btree: SortedDict) -> None:
        """A partition born of a split (paper §4.4) starts from a snapshot:
        its half of the parent's items, at log position 0, written to the
        store with the cut-over (the control plane's copy, not an upload),
        so that its archive and its reference replica begin where its
        replicas do."""
        a = self.archive(pid)
        a.ref.btree = SortedDict(btree)
        if self.cfg.pitr:  # born now: nothing to restore before the cut-over
            a.snapshots.clear()
            a.pitr.clear()
            a.newest_t_s = self.env.now
            a.snapshot(self.env.now)

    def head(self, pid: str) -> int:
        """The last log position of ``pid`` the archive holds."""
        a = self.archives.get(pid)
        return a.head if a is not None else 0

    def records(self, pid: str, first: int, last: int) -> list[tuple[int, LogRecord]]:
        """The archived records ``first..last`` the store still keeps as segments."""
        a = self.archives.get(pid)
        if a is None:
            return []
        return [(lsn, r) for lsn, r in a.recent if first <= lsn <= last]

    # ------------------------------------------------------------------
    def _on_put(self, src: Host, msg: SegmentPut) -> None:
        a = self.archive(msg.pid)
        head = a.head
        overlap = self.records(msg.pid, msg.first, min(msg.last, head)) \
            if msg.first <= head else None
        stored = False
        records = msg.records
        if records is not None and msg.last > head and self._valid(records, msg, head):
            for lsn, record in records:
                if lsn > head:
                    self._append(a, lsn, record)
            a.segments += 1
            a.manifest.append({"first": max(msg.first, head + 1), "last": msg.last,
                               "uploader": msg.host, "t_s": round(self.env.now, 6)})
            stored = True
        elif records is not None and msg.last > head:
            self.refused += 1
        self._reply(src, SegmentReply(msg.pid, msg.first, msg.last, a.head, stored, overlap))

    def _on_fetch(self, src: Host, msg: ArchiveFetch) -> None:
        """A damaged replica's restore: the records it lacks if the store
        keeps them all, else (a storage replica) the reference B-tree at the
        archive's head."""
        a = self.archives.get(msg.pid)
        head = a.head if a is not None else 0
        records = self.records(msg.pid, msg.first, head) if head >= msg.first else []
        btree = None
        if a is not None and head >= msg.first and len(records) != head - msg.first + 1:
            records = []
            if msg.storage:
                btree = SortedDict(a.ref.btree)
        self._reply(src, ArchiveCopy(msg.pid, msg.first, head, records, btree))

    def _valid(self, records: list[tuple[int, LogRecord]], msg: SegmentPut, head: int) -> bool:
        """The content checksum holds, every record verifies, and the
        segment runs without a hole from at most ``head + 1`` to its end."""
        if segment_crc(records) != msg.segment_crc or msg.first > head + 1:
            return False
        expected = msg.first
        for lsn, record in records:
            if lsn != expected or not record.verify():
                return False
            expected += 1
        return expected == msg.last + 1

    def _append(self, a: _Archive, lsn: int, record: LogRecord) -> None:
        ref = a.ref
        ref.write(lsn, (0, ""), record, -1.0)
        ref.commit_to(lsn, 0.0)
        ref.log.pop(lsn, None)  # the reference keeps items, not the log
        ref.trimmed_lsn = lsn
        entry = (lsn, record)
        a.recent.append(entry)
        while len(a.recent) > self.cfg.store_segment_records:
            a.recent.popleft()
        if self.cfg.pitr:
            self._keep_for_pitr(a, entry)

    # -- point-in-time restore ---------------------------------------------
    def _keep_for_pitr(self, a: _Archive, entry: tuple[int, LogRecord]) -> None:
        """Keep ``entry`` (a position and its record) for restores, snapshot
        every ``snapshot_every_records``, and drop what the window no longer
        needs."""
        cfg = self.cfg
        a.pitr.append(entry)
        record = entry[1]
        if record.t_s is not None and record.t_s > a.newest_t_s:
            a.newest_t_s = record.t_s
        a.since_snapshot += 1
        if a.since_snapshot >= cfg.snapshot_every_records:
            a.snapshot(a.newest_t_s)
        horizon = self.env.now - cfg.pitr_window_s
        snapshots = a.snapshots
        if len(snapshots) > 1 and snapshots[1].t_s <= horizon:
            while len(snapshots) > 1 and snapshots[1].t_s <= horizon:
                snapshots.popleft()
            oldest = snapshots[0].lsn
            records = a.pitr
            while records and records[0][0] <= oldest:
                records.popleft()

    def window(self) -> tuple[float, float]:
        """The instants a restore may ask for now: ``(now - pitr_window_s, now)``."""
        now = self.env.now
        return max(0.0, now - self.cfg.pitr_window_s), now

    def restore(self, pid: str, t_s: float) -> RestoredPartition:
        """Partition ``pid`` as of ``t_s``, in a B-tree of its own (see the
        module docstring); a RestoreError if PITR is off, ``t_s`` is outside
        the window or before the partition's first snapshot, or the archived
        records after the snapshot have a hole or fail their checksum."""
        if not self.cfg.pitr:
            raise RestoreError("point-in-time restore is off: set durability.pitr=true")
        earliest, latest = self.window()
        if not math.isfinite(t_s) or t_s < earliest or t_s > latest:
            raise RestoreError(f"cannot restore {pid} to {t_s:g} s: outside the restore window "
                               f"{earliest:g}..{latest:g} s (durability.pitr_window_s="
                               f"{self.cfg.pitr_window_s:g} back from now)")
        a = self.archives.get(pid)
        if a is None:  # nothing archived yet: the table as it was created
            return RestoredPartition(pid, t_s, SortedDict(), 0, 0.0, 0, 0, 0)
        base = None
        for snap in a.snapshots:
            if snap.t_s <= t_s:
                base = snap
        if base is None:
            first = a.snapshots[0].t_s if a.snapshots else math.nan
            raise RestoreError(f"cannot restore {pid} to {t_s:g} s: its first snapshot is as of "
                               f"{first:g} s (the partition was created then, or older ones "
                               f"left the window)")
        work = ReplicaState(pid, STORE_HOST, STORAGE, (), checkpoint_every=1)
        work.btree = SortedDict(base.items)
        expected = base.lsn + 1
        applied = later = 0
        for lsn, record in a.pitr:
            if lsn <= base.lsn:
                continue
            if lsn != expected:
                raise RestoreError(f"cannot restore {pid} to {t_s:g} s: archived records "
                                   f"{expected}..{lsn - 1} are missing (a hole after the "
                                   f"snapshot at {base.lsn})")
            if not record.verify():
                raise RestoreError(f"cannot restore {pid} to {t_s:g} s: the archived record "
                                   f"at {lsn} fails its checksum")
            expected += 1
            if record.op != PUT and record.op != DELETE:
                continue  # a no-op or a membership change: no data
            if record.t_s is None:
                raise RestoreError(f"cannot restore {pid} to {t_s:g} s: the archived record "
                                   f"at {lsn} carries no time stamp")
            if record.t_s <= t_s:
                work.apply(record)
                applied += 1
            else:
                later += 1
        if expected != a.head + 1:
            raise RestoreError(f"cannot restore {pid} to {t_s:g} s: archived records "
                               f"{expected}..{a.head} are missing (a hole after the snapshot "
                               f"at {base.lsn})")
        assert work.btree is not None
        return RestoredPartition(pid, t_s, work.btree, base.lsn, base.t_s, applied, later,
                                 a.head)

    def reference_digests(self, pid: str, lsn: int, records: list[tuple[int, LogRecord]],
                          bounds: list[str]) -> list[int] | None:
        """The digests of the reference replica of ``pid`` brought to ``lsn``
        with ``records`` (committed records from some point up to ``lsn``);
        None if the archive is already past ``lsn``, or the records do not
        join the archive's head to ``lsn`` (or fail their checksums)."""
        a = self.archives.get(pid) or _Archive(pid)  # asking changes nothing
        head = a.head
        above = [(i, r) for i, r in records if i > head]
        if head > lsn or not all(r.verify() for _i, r in above) or \
                [i for i, _r in above] != list(range(head + 1, lsn + 1)):
            return None
        btree = a.ref.btree
        assert btree is not None
        if above:
            work = ReplicaState(pid, STORE_HOST, STORAGE, (), checkpoint_every=1)
            work.btree = SortedDict(btree)
            for _i, record in above:
                work.apply(record)
            btree = work.btree
        return range_digests(btree, bounds)

    def _on_reference(self, src: Host, msg: ReferenceRequest) -> None:
        digests = self.reference_digests(msg.pid, msg.lsn, msg.records, msg.bounds)
        self._reply(src, ReferenceReply(msg.pid, msg.scrub_id, msg.lsn, digests))


#: What the object store does with each message, by type.
STORE_HANDLERS: dict[type, Callable[[ObjectStore, Host, Any], None]] = {
    SegmentPut: ObjectStore._on_put,
    ArchiveFetch: ObjectStore._on_fetch,
    ReferenceRequest: ObjectStore._on_reference,
}
