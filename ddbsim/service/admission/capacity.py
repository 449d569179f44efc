"""Capacity units: what one request costs (paper §4, the DynamoDB docs).

One read capacity unit (RCU) is one strongly consistent read per second of
an item of up to 4 KB; an eventually consistent read costs half as much.
One write capacity unit (WCU) is one write per second of an item of up to
1 KB.  Sizes round up to the next unit, and every request costs at least
one unit (half an RCU for an eventually consistent read): a 5 KB strong
read costs 2 RCU, a 5 KB eventual read 1 RCU, a 1.5 KB write 2 WCU, and a
delete (which writes a tombstone) 1 WCU.

The simulator does not keep item sizes in its B-trees: a write carries the
size of the item it writes, and a read the size of the item it expects
(the workload draws it from the same item-size distribution, see
:mod:`ddbsim.lab.workload`).
"""
from __future__ import annotations

import math

from ddbsim.service.messages import DELETE, GET_EVENTUAL, GET_STRONG, READS

RCU_BYTES = 4096  # [paper §4] a read unit covers an item of up to 4 KB
WCU_BYTES = 1024  # [paper §4] a write unit covers an item of up to 1 KB


def read_units(size_bytes: float, strong: bool = True) -> float:
    """RCU of one read of an item of ``size_bytes`` (half for an eventual read)."""
    units = max(1, math.ceil(size_bytes / RCU_BYTES))
    return float(units) if strong else units / 2


def write_units(size_bytes: float) -> float:
    """WCU of one write of an item of ``size_bytes``."""
    return float(max(1, math.ceil(size_bytes / WCU_BYTES)))


def units(kind: str, size_bytes: float) -> float:
    """What a request of operation ``kind`` on an item of ``size_bytes``
    costs: RCU for a read, WCU for a write (a delete costs one WCU)."""
    if kind == GET_STRONG:
        return read_units(size_bytes, strong=True)
    if kind == GET_EVENTUAL:
        return read_units(size_bytes, strong=False)
    if kind == DELETE:
        return 1.0
    return write_units(size_bytes)


def is_read(kind: str) -> bool:
    """Whether ``kind`` spends read (RCU) rather than write (WCU) capacity."""
    return kind in READS
