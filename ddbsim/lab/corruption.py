"""Matching the corruptions a run injected with what the service found and
repaired: detection and repair times, misses, and false alarms.

The injector records each bit rot it caused (:mod:`ddbsim.lab.faults`: when,
which host, partition, item key or WAL position); the service reports, through
its hooks, every corruption it found (which replica, which key range or log
position, when, by whom: the scrub, the archiver, a read or a replay) and
every repair.  An injection is *detected* by the first report on the same
replica of the same partition at or after it whose key range holds its key
(an item) or whose position is its position (a WAL record), and *repaired*
by the first repair of that replica and kind after the detection.  A report
that matches no injection is a false positive.  A corruption that nobody
(or found but not yet repaired) that is gone by the end -- the item was
overwritten by a later write, the WAL record trimmed after it was archived
from a good replica, the replica replaced -- is counted as ``vanished``,
not missed (or unrepaired): there was nothing left to find or repair.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any


def _in_range(key: str, where: str) -> bool:
    lo, _sep, hi = where.partition("..")
    if lo and lo == hi:
        return key == lo
    return (not lo or lo <= key) and (not hi or key < hi)


def _matches(inj: dict[str, Any], found: dict[str, Any]) -> bool:
    if (found["partition"], found["host"], found["what"]) != (
            inj["partition"], inj["host"], inj["what"]) or found["t_s"] < inj["t_s"]:
        return False
    if inj["what"] == "item":
        return _in_range(inj["where"], found["where"])
    return str(found["where"]) == str(inj["where"])


def match(injected: list[dict[str, Any]], found: list[dict[str, Any]],
          repaired: list[dict[str, Any]],
          present: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The corruptions, each with when it was found and repaired; the
    detection latencies; the reports that match no injection; and a check:
    valid when every injection was found and repaired and nothing else was
    reported.  ``present(injection)`` says whether an injected corruption is
    still on the disk (default: yes)."""
    used: set[int] = set()
    rows = []
    for inj in injected:
        row = dict(inj)
        hit = next((i for i, f in enumerate(found) if _matches(inj, f)), None)
        row["found_at_s"] = found[hit]["t_s"] if hit is not None else None
        row["found_by"] = found[hit]["by"] if hit is not None else None
        row["detection_s"] = (round(row["found_at_s"] - inj["t_s"], 6)
                              if hit is not None else None)
        fix = None
        if hit is not None:
            f = found[hit]
            fix = next((r for r in repaired if (r["partition"], r["host"], r["what"]) ==
                        (f["partition"], f["host"], f["what"]) and r["t_s"] >= f["t_s"]), None)
            for i, g in enumerate(found):  # every report of this same corruption
                if _matches(inj, g):
                    used.add(i)
        row["repaired_at_s"] = fix["t_s"] if fix is not None else None
        # gone without a repair (overwritten, trimmed, its replica replaced)
        row["vanished"] = fix is None and present is not None and not present(inj)
        rows.append(row)
    false_positives = [f for i, f in enumerate(found) if i not in used]
    detections = [r["detection_s"] for r in rows if r["detection_s"] is not None]
    vanished = sum(1 for r in rows if r["vanished"])
    missed = sum(1 for r in rows if r["found_at_s"] is None and not r["vanished"])
    unrepaired = sum(1 for r in rows if r["found_at_s"] is not None and r["repaired_at_s"] is None
                     and not r["vanished"])
    return {
        "injected": len(rows), "detected": sum(1 for r in rows if r["found_at_s"] is not None),
        "repaired": sum(1 for r in rows if r["repaired_at_s"] is not None),
        "missed": missed, "vanished": vanished, "unrepaired": unrepaired,
        "false_positives": len(false_positives),
        "detection_s": {"count": len(detections),
                        "mean": round(statistics.fmean(detections), 3) if detections else None,
                        "median": round(statistics.median(detections), 3) if detections else None,
                        "max": round(max(detections), 3) if detections else None},
        "corruptions": rows,
        "false_positive_reports": false_positives[:10],
        "check": {"valid": not missed and not unrepaired and not false_positives,
                  "injected": len(rows), "missed": missed, "unrepaired": unrepaired,
                  "false_positives": len(false_positives)},
    }
