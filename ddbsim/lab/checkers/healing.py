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
  new leader starts the copy again), plus the time its partition had no
  leader meanwhile (nobody rebuilds anything then: a group of one storage
  replica and two log replicas whose storage replica's host fails waits for
  a storage member to come back).  A leader that cannot hear a quorum of
  its group drops its repairs and starts them again when it can: that
  counts as a leader change, and the pause as time without a leader (the
  run passes those moments in ``elections`` and ``losses``).

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
                  margin_s: float, losses: Iterable[tuple[str, float]] = ()) -> dict[str, Any]:
    """``elections`` are (partition, time a new leader began serving),
    ``losses`` (partition, time a leader was lost); ``final`` each
    partition's whole membership at the end (None if not whole)."""
    by_pid: dict[str, list[float]] = {}
    for pid, t in elections:
        by_pid.setdefault(pid, []).append(t)
    leaderless = _leaderless(by_pid, losses, end_s)
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
        idle = sum(max(0.0, min(b, until) - max(a, joined)) for a, b in leaderless.get(pid, ()))
        bound = base + changes * rebuild_s + idle
        if age > bound:
            problems.append({"partition": pid, "lost_host": ep["lost_host"],
                             "log_replica_host": ep.get("log_replica_host"),
                             "problem": f"log replica lived {age:.1f}s, bound {bound:.1f}s "
                                        f"({changes} leader changes and {idle:.1f}s without "
                                        f"a leader meanwhile)"})
    ages.sort()
    return {"valid": not problems, "episodes": count, "ended": ended,
            "log_replica_age_s": {"median": round(ages[len(ages) // 2], 3) if ages else None,
                                  "max": round(ages[-1], 3) if ages else None},
            "bound_s": round(base, 3), "problems": problems[:10], "problem_count": len(problems)}


def _leaderless(elected: Mapping[str, list[float]], losses: Iterable[tuple[str, float]],
                end_s: float) -> dict[str, list[tuple[float, float]]]:
    """For each partition, the spans from a leader's loss to the next election."""
    out: dict[str, list[tuple[float, float]]] = {}
    for pid, lost_s in losses:
        after = [t for t in elected.get(pid, ()) if t >= lost_s]
        out.setdefault(pid, []).append((lost_s, min(after, default=end_s)))
    return out
