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
"""
from __future__ import annotations

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
from ddbsim.service.storage.log import LogRecord
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


class _Archive:
    """One partition's archive: the reference replica at ``head``, the last
    archived records, and the manifest of the segments taken."""

    __slots__ = ("ref", "recent", "manifest", "segments")

    def __init__(self, pid: str) -> None:
        # checkpointed at every record: a power-off never reaches it (durable)
        self.ref = ReplicaState(pid, STORE_HOST, STORAGE, (), checkpoint_every=1)
        self.recent: deque[tuple[int, LogRecord]] = deque()
        self.manifest: deque[dict[str, Any]] = deque(maxlen=64)  # the latest segments
        self.segments = 0

    @property
    def head(self) -> int:
        return self.ref.applied_lsn


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
        return a

    def seed(self, pid: str, btree: SortedDict) -> None:
        """A partition born of a split (paper §4.4) starts from a snapshot:
        its half of the parent's items, at log position 0, written to the
        store with the cut-over (the control plane's copy, not an upload),
        so that its archive and its reference replica begin where its
        replicas do."""
        a = self.archive(pid)
        a.ref.btree = SortedDict(btree)

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
        a.recent.append((lsn, record))
        while len(a.recent) > self.cfg.store_segment_records:
            a.recent.popleft()

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
