"""Partition keys to stable 64-bit hashes.

DynamoDB partitions a table by the hash of the partition key (paper §3).
We use BLAKE2b truncated to 8 bytes: stable across processes and platforms,
unlike Python's built-in string hashing, which is salted per process.
"""
from __future__ import annotations

import hashlib

HASH_SPACE = 1 << 64


def key_hash(key: str) -> int:
    """The stable 64-bit hash of a partition key."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
