"""The messages components send each other through the world's network.

Per-message objects use ``__slots__``: millions of them are made in a run.
Client-facing status codes:

* ``ok`` -- done (for a conditional put, ``applied`` says whether the
  condition held; a failed condition is the customer's outcome, not an error);
* ``not_leader`` -- this replica does not lead; ``leader_hint`` may name who does;
* ``unavailable`` -- the leader has no valid lease, or the node is not ready;
* ``timeout`` -- the router gave up waiting for a storage node.
"""
from __future__ import annotations

from typing import Any

# Operation kinds.
GET_STRONG = "get_strong"
GET_EVENTUAL = "get_eventual"
PUT = "put"
COND_PUT = "cond_put"
DELETE = "delete"
READS = (GET_STRONG, GET_EVENTUAL)
WRITES = (PUT, COND_PUT, DELETE)
OPERATIONS = READS + WRITES


class ClientRequest:
    """Client -> router."""

    __slots__ = ("req_id", "kind", "key", "value", "expected_version", "size_bytes")

    def __init__(self, req_id: int, kind: str, key: str, value: Any = None,
                 expected_version: int | None = None, size_bytes: float = 0.0) -> None:
        self.req_id = req_id
        self.kind = kind
        self.key = key
        self.value = value
        self.expected_version = expected_version
        self.size_bytes = size_bytes


class ClientReply:
    """Router -> client."""

    __slots__ = ("req_id", "status", "value", "version", "applied", "pid")

    def __init__(self, req_id: int, status: str, value: Any = None, version: int = 0,
                 applied: bool = True, pid: str = "") -> None:
        self.req_id = req_id
        self.status = status
        self.value = value
        self.version = version
        self.applied = applied
        self.pid = pid


class StorageOp:
    """Router -> storage node: one operation on one partition."""

    __slots__ = ("op_id", "pid", "request")

    def __init__(self, op_id: int, pid: str, request: ClientRequest) -> None:
        self.op_id = op_id
        self.pid = pid
        self.request = request


class StorageReply:
    """Storage node -> router."""

    __slots__ = ("op_id", "status", "value", "version", "applied", "leader_hint")

    def __init__(self, op_id: int, status: str, value: Any = None, version: int = 0,
                 applied: bool = True, leader_hint: str | None = None) -> None:
        self.op_id = op_id
        self.status = status
        self.value = value
        self.version = version
        self.applied = applied
        self.leader_hint = leader_hint


class PaxosMessage:
    """Storage node -> storage node, about one partition's replication group.

    ``kind`` is one of prepare, promise, accept, accepted, catchup_request,
    catchup, leader_check, leader_check_reply, bootstrap, retire; ``body``
    is a small dict whose fields depend on the kind.
    """

    __slots__ = ("kind", "pid", "ballot", "body")

    def __init__(self, kind: str, pid: str, ballot: tuple[int, str], body: dict[str, Any]) -> None:
        self.kind = kind
        self.pid = pid
        self.ballot = ballot
        self.body = body


class Heartbeat:
    """One per host pair per interval: renews every lease the sender holds
    on partitions the receiver replicates, and carries the commit points that
    advanced since the receiver last acknowledged a heartbeat."""

    __slots__ = ("send_t", "commits", "revocations_seen", "withdrawn")

    def __init__(self, send_t: float, commits: list[tuple[str, tuple[int, str], int]],
                 revocations_seen: int,
                 withdrawn: list[tuple[str, tuple[int, str]]] | None = None) -> None:
        self.send_t = send_t
        self.commits = commits
        self.revocations_seen = revocations_seen
        # (pid, ballot): the sender stood for or led pid under ballot and no
        # longer does -- don't wait for its lease, elect someone else.
        self.withdrawn = withdrawn


class HeartbeatAck:
    """The reply to a heartbeat; carries lease revocations (partitions on
    which the acker has promised a higher ballot than the sender's)."""

    __slots__ = ("send_t", "revocations")

    def __init__(self, send_t: float, revocations: list[tuple[int, str, tuple[int, str]]]) -> None:
        self.send_t = send_t
        self.revocations = revocations
