"""Checkers, run after the faults end, the region heals and quiesces, and
the final reads complete -- one module per checker.

Each takes plain data, so it can be tested on hand-written histories
(including ones that must fail), and returns a dict with ``valid`` (True,
False or "unknown") and details.  :data:`CHECKERS` names them, in the order
a run reports them, with what each promises.
"""
from __future__ import annotations

from ddbsim.lab.checkers.archive import check_archive
from ddbsim.lab.checkers.convergence import ReplicaView, check_convergence
from ddbsim.lab.checkers.durability import ACKED, FAILED, MAYBE, Write, WriteLedger, check_durability
from ddbsim.lab.checkers.healing import check_healing
from ddbsim.lab.checkers.linearizability import check_eventual_reads, check_linearizable
from ddbsim.lab.checkers.placement import check_placement
from ddbsim.lab.checkers.restore import check_restore
from ddbsim.lab.checkers.single_leader import check_single_leader

#: Every checker a run may report, and what it checks.
CHECKERS: dict[str, str] = {
    "durability": "every acknowledged write is read back with its value or a later one",
    "convergence": "the replicas of every partition hold the same data",
    "single_leader": "never two leaders with valid leases for one partition at once",
    "liveness": "every partition serves a strong read within the bound after the heal",
    "placement": "every partition ends with all its storage replicas on distinct hosts, "
                 "racks and AZs",
    "healing": "every lost replica was replaced by a storage replica (or says why not); "
               "no log replica outstayed detection + copy + rebuild + margin",
    "linearizable": "strong reads and writes are linearizable, per key",
    "eventual_reads": "an eventual read returns a value some write produced, at its version",
    "corruption": "every injected corruption was found and repaired, and nothing else reported",
    "archive": "the archived WAL, replayed, holds the same items as each partition's leader",
    "restore": "a table restored as of each instant asked for holds every write acknowledged "
               "before it and none invoked after it",
}

__all__ = ["ACKED", "CHECKERS", "FAILED", "MAYBE", "ReplicaView", "Write", "WriteLedger",
           "check_archive", "check_convergence", "check_durability", "check_eventual_reads", "check_healing",
           "check_linearizable", "check_placement", "check_restore", "check_single_leader"]
