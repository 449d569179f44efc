"""ReplicaState: the WAL, its durable edge, commit/apply, crash and replay."""
from __future__ import annotations

import pytest

from ddbsim.service.membership import LOG, STORAGE
from ddbsim.service.storage.log import NOOP_RECORD, LogRecord
from ddbsim.service.storage.replica import ALWAYS, NO_BALLOT, ReplicaState

CHECKPOINT_EVERY = 1000  # the default of storage.checkpoint_every_records

NOW = 100.0  # the time of every step below that does not say otherwise
MEMBERS = (("h1", STORAGE), ("h2", STORAGE), ("h3", STORAGE))
B1 = (1, "h1")
B2 = (2, "h2")


def replica(kind: str = STORAGE, host: str = "h1") -> ReplicaState:
    return ReplicaState("p-0000", host, kind, MEMBERS)


def put(key: str, value: str, expected: int | None = None) -> LogRecord:
    return LogRecord.put(key, value, expected)


def commit_all(st: ReplicaState, cmds: list[LogRecord], ballot: tuple = B1) -> list:
    """Append, persist and commit ``cmds`` after the current log end."""
    first = st.last_lsn + 1
    for i, cmd in enumerate(cmds):
        st.write(first + i, ballot, cmd)
        st.persisted(first + i)
    return st.commit_to(st.last_lsn, NOW)


# -- write / persisted / commit_to / apply ------------------------------------

def test_write_is_volatile_until_persisted() -> None:
    st = replica()
    st.write(1, B1, put("k", "v"))
    assert st.last_lsn == 1
    assert not st.is_durable(1, NOW)
    assert st.commit_to(1, NOW) == []
    assert (st.commit_lsn, st.applied_lsn) == (0, 0)
    assert st.read("k") == (None, 0)
    st.persisted(1)
    assert st.is_durable(1, NOW)
    assert st.commit_to(1, NOW) == [(1, put("k", "v"), (True, 1))]
    assert (st.commit_lsn, st.applied_lsn) == (1, 1)
    assert st.read("k") == ("v", 1)


def test_commit_to_stops_below_a_non_durable_entry() -> None:
    st = replica()
    for lsn in (1, 2, 3, 4):
        st.write(lsn, B1, put(f"k{lsn}", "v"))
    for lsn in (1, 2, 4):
        st.persisted(lsn)
    applied = st.commit_to(4, NOW)
    assert [lsn for lsn, _, _ in applied] == [1, 2]
    assert st.commit_lsn == 2
    assert st.read("k4") == (None, 0)
    st.persisted(3)
    assert [lsn for lsn, _, _ in st.commit_to(4, NOW)] == [3, 4]
    assert st.commit_lsn == 4


def test_commit_to_stops_below_a_missing_entry() -> None:
    st = replica()
    for lsn in (1, 2, 4, 5):
        st.write(lsn, B1, put("k", str(lsn)))
        st.persisted(lsn)
    assert [lsn for lsn, _, _ in st.commit_to(5, NOW)] == [1, 2]
    assert st.commit_lsn == 2 and st.read("k") == ("2", 2)
    st.write(3, B1, put("k", "3"))
    st.persisted(3)
    assert [lsn for lsn, _, _ in st.commit_to(5, NOW)] == [3, 4, 5]
    assert st.read("k") == ("5", 5)


def test_commit_to_never_goes_backwards_or_beyond_the_target() -> None:
    st = replica()
    commit_all(st, [put("a", "1"), put("b", "2"), put("c", "3")])
    assert st.commit_to(1, NOW) == []
    assert st.commit_lsn == 3
    st.write(4, B1, put("d", "4"))
    st.write(5, B1, put("e", "5"))
    st.persisted(4)
    st.persisted(5)
    assert [lsn for lsn, _, _ in st.commit_to(4, NOW)] == [4]
    assert st.commit_lsn == 4


def test_noop_and_config_apply_without_touching_items() -> None:
    st = replica()
    res = commit_all(st, [NOOP_RECORD, LogRecord.config(MEMBERS)])
    assert [r for _, _, r in res] == [(True, 0), (True, 0)]
    assert len(st.btree) == 0


def test_entries_from_skips_gaps_and_honours_upto() -> None:
    st = replica()
    for lsn in (1, 2, 4):
        st.write(lsn, B1, put("k", str(lsn)))
    assert [e[0] for e in st.entries_from(1)] == [1, 2, 4]
    assert [e[0] for e in st.entries_from(2, upto=3)] == [2]
    assert st.entries_from(1)[0] == (1, B1, put("k", "1"))


# -- conditional put and delete ----------------------------------------------

def test_conditional_put_versions() -> None:
    st = replica()
    res = commit_all(st, [
        put("k", "a", 0),  # must not exist: it does not -> applied, v1
        put("k", "b", 0),  # must not exist: it does -> refused
        put("k", "c", 1),  # expects v1 -> applied, v2
        put("k", "d", 1),  # stale expectation -> refused, reports v2
        put("k", "e"),  # unconditional -> v3
    ])
    assert [r for _, _, r in res] == [(True, 1), (False, 1), (True, 2), (False, 2), (True, 3)]
    assert st.read("k") == ("e", 3)


def test_conditional_put_expecting_a_version_of_a_missing_item_is_refused() -> None:
    st = replica()
    res = commit_all(st, [put("k", "a", 3)])
    assert res[0][2] == (False, 0)
    assert st.read("k") == (None, 0)
    assert "k" not in st.btree


def test_delete_leaves_a_tombstone_and_versions_keep_counting() -> None:
    st = replica()
    res = commit_all(st, [put("k", "a"), put("k", "b"), LogRecord.delete("k")])
    assert res[-1][2] == (True, 3)
    assert st.read("k") == (None, 3)
    assert st.btree["k"][:2] == (None, 3)  # a tombstone, not a removal
    # After a delete, "must not exist" holds again and the version goes on.
    res = commit_all(st, [put("k", "c", 3), put("k", "c", 0), LogRecord.delete("k"), LogRecord.delete("k")])
    assert [r for _, _, r in res] == [(False, 3), (True, 4), (True, 5), (True, 6)]
    assert st.read("k") == (None, 6)


def test_log_replica_keeps_no_items() -> None:
    st = replica(LOG)
    res = commit_all(st, [put("k", "a"), LogRecord.delete("k")])
    assert [r for _, _, r in res] == [(True, 0), (True, 0)]
    assert st.btree is None
    assert st.commit_lsn == st.applied_lsn == 2
    with pytest.raises(RuntimeError, match="log replica"):
        st.read("k")
    with pytest.raises(RuntimeError, match="log replica"):
        st.snapshot()


# -- crash -----------------------------------------------------------------------

def test_crash_drops_non_durable_entries() -> None:
    st = replica()
    for lsn in (1, 2, 3):
        st.write(lsn, B1, put("k", str(lsn)))
    st.persisted(1)
    st.persisted(2)
    st.crash(NOW)
    assert sorted(st.log) == [1, 2]
    assert st.last_lsn == 2
    assert all(st.is_durable(lsn, NOW) for lsn in (1, 2))


def test_crash_restores_an_overwritten_durable_entry() -> None:
    st = replica()
    st.write(1, B1, put("k", "old"))
    st.persisted(1)
    st.write(1, B2, put("k", "new"))
    st.write(1, B2, put("k", "newer"))  # two volatile overwrites: the durable one is kept
    assert not st.is_durable(1, NOW)
    st.crash(NOW)
    assert st.log[1].ballot == B1
    assert st.log[1].record == put("k", "old")
    assert st.is_durable(1, NOW)


def test_crash_restores_the_durable_promise() -> None:
    st = replica()
    assert st.promised == NO_BALLOT
    st.promise(B1, ALWAYS)
    st.promise((5, "h3"))  # not yet on disk
    st.crash(NOW)
    assert st.promised == B1
    st.promise(B2, ALWAYS)
    st.promise_durable_at(B1, ALWAYS)  # an older persist completing late changes nothing
    st.crash(NOW)
    assert st.promised == B2


def test_crash_reverts_btree_to_checkpoint_and_replay_restores_it() -> None:
    st = replica()
    cmds = [put(f"k{i % 7}", f"v{i}") for i in range(30)]
    cmds += [LogRecord.delete("k3"), put("k3", "again", 0), put("k1", "x", 999), NOOP_RECORD]
    commit_all(st, cmds)
    before = st.checksum()
    items = dict(st.btree)
    assert st.checkpoint_lsn == 0 and st.applied_lsn == len(cmds)

    st.crash(NOW)
    assert st.applied_lsn == 0
    assert len(st.btree) == 0  # every page written since the (empty) checkpoint is gone
    assert st.checksum() != before
    assert st.commit_lsn == len(cmds)  # the commit point is durable knowledge

    assert st.replay() == len(cmds)
    assert st.checksum() == before
    assert dict(st.btree) == items
    assert st.applied_lsn == st.commit_lsn


def test_crash_after_a_checkpoint_keeps_the_checkpointed_items() -> None:
    st = replica()
    commit_all(st, [put(f"k{i % 50}", f"v{i}") for i in range(CHECKPOINT_EVERY)])
    assert st.checkpoint_lsn == CHECKPOINT_EVERY
    at_checkpoint = st.checksum()
    commit_all(st, [put("k1", "late"), LogRecord.delete("k2"), put("new", "n")])
    before = st.checksum()
    st.crash(NOW)
    assert st.applied_lsn == CHECKPOINT_EVERY
    assert st.checksum() == at_checkpoint
    assert st.replay() == 3
    assert st.checksum() == before
    assert st.read("k1") == ("late", CHECKPOINT_EVERY // 50 + 1)
    assert st.read("k2")[0] is None


def test_crash_with_an_uncommitted_tail_replays_only_committed_records() -> None:
    st = replica()
    commit_all(st, [put("a", "1"), put("b", "2")])
    st.write(3, B1, put("c", "3"))
    st.persisted(3)  # durable but not committed
    st.write(4, B1, put("d", "4"))  # neither
    before = st.checksum()
    st.crash(NOW)
    assert sorted(st.log) == [1, 2, 3]
    assert st.replay() == 2
    assert st.checksum() == before
    assert st.read("c") == (None, 0)


# -- membership ------------------------------------------------------------------

def test_config_entries_change_config() -> None:
    st = replica()
    assert st.config == MEMBERS and st.is_member()
    new = (("h2", STORAGE), ("h3", STORAGE), ("h4", LOG))
    st.write(1, B1, put("k", "v"))
    st.write(2, B1, LogRecord.config(new))
    # Uncommitted and even non-durable: the latest config in the log counts.
    assert st.config == new
    assert not st.is_member()
    assert st.config_before(2) == MEMBERS
    assert st.config_before(3) == new
    # A volatile config entry disappears with a crash.
    st.persisted(1)
    st.crash(NOW)
    assert st.config == MEMBERS and st.is_member()


def test_overwriting_a_config_entry_with_another_command_removes_it() -> None:
    st = replica()
    new = (("h1", STORAGE), ("h2", STORAGE), ("h5", STORAGE))
    st.write(1, B1, LogRecord.config(new))
    st.persisted(1)
    assert st.config == new
    st.write(1, B2, NOOP_RECORD)  # a new leader filled the slot with something else
    assert st.config == MEMBERS
    st.crash(NOW)  # the overwrite was not durable: the config entry comes back
    assert st.config == new
    assert st.log[1].record == LogRecord.config(new)


def test_durable_config_survives_a_crash() -> None:
    st = replica(host="h2")
    new = (("h2", STORAGE), ("h3", STORAGE), ("h4", STORAGE))
    commit_all(st, [LogRecord.config(new)])
    st.crash(NOW)
    assert st.config == new
    assert st.replay() == 1


# -- install ---------------------------------------------------------------------

def _source() -> ReplicaState:
    src = replica()
    commit_all(src, [put("a", "1"), put("b", "2"), LogRecord.delete("a"), put("c", "3", 0)])
    return src


def test_install_storage_replica_copies_the_btree() -> None:
    src = _source()
    dst = ReplicaState("p-0000", "h4", STORAGE, MEMBERS)
    tail = [(5, B1, put("d", "4"))]  # a record beyond the copy's commit point
    dst.install(src.commit_lsn, src.snapshot(), tail)
    assert dst.checksum() == src.checksum()
    assert (dst.applied_lsn, dst.checkpoint_lsn, dst.commit_lsn) == (4, 4, 4)
    assert dst.last_lsn == 5 and dst.is_durable(5, NOW)
    assert dst.read("b") == ("2", 1) and dst.read("a") == (None, 2)
    # The installed copy is a checkpoint: a crash keeps it, and the tail commits later.
    dst.crash(NOW)
    assert dst.checksum() == src.checksum()
    assert [lsn for lsn, _, _ in dst.commit_to(5, NOW)] == [5]
    assert dst.read("d") == ("4", 1)
    # The snapshot was a copy: the source is unaffected.
    assert src.read("d") == (None, 0)


def test_install_storage_replica_needs_a_btree() -> None:
    dst = ReplicaState("p-0000", "h4", STORAGE, MEMBERS)
    with pytest.raises(ValueError, match="B-tree"):
        dst.install(3, None, [])


def test_install_log_replica_copies_the_wal() -> None:
    src = _source()
    reference = replica(LOG, host="h5")
    commit_all(reference, [e[2] for e in src.entries_from(1)])
    dst = ReplicaState("p-0000", "h4", LOG, MEMBERS)
    dst.install(src.commit_lsn, None, src.entries_from(1, src.commit_lsn))
    assert dst.btree is None
    assert sorted(dst.log) == [1, 2, 3, 4]
    assert all(dst.is_durable(lsn, NOW) for lsn in dst.log)
    assert (dst.commit_lsn, dst.applied_lsn, dst.last_lsn) == (4, 4, 4)
    assert dst.checksum() == reference.checksum()
    dst.crash(NOW)
    assert sorted(dst.log) == [1, 2, 3, 4]


def test_install_log_replica_takes_config_from_its_entries() -> None:
    new = (("h1", STORAGE), ("h2", STORAGE), ("h4", LOG))
    dst = ReplicaState("p-0000", "h4", LOG, new, config_lsn=1)
    dst.install(2, None, [(1, B1, LogRecord.config(new)), (2, B1, NOOP_RECORD)])
    assert dst.config == new and dst.is_member()


def test_install_does_not_make_unrelated_volatile_records_durable() -> None:
    st = replica(LOG, host="h4")
    src = _source()
    st.write(5, B1, put("z", "accepted in memory only"))
    st.install(src.commit_lsn, None, src.entries_from(1, src.commit_lsn))
    assert not st.is_durable(5, NOW)
    st.crash(NOW)
    assert 5 not in st.log


# -- durability stamped with a time (no event per disk write) ---------------------

def test_an_entry_is_durable_from_its_stamp_on() -> None:
    st = replica()
    st.write(1, B1, put("k", "v"), durable_at=10.0)
    assert not st.is_durable(1, 9.999)
    assert st.commit_to(1, 9.999) == []  # only durable records commit
    assert st.is_durable(1, 10.0)
    assert [lsn for lsn, _, _ in st.commit_to(1, 10.0)] == [1]


def test_a_crash_before_the_stamp_loses_the_entry_and_after_it_keeps_it() -> None:
    lost, kept = replica(), replica()
    for st in (lost, kept):
        st.write(1, B1, put("k", "v"), durable_at=10.0)
    lost.crash(9.5)
    kept.crash(10.5)
    assert 1 not in lost.log and lost.last_lsn == 0
    assert kept.log[1].record == put("k", "v") and kept.is_durable(1, 10.5)


def test_a_crash_brings_back_the_newest_version_durable_by_then() -> None:
    def overwritten() -> ReplicaState:
        st = replica()
        st.write(1, B1, put("k", "a"), durable_at=1.0)
        st.write(1, B2, put("k", "b"), durable_at=5.0)
        st.write(1, (3, "h3"), put("k", "c"), durable_at=3.0)  # the disk finished it sooner
        return st

    for crash_at, want in ((0.5, None), (2.0, "a"), (4.0, "c"), (6.0, "c")):
        st = overwritten()
        st.crash(crash_at)
        got = st.log[1].record.value if 1 in st.log else None
        assert got == want, crash_at


def test_a_promise_is_kept_by_a_crash_only_once_durable() -> None:
    early, late = replica(), replica()
    for st in (early, late):
        st.promise(B1, ALWAYS)
        st.promise(B2, durable_at=10.0)
        assert st.promised == B2  # promised at once, in memory
    early.crash(9.0)
    late.crash(11.0)
    assert early.promised == B1 and late.promised == B2


def test_accepted_records_make_the_promise_of_their_ballot_durable() -> None:
    st = replica()
    st.promise(B1, ALWAYS)
    st.promise(B2)  # in memory only ...
    st.promise_durable_at(B2, 4.0)  # ... until the accepted records' write lands
    st.crash(5.0)
    assert st.promised == B2
