"""Digests of a replica's items per key range: what a scrub compares.

Paper §5: replicas are verified by comparing checksums of their data at a
common log position, rather than the data itself.  A partition's items are
split into key ranges by ``bounds`` (the first key of every range after the
first, sorted), and each range gets a CRC-32 chained over its items' keys,
values and versions -- so a mismatch names the range it is in.
"""
from __future__ import annotations

import zlib

from sortedcontainers import SortedDict


def pick_bounds(btree: SortedDict, ranges: int) -> list[str]:
    """``ranges - 1`` keys that split ``btree``'s keys into ranges of about
    equal size (fewer if it holds fewer keys)."""
    n = len(btree)
    if ranges <= 1 or n < 2:
        return []
    keys = btree.keys()
    picks = sorted({keys[(i * n) // ranges] for i in range(1, ranges)})
    return [str(k) for k in picks if k != keys[0]]


def range_digests(btree: SortedDict, bounds: list[str]) -> list[int]:
    """One digest per range: ``len(bounds) + 1`` of them."""
    digests = []
    lo: str | None = None
    for hi in [*bounds, None]:
        crc = 0
        for key in btree.irange(lo, hi, inclusive=(True, False)):
            value, version, _crc = btree[key]
            crc = zlib.crc32(f"{key}\x00{value}\x00{version}\x01".encode(), crc)
        digests.append(crc)
        lo = hi
    return digests


def range_name(bounds: list[str], index: int) -> str:
    """The key range ``index`` as ``lo..hi`` (an open end left empty)."""
    lo = bounds[index - 1] if index > 0 else ""
    hi = bounds[index] if index < len(bounds) else ""
    return f"{lo}..{hi}"
