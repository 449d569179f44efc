"""Legacy allocation (paper §4): partition counts and even shares, with the
paper's worked example, and capacity units."""
from __future__ import annotations

import pytest

from ddbsim.service.admission.allocation import Allocation, grown, partitions_for, share
from ddbsim.service.admission.capacity import read_units, units, write_units

MAX_RCU, MAX_WCU, MAX_BYTES = 3000.0, 1000.0, 10e9


def create(wcu: float, rcu: float = 0.0, size: float = 0.0) -> int:
    return partitions_for(rcu, wcu, size, MAX_RCU, MAX_WCU, MAX_BYTES)


def resize(current: int, wcu: float, rcu: float = 0.0, size: float = 0.0) -> int:
    return grown(current, rcu, wcu, size, MAX_RCU, MAX_WCU, MAX_BYTES)


def test_the_papers_worked_example() -> None:
    """Paper §4, a partition of at most 1,000 WCU."""
    n = create(3200)  # a table created with 3,200 WCU: four partitions of 800
    assert (n, share(3200, n)) == (4, 800)
    n = resize(n, 3600)  # raised to 3,600 WCU: still four, of 900
    assert (n, share(3600, n)) == (4, 900)
    n = resize(n, 6000)  # raised to 6,000 WCU: split to eight, of 750
    assert (n, share(6000, n)) == (8, 750)
    n = resize(n, 5000)  # lowered to 5,000 WCU: still eight (no merge), of 625
    # The paper prints 675 here; 5,000 / 8 is 625 -- a misprint in the paper.
    assert (n, share(5000, n)) == (8, 625)


def test_partition_count_from_throughput_and_size() -> None:
    assert create(0, rcu=0) == 1
    assert create(1000) == 1 and create(1001) == 2
    # reads and writes add up (the docs' formula): 1,500 RCU + 500 WCU is one partition's worth
    assert create(500, rcu=1500) == 1 and create(501, rcu=1500) == 2
    assert create(100, size=35e9) == 4  # split for size: 4 partitions of a few WCU each
    assert resize(3, 3100) == 6  # doubling, from whatever count the table has
    assert resize(16, 1000) == 16


def test_allocation_shares_boosts_and_caps() -> None:
    alloc = Allocation(3000.0, 800.0, ["p-0", "p-1", "p-2", "p-3"], MAX_RCU, MAX_WCU)
    assert alloc.rate("p-0", read=False) == 200
    assert alloc.rate("p-0", read=True) == 750
    v = alloc.version
    alloc.set_boost("p-1", False, 300.0)
    assert alloc.rate("p-1", False) == 500 and alloc.version == v + 1
    alloc.set_boost("p-1", False, 5000.0)  # never above the partition maximum
    assert alloc.rate("p-1", False) == MAX_WCU
    alloc.set_boost("p-1", False, -10.0)  # never below the share
    assert alloc.rate("p-1", False) == 200
    alloc.split("p-2", ["p-2a", "p-2b"])
    assert alloc.pids == ["p-0", "p-1", "p-2a", "p-2b", "p-3"]
    assert alloc.rate("p-2a", False) == 160  # the share is over five partitions now


@pytest.mark.parametrize(("kind", "size", "cost"), [
    ("get_strong", 0, 1), ("get_strong", 4096, 1), ("get_strong", 4097, 2),
    ("get_strong", 5000, 2), ("get_eventual", 5000, 1), ("get_eventual", 100, 0.5),
    ("put", 0, 1), ("put", 1024, 1), ("put", 1500, 2), ("cond_put", 8192, 8), ("delete", 9000, 1),
])
def test_capacity_units_round_up(kind: str, size: float, cost: float) -> None:
    assert units(kind, size) == cost


def test_unit_helpers() -> None:
    assert read_units(9000) == 3 and read_units(9000, strong=False) == 1.5
    assert write_units(1) == 1 and write_units(2049) == 3
