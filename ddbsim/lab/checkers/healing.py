"""Healing: every lost replica was replaced by a storage replica (or the
episode says why not), and no log replica outstayed its welcome.

Paper §5.1: a log replica restores the write quorum in seconds, and a
storage replica rebuilt in minutes takes its place.  A log replica that
stays in the group for good -- because the leader that started the repair
lost its leadership and nobody finished the job -- leaves a group that
cannot elect a leader once its one storage replica fails.  So:

* every episode must have ended: with a storage replica in the lost one's
  place, with the lost host returning before it was replaced, or with its
  replacement lost in turn (a later episode takes over).  An episode still
  open at the end whose lost host is a member of its partition's final,
  whole group ended too (the host is back; a leader that lost its office
  right after reporting the loss never said so);
* a log replica may live at most ``detection + log copy + rebuild +
  margin`` seconds, plus one rebuild for every leader change of its
  partition while it lived (the repair is the leader's volatile state: a
  new leader starts the copy again).

Input is the result's ``healing`` records and ``leaders`` changes, so the
check runs on a finished run or on hand-written episodes.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ddbsim.service.membership import Members

#: How an episode may end (see :mod:`ddbsim.lab.metrics`).
GOOD_ENDS = ("storage replica", "returned", "replacement lost")


def check_healing(episodes: Iterable[Mapping[str, Any]],
                  elections: Iterable[tuple[str, float]], final: Mapping[str, Members | None],
                  end_s: float, detection_s: float, log_copy_s: float, rebuild_s: float,
                  margin_s: float) -> dict[str, Any]:
    """``elections`` are (partition, time a new leader began serving);
    ``final`` each partition's whole membership at the end (None if not whole)."""
    by_pid: dict[str, list[float]] = {}
    for pid, t in elections:
        by_pid.setdefault(pid, []).append(t)
    base = detection_s + log_copy_s + rebuild_s + margin_s
    problems: list[dict[str, Any]] = []
    count = ended = 0
    ages: list[float] = []
    for ep in episodes:
        count += 1
        pid = ep["partition"]
        how = ep.get("end")
        members = final.get(pid)
        if how is None and members is not None and any(h == ep["lost_host"] for h, _ in members):
            how = "returned (a member of the final group)"
        if how is None:
            problems.append({"partition": pid, "lost_host": ep["lost_host"],
                             "problem": "never ended" + (f" ({ep['blocked']})"
                                                         if ep.get("blocked") else "")})
        elif not any(how.startswith(good) for good in GOOD_ENDS):
            problems.append({"partition": pid, "lost_host": ep["lost_host"],
                             "problem": f"ended oddly: {how}"})
        else:
            ended += 1
        joined = ep.get("log_replica_at_s")
        if joined is None:
            continue
        until = ep.get("storage_replica_at_s") or ep.get("ended_at_s") or end_s
        age = until - joined
        ages.append(age)
        changes = sum(1 for t in by_pid.get(pid, ()) if joined <= t <= until)
        bound = base + changes * rebuild_s
        if age > bound:
            problems.append({"partition": pid, "lost_host": ep["lost_host"],
                             "log_replica_host": ep.get("log_replica_host"),
                             "problem": f"log replica lived {age:.1f}s, bound {bound:.1f}s "
                                        f"({changes} leader changes meanwhile)"})
    ages.sort()
    return {"valid": not problems, "episodes": count, "ended": ended,
            "log_replica_age_s": {"median": round(ages[len(ages) // 2], 3) if ages else None,
                                  "max": round(ages[-1], 3) if ages else None},
            "bound_s": round(base, 3), "problems": problems[:10], "problem_count": len(problems)}
