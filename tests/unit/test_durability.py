"""Durability: checksums on records and items, bit rot, trimming, the
archiver's checks, the object store, and the scrub's digests."""
from __future__ import annotations

from typing import Any

import pytest
from sortedcontainers import SortedDict

from ddbsim.config import Config, ConfigError
from ddbsim.service.hooks import ServiceHooks
from ddbsim.service.membership import LOG, STORAGE
from ddbsim.service.messages import Message, ScrubRequest, SegmentPut, SegmentReply
from ddbsim.service.object_store import STORE_HOST, ObjectStore, segment_crc
from ddbsim.service.storage.archiver import Archiver, check_segment
from ddbsim.service.storage.digest import pick_bounds, range_digests, range_name
from ddbsim.service.storage.log import LogRecord
from ddbsim.service.storage.replica import CorruptItem, ReplicaState
from ddbsim.service.storage.scrub import Scrubber
from ddbsim.world.region import World

MEMBERS = (("h1", STORAGE), ("h2", STORAGE), ("h3", STORAGE))
B1 = (1, "h1")


def replica(kind: str = STORAGE, checkpoint_every: int = 1000) -> ReplicaState:
    return ReplicaState("p-0000", "h1", kind, MEMBERS, checkpoint_every=checkpoint_every)


def commit(st: ReplicaState, n: int, first_key: int = 0) -> None:
    for i in range(n):
        lsn = st.last_lsn + 1
        st.write(lsn, B1, LogRecord.put(f"k{first_key + i:04d}", f"v{lsn}"))
        st.persisted(lsn)
    st.commit_to(st.last_lsn, 1.0)


# -- checksums ---------------------------------------------------------------

def test_a_record_verifies_and_a_rotten_copy_does_not() -> None:
    r = LogRecord.put("k", "v", 2)
    assert r.checksum != 0 and r.verify()
    bad = r.rotten()
    assert bad.checksum == r.checksum and not bad.verify()
    assert r.verify()  # the original (shared by every replica) is untouched
    assert LogRecord.put("k", "v", 2).checksum == r.checksum
    assert LogRecord.put("k", "w", 2).checksum != r.checksum


def test_an_item_carries_a_checksum_and_a_rotten_one_is_not_served() -> None:
    st = replica()
    commit(st, 3)
    key = st.rot_item(0.5)
    assert key == "k0001"
    assert st.read("k0000") == ("v1", 1)
    with pytest.raises(CorruptItem):
        st.read(key)


def test_replay_drops_a_rotten_record_and_stops_there() -> None:
    st = replica()
    commit(st, 5)
    lsn = st.rot_wal(0.5)
    assert lsn == 3
    st.crash(2.0)  # back to the (empty) checkpoint: replay re-applies the WAL
    st.replay()
    assert st.bad_records == 1 and st.applied_lsn == 2 and st.commit_lsn == 2
    assert 3 not in st.log  # to be caught up from the leader
    # It remembers that it knew lsn 5 was committed: damaged until caught up.
    assert st.damaged and st.damaged_upto == 5
    st.install(5, SortedDict(), [])
    assert not st.damaged


def test_a_replay_without_rot_leaves_the_replica_whole() -> None:
    st = replica()
    commit(st, 5)
    st.crash(2.0)
    st.replay()
    assert st.applied_lsn == 5 and not st.damaged


def test_replay_without_verification_applies_the_rotten_record() -> None:
    st = replica()
    commit(st, 5)
    st.rot_wal(0.5)
    st.crash(2.0)
    st.verify_reads = False  # the bug apply_bad_checksum
    st.replay()
    assert st.applied_lsn == 5 and st.bad_records == 0
    assert st.btree["k0002"][0] == "v3~rot"


# -- trimming ------------------------------------------------------------------

def test_a_storage_replica_trims_only_below_its_checkpoint_and_the_archive() -> None:
    st = replica(checkpoint_every=10)
    commit(st, 20)
    commit(st, 5, first_key=20)
    assert st.checkpoint_lsn == 20 and st.applied_lsn == 25
    st.archive_learnt(25)
    assert st.trim(keep=2) == 20  # min(25 - 2, checkpoint 20)
    assert min(st.log) == 21 and st.trimmed_lsn == 20
    st.archive_learnt(8)  # never backwards
    assert st.archived_lsn == 25


def test_a_log_replica_keeps_only_the_unarchived_tail() -> None:
    st = replica(LOG)
    commit(st, 30)
    st.archive_learnt(24)
    st.trim()
    assert sorted(st.log) == list(range(25, 31))
    # a copy for healing now holds only that tail
    assert [lsn for lsn, _b, _r in st.entries_from(1, st.commit_lsn)] == list(range(25, 31))


def test_an_install_from_a_trimmed_copy_marks_the_log_incomplete_below_it() -> None:
    st = replica(LOG)
    entries = [(lsn, B1, LogRecord.put("k", str(lsn))) for lsn in range(11, 16)]
    st.install(15, None, entries)
    assert st.trimmed_lsn == 10 and sorted(st.log) == list(range(11, 16))


# -- the archiver's checks -----------------------------------------------------

def segment(first: int, last: int, key: str = "k") -> list[tuple[int, LogRecord | None]]:
    return [(lsn, LogRecord.put(key, str(lsn))) for lsn in range(first, last + 1)]


def test_check_segment_accepts_a_whole_segment() -> None:
    assert check_segment("p-0000", segment(5, 9), 5, 9, lambda k: "p-0000") is None


def test_check_segment_refuses_a_hole() -> None:
    seg = segment(5, 9)
    del seg[2]
    assert check_segment("p-0000", seg, 5, 9, None) == "hole at 7"
    assert check_segment("p-0000", segment(5, 8), 5, 9, None) == "hole at 9"
    assert check_segment("p-0000", [(5, None), *segment(6, 9)], 5, 9, None) == "hole at 5"


def test_check_segment_refuses_a_bad_checksum() -> None:
    seg = segment(5, 9)
    lsn, record = seg[1]
    assert record is not None
    seg[1] = (lsn, record.rotten())
    assert check_segment("p-0000", seg, 5, 9, None) == "bad checksum at 6"


def test_check_segment_refuses_a_record_of_another_partition() -> None:
    assert check_segment("p-0000", segment(5, 9, key="x"), 5, 9,
                         lambda k: "p-0001" if k == "x" else "p-0000") == \
        "record of another partition at 5"


class _Member:
    def __init__(self, state: ReplicaState) -> None:
        self.state = state
        self.pid = state.pid


class _Node:
    """An archiver's host: what it sends to the store is kept."""

    def __init__(self, states: list[ReplicaState]) -> None:
        self.host_id = "h1"
        self.members: dict[str, Any] = {st.pid: _Member(st) for st in states}
        self.sent: list[Message] = []

    @property
    def now(self) -> float:
        return 7.0

    def send_to_store(self, msg: Message) -> None:
        self.sent.append(msg)

    def later(self, delay_s: float, fn: Any, *args: Any) -> None:
        raise AssertionError("the archiver schedules nothing")


class _Hooks(ServiceHooks):
    def __init__(self) -> None:
        self.refused: list[tuple[Any, ...]] = []
        self.found: list[tuple[Any, ...]] = []
        self.repaired: list[tuple[Any, ...]] = []

    def archive_refused(self, *args: Any) -> None:
        self.refused.append(args)

    def corruption_found(self, *args: Any) -> None:
        self.found.append(args)

    def corruption_repaired(self, *args: Any) -> None:
        self.repaired.append(args)


def archiver(st: ReplicaState) -> tuple[Archiver, _Node, _Hooks]:
    node = _Node([st])
    hooks = _Hooks()
    arch = Archiver(node, Config().durability, hooks)
    arch.note(st.pid)  # as the storage node does when it adds a replica
    return arch, node, hooks


def test_the_archiver_uploads_a_good_segment_with_its_content_checksum() -> None:
    st = replica()
    commit(st, 4)
    arch, node, hooks = archiver(st)
    arch.tick()
    [put] = node.sent
    assert isinstance(put, SegmentPut) and (put.first, put.last) == (1, 4)
    assert put.records is not None and put.segment_crc == segment_crc(put.records)
    assert not hooks.refused


def test_the_archiver_looks_only_at_replicas_named_since_and_forgets_the_archived() -> None:
    st = replica()
    commit(st, 4)
    arch, node, _hooks = archiver(st)
    arch.pending.clear()
    arch.tick()
    assert node.sent == []  # nothing named: nothing looked at
    arch.note(st.pid)
    arch.tick()
    assert len(node.sent) == 1 and st.pid in arch.pending  # sent, not yet archived
    st.archive_learnt(4)
    arch.tick()
    assert len(node.sent) == 1 and st.pid not in arch.pending  # all archived: forgotten
    st.on_archivable = arch.note
    commit(st, 2)  # the commit point moves: named again
    assert st.pid in arch.pending
    arch.pending.clear()
    st.recheck_archived_from(3)  # the scrub found our archived record 3 rotten: named again
    assert st.pid in arch.pending and st.archived_lsn == 2


def test_the_archiver_refuses_a_segment_with_a_bad_checksum_or_a_hole() -> None:
    st = replica()
    commit(st, 4)
    st.log[2].record = st.log[2].record.rotten()
    arch, node, hooks = archiver(st)
    arch.tick()
    [put] = node.sent
    assert put.records is None  # only asks for the archive's copy
    assert hooks.refused[0][-1] == "bad checksum at 2"
    st2 = replica()
    commit(st2, 4)
    del st2.log[3]
    arch2, node2, hooks2 = archiver(st2)
    arch2.tick()
    assert node2.sent[0].records is None and hooks2.refused[0][-1] == "hole at 3"


def test_the_archiver_repairs_its_wal_from_the_archives_copy_and_trims() -> None:
    st = replica(LOG)
    commit(st, 6)
    good = st.log[3].record
    st.log[3].record = good.rotten()
    arch, _node, hooks = archiver(st)
    archived = [(lsn, st.log[lsn].record if lsn != 3 else good) for lsn in range(1, 7)]
    arch.on_reply(SegmentReply("p-0000", 1, 6, 6, False, archived))
    assert hooks.found == [(7.0, "p-0000", "h1", "wal", "3", "archiver")]
    assert hooks.repaired == [(7.0, "p-0000", "h1", "wal", "3")]
    assert st.archived_lsn == 6
    assert len(st.log) == 0 or min(st.log) > 6 - Config().durability.keep_archived_records


# -- the object store -----------------------------------------------------------

def store_world() -> tuple[World, ObjectStore, list[Any]]:
    world = World(Config(), 1)
    store = ObjectStore(world.topology.hosts[STORE_HOST], world, Config().durability)
    replies: list[Any] = []
    world.network.register(world.topology.hosts["az-1/r1/h1"], lambda src, msg: replies.append(msg))
    return world, store, replies


def put_msg(first: int, last: int, records: list | None = None, crc: int | None = None) -> SegmentPut:
    recs = records if records is not None else [(lsn, LogRecord.put("k", str(lsn)))
                                                for lsn in range(first, last + 1)]
    return SegmentPut("p-0000", "az-1/r1/h1", first, last, recs,
                      segment_crc(recs) if crc is None else crc)


def test_the_store_takes_a_segment_and_builds_its_reference() -> None:
    world, store, replies = store_world()
    src = world.topology.hosts["az-1/r1/h1"]
    store._on_put(src, put_msg(1, 5))
    world.env.run(until=1.0)
    [reply] = replies
    assert reply.stored and reply.head == 5 and store.head("p-0000") == 5
    ref = store.archives["p-0000"].ref
    assert ref.read("k") == ("5", 5) and not ref.log  # items, no log
    # an overlapping upload is not stored again: the archive's copy comes back
    store._on_put(src, put_msg(4, 7))
    world.env.run(until=2.0)
    assert replies[1].stored and [lsn for lsn, _r in replies[1].records] == [4, 5]
    assert store.head("p-0000") == 7


def test_the_store_refuses_a_hole_a_bad_checksum_and_a_bad_content_checksum() -> None:
    world, store, replies = store_world()
    src = world.topology.hosts["az-1/r1/h1"]
    store._on_put(src, put_msg(3, 5))  # a hole: the archive is empty
    recs = [(lsn, LogRecord.put("k", str(lsn))) for lsn in range(1, 4)]
    rotten = [recs[0], (2, recs[1][1].rotten()), recs[2]]
    store._on_put(src, put_msg(1, 3, rotten))  # a record fails its checksum
    store._on_put(src, put_msg(1, 3, recs, crc=12345))  # the content checksum fails
    world.env.run(until=1.0)
    assert [r.stored for r in replies] == [False, False, False]
    assert store.head("p-0000") == 0 and store.refused == 3


# -- digests ---------------------------------------------------------------------

def test_range_digests_name_the_range_a_difference_is_in() -> None:
    st = replica()
    commit(st, 40)
    other = replica()
    commit(other, 40)
    bounds = pick_bounds(st.btree, 4)
    assert len(bounds) == 3
    assert range_digests(st.btree, bounds) == range_digests(other.btree, bounds)
    key = other.rot_item(0.9)
    assert key is not None
    mine, theirs = range_digests(st.btree, bounds), range_digests(other.btree, bounds)
    differ = [i for i in range(4) if mine[i] != theirs[i]]
    assert len(differ) == 1
    lo, _, hi = range_name(bounds, differ[0]).partition("..")
    assert (not lo or lo <= key) and (not hi or key < hi)


def test_a_repair_rebuilds_the_items_from_a_good_copy() -> None:
    good = replica()
    commit(good, 10)
    bad = replica()
    commit(bad, 10)
    bad.rot_item(0.3)
    snapshot = SortedDict(good.btree)
    commit(bad, 2, first_key=100)  # the bad replica moved on meanwhile
    assert bad.repair_from(10, snapshot)
    commit(good, 2, first_key=100)
    bounds = pick_bounds(good.btree, 4)
    assert range_digests(bad.btree, bounds) == range_digests(good.btree, bounds)


# -- config ------------------------------------------------------------------------

def test_durability_keys_are_validated() -> None:
    with pytest.raises(ConfigError, match="durability.scrub_interval_s"):
        Config().with_overrides({"durability.scrub_interval_s": 0})
    with pytest.raises(ConfigError, match="durability.archive"):
        Config().with_overrides({"durability.archive": "maybe"})


# -- the lab's checks on hand-written data ----------------------------------------

def test_check_archive_passes_agreement_and_fails_a_mismatch() -> None:
    from ddbsim.lab.checkers import check_archive
    ok = check_archive({"p-0": (10, [1, 2], [1, 2]), "p-1": (4, [3], [3])})
    assert ok["valid"] is True
    bad = check_archive({"p-0": (10, [1, 2], [1, 9]), "p-1": (4, [3], [3])})
    assert bad["valid"] is False and bad["mismatched"] == [{"partition": "p-0", "lsn": 10,
                                                            "ranges": [1]}]
    assert check_archive({"p-0": (10, [1], None)})["valid"] == "unknown"


def test_matching_injected_and_found_corruptions() -> None:
    from ddbsim.lab.corruption import match
    inj = [{"t_s": 10.0, "host": "h1", "partition": "p-0", "what": "item", "where": "k5"},
           {"t_s": 20.0, "host": "h2", "partition": "p-0", "what": "wal", "where": "7"}]
    found = [{"t_s": 15.0, "partition": "p-0", "host": "h1", "what": "item", "where": "k3..k8",
              "by": "scrub"},
             {"t_s": 26.0, "partition": "p-0", "host": "h2", "what": "wal", "where": "7",
              "by": "archiver"}]
    fixed = [{"t_s": 15.5, "partition": "p-0", "host": "h1", "what": "item", "where": ""},
             {"t_s": 27.0, "partition": "p-0", "host": "h2", "what": "wal", "where": "7"}]
    v = match(inj, found, fixed)
    assert v["check"]["valid"] is True and v["detection_s"]["mean"] == 5.5
    assert [r["repaired_at_s"] for r in v["corruptions"]] == [15.5, 27.0]
    # the wrong key range finds nothing; the unexplained report is a false positive
    wrong = [dict(found[0], where="k6..k9"), found[1]]
    v = match(inj, wrong, fixed)
    assert v["missed"] == 1 and v["false_positives"] == 1 and v["check"]["valid"] is False
    # found but never repaired, and still there
    v = match(inj, found, fixed[:1], present=lambda i: True)
    assert v["unrepaired"] == 1 and v["check"]["valid"] is False
    # never found, but overwritten meanwhile: vanished, not missed
    v = match(inj, found[1:], fixed[1:], present=lambda i: i["what"] != "item")
    assert v["missed"] == 0 and v["vanished"] == 1 and v["check"]["valid"] is True


def test_a_compacted_ledger_gives_the_same_verdicts() -> None:
    """Random histories of one key: compaction never changes whether the
    durability check passes, whatever value is read back."""
    import random

    from ddbsim.lab.checkers import ACKED, FAILED, MAYBE, WriteLedger, check_durability
    rng = random.Random(7)
    compacted = 0
    for _ in range(300):
        full, small = WriteLedger(), WriteLedger(compact=True)
        t = 0.0
        values: list[Any] = [None]
        for i in range(rng.randint(1, 30)):
            t += rng.random()
            value = None if rng.random() < 0.2 else f"v{i}"
            status = rng.choice([ACKED, ACKED, ACKED, FAILED, MAYBE])
            done = t + rng.random() * 2 if status == ACKED else None
            for ledger in (full, small):
                ledger.add("k", value, t, done, status)
            values.append(value)
        for value in values:
            final = {"k": (True, value)}
            assert check_durability(full, final)["valid"] == check_durability(small, final)["valid"]
        assert full.acked() == small.acked()
        compacted += len(small.by_key["k"]) < len(full.by_key["k"])
    assert compacted > 50  # the test compares something


# -- the scrub's rate ---------------------------------------------------------------

class _Leader:
    """A member that leads its partition (what the scrubber reads of it)."""

    def __init__(self, state: ReplicaState) -> None:
        self.state = state
        self.pid = state.pid
        self.is_leader = True
        self.ballot = B1


class _ScrubNode(_Node):
    def __init__(self, states: list[ReplicaState]) -> None:
        super().__init__(states)
        self.members = {st.pid: _Leader(st) for st in states}
        self.members_version = 0
        self.timers: list[tuple[float, Any]] = []

    def send(self, host_id: str, msg: Message, after_s: float = 0.0) -> None:
        self.sent.append(msg)

    def later(self, delay_s: float, fn: Any, *args: Any) -> None:
        self.timers.append((delay_s, fn))


def _scrubbed(node: _ScrubNode) -> list[str]:
    return [m.pid for m in node.sent if isinstance(m, ScrubRequest)]


def test_the_scrub_takes_every_led_partition_when_the_rate_allows() -> None:
    states = [ReplicaState(f"p-{i:04d}", "h1", STORAGE, MEMBERS) for i in range(5)]
    node = _ScrubNode(states)
    cfg = Config().with_overrides({"durability.scrub_partitions_per_s": 0.1}).durability
    Scrubber(node, cfg, _Hooks()).tick()  # 0.1/s x 60 s = 6 >= 5 led partitions
    assert sorted(set(_scrubbed(node))) == [f"p-{i:04d}" for i in range(5)]


def test_the_scrub_takes_led_partitions_in_turn_when_the_rate_is_spent() -> None:
    states = [ReplicaState(f"p-{i:04d}", "h1", STORAGE, MEMBERS) for i in range(5)]
    node = _ScrubNode(states)
    cfg = Config().with_overrides({"durability.scrub_partitions_per_s": 0.05}).durability
    scrubber = Scrubber(node, cfg, _Hooks())  # 0.05/s x 60 s = 3 a tick
    scrubber.tick()
    assert sorted(set(_scrubbed(node))) == ["p-0000", "p-0001", "p-0002"]
    for scrub_id in list(scrubber.scrubs):
        scrubber._finish(scrub_id)  # the round ends (no answers: judged on nothing)
    node.sent.clear()
    scrubber.tick()  # on from where it stopped, round the end
    assert sorted(set(_scrubbed(node))) == ["p-0000", "p-0003", "p-0004"]
    node.sent.clear()
    scrubber.tick()  # p-0001..p-0003 in turn; p-0003 is still under way: not scrubbed twice
    assert sorted(set(_scrubbed(node))) == ["p-0001", "p-0002"]


def test_the_scrub_skips_followers_and_sees_a_new_replica_once_the_node_says_so() -> None:
    states = [ReplicaState(f"p-{i:04d}", "h1", STORAGE, MEMBERS) for i in range(8)]
    node = _ScrubNode(states)
    for i in (0, 2, 3, 5):
        node.members[f"p-{i:04d}"].is_leader = False  # replicas we only follow
    cfg = Config().with_overrides({"durability.scrub_partitions_per_s": 0.05}).durability
    scrubber = Scrubber(node, cfg, _Hooks())  # 3 a tick, of the 4 we lead: 1, 4, 6, 7
    scrubber.tick()
    assert sorted(set(_scrubbed(node))) == ["p-0001", "p-0004", "p-0006"]
    for scrub_id in list(scrubber.scrubs):
        scrubber._finish(scrub_id)
    node.sent.clear()
    new = ReplicaState("p-0009", "h1", STORAGE, MEMBERS)
    node.members["p-0009"] = _Leader(new)
    node.members_version += 1  # a replica added: the scrubber's sorted order is rebuilt
    scrubber.tick()  # on after p-0006: p-0007, the new p-0009, then round to p-0001
    assert sorted(set(_scrubbed(node))) == ["p-0001", "p-0007", "p-0009"]


# -- point-in-time restore in the store ----------------------------------------------

PITR = {"durability.pitr": True, "durability.snapshot_every_records": 3,
        "durability.pitr_window_s": 100.0}


def pitr_store(**overrides: Any) -> tuple[World, ObjectStore, Any]:
    cfg = Config().with_overrides({**PITR, **overrides})
    world = World(cfg, 1)
    store = ObjectStore(world.topology.hosts[STORE_HOST], world, cfg.durability)
    world.network.register(world.topology.hosts["az-1/r1/h1"], lambda src, msg: None)
    return world, store, world.topology.hosts["az-1/r1/h1"]


def stamped(first: int, last: int, t0: float = 0.0, key: str = "k") -> list[tuple[int, LogRecord]]:
    """Puts of ``key``, value ``v<lsn>``, the one at ``lsn`` stamped ``t0 + lsn``."""
    return [(lsn, LogRecord.put(key, f"v{lsn}", t_s=t0 + lsn)) for lsn in range(first, last + 1)]


def test_a_records_stamp_is_part_of_its_checksum_and_survives_rot() -> None:
    r = LogRecord.put("k", "v", t_s=1.5)
    assert r.t_s == 1.5 and r.verify()
    assert LogRecord.put("k", "v", t_s=2.5).checksum != r.checksum
    assert LogRecord.put("k", "v", t_s=2.5) != r
    assert r.rotten().t_s == 1.5 and not r.rotten().verify()
    assert LogRecord.delete("k", t_s=3.0).t_s == 3.0


def test_a_restore_replays_the_records_stamped_up_to_t_over_the_newest_snapshot_before() -> None:
    world, store, src = pitr_store()
    world.env.run(until=20.0)
    recs = stamped(1, 10)  # stamped 1..10 s
    store._on_put(src, put_msg(1, 10, recs))
    a = store.archives["p-0000"]
    assert [s.lsn for s in a.snapshots] == [0, 3, 6, 9]  # every 3 records, from the empty table
    assert [s.t_s for s in a.snapshots] == [0.0, 3.0, 6.0, 9.0]
    for t, value, snap, applied, later in [(0.0, None, 0, 0, 10), (0.5, None, 0, 0, 10),
                                          (4.0, "v4", 3, 1, 6), (6.0, "v6", 6, 0, 4),
                                          (8.9, "v8", 6, 2, 2), (20.0, "v10", 9, 1, 0)]:
        part = store.restore("p-0000", t)
        item = part.items.get("k")
        assert (item[0] if item else None) == value, t
        assert (part.snapshot_lsn, part.applied, part.later, part.head_lsn) == (snap, applied,
                                                                                later, 10)
    # a new table: the reference and the snapshots are not touched
    store.restore("p-0000", 4.0).items["k"] = ("x", 0, 0)
    assert a.ref.read("k") == ("v10", 10) and a.snapshots[1].items["k"][0] == "v3"
    # a partition nothing was archived for is the empty table
    assert not store.restore("p-0001", 5.0).items


def test_a_restore_applies_deletes_and_skips_noops() -> None:
    world, store, src = pitr_store()
    world.env.run(until=20.0)
    recs = [(1, LogRecord.put("a", "x", t_s=1.0)), (2, LogRecord.put("b", "y", t_s=2.0)),
            (3, LogRecord("noop")), (4, LogRecord.delete("a", t_s=4.0))]
    store._on_put(src, put_msg(1, 4, recs))
    before, after = store.restore("p-0000", 3.5), store.restore("p-0000", 4.0)
    assert before.items["a"][0] == "x" and after.items["a"][0] is None  # a tombstone
    assert after.items["b"][0] == "y" and after.applied == 1  # the delete over the snapshot at 3


def test_a_restore_outside_the_window_before_the_first_snapshot_or_over_a_hole_is_an_error() -> None:
    from ddbsim.service.object_store import RestoreError

    world, store, src = pitr_store(**{"durability.pitr": False})
    with pytest.raises(RestoreError, match="durability.pitr=true"):
        store.restore("p-0000", 0.0)
    world, store, src = pitr_store()
    world.env.run(until=150.0)
    store._on_put(src, put_msg(1, 10, stamped(1, 10, t0=100.0)))
    with pytest.raises(RestoreError, match="outside the restore window 50..150"):
        store.restore("p-0000", 49.0)
    with pytest.raises(RestoreError, match="outside the restore window"):
        store.restore("p-0000", 151.0)
    assert store.restore("p-0000", 50.0).items == {}  # the table was empty then
    # a partition born of a split at 150 s has nothing before
    store.seed("p-0009", SortedDict({"z": ("w", 1, 0)}))
    with pytest.raises(RestoreError, match="first snapshot is as of 150"):
        store.restore("p-0009", 120.0)
    assert store.restore("p-0009", 150.0).items["z"][0] == "w"
    # a hole in the archived records, or a record that fails its checksum, is said
    a = store.archives["p-0000"]
    kept = list(a.pitr)
    a.pitr.remove(kept[7])  # lsn 8: between the snapshot at 6 and the head at 10
    with pytest.raises(RestoreError, match="records 8..8 are missing"):
        store.restore("p-0000", 107.5)  # from the snapshot at 6
    a.pitr.remove(kept[9])  # and the last one
    a.pitr.insert(7, kept[7])
    with pytest.raises(RestoreError, match="records 10..10 are missing"):
        store.restore("p-0000", 107.5)
    a.pitr.append((10, kept[9][1].rotten()))
    with pytest.raises(RestoreError, match="at 10 fails its checksum"):
        store.restore("p-0000", 109.5)  # from the snapshot at 9


def test_the_store_keeps_a_windows_records_whatever_the_runs_length() -> None:
    world, store, src = pitr_store(**{"durability.snapshot_every_records": 50,
                                      "durability.pitr_window_s": 100.0})
    sizes = []
    lsn = 0
    for second in range(1, 2001):  # 10 records a second for 2,000 s
        world.env.run(until=float(second))
        recs = [(lsn + i, LogRecord.put(f"k{(lsn + i) % 40}", f"v{lsn + i}", t_s=float(second)))
                for i in range(1, 11)]
        store._on_put(src, put_msg(lsn + 1, lsn + 10, recs))
        lsn += 10
        if second in (500, 1000, 2000):
            a = store.archives["p-0000"]
            sizes.append((len(a.pitr), len(a.snapshots)))
    # a window of 100 s is 1,000 records, plus at most a snapshot's worth
    assert all(n <= 1000 + 50 + 10 and s <= 1000 // 50 + 2 for n, s in sizes), sizes
    assert sizes[0] == sizes[-1]
    assert store.restore("p-0000", 1900.0).items["k0"][0] == "v19000"
    from ddbsim.service.object_store import RestoreError
    with pytest.raises(RestoreError, match="outside the restore window"):
        store.restore("p-0000", 1800.0 - 1.0)


def test_pitr_keys_are_validated() -> None:
    with pytest.raises(ConfigError, match="durability.pitr_window_s"):
        Config().with_overrides({"durability.pitr_window_s": 0})
    with pytest.raises(ConfigError, match="durability.snapshot_every_records"):
        Config().with_overrides({"durability.snapshot_every_records": 2.5})
    with pytest.raises(ConfigError, match="durability.snapshot_every_records"):
        Config().with_overrides({"durability.snapshot_every_records": 0})
