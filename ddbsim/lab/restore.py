"""Point-in-time restore of the whole table, and its verification against the history.

The object store restores one partition as of an instant
(:meth:`ddbsim.service.object_store.ObjectStore.restore`: the newest
snapshot at or before it, then the archived records stamped at or before
it).  :func:`restore_table` restores every partition of the table into a
new table (:class:`RestoredTable`; the running service is not touched),
after making sure the archive holds every record it needs: when a
partition's archive holds no record stamped after the instant, its live
group may have committed records not archived yet, and a restore to an
instant they may belong to is refused (DynamoDB likewise restores only up
to its latest restorable time, a few minutes behind now).  A table split
during the run is refused too: restoring across a split is not modelled.

:func:`verify_restores` restores the table to each instant asked for and
checks it with :func:`~ddbsim.lab.checkers.restore.check_restore`; and, to
show that the check can fail, restores it ``MUTANT_DELTA_S`` *later* than
each instant and checks that against the instant: a checker that works
reports the writes invoked in between (``mutant``; a late restore that
changed no key -- no write took effect in between, the region being down --
cannot be caught by any check, and ``mutants.differ`` counts those that
did change one).  It is the ``restore`` check of a run whose scenario names
``restore_at_s``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ddbsim.lab.checkers.restore import check_restore, writes_by_key
from ddbsim.lab.history import Op
from ddbsim.service.object_store import RestoredPartition, RestoreError
from ddbsim.service.storage.log import DELETE, PUT

if TYPE_CHECKING:
    from ddbsim.service.service import Service

#: How much later than the instant the deliberately wrong restore is made.
MUTANT_DELTA_S = 5.0


class RestoredTable:
    """The table as of ``t_s``, a partition at a time (``partitions``)."""

    def __init__(self, t_s: float, partitions: dict[str, RestoredPartition]) -> None:
        self.t_s = t_s
        self.partitions = partitions

    def values(self) -> dict[str, Any]:
        """Every key the restored partitions hold, with its value (None for
        a delete's tombstone)."""
        out: dict[str, Any] = {}
        for part in self.partitions.values():
            for key, item in part.items.items():
                out[key] = item[0]
        return out

    def items(self) -> int:
        """How many items the table holds (tombstones not counted)."""
        return sum(1 for part in self.partitions.values()
                   for item in part.items.values() if item[0] is not None)

    def summary(self) -> dict[str, Any]:
        parts = self.partitions.values()
        return {"partitions": len(self.partitions), "items": self.items(),
                "records_applied": sum(p.applied for p in parts),
                "snapshot_lsn": {"min": min((p.snapshot_lsn for p in parts), default=0),
                                 "max": max((p.snapshot_lsn for p in parts), default=0)}}


def restore_table(service: Service, t_s: float) -> RestoredTable:
    """Every partition of the table as of ``t_s``; a RestoreError if any
    cannot be restored (outside the window, before the first snapshot, a
    hole, records not archived yet, a split)."""
    splitter = service.splitter
    if splitter is not None and any(s.get("split_at_s") is not None for s in splitter.splits):
        raise RestoreError("the table was split during the run: restoring across a split "
                           "is not modelled")
    store = service.object_store
    parts: dict[str, RestoredPartition] = {}
    for pid in service.partition_map.pids():
        part = store.restore(pid, t_s)
        if part.later == 0:
            _check_archived(service, pid, part.head_lsn, t_s)
        parts[pid] = part
    return RestoredTable(t_s, parts)


def _check_archived(service: Service, pid: str, head: int, t_s: float) -> None:
    """The archive of ``pid`` holds no record stamped after ``t_s``: make sure
    the group committed no data record stamped at or before it above the
    archive's head (one not archived yet)."""
    replicas = [m for node in service.nodes.values()
                for m in [node.members.get(pid)] if m is not None]
    if not replicas:
        return
    best = max(replicas, key=lambda m: m.state.commit_lsn)
    st = best.state
    for lsn in range(head + 1, st.commit_lsn + 1):
        entry = st.log.get(lsn)
        if entry is None:
            raise RestoreError(f"cannot restore {pid} to {t_s:g} s: its archive ends at {head} "
                               f"and the records after it up to {st.commit_lsn} are not "
                               f"archived yet")
        record = entry.record
        if record.op in (PUT, DELETE) and (record.t_s is None or record.t_s <= t_s):
            raise RestoreError(f"cannot restore {pid} to {t_s:g} s: its record at {lsn}, "
                               f"stamped {record.t_s} s, is not archived yet (the latest "
                               f"restorable time is behind now)")


def verify_restores(service: Service, ops: list[Op] | None, instants: list[float],
                    mutant_delta_s: float = MUTANT_DELTA_S) -> dict[str, Any]:
    """Restore the table to each of ``instants`` and check it against the
    history ``ops`` (None: no history was kept, the check is "unknown"); the
    ``restore`` check of a run."""
    if ops is None:
        return {"valid": "unknown", "note": "needs the history: set metrics.history=true",
                "instants": []}
    writes = writes_by_key(ops)
    _earliest, now = service.object_store.window()
    rows: list[dict[str, Any]] = []
    caught = tried = differ = 0
    for t in instants:
        row: dict[str, Any] = {"t_s": t}
        try:
            table = restore_table(service, t)
        except RestoreError as exc:
            rows.append({**row, "valid": False, "error": str(exc)})
            continue
        values = table.values()
        check = check_restore(writes, values, t)
        row.update(table.summary())
        row.update({k: v for k, v in check.items() if k != "t_s"})
        later = t + mutant_delta_s
        if later <= now:
            try:
                late = restore_table(service, later).values()
            except RestoreError as exc:
                row["mutant"] = {"restored_at_s": later, "error": str(exc)}
            else:
                wrong = check_restore(writes, late, t)
                # keys whose late value differs: none when no write took effect
                # in between (the region was down): nothing any check could see
                changed = sum(1 for k in values.keys() | late.keys()
                              if values.get(k) != late.get(k))
                tried += 1
                differ += changed > 0
                caught += wrong["valid"] is False
                row["mutant"] = {"restored_at_s": later, "keys_changed": changed,
                                 "caught": wrong["valid"] is False,
                                 "invoked_after_t_found": wrong["invoked_after_t_found"],
                                 "mismatches": wrong["mismatches"]}
        rows.append(row)
    valid = all(r["valid"] is True for r in rows)
    return {"valid": valid, "instants": rows,
            "mutants": {"delta_s": mutant_delta_s, "tried": tried, "differ": differ,
                        "caught": caught}}
