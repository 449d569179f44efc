"""The mutation self-test: do the checkers catch deliberate protocol bugs?

A checker that never fails proves nothing.  :mod:`ddbsim.service.bugs`
keeps a registry of deliberate bugs (mutants) that only tests and this
self-test can switch on; for each one, the self-test runs the game-day
scenario (``scenarios/game_day.py``) on seeds in order until some checker
reports ``valid: false``, and reports which checkers caught it and on which
seed.  The same seed is then run on the correct protocol: only checkers
that fail with the mutant and pass without it count as a catch (the correct
protocol still has liveness and convergence failures on some seeds; a
catch by those alone would be a false alarm).

Each mutant is hunted with a *profile*: config overrides that narrow the
nemesis to the faults that expose it (a stale leader needs a cut, not a
slow disk) -- the same swarm, aimed.

* ``no_lease_wait``: with the default timings the wait is redundant when the
  old leader is cut off -- a follower suspects it after ``leader_timeout_s``
  (1.5 s) and its guard then waits ``election_timeout_s`` (0.5 s) for the
  old leader's answer, by which time the 2 s lease has run out anyway.  Its
  profile detects failures faster (``leader_timeout_s`` 0.75 s, as an
  operator tuning for failover time might), so the new leader would be in
  office while the old one's lease still runs -- unless it waits.
* ``follower_strong_read`` answers from a follower that is at most a
  heartbeat or two behind, and only when a router still takes a follower
  for the leader (after a failover), so a stale read shows only on a key
  written in that moment: its profile concentrates the traffic on 16 keys
  (hot keys, as Jepsen's register tests use) and makes faults -- and so
  failovers -- frequent (a fault of each kind every 5-20 s).  A few dozen
  strong reads reach a follower per run; about one seed in four catches it.
* ``apply_bad_checksum`` matters only when a WAL record that rotted is read
  back by a replay, i.e. a host reboots after bit rot hit its WAL and stays a
  member of its groups: its profile rots WAL records only (a dozen in one AZ),
  power-cycles hosts often and briefly, with a 1 s boot (shorter than the
  failure detection, so the rebooted replica is not replaced), and scrubs
  every 60 s, so that a rotten record often waits for a reboot before the
  scrub reads it; keys are many (10,000), so that the bad item a replay made
  is rarely overwritten before the next scrub finds it -- an item mismatch
  that no bit rot explains.
* ``log_replica_counts_twice`` cannot change a decision in a group of three
  with a write quorum of two: the leader (or candidate) always votes, and a
  leader commits only what it holds durably itself, so one more vote from
  anyone already makes two real copies.  A doubled vote matters where a
  quorum needs three: its profile is a region of five AZs with five replicas
  and a write quorum of three, where a log replica and one other replica
  make a "quorum" of two copies.  The profile also lifts the one-AZ bound
  (AZ cuts and power faults only: neither destroys a disk, so the correct
  protocol must pass every check anyway), and the self-test keeps the raw
  check verdicts rather than the "data loss expected" label.

The mutants of issue 13 are hunted with the newer faults of
:mod:`ddbsim.lab.nemesis`: one that acknowledges before its write is
durable, or forgets its durable log tail on a reboot, needs a whole region
to lose power and come back in an order that lets two replicas elect
without the third (``region_power``; for the first, with the acceptors'
writes slowed by a buggify point so that its window is wide); mistakes about
ballots and recovery need elections racing in-flight accepts (cuts, power
losses and blips at protocol steps, often); stale-ballot mistakes need
messages held back past an election (``stale``); lease mistakes need
failovers and hot keys.  A mutant with no profile that catches it is not
kept in the registry: one that took away joint consensus for membership
changes (decisions in the latest membership only) escaped 10 seeds of
several profiles, and was dropped rather than kept uncaught.

* ``catchup_serves_uncommitted`` cannot show in a group of three: a leader
  serves catch-up only while it leads, and the follower asking it must
  still promise its ballot -- but a newer ballot needs two promises of
  three, so it has the follower's or the old leader's (who then stands
  down).  With five replicas and a quorum of three, a newer leader can be
  elected by the other three while the old one, cut off from them, still
  serves a lagging follower (a slow host) the records it never committed:
  the follower applies a value the newer leader overwrote.
* ``lease_from_ack_receipt`` overestimates the lease by an acknowledgement's
  delay, so it shows only when the acknowledgements the lease rests on are
  slow (seconds, not milliseconds) just before the leader is cut off: the
  followers' grants (counted from their receipt of its heartbeat) run out
  and they elect while the old leader still thinks it leads.  Its profile
  draws delays of 0.5-2 s (median) between AZs or across the region, lasting
  10-40 s, with cuts, often, on 16 keys.  Seed 0 catches it: two leaders
  serve on leases they computed valid at once (the single-leader check);
  the correct protocol passes every check on that seed.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddbsim.lab.experiment import run
from ddbsim.lab.scenario import build, load
from ddbsim.service.bugs import KNOWN_BUGS

SCENARIO = "scenarios/game_day.py"

#: the whole region loses power every 20-40 s (and nothing else)
_REGION_POWER: dict[str, Any] = {"nemesis.kinds": "region_power", "nemesis.enable_p": 1.0,
                                 "nemesis.chaos_mean_gap_s": "20,40"}
#: every acceptor's write and answer often take up to a second longer
_SLOW_ACCEPTORS: dict[str, Any] = {"nemesis.buggify_enable_p": 1.0,
                                   "nemesis.buggify_fire_p": "0.5,0.5",
                                   "nemesis.buggify_delay_s": "1,1"}
#: elections racing in-flight accepts: cuts, power losses and blips, often
_ELECTIONS: dict[str, Any] = {"nemesis.kinds": "az_cut,host_cut,host_power,blip",
                              "nemesis.enable_p": 1.0, "nemesis.mean_gap_s": "5,30",
                              "nemesis.chaos_mean_gap_s": "3,10"}

#: five AZs, five replicas, a write quorum of three, the one-AZ bound lifted
#: (cuts and power faults destroy no disk: the correct protocol must pass)
_FIVE_REPLICAS: dict[str, Any] = {"topology.az_count": 5, "replication.replicas": 5,
                                  "replication.write_quorum": 3, "nemesis.enable_p": 1.0,
                                  "nemesis.bounded": False}

#: [chosen] the nemesis each mutant is hunted with (see the module docstring)
PROFILES: dict[str, dict[str, Any]] = {
    "ack_before_quorum": {},
    "skip_recovery": {},
    "apply_before_commit": {"nemesis.kinds": "az_cut,host_cut,host_power", "nemesis.enable_p": 1.0},
    "no_lease_wait": {"nemesis.kinds": "az_cut,host_cut,host_power", "nemesis.enable_p": 1.0,
                      "replication.leader_timeout_s": 0.75},
    "follower_strong_read": {"nemesis.kinds": "az_cut,host_cut,host_power", "nemesis.enable_p": 1.0,
                             "workload.key_count": 16, "nemesis.mean_gap_s": "5,20"},
    "apply_bad_checksum": {"nemesis.kinds": "host_power", "nemesis.enable_p": 1.0,
                           "nemesis.bit_rot": 12, "nemesis.bit_rot_what": "wal",
                           "nemesis.host_power_s": "1,3", "nemesis.mean_gap_s": "5,15",
                           "storage.boot_s": 1.0, "durability.scrub_interval_s": 60.0,
                           "workload.key_count": 10000},
    "log_replica_counts_twice": {**_FIVE_REPLICAS, "nemesis.kinds": "az_cut,host_power"},
    # The mutants of issue 13, each aimed with the newer faults.
    "follower_ack_before_durable": {**_REGION_POWER, **_SLOW_ACCEPTORS},
    "forget_uncommitted_on_crash": _REGION_POWER,
    "promise_not_durable": {"nemesis.kinds": "blip,host_cut,az_cut,stale", "nemesis.enable_p": 1.0,
                            "nemesis.chaos_mean_gap_s": "2,6", "nemesis.mean_gap_s": "5,20"},
    "partial_ballot_compare": _ELECTIONS,
    "acks_any_ballot": {**_ELECTIONS, "nemesis.kinds": "az_cut,host_cut,host_power,stale,duplicate"},
    "follower_commits_accepted": _ELECTIONS,
    "recovery_lowest_ballot": _ELECTIONS,
    "accept_any_ballot": {**_ELECTIONS, "nemesis.kinds": "az_cut,host_cut,stale"},
    "lease_from_ack_receipt": {"nemesis.kinds": "az_cut,host_cut,delay", "nemesis.enable_p": 1.0,
                               "nemesis.extra_delay_s": "0.5,2", "nemesis.delay_s": "10,40",
                               "nemesis.mean_gap_s": "5,20", "workload.key_count": 16},
    "catchup_serves_uncommitted": {**_FIVE_REPLICAS, "nemesis.kinds": "az_cut,host_cut,host_power,slow_host",
                                   "nemesis.mean_gap_s": "5,20"},
    "read_without_lease": {"nemesis.kinds": "az_cut,host_cut", "nemesis.enable_p": 1.0,
                           "workload.key_count": 16, "nemesis.mean_gap_s": "5,20"},
    "forget_lease_on_boot": {"nemesis.kinds": "blip,host_cut,az_cut", "nemesis.enable_p": 1.0,
                             "nemesis.chaos_mean_gap_s": "2,6", "workload.key_count": 16},
}


@dataclass
class Catch:
    mutant: str
    seed: int | None = None
    checkers: list[str] = field(default_factory=list)
    seeds_run: int = 0
    control_valid: bool | None = None  # the correct protocol does not fail those checkers
    control_failed: list[str] = field(default_factory=list)  # what it does fail on that seed
    error: str | None = None

    @property
    def caught(self) -> bool:
        return self.seed is not None and self.control_valid is True

    def to_dict(self) -> dict[str, Any]:
        return {"mutant": self.mutant, "caught": self.caught, "seed": self.seed,
                "checkers": self.checkers, "seeds_run": self.seeds_run,
                "control_valid": self.control_valid, "control_failed": self.control_failed,
                "profile": PROFILES.get(self.mutant, {}),
                "error": self.error}


def failed_checks(scenario_path: str, seed: int, overrides: dict[str, Any],
                  bug: str | None) -> list[str]:
    """Run one seed (with ``bug`` switched on, if any); the checks that
    failed, judged on the raw verdicts (a "data loss expected" label counts
    as a failure here)."""
    builder, _ = load(scenario_path)
    scenarios = build(builder)
    bugs = (bug,) if bug else ()
    bad: list[str] = []
    for s in scenarios:
        result = run(s, seed, overrides, bugs=bugs)
        for name, check in result.data["checks"].items():
            if check["valid"] is False or (check["valid"] == "unknown" and "data loss expected"
                                           in str(check.get("note", ""))):
                bad.append(name)
    return bad


def _task(args: tuple[str, int, dict[str, Any], str | None]) -> tuple[int, list[str] | str]:
    path, seed, overrides, bug = args
    try:
        return seed, failed_checks(path, seed, overrides, bug)
    except Exception as exc:  # a crash under a mutant is reported, not fatal
        return seed, f"{type(exc).__name__}: {exc}"


def hunt(mutant: str, seeds: list[int], workers: int = 0, scenario_path: str = SCENARIO,
         progress: Callable[[str], None] | None = None) -> Catch:
    """Run ``mutant`` on ``seeds`` in order (``workers`` at a time) until a
    checker catches it; then run the correct protocol on that seed."""
    if mutant not in KNOWN_BUGS:
        raise ValueError(f"unknown mutant {mutant!r}; known: {', '.join(sorted(KNOWN_BUGS))}")
    path = str(Path(scenario_path).resolve())
    overrides = PROFILES.get(mutant, {})
    workers = workers or os.cpu_count() or 1
    catch = Catch(mutant)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(seeds), workers):
            chunk = seeds[start:start + workers]
            results = sorted(pool.map(_task, [(path, s, overrides, mutant) for s in chunk]))
            catch.seeds_run += len(chunk)
            for seed, found in results:
                if not found:
                    continue
                if isinstance(found, str):
                    catch.seed, catch.checkers, catch.error = seed, ["crash"], found
                    catch.control_valid = _task((path, seed, overrides, None))[1] == []
                    break
                # Only what the correct protocol does not also fail on this seed counts.
                _seed, control = _task((path, seed, overrides, None))
                if isinstance(control, str):
                    continue
                only_mutant = [c for c in found if c not in control]
                if only_mutant:
                    catch.seed, catch.checkers, catch.control_valid = seed, only_mutant, True
                    catch.control_failed = control
                    break
            if catch.seed is not None:
                break
    if progress is not None:
        progress(line(catch))
    return catch


def line(c: Catch) -> str:
    if c.caught:
        also = (f"; it fails only {', '.join(c.control_failed)}" if c.control_failed else " too")
        return (f"{c.mutant:<26} caught   seed {c.seed:<4} by {', '.join(c.checkers)}"
                f"  (after {c.seeds_run} seeds; the correct protocol passes these checks on seed "
                f"{c.seed}{also})")
    if c.seed is not None:
        return (f"{c.mutant:<26} UNCLEAR  seed {c.seed} failed {', '.join(c.checkers)}, but so did "
                f"the correct protocol on that seed{': ' + c.error if c.error else ''}")
    return f"{c.mutant:<26} MISSED   no checker failed in {c.seeds_run} seeds"


def run_selftest(seeds: list[int], mutants: list[str] | None = None, workers: int = 0,
                 progress: Callable[[str], None] | None = None) -> list[Catch]:
    return [hunt(m, seeds, workers, progress=progress) for m in (mutants or sorted(KNOWN_BUGS))]
