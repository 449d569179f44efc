"""The messages components send each other through the world's network.

One slotted class per kind of message, dispatched by type: a receiving
component keeps a ``{message class: handler}`` table (see
:data:`ddbsim.service.storage.node.StorageNode` and
:class:`ddbsim.service.storage.paxos.Member`), and a test checks that every
class a component can receive has a handler.  Millions of these are made in
a run, so they carry ``__slots__`` and positional constructors.  Every
message has a ``checksum`` slot (0 until the durability work fills it in).

Client-facing status codes (``ClientReply.status``, ``StorageReply.status``):

* ``ok`` -- done (for a conditional put, ``applied`` says whether the
  condition held; a failed condition is the customer's outcome, not an error);
* ``not_leader`` -- this replica does not lead; ``leader_hint`` may name who does;
* ``unavailable`` -- the leader has no valid lease, or the node is not ready;
* ``timeout`` -- the router gave up waiting for a storage node;
* ``throttled`` -- ``ProvisionedThroughputExceeded``: admission control
  refused the request (:mod:`ddbsim.service.admission`); it did nothing, and
  it is the customer's outcome, never an availability error.

Paxos messages (:class:`GroupMessage` and its subclasses) are about one
partition's replication group and carry the ballot they were sent under.
Log entries travel as tuples: ``(lsn, record)`` in an :class:`Accept` (the
ballot is the message's) and ``(lsn, ballot, record)`` elsewhere, with
``record`` a :class:`~ddbsim.service.storage.log.LogRecord`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddbsim.service.membership import Ballot, Members

if TYPE_CHECKING:
    from sortedcontainers import SortedDict

    from ddbsim.service.storage.log import LogRecord

Entries = list[tuple[int, Ballot, "LogRecord"]]

# Operation kinds.
GET_STRONG = "get_strong"
GET_EVENTUAL = "get_eventual"
PUT = "put"
COND_PUT = "cond_put"
DELETE = "delete"
READS = (GET_STRONG, GET_EVENTUAL)
WRITES = (PUT, COND_PUT, DELETE)
OPERATIONS = READS + WRITES

# Status codes (see the module docstring).
OK = "ok"
THROTTLED = "throttled"


class Message:
    """The base of every message: a checksum slot, filled in later."""

    __slots__ = ("checksum",)


# ----------------------------------------------------------------------
# clients, routers and storage nodes
# ----------------------------------------------------------------------
class ClientRequest(Message):
    """Client -> router."""

    __slots__ = ("req_id", "kind", "key", "value", "expected_version", "size_bytes")

    def __init__(self, req_id: int, kind: str, key: str, value: Any = None,
                 expected_version: int | None = None, size_bytes: float = 0.0) -> None:
        self.checksum = 0
        self.req_id = req_id
        self.kind = kind
        self.key = key
        self.value = value
        self.expected_version = expected_version
        self.size_bytes = size_bytes


class ClientReply(Message):
    """Router -> client."""

    __slots__ = ("req_id", "status", "value", "version", "applied", "pid")

    def __init__(self, req_id: int, status: str, value: Any = None, version: int = 0,
                 applied: bool = True, pid: str = "") -> None:
        self.checksum = 0
        self.req_id = req_id
        self.status = status
        self.value = value
        self.version = version
        self.applied = applied
        self.pid = pid


class StorageOp(Message):
    """Router -> storage node: one operation on one partition."""

    __slots__ = ("op_id", "pid", "request")

    def __init__(self, op_id: int, pid: str, request: ClientRequest) -> None:
        self.checksum = 0
        self.op_id = op_id
        self.pid = pid
        self.request = request


class StorageReply(Message):
    """Storage node -> router."""

    __slots__ = ("op_id", "status", "value", "version", "applied", "leader_hint")

    def __init__(self, op_id: int, status: str, value: Any = None, version: int = 0,
                 applied: bool = True, leader_hint: str | None = None) -> None:
        self.checksum = 0
        self.op_id = op_id
        self.status = status
        self.value = value
        self.version = version
        self.applied = applied
        self.leader_hint = leader_hint


# ----------------------------------------------------------------------
# admission control: router <-> GAC server
# ----------------------------------------------------------------------
class TokenRequest(Message):
    """Router -> GAC server: tokens for ``table``, please; the router's
    demand (units wanted per second, admitted or not) since it last asked,
    and the tokens it still holds."""

    __slots__ = ("seq", "table", "read_demand_per_s", "write_demand_per_s", "read_stock",
                 "write_stock")

    def __init__(self, seq: int, table: str, read_demand_per_s: float,
                 write_demand_per_s: float, read_stock: float = 0.0,
                 write_stock: float = 0.0) -> None:
        self.checksum = 0
        self.seq = seq
        self.table = table
        self.read_demand_per_s = read_demand_per_s
        self.write_demand_per_s = write_demand_per_s
        self.read_stock = read_stock
        self.write_stock = write_stock


class TokenGrant(Message):
    """GAC server -> router: ``read_units`` RCU and ``write_units`` WCU more
    of ``table`` to spend; the router's whole stock is then valid for
    ``valid_s`` from the grant's arrival."""

    __slots__ = ("seq", "table", "read_units", "write_units", "valid_s")

    def __init__(self, seq: int, table: str, read_units: float, write_units: float,
                 valid_s: float) -> None:
        self.checksum = 0
        self.seq = seq
        self.table = table
        self.read_units = read_units
        self.write_units = write_units
        self.valid_s = valid_s


# ----------------------------------------------------------------------
# storage node <-> storage node: heartbeats, one per host pair
# ----------------------------------------------------------------------
class Heartbeat(Message):
    """One per host pair per interval: renews every lease the sender holds
    on partitions the receiver replicates, and carries the commit points that
    advanced since the receiver last acknowledged a heartbeat.  With bursting
    admission control it also carries the level of the sender's node write
    bucket (paper §4.1.1: a leader lets a write burst only if the other
    replicas' nodes have tokens, as they last reported)."""

    __slots__ = ("send_t", "commits", "revocations_seen", "withdrawn", "node_write_level")

    def __init__(self, send_t: float, commits: list[tuple[str, Ballot, int]],
                 revocations_seen: int, withdrawn: list[tuple[str, Ballot]] | None = None,
                 node_write_level: float | None = None) -> None:
        self.checksum = 0
        self.send_t = send_t
        self.commits = commits
        self.revocations_seen = revocations_seen
        # (pid, ballot): the sender stood for or led pid under ballot and no
        # longer does -- don't wait for its lease, elect someone else.
        self.withdrawn = withdrawn
        self.node_write_level = node_write_level


class HeartbeatAck(Message):
    """The reply to a heartbeat; carries lease revocations (partitions on
    which the acker has promised a higher ballot than the sender's)."""

    __slots__ = ("send_t", "revocations")

    def __init__(self, send_t: float, revocations: list[tuple[int, str, Ballot]]) -> None:
        self.checksum = 0
        self.send_t = send_t
        self.revocations = revocations


# ----------------------------------------------------------------------
# storage node <-> storage node: one partition's replication group
# ----------------------------------------------------------------------
class GroupMessage(Message):
    """About partition ``pid``, sent under ``ballot``."""

    __slots__ = ("pid", "ballot")


class Prepare(GroupMessage):
    """Phase 1a: promise ``ballot``, and send your log from ``from_lsn``."""

    __slots__ = ("from_lsn",)

    def __init__(self, pid: str, ballot: Ballot, from_lsn: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.from_lsn = from_lsn


class Promise(GroupMessage):
    """Phase 1b: promised ``ballot``; the acceptor's log from the asked
    position and its commit point."""

    __slots__ = ("entries", "commit_lsn")

    def __init__(self, pid: str, ballot: Ballot, entries: Entries, commit_lsn: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.entries = entries
        self.commit_lsn = commit_lsn


class PrepareRefused(GroupMessage):
    """Phase 1b, negative: ``reason`` is ``not_member``, ``damaged``,
    ``promised``, ``booting``, ``lease`` or ``behind``; the refuser's promise and membership come along
    (a candidate that was replaced, or missed a change, learns it here)."""

    __slots__ = ("reason", "promised", "config", "config_lsn")

    def __init__(self, pid: str, ballot: Ballot, reason: str, promised: Ballot, config: Members,
                 config_lsn: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.reason = reason
        self.promised = promised
        self.config = config
        self.config_lsn = config_lsn


class Accept(GroupMessage):
    """Phase 2a: accept these ``(lsn, record)`` entries; the leader has
    committed up to ``commit_lsn``."""

    __slots__ = ("entries", "commit_lsn")

    def __init__(self, pid: str, ballot: Ballot, entries: list[tuple[int, LogRecord]],
                 commit_lsn: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.entries = entries
        self.commit_lsn = commit_lsn


class Accepted(GroupMessage):
    """Phase 2b: these log positions are durable here under ``ballot``."""

    __slots__ = ("lsns",)

    def __init__(self, pid: str, ballot: Ballot, lsns: list[int]) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.lsns = lsns


class AcceptRefused(GroupMessage):
    """Phase 2b, negative: the acceptor has promised a higher ballot."""

    __slots__ = ("promised",)

    def __init__(self, pid: str, ballot: Ballot, promised: Ballot) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.promised = promised


class CatchupRequest(GroupMessage):
    """A follower behind the commit point asks the leader of ``ballot`` for
    committed records from ``from_lsn`` (``storage``: it keeps a B-tree)."""

    __slots__ = ("from_lsn", "storage")

    def __init__(self, pid: str, ballot: Ballot, from_lsn: int, storage: bool) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.from_lsn = from_lsn
        self.storage = storage


class CatchupEntries(GroupMessage):
    """Committed records up to ``lsn``."""

    __slots__ = ("entries", "lsn")

    def __init__(self, pid: str, ballot: Ballot, entries: Entries, lsn: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.entries = entries
        self.lsn = lsn


class CatchupSnapshot(GroupMessage):
    """The leader's log has a gap where the follower needs records (it was
    installed from a copy): its B-tree at ``lsn`` (None for a log replica),
    its membership, and the committed records after ``lsn``."""

    __slots__ = ("entries", "lsn", "btree", "config")

    def __init__(self, pid: str, ballot: Ballot, entries: Entries, lsn: int,
                 btree: SortedDict | None, config: Members) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.entries = entries
        self.lsn = lsn
        self.btree = btree
        self.config = config


class LeaderCheck(GroupMessage):
    """The gray-failure guard: do you still see the leader of ``ballot``?"""

    __slots__ = ("attempt",)

    def __init__(self, pid: str, ballot: Ballot, attempt: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.attempt = attempt


class LeaderCheckReply(GroupMessage):
    """The answer: whether the replier ``sees`` the ``leader`` it promised
    (``ballot``), and whether it is ``leading`` itself."""

    __slots__ = ("attempt", "sees", "leader", "leading")

    def __init__(self, pid: str, ballot: Ballot, attempt: int, sees: bool, leader: str,
                 leading: bool) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.attempt = attempt
        self.sees = sees
        self.leader = leader
        self.leading = leading


class Bootstrap(GroupMessage):
    """Healing: become a ``kind`` replica of ``pid`` -- a copy of the
    leader at commit point ``lsn`` (its B-tree for a storage replica, its
    committed log for a log replica) in membership ``config`` -- in place of
    the member on ``replaces`` (the receiver itself when a log replica is
    rebuilt into a storage replica in place)."""

    __slots__ = ("kind", "config", "config_lsn", "lsn", "entries", "btree", "replaces")

    def __init__(self, pid: str, ballot: Ballot, kind: str, config: Members, config_lsn: int,
                 lsn: int, entries: Entries, btree: SortedDict | None, replaces: str) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.kind = kind
        self.config = config
        self.config_lsn = config_lsn
        self.lsn = lsn
        self.entries = entries
        self.btree = btree
        self.replaces = replaces


class BootstrapAck(GroupMessage):
    """The copy is installed (and durable) here."""

    __slots__ = ("kind",)

    def __init__(self, pid: str, ballot: Ballot, kind: str) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.kind = kind


class Retire(GroupMessage):
    """You are not in ``config``, the committed membership: drop the replica."""

    __slots__ = ("config",)

    def __init__(self, pid: str, ballot: Ballot, config: Members) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.config = config


# ----------------------------------------------------------------------
# durability: the WAL archive (storage node <-> object store) and the scrub
# ----------------------------------------------------------------------
class SegmentPut(Message):
    """Archiver -> object store: the committed records ``first..last`` of
    ``pid`` as ``(lsn, record)``, with ``segment_crc`` over their checksums;
    ``records`` is None when the archiver could not vouch for its copy (a
    hole, a bad checksum): then it only asks for the archive's copy."""

    __slots__ = ("pid", "host", "first", "last", "records", "segment_crc")

    def __init__(self, pid: str, host: str, first: int, last: int,
                 records: list[tuple[int, LogRecord]] | None, segment_crc: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.host = host
        self.first = first
        self.last = last
        self.records = records
        self.segment_crc = segment_crc


class SegmentReply(Message):
    """Object store -> archiver: the archive of ``pid`` now ends at ``head``;
    ``stored`` if this upload was taken; ``records``: the archive's copy of
    what the upload overlapped (to compare with the uploader's WAL), if any."""

    __slots__ = ("pid", "first", "last", "head", "stored", "records")

    def __init__(self, pid: str, first: int, last: int, head: int, stored: bool,
                 records: list[tuple[int, LogRecord]] | None) -> None:
        self.checksum = 0
        self.pid = pid
        self.first = first
        self.last = last
        self.head = head
        self.stored = stored
        self.records = records


class ArchiveFetch(Message):
    """Archiver -> object store: a replica whose committed log has a hole
    (it dropped a rotten record on replay) asks for the archive's copy of
    ``pid`` from ``first`` on; ``storage``: it keeps a B-tree."""

    __slots__ = ("pid", "host", "first", "storage")

    def __init__(self, pid: str, host: str, first: int, storage: bool) -> None:
        self.checksum = 0
        self.pid = pid
        self.host = host
        self.first = first
        self.storage = storage


class ArchiveCopy(Message):
    """Object store -> archiver: the archive of ``pid`` ends at ``head``;
    ``records`` are the archived records ``first..head`` if the store still
    keeps them all, else empty and, for a storage replica, ``btree`` is a
    copy of the archive's reference B-tree at ``head`` (a restore point)."""

    __slots__ = ("pid", "first", "head", "records", "btree")

    def __init__(self, pid: str, first: int, head: int, records: list[tuple[int, LogRecord]],
                 btree: SortedDict | None) -> None:
        self.checksum = 0
        self.pid = pid
        self.first = first
        self.head = head
        self.records = records
        self.btree = btree


class ReferenceRequest(Message):
    """Scrub (a leader) -> object store: the per-range digests of a reference
    replica of ``pid`` rebuilt from the archive, brought to ``lsn`` with the
    leader's own committed ``records`` above the archive's head."""

    __slots__ = ("pid", "scrub_id", "lsn", "records", "bounds")

    def __init__(self, pid: str, scrub_id: int, lsn: int, records: list[tuple[int, LogRecord]],
                 bounds: list[str]) -> None:
        self.checksum = 0
        self.pid = pid
        self.scrub_id = scrub_id
        self.lsn = lsn
        self.records = records
        self.bounds = bounds


class ReferenceReply(Message):
    """Object store -> scrub: the reference's digests at ``lsn`` (None if the
    archive cannot rebuild that point: it is already past it, or behind the
    records it was given)."""

    __slots__ = ("pid", "scrub_id", "lsn", "digests")

    def __init__(self, pid: str, scrub_id: int, lsn: int, digests: list[int] | None) -> None:
        self.checksum = 0
        self.pid = pid
        self.scrub_id = scrub_id
        self.lsn = lsn
        self.digests = digests


class ScrubRequest(GroupMessage):
    """Scrub (the leader of ``ballot``) -> replica: the digests of your items
    at ``lsn``, per key range (``bounds``: the ranges' first keys after the first)."""

    __slots__ = ("scrub_id", "lsn", "bounds")

    def __init__(self, pid: str, ballot: Ballot, scrub_id: int, lsn: int, bounds: list[str]) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.scrub_id = scrub_id
        self.lsn = lsn
        self.bounds = bounds


class ScrubReply(GroupMessage):
    """Replica -> scrub: its digests at ``lsn`` (None if it could not stop
    there: it had applied past it, or lacks records below it)."""

    __slots__ = ("scrub_id", "lsn", "digests")

    def __init__(self, pid: str, ballot: Ballot, scrub_id: int, lsn: int,
                 digests: list[int] | None) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.scrub_id = scrub_id
        self.lsn = lsn
        self.digests = digests


class ScrubRepair(GroupMessage):
    """A good replica's items at ``lsn``: the receiver, found corrupt by a
    scrub, rebuilds its B-tree from them."""

    __slots__ = ("lsn", "btree")

    def __init__(self, pid: str, ballot: Ballot, lsn: int, btree: SortedDict) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot
        self.lsn = lsn
        self.btree = btree


class ScrubFetch(GroupMessage):
    """The scrub found its own leader's items corrupt: a good replica is
    asked to send the leader a :class:`ScrubRepair`."""

    __slots__ = ()

    def __init__(self, pid: str, ballot: Ballot) -> None:
        self.checksum = 0
        self.pid = pid
        self.ballot = ballot


# ----------------------------------------------------------------------
# routing metadata: routers, the metadata table, MemDS, storage nodes
# ----------------------------------------------------------------------
#: One partition's routing, as the metadata servers send it:
#: ``(pid, start_hash, end_hash, members, leader, version)`` -- the range of
#: key hashes ``[start_hash, end_hash)`` it holds, its membership and leader,
#: and the version of that routing (higher is newer).
RouteRow = tuple[str, int, int, Members, "str | None", int]


class RoutingDownload(Message):
    """Router -> metadata table: send me the whole table's routing."""

    __slots__ = ("lookup_id",)

    def __init__(self, lookup_id: int) -> None:
        self.checksum = 0
        self.lookup_id = lookup_id


class RoutingTable(Message):
    """Metadata table -> router: every partition's routing row."""

    __slots__ = ("lookup_id", "rows")

    def __init__(self, lookup_id: int, rows: list[RouteRow]) -> None:
        self.checksum = 0
        self.lookup_id = lookup_id
        self.rows = rows


class MemDSLookup(Message):
    """Router -> MemDS: floor lookups of these key hashes (one batch)."""

    __slots__ = ("batch_id", "hashes")

    def __init__(self, batch_id: int, hashes: list[int]) -> None:
        self.checksum = 0
        self.batch_id = batch_id
        self.hashes = hashes


class MemDSAnswer(Message):
    """MemDS -> router: the routing row of each hash of the batch, in order."""

    __slots__ = ("batch_id", "rows")

    def __init__(self, batch_id: int, rows: list[RouteRow]) -> None:
        self.checksum = 0
        self.batch_id = batch_id
        self.rows = rows


class RouteUpdate(Message):
    """Storage node -> MemDS: ``pid`` now has these members and this leader
    (``version`` orders updates that arrive out of order)."""

    __slots__ = ("pid", "members", "leader", "version")

    def __init__(self, pid: str, members: Members, leader: str | None, version: int) -> None:
        self.checksum = 0
        self.pid = pid
        self.members = members
        self.leader = leader
        self.version = version


class RouteSplit(Message):
    """Control plane -> MemDS: ``parent`` was split; ``rows`` are its
    children's routing rows (start hashes, members, leader, versions)."""

    __slots__ = ("parent", "rows")

    def __init__(self, parent: str, rows: list[RouteRow]) -> None:
        self.checksum = 0
        self.parent = parent
        self.rows = rows
