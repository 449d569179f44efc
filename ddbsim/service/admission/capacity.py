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

from ddbsim.service.messages import COND_PUT, DELETE, GET_EVENTUAL, GET_STRONG, PUT

RCU_BYTES = 4096  # [paper §4] a read unit covers an item of up to 4 KB
WCU_BYTES = 1024  # [paper §4] a write unit covers an item of up to 1 KB


#: kind -> (bytes a unit covers, units per unit): a delete is one unit whatever the size.
_UNIT = {GET_STRONG: (RCU_BYTES, 1.0), GET_EVENTUAL: (RCU_BYTES, 0.5), PUT: (WCU_BYTES, 1.0),
         COND_PUT: (WCU_BYTES, 1.0), DELETE: (math.inf, 1.0)}


def units(kind: str, size_bytes: float) -> float:
    """What a request of operation ``kind`` on an item of ``size_bytes``
    costs: RCU for a read, WCU for a write (a delete costs one WCU).  On
    every admitted request's path: one look-up and a ceiling."""
    per, scale = _UNIT[kind]
    n = -(-size_bytes // per)  # the ceiling, for an int or a float size
    return (n if n > 1.0 else 1.0) * scale


def read_units(size_bytes: float, strong: bool = True) -> float:
    """RCU of one read of an item of ``size_bytes`` (half for an eventual read)."""
    return units(GET_STRONG if strong else GET_EVENTUAL, size_bytes)


def write_units(size_bytes: float) -> float:
    """WCU of one write of an item of ``size_bytes``."""
    return units(PUT, size_bytes)
