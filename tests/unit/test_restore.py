"""Point-in-time restore on hand-written data: the restore check (histories
that must pass and ones that must fail), and the lab's whole-table restore
refusing what the archive cannot give."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sortedcontainers import SortedDict

from ddbsim.config import Config
from ddbsim.lab.checkers import CHECKERS, check_restore
from ddbsim.lab.history import Op
from ddbsim.lab.restore import restore_table, verify_restores
from ddbsim.service.object_store import STORE_HOST, ObjectStore, RestoreError
from ddbsim.service.storage.log import Entry, LogRecord
from ddbsim.world.region import World

_index = iter(range(1_000_000))


def op(kind: str, key: str, value: Any, invoke_s: float, complete_s: float | None,
       outcome: str | None = "ok", result: Any = True, attempts: int = 1) -> Op:
    return Op(next(_index), "c1", kind, key, value, invoke_s, outcome=outcome,
              complete_s=complete_s, result=result, attempts=attempts)


def put(key: str, value: str, invoke_s: float, complete_s: float | None, **kw: Any) -> Op:
    return op("put", key, value, invoke_s, complete_s, **kw)


def delete(key: str, invoke_s: float, complete_s: float | None, **kw: Any) -> Op:
    return op("delete", key, None, invoke_s, complete_s, **kw)


HISTORY = [put("a", "a1", 1.0, 2.0), put("a", "a2", 3.0, 4.0), put("a", "a3", 9.0, 11.0),
           put("b", "b1", 1.0, 2.0), delete("b", 5.0, 6.0), put("c", "c1", 7.5, None, outcome="info"),
           op("get_strong", "a", None, 5.0, 5.5, result="a2")]


def test_the_values_of_the_last_acknowledged_writes_pass() -> None:
    r = check_restore(HISTORY, {"a": "a2", "b": None}, 8.0)
    assert r["valid"] is True and r["mismatches"] == 0
    assert r["keys_checked"] == 3 and r["acked_before_t"] == 4 and r["acked_found"] == 4
    assert r["latest_acked_exact"] == 2 and r["invoked_after_t_found"] == 0


def test_a_write_whose_interval_contains_t_may_or_may_not_appear() -> None:
    assert check_restore(HISTORY, {"a": "a2", "b": None}, 10.0)["valid"] is True
    assert check_restore(HISTORY, {"a": "a3", "b": None}, 10.0)["valid"] is True
    # an unknown write (a timeout) may appear once invoked, or never
    assert check_restore(HISTORY, {"a": "a2", "c": "c1"}, 8.0)["valid"] is True
    assert check_restore(HISTORY, {"a": "a2"}, 8.0)["valid"] is True


def test_a_missing_acknowledged_write_fails() -> None:
    r = check_restore(HISTORY, {"a": "a1", "b": None}, 8.0)
    assert r["valid"] is False and r["missing_acked"] == 1 and r["acked_found"] == 3
    assert r["examples"][0]["missing_value"] == "a2"
    # a delete counts: b1 was deleted (acknowledged at 6 s) before 8 s
    r = check_restore(HISTORY, {"a": "a2", "b": "b1"}, 8.0)
    assert r["valid"] is False and r["missing_acked"] == 1
    # the initial absence precedes every write: an acknowledged put is missing
    r = check_restore(HISTORY, {"b": None}, 8.0)
    assert r["valid"] is False and r["missing_acked"] == 2


def test_a_write_invoked_after_t_fails() -> None:
    r = check_restore(HISTORY, {"a": "a3", "b": None}, 8.0)
    assert r["valid"] is False and r["invoked_after_t_found"] == 1 and r["mismatches"] == 1
    r = check_restore(HISTORY, {"a": "a2", "c": "c1"}, 7.0)  # c1 was invoked at 7.5 s
    assert r["valid"] is False and r["invoked_after_t_found"] == 1


def test_a_value_nobody_wrote_or_only_a_failed_write_wrote_is_a_phantom() -> None:
    history = [*HISTORY, put("d", "d1", 1.0, 1.5, outcome="fail")]
    r = check_restore(history, {"a": "a2", "b": None, "d": "d1", "e": "zz"}, 8.0)
    assert r["valid"] is False and r["phantoms"] == 2 and r["invoked_after_t_found"] == 0


def test_a_conditional_put_not_applied_never_took_effect_unless_retried() -> None:
    once = [put("k", "k1", 1.0, 2.0),
            op("cond_put", "k", "k2", 3.0, 4.0, result=False, attempts=1)]
    assert check_restore(once, {"k": "k2"}, 8.0)["phantoms"] == 1
    twice = [put("k", "k1", 1.0, 2.0),
             op("cond_put", "k", "k2", 3.0, 4.0, result=False, attempts=2)]
    assert check_restore(twice, {"k": "k2"}, 8.0)["valid"] is True
    assert check_restore(twice, {"k": "k1"}, 8.0)["valid"] is True


def test_the_restore_checker_is_registered() -> None:
    assert "restore" in CHECKERS


# -- the whole table -----------------------------------------------------------------

def table_of(store: ObjectStore, members: dict[str, Any], splits: list[dict[str, Any]] | None = None
             ) -> Any:
    """A service as restore_table sees it: the store, the partition map,
    the replicas on their nodes, the splitter."""
    pmap = SimpleNamespace(pids=lambda: ["p-0000"])
    nodes = {"h1": SimpleNamespace(members=members)}
    splitter = SimpleNamespace(splits=splits) if splits is not None else None
    return SimpleNamespace(object_store=store, partition_map=pmap, nodes=nodes, splitter=splitter)


def committed_replica(records: list[tuple[int, LogRecord]]) -> Any:
    log = {lsn: Entry((1, "h1"), r, 0.0) for lsn, r in records}
    state = SimpleNamespace(commit_lsn=max(log), log=log)
    return SimpleNamespace(state=state)


def pitr_store() -> tuple[World, ObjectStore, Any]:
    cfg = Config().with_overrides({"durability.pitr": True,
                                   "durability.snapshot_every_records": 2})
    world = World(cfg, 1)
    store = ObjectStore(world.topology.hosts[STORE_HOST], world, cfg.durability)
    src = world.topology.hosts["az-1/r1/h1"]
    world.network.register(src, lambda s, m: None)
    return world, store, src


def archive(store: ObjectStore, src: Any, records: list[tuple[int, LogRecord]]) -> None:
    from ddbsim.service.messages import SegmentPut
    from ddbsim.service.object_store import segment_crc
    store._on_put(src, SegmentPut("p-0000", src.id, records[0][0], records[-1][0], records,
                                  segment_crc(records)))


RECORDS = [(i, LogRecord.put("k", f"v{i}", t_s=float(i))) for i in range(1, 7)]


def test_a_restore_is_refused_while_records_stamped_before_t_are_not_archived() -> None:
    world, store, src = pitr_store()
    world.env.run(until=10.0)
    archive(store, src, RECORDS[:4])  # archived up to 4 (stamped 4 s); 5 and 6 not yet
    service = table_of(store, {"p-0000": committed_replica(RECORDS)})
    assert restore_table(service, 3.5).values() == {"k": "v3"}  # 4 (after 3.5) is archived
    with pytest.raises(RestoreError, match="record at 5, stamped 5.0 s, is not archived yet"):
        restore_table(service, 5.5)
    archive(store, src, RECORDS[4:])
    assert restore_table(service, 5.5).values() == {"k": "v5"}
    assert restore_table(service, 8.0).partitions["p-0000"].applied == 0  # the snapshot at 6


def test_a_table_split_during_the_run_is_not_restored() -> None:
    world, store, src = pitr_store()
    service = table_of(store, {}, splits=[{"partition": "p-0000", "split_at_s": 5.0}])
    with pytest.raises(RestoreError, match="split"):
        restore_table(service, 1.0)


def test_verify_restores_reports_each_instant_and_catches_the_mutant() -> None:
    world, store, src = pitr_store()
    world.env.run(until=10.0)
    archive(store, src, RECORDS)
    service = table_of(store, {"p-0000": committed_replica(RECORDS)})
    # v<i> invoked at i - 0.5 s and acknowledged at i + 0.5 s (stamped i s by its leader)
    ops = [put("k", f"v{i}", i - 0.5, i + 0.5) for i in range(1, 7)]
    r = verify_restores(service, ops, [2.0, 4.5, 20.0], mutant_delta_s=2.0)
    rows = r["instants"]
    assert [row["valid"] for row in rows] == [True, True, False]
    assert rows[0]["acked_before_t"] == 1 and rows[1]["acked_before_t"] == 4
    assert "outside the restore window" in rows[2]["error"]
    assert r["valid"] is False
    # restored 2 s late, v3 and v4 (invoked after 2 s) and v6 (after 4.5 s) are found
    assert rows[0]["mutant"]["caught"] and rows[0]["mutant"]["invoked_after_t_found"] == 1
    assert rows[1]["mutant"]["caught"]
    assert r["mutants"] == {"delta_s": 2.0, "tried": 2, "differ": 2, "caught": 2}
    assert rows[0]["mutant"]["keys_changed"] == 1
    assert verify_restores(service, None, [2.0])["valid"] == "unknown"
    assert isinstance(restore_table(service, 2.0).partitions["p-0000"].items, SortedDict)


def test_a_scenarios_restore_instants_must_lie_in_the_run() -> None:
    from ddbsim.lab import Scenario
    from ddbsim.lab.scenario import ScenarioError

    assert Scenario(name="r", duration_s=10.0, restore_at_s=[0.0, 10.0]).restore_at_s == [0.0, 10.0]
    for bad in ([11.0], [-1.0], [float("nan")], [True]):
        with pytest.raises(ScenarioError, match="restore_at_s must hold instants of the run"):
            Scenario(name="r", duration_s=10.0, restore_at_s=bad)
