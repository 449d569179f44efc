"""The archiver: each host uploads its replicas' committed WAL to the
object store, checks what others uploaded, and trims what is archived.

Paper §5.1: the write-ahead logs are periodically archived to S3, so a log
replica needs to hold -- and a healing copy needs to copy -- only the
unarchived tail.  One :class:`Archiver` per storage node, ticking every
``durability.archive_interval_s`` for all the replicas on the host (never a
timer per partition).  For each replica, the next segment is its committed
records after what it knows is archived (at most
``durability.segment_max_records``).  Before uploading, the archiver checks
the segment (:func:`check_segment`): every put or delete belongs to this
partition, every record's checksum holds, and there is no hole.  A segment
that fails is **refused** (counted, and reported through the hooks); the
archiver then only asks the store for its copy.

The store answers with the archive's head and, where the segment overlaps
what is already archived (another replica got there first), the archive's
copy of those records: the archiver compares them with its own WAL, and a
record that differs or fails its checksum is a corruption found -- and
repaired on the spot from the archive's verified copy.  What is archived
and checked is then trimmed from the WAL
(:meth:`~ddbsim.service.storage.replica.ReplicaState.trim`).

A replica that dropped a rotten committed record on replay is *damaged*
(:attr:`~ddbsim.service.storage.replica.ReplicaState.damaged`): it takes no
part in elections, so it may be the one storage replica its group could
elect.  At each tick the archiver asks the store for the archive's copy from
its hole on (:class:`~ddbsim.service.messages.ArchiveFetch`), and the
replica restores from it (:meth:`~ddbsim.service.storage.paxos.Member.restore_from_archive`):
the missing records, or the archive's reference B-tree at its head, then its
own log up to the commit point it knew.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ddbsim.config import DurabilityConfig
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import STORAGE
from ddbsim.service.messages import ArchiveCopy, ArchiveFetch, Message, SegmentPut, SegmentReply
from ddbsim.service.object_store import segment_crc
from ddbsim.service.storage.log import DELETE, PUT, LogRecord
from ddbsim.service.storage.paxos import Member
from ddbsim.service.storage.replica import ReplicaState


class ArchiverHost(Protocol):
    """What an archiver needs from its storage node."""

    host_id: str
    members: dict[str, Member]

    @property
    def now(self) -> float: ...

    def send_to_store(self, msg: Message) -> None: ...

    def later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> None: ...


def check_segment(pid: str, records: list[tuple[int, LogRecord | None]], first: int, last: int,
                  partition_of: Callable[[str], str] | None) -> str | None:
    """Why the segment ``first..last`` cannot be archived (None if it can):
    a hole, a bad checksum, or a record of another partition."""
    expected = first
    for lsn, record in records:
        if lsn != expected or record is None:
            return f"hole at {expected}"
        if not record.verify():
            return f"bad checksum at {lsn}"
        if partition_of is not None and record.op in (PUT, DELETE) and record.key is not None \
                and partition_of(record.key) != pid:
            return f"record of another partition at {lsn}"
        expected += 1
    if expected != last + 1:
        return f"hole at {expected}"
    return None


class Archiver:
    def __init__(self, node: ArchiverHost, cfg: DurabilityConfig, hooks: ServiceHooks,
                 partition_of: Callable[[str], str] | None = None) -> None:
        self.node = node
        self.cfg = cfg
        self.hooks = hooks
        self.partition_of = partition_of
        self.uploads = 0
        self.refusals = 0
        self.repairs = 0
        self.restores = 0  # damaged replicas restored from the archive
        self.pending: set[str] = set()  # replicas that may have records to archive

    def note(self, pid: str) -> None:
        """``pid``'s replica here may have something to archive (its commit
        point moved, it was installed, or it was found damaged)."""
        self.pending.add(pid)

    def tick(self) -> None:
        """Offer the next segment of every replica with committed records
        not yet archived (one message per replica).  Only the replicas
        :meth:`note` named since are looked at, and each stays named until
        it has nothing left to archive: an idle host's tick costs nothing,
        however many replicas it holds."""
        node = self.node
        pending = self.pending
        for pid in sorted(pending):
            member = node.members.get(pid)
            if member is None:
                pending.discard(pid)
                continue
            st = member.state
            if st.damaged:  # a hole in the committed log: restore from the archive first
                node.send_to_store(ArchiveFetch(pid, node.host_id, st.commit_lsn + 1,
                                                st.kind == STORAGE))
                continue
            first = max(st.archived_lsn, st.trimmed_lsn) + 1
            last = min(st.commit_lsn, first + self.cfg.segment_max_records - 1)
            if last < first:
                pending.discard(pid)
                continue
            log = st.log
            records: list[tuple[int, LogRecord | None]] = []
            for lsn in range(first, last + 1):
                entry = log.get(lsn)
                records.append((lsn, entry.record if entry is not None else None))
            why = check_segment(pid, records, first, last, self.partition_of)
            if why is None:
                good = [(lsn, r) for lsn, r in records if r is not None]
                node.send_to_store(SegmentPut(pid, node.host_id, first, last, good,
                                              segment_crc(good)))
                self.uploads += 1
            else:
                self.refusals += 1
                self.hooks.archive_refused(node.now, pid, node.host_id, first, last, why)
                node.send_to_store(SegmentPut(pid, node.host_id, first, last, None, 0))

    def on_reply(self, msg: SegmentReply) -> None:
        member = self.node.members.get(msg.pid)
        if member is None:
            return
        st = member.state
        node = self.node
        if msg.stored:
            self.hooks.archived(node.now, msg.pid, node.host_id, msg.first, msg.last)
        checked = msg.last if msg.stored else 0
        if msg.records:
            self._compare(st, msg.records)
            checked = max(checked, min(msg.last, msg.head))
        if checked:
            st.archive_learnt(min(checked, st.commit_lsn))
            st.trim(self.cfg.keep_archived_records)
            self.hooks.wal_trimmed(node.now, msg.pid, node.host_id, st.kind, st.wal_records())

    def on_copy(self, msg: ArchiveCopy) -> None:
        """The archive's copy for a damaged replica: restore from it."""
        member = self.node.members.get(msg.pid)
        if member is None or not member.state.damaged:
            return
        if member.restore_from_archive(msg.head, msg.records, msg.btree):
            self.restores += 1
            self.hooks.restored_from_archive(self.node.now, msg.pid, self.node.host_id,
                                             msg.first, msg.head)

    def _compare(self, st: ReplicaState, records: list[tuple[int, LogRecord]]) -> None:
        """Compare the archive's copy with our WAL; repair what differs."""
        node = self.node
        for lsn, archived in records:
            entry = st.log.get(lsn)
            if entry is None or lsn > st.commit_lsn:
                continue
            mine = entry.record
            if mine.checksum == archived.checksum and mine.verify():
                continue
            where = str(lsn)
            self.hooks.corruption_found(node.now, st.pid, node.host_id, "wal", where, "archiver")
            if archived.verify():
                entry.record = archived
                self.repairs += 1
                self.hooks.corruption_repaired(node.now, st.pid, node.host_id, "wal", where)
