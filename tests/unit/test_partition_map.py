"""The partition map: stable key hashes and floor lookups over start hashes."""
from __future__ import annotations

import hashlib
import random

import pytest

from ddbsim.service.membership import LOG, STORAGE
from ddbsim.service.metadata.hashing import HASH_SPACE, key_hash
from ddbsim.service.metadata.partition_map import PartitionMap


def test_key_hash_is_blake2b_8_bytes_big_endian() -> None:
    expected = int.from_bytes(hashlib.blake2b(b"k0000042", digest_size=8).digest(), "big")
    assert key_hash("k0000042") == expected
    # Pinned: a change of hash function would silently move every key.
    assert key_hash("k0000042") == 1007146494170200886
    assert key_hash("orders#1") == 9844694180485353039
    assert key_hash("") == 16476032584258269876


def test_key_hash_is_in_the_hash_space() -> None:
    hashes = [key_hash(f"k{i:07d}") for i in range(2000)]
    assert all(0 <= h < HASH_SPACE for h in hashes)
    assert len(set(hashes)) == 2000
    # Spread over the whole space, not bunched at one end.
    assert min(hashes) < HASH_SPACE // 100 and max(hashes) > HASH_SPACE - HASH_SPACE // 100


def test_partitions_split_the_space_evenly() -> None:
    pm = PartitionMap("orders", 16)
    assert len(pm) == 16
    assert pm.pids() == [f"p-{i:04d}" for i in range(16)]
    starts = [info.start_hash for info in pm]
    assert starts[0] == 0
    assert starts == sorted(starts)
    assert {b - a for a, b in zip(starts[:-1], starts[1:], strict=True)} == {HASH_SPACE // 16}


def _brute_force(pm: PartitionMap, h: int) -> str:
    best = None
    for info in pm:
        if info.start_hash <= h and (best is None or info.start_hash > best.start_hash):
            best = info
    assert best is not None
    return best.pid


@pytest.mark.parametrize("partitions", [1, 3, 16, 100])
def test_floor_lookup_matches_a_brute_force_scan(partitions: int) -> None:
    pm = PartitionMap("orders", partitions)
    keys = [f"k{i:07d}" for i in range(1500)]
    for key in keys:
        assert pm.partition_for(key).pid == _brute_force(pm, key_hash(key)), key


def test_floor_lookup_at_the_boundaries() -> None:
    pm = PartitionMap("orders", 4)
    step = HASH_SPACE // 4
    rng = random.Random(7)
    probes = [0, 1, step - 1, step, step + 1, 3 * step - 1, 3 * step, HASH_SPACE - 1]
    probes += [rng.randrange(HASH_SPACE) for _ in range(500)]
    for h in probes:
        assert pm.partition_for_hash(h).pid == _brute_force(pm, h), h
    assert pm.partition_for_hash(step - 1).pid == "p-0000"
    assert pm.partition_for_hash(step).pid == "p-0001"
    assert pm.partition_for_hash(HASH_SPACE - 1).pid == "p-0003"


def test_every_partition_gets_keys() -> None:
    pm = PartitionMap("orders", 16)
    counts: dict[str, int] = {}
    for i in range(4000):
        pid = pm.partition_for(f"k{i:07d}").pid
        counts[pid] = counts.get(pid, 0) + 1
    assert sorted(counts) == pm.pids()
    assert min(counts.values()) > 4000 / 16 / 2


def test_members_and_leader_updates() -> None:
    pm = PartitionMap("orders", 2)
    members = (("h1", STORAGE), ("h2", LOG), ("h3", STORAGE))
    pm.set_members("p-0001", members)
    pm.set_leader("p-0001", "h3")
    info = pm.partition("p-0001")
    assert info.members == members and info.leader == "h3"
    assert info.storage_hosts() == ("h1", "h3")
    assert pm.partition("p-0000").members == () and pm.partition("p-0000").leader is None
    with pytest.raises(KeyError):
        pm.partition("p-0002")


def test_a_table_needs_a_partition() -> None:
    with pytest.raises(ValueError, match="at least one partition"):
        PartitionMap("orders", 0)
