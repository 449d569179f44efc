"""The vocabulary of a replication group: ballots, member kinds, memberships.

Paper §3 and §5.1: a partition's group has members on different hosts; a
member is a *storage replica* (WAL and B-tree: it serves reads and may
lead) or a *log replica* (recent WAL only: it accepts and counts towards
the write quorum, serves nothing, never leads).  A membership is a tuple of
``(host_id, kind)``; a ballot is ``(round, host_id)``, so two hosts never
share one and a ballot names its leader.
"""
from __future__ import annotations

Ballot = tuple[int, str]
Members = tuple[tuple[str, str], ...]

STORAGE = "storage"
LOG = "log"
