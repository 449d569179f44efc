"""ddbsim's benchmark suite (``make bench``): what the simulator costs, as ratios.

What is measured, all in one process, one after the other:

1. **Traffic.**  A standard region -- 3 AZs, 30 storage hosts, 64 partitions,
   2000 requests per simulated second (Poisson), 50% puts, 25% strong reads,
   25% eventually consistent reads, no faults -- built through
   :class:`ddbsim.lab.experiment.Run`.  Only the traffic phase is timed (after a
   short untimed warm-up), and the figure is client requests *completed* (from
   ``run.figures.totals``) per wall-clock second.
2. **The same traffic through a minimal SimPy pipeline** with the same hops:
   client -> router -> leader -> accept to 2 followers -> first of 2 acks
   (write quorum 2, leader included) -> router -> client for writes, and
   client -> router -> storage node -> router -> client for reads; each hop
   one ``env.timeout`` with a callback and a log-normal latency draw, the same
   operation mix and Poisson arrivals, nothing else (no queues, no disk, no
   timeouts, no Paxos state, no metrics).  It is the floor any SimPy model of
   these hops pays, so **ddbsim / minimal** says how much of ddbsim's cost is
   its own modelling rather than SimPy's.  The target is >= 0.5.
2b. **The same traffic with a feature on**, each measured against the same
   run with it off: admission control (``admission.policy`` ``bursting``:
   partition, burst and node buckets at the leaders; and ``gac``: GAC
   tokens at the routers as well), the table provisioned well above the
   traffic (4,000 RCU, 4,000 WCU) so that nothing is throttled and the
   figure is the cost of admitting; and the constant-work router cache
   (``routing.cache`` ``constant_work``: a MemDS lookup for every request,
   against the default ``direct`` routing read in zero time).  Interleaved
   with the others in the same repetitions; **on / off** is the median over
   repetitions of each repetition's ratio (on and off measured moments
   apart, so a machine whose load drifts between repetitions moves both;
   the acceptance bound: a fall of at most 10%).  It is given from wall
   time and from the process's CPU time: on a machine busy with other work
   the CPU-time ratio is the steadier of the two (a waiting process is not
   charged), and both are printed so that neither is picked after the fact.
3. **An idle region** (no traffic, no canaries) of 10,000 partitions against
   one of 100 partitions on the same hosts: wall time to build each, wall
   seconds per simulated hour of idle running, and SimPy events per
   simulated second.  Heartbeats and lease renewals are coalesced per host
   pair, so the idle cost must not grow with partitions: the 10k/100 ratio
   of per-simulated-hour cost should be close to 1.

Why ratios: absolute wall times depend on the machine and on whatever else
it runs; a ratio of two things measured in the same process, interleaved,
moments apart, mostly does not.  That is why benchmarks live here and never
in the test suite, and why no test asserts an absolute time.

Events are counted for free, without wrapping ``env.step``: SimPy numbers
every event it schedules (``env._eid``) and keeps pending ones in
``env._queue``, so events processed = ids handed out - events still queued.
Reading the id counter consumes one id, which is harmless: ids only break
ties between events at the same instant, and they stay increasing.

Prints a compact table and writes everything to ``bench/results/latest.json``
(git-ignored).  ``--quick`` runs shorter, for a smoke test.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from ddbsim.config import Config
from ddbsim.lab.experiment import Run
from ddbsim.lab.scenario import Scenario

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
SEED = 1

# A region of 3 AZs x 2 racks x 5 hosts = 30 storage hosts.
TOPOLOGY = {"topology.racks_per_az": 2, "topology.hosts_per_rack": 5}
STANDARD = {
    **TOPOLOGY,
    "table.partitions": 64,
    "workload.rate_per_s": 2000,
    "workload.put": 0.5,
    "workload.cond_put": 0,
    "workload.delete": 0,
    "workload.get_strong": 0.25,
    "workload.get_eventual": 0.25,
}
IDLE = {**TOPOLOGY, "workload.rate_per_s": 0, "workload.canary_rate_per_s": 0}
#: Admission control on, provisioned well above the standard traffic (~1,600 WCU, ~750 RCU).
ADMISSION = {"table.provisioned_rcu": 4000.0, "table.provisioned_wcu": 4000.0}
#: The features whose cost is measured on/off: name -> the overrides that turn it on.
FEATURES: dict[str, dict[str, Any]] = {
    "admission_bursting": {**ADMISSION, "admission.policy": "bursting"},
    "admission_gac": {**ADMISSION, "admission.policy": "gac"},
    "routing_constant_work": {"routing.cache": "constant_work"},
}


def events_so_far(env: simpy.Environment) -> int | None:
    """Events processed so far (see the module docstring); None if SimPy changed."""
    eid, queue = getattr(env, "_eid", None), getattr(env, "_queue", None)
    if eid is None or queue is None:
        return None
    return next(eid) - len(queue)


def _event_delta(before: int | None, after: int | None) -> int | None:
    # ``after`` includes the one id that reading ``before`` consumed.
    return None if before is None or after is None else after - before - 1


# ----------------------------------------------------------------------
# 1. ddbsim under the standard workload
# ----------------------------------------------------------------------
def ddbsim_traffic(cfg: Config, warmup_s: float, measure_s: float) -> dict[str, Any]:
    """Build a region through Run, start the clients as Run.execute does, and
    time only ``measure_s`` simulated seconds of traffic after a warm-up."""
    gc.collect()  # start clean: no garbage of the previous repetition to collect
    t0 = time.perf_counter()  # wall-clock ok
    run = Run(Scenario(name="bench", duration_s=warmup_s + measure_s), cfg, SEED)
    build_s = time.perf_counter() - t0  # wall-clock ok
    env = run.world.env
    for client in run.clients:
        client.start()
    env.run(until=warmup_s)
    totals = run.figures.totals
    done0, ev0 = sum(totals.values()), events_so_far(env)
    t0, cpu0 = time.perf_counter(), time.process_time()  # wall-clock ok
    env.run(until=warmup_s + measure_s)
    wall_s = time.perf_counter() - t0  # wall-clock ok
    cpu_s = time.process_time() - cpu0
    done, events = sum(totals.values()) - done0, _event_delta(ev0, events_so_far(env))
    return {"build_wall_s": build_s, "wall_s": wall_s, "completed": done,
            # outcomes over the whole run, warm-up included
            "ok": totals["ok"], "error": totals["error"], "throttled": totals["throttled"],
            "events": events, "req_per_wall_s": done / wall_s, "cpu_s": cpu_s,
            "req_per_cpu_s": done / cpu_s}


# ----------------------------------------------------------------------
# 2. the minimal SimPy pipeline with the same hops
# ----------------------------------------------------------------------
def minimal_traffic(cfg: Config, warmup_s: float, measure_s: float) -> dict[str, Any]:
    """The same hops and mix, as plainly and cheaply as SimPy allows.

    A request is a list ``[is_write, acks, is_strong]`` carried as the value of each hop's
    ``env.timeout``; every hop appends one callback.  Client <-> router hops
    draw the same-AZ latency, every other hop the cross-AZ latency
    (log-normal, ddbsim's medians and shape).
    """
    env = simpy.Environment()
    rng = random.Random(SEED)
    lognormal, exponential, uniform = rng.lognormvariate, rng.expovariate, rng.random
    timeout = env.timeout
    net, mix = cfg.network, cfg.workload
    sigma = net.latency_sigma
    near, far = math.log(net.same_az_latency_s), math.log(net.cross_az_latency_s)
    rate = mix.rate_per_s
    strong = mix.get_strong
    reads = mix.get_strong + mix.get_eventual
    completed = [0]

    def arrive(_ev: simpy.Event) -> None:
        timeout(exponential(rate)).callbacks.append(arrive)
        u = uniform()
        # Strong and eventual reads take the same hops (to the leader, or to
        # any replica); the draw keeps the work per request the same.
        request = [u >= reads, 0, u < strong]
        timeout(lognormal(near, sigma), request).callbacks.append(at_router)

    def at_router(ev: simpy.Event) -> None:
        request = ev.value
        hop = at_leader if request[0] else at_replica
        timeout(lognormal(far, sigma), request).callbacks.append(hop)

    def at_replica(ev: simpy.Event) -> None:  # a read: answer at once
        timeout(lognormal(far, sigma), ev.value).callbacks.append(back_at_router)

    def at_leader(ev: simpy.Event) -> None:  # a write: accept to both followers
        request = ev.value
        timeout(lognormal(far, sigma), request).callbacks.append(at_follower)
        timeout(lognormal(far, sigma), request).callbacks.append(at_follower)

    def at_follower(ev: simpy.Event) -> None:
        timeout(lognormal(far, sigma), ev.value).callbacks.append(ack_at_leader)

    def ack_at_leader(ev: simpy.Event) -> None:
        request = ev.value
        request[1] += 1
        if request[1] == 1:  # the leader and one follower: a quorum of 2
            timeout(lognormal(far, sigma), request).callbacks.append(back_at_router)

    def back_at_router(ev: simpy.Event) -> None:
        timeout(lognormal(near, sigma), ev.value).callbacks.append(at_client)

    def at_client(_ev: simpy.Event) -> None:
        completed[0] += 1

    gc.collect()
    timeout(exponential(rate)).callbacks.append(arrive)
    env.run(until=warmup_s)
    done0, ev0 = completed[0], events_so_far(env)
    t0, cpu0 = time.perf_counter(), time.process_time()  # wall-clock ok
    env.run(until=warmup_s + measure_s)
    wall_s = time.perf_counter() - t0  # wall-clock ok
    cpu_s = time.process_time() - cpu0
    done, events = completed[0] - done0, _event_delta(ev0, events_so_far(env))
    return {"wall_s": wall_s, "completed": done, "events": events,
            "req_per_wall_s": done / wall_s, "cpu_s": cpu_s, "req_per_cpu_s": done / cpu_s}


def compare_traffic(reps: int, warmup_s: float, measure_s: float) -> dict[str, Any]:
    """Interleave ddbsim (with each feature off and on) and minimal
    repetitions so that all see the same machine; the ratio is of the
    medians, on/off the median of the repetitions' ratios."""
    cfg = Config().with_overrides(STANDARD)
    real: list[dict[str, Any]] = []
    minimal: list[dict[str, Any]] = []
    with_feature: dict[str, list[dict[str, Any]]] = {f: [] for f in FEATURES}
    variants: list[tuple[Config, list[dict[str, Any]]]] = [(cfg, real)] + [
        (Config().with_overrides({**STANDARD, **on}), with_feature[f])
        for f, on in FEATURES.items()]
    for rep in range(reps):
        # a different variant first in each repetition: no variant always
        # gets the freshest (or the most worn) process
        for k in range(len(variants)):
            variant_cfg, runs = variants[(rep + k) % len(variants)]
            runs.append(ddbsim_traffic(variant_cfg, warmup_s, measure_s))
        minimal.append(minimal_traffic(cfg, warmup_s, measure_s))
    out: dict[str, Any] = {"overrides": STANDARD, "features": FEATURES, "seed": SEED,
                           "reps": reps, "warmup_sim_s": warmup_s, "measured_sim_s": measure_s}
    series = [("ddbsim", real), ("minimal", minimal)] + list(with_feature.items())
    for name, runs in series:
        rate = statistics.median(r["req_per_wall_s"] for r in runs)
        completed = sum(r["completed"] for r in runs)
        wall = sum(r["wall_s"] for r in runs)
        events = (None if any(r["events"] is None for r in runs)
                  else sum(r["events"] for r in runs))
        out[name] = {
            "req_per_wall_s": rate,
            "req_per_wall_s_all": [r["req_per_wall_s"] for r in runs],
            "completed_per_rep": [r["completed"] for r in runs],
            "events_per_request": None if events is None else events / completed,
            "wall_us_per_event": None if events is None else 1e6 * wall / events,
            "runs": runs,
        }
    out["ratio_ddbsim_over_minimal"] = out["ddbsim"]["req_per_wall_s"] / \
        out["minimal"]["req_per_wall_s"]
    for feature, runs in with_feature.items():
        on = out[feature]["req_per_wall_s"]
        out[f"ratio_{feature}_over_minimal"] = on / out["minimal"]["req_per_wall_s"]
        for clock in ("wall", "cpu"):
            per_rep = [a[f"req_per_{clock}_s"] / b[f"req_per_{clock}_s"]
                       for a, b in zip(runs, real, strict=True)]
            out[f"ratio_{feature}_on_over_off_{clock}_per_rep"] = per_rep
            out[f"ratio_{feature}_on_over_off_{clock}"] = statistics.median(per_rep)
    return out


# ----------------------------------------------------------------------
# 3. idle regions
# ----------------------------------------------------------------------
def idle_region(partitions: int, warmup_s: float, measure_s: float, segments: int
                ) -> dict[str, Any]:
    """Build an idle region and time ``segments`` stretches of ``measure_s``
    simulated seconds; the fastest stretch is the figure."""
    cfg = Config().with_overrides({**IDLE, "table.partitions": partitions})
    gc.collect()
    t0 = time.perf_counter()  # wall-clock ok
    run = Run(Scenario(name="bench-idle", duration_s=warmup_s + segments * measure_s),
              cfg, SEED)
    build_s = time.perf_counter() - t0  # wall-clock ok
    env, net = run.world.env, run.world.network
    for client in run.clients:
        client.start()  # rate 0: a no-op, as in Run.execute
    # The warm-up absorbs the one-off start: the first heartbeat from each
    # new peer makes a node resend every commit point it leads.
    env.run(until=warmup_s)
    walls, cpus, events, sent = [], [], [], []
    for k in range(segments):
        ev0, sent0 = events_so_far(env), net.sent
        t0, cpu0 = time.perf_counter(), time.process_time()  # wall-clock ok
        env.run(until=warmup_s + (k + 1) * measure_s)
        walls.append(time.perf_counter() - t0)  # wall-clock ok
        cpus.append(time.process_time() - cpu0)
        events.append(_event_delta(ev0, events_so_far(env)))
        sent.append(net.sent - sent0)
    best = min(range(segments), key=lambda i: walls[i])
    links = sum(len(node.peers()) for node in run.service.nodes.values())
    return {
        "partitions": partitions,
        "storage_hosts": len(run.service.nodes),
        "heartbeat_links": links,
        "build_wall_s": build_s,
        "measured_sim_s": measure_s,
        "segment_wall_s": walls,
        "wall_s_per_sim_hour": walls[best] * 3600.0 / measure_s,
        "cpu_s_per_sim_hour": min(cpus) * 3600.0 / measure_s,
        "events_per_sim_s": None if events[best] is None else events[best] / measure_s,
        "messages_per_sim_s": sent[best] / measure_s,
    }


def compare_idle(small: int, large: int, warmup_s: float, measure_s: float,
                 segments: int) -> dict[str, Any]:
    lo = idle_region(small, warmup_s, measure_s, segments)
    hi = idle_region(large, warmup_s, measure_s, segments)
    return {
        "overrides": IDLE, "seed": SEED, "small": lo, "large": hi,
        "ratio_per_sim_hour_large_over_small":
            hi["wall_s_per_sim_hour"] / lo["wall_s_per_sim_hour"],
        "ratio_cpu_per_sim_hour_large_over_small":
            hi["cpu_s_per_sim_hour"] / lo["cpu_s_per_sim_hour"],
        "ratio_build_large_over_small": hi["build_wall_s"] / lo["build_wall_s"],
    }


# ----------------------------------------------------------------------
# report
# ----------------------------------------------------------------------
def _num(x: float | None, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def _verdict(wall: float, cpu: float, bound: float = 0.9) -> str:
    if min(wall, cpu) >= bound:
        return "met"
    return "NOT met" if max(wall, cpu) < bound else "met by one clock only"


def report(traffic: dict[str, Any], idle: dict[str, Any], env_info: dict[str, Any]) -> str:
    t, d, m = traffic, traffic["ddbsim"], traffic["minimal"]
    lines = [
        f"ddbsim bench -- python {env_info['python']}, simpy {env_info['simpy']}, "
        f"{env_info['cpus']} CPUs, total {env_info['total_wall_s']:.1f} wall-s",
        "",
        "1-2. Standard workload: 3 AZs, 30 storage hosts, 64 partitions, 2000 req/sim-s,",
        "     50% put / 25% strong get / 25% eventual get, no faults; traffic phase only,",
        f"     {t['reps']} interleaved reps of {t['measured_sim_s']:g} sim-s "
        f"(after {t['warmup_sim_s']:g} sim-s warm-up), median shown",
        f"  {'pipeline':<34}{'req/wall-s':>12}{'events/req':>12}{'us/event':>10}"
        f"{'completed/rep':>15}",
    ]
    rows = [("ddbsim", d)] + [(f"+ {f.replace('_', ' ', 1)}", t[f]) for f in FEATURES] + [
        ("minimal SimPy", m)]
    for name, r in rows:
        lines.append(f"  {name:<34}{r['req_per_wall_s']:>12,.0f}"
                     f"{_num(r['events_per_request'], '.2f'):>12}"
                     f"{_num(r['wall_us_per_event'], '.2f'):>10}"
                     f"{statistics.median(r['completed_per_rep']):>15,.0f}")
    ratio = t["ratio_ddbsim_over_minimal"]
    errors = sum(r["error"] + r["throttled"] for r in d["runs"])
    lines += [
        f"  RATIO ddbsim/minimal = {ratio:.2f}  (target >= 0.50: "
        f"{'met' if ratio >= 0.5 else 'NOT met'}); ddbsim errors+throttled: {errors}",
        "  on/off, the median of the reps' ratios, from wall time and from CPU time "
        "(bound: a fall of at most 10%):",
    ]
    for f in FEATURES:
        wall, cpu = t[f"ratio_{f}_on_over_off_wall"], t[f"ratio_{f}_on_over_off_cpu"]
        throttled = sum(r["throttled"] for r in t[f]["runs"])
        lines.append(f"    {f.replace('_', ' ', 1):<32} wall {wall:.3f}  cpu {cpu:.3f}  "
                     f"(a fall of {100 * (1 - wall):.1f}% / {100 * (1 - cpu):.1f}%: "
                     f"{_verdict(wall, cpu)}); throttled: {throttled}")
    if d["events_per_request"] and m["events_per_request"]:
        ev = m["events_per_request"] / d["events_per_request"]
        cost = m["wall_us_per_event"] / d["wall_us_per_event"]
        lines.append(f"    ~= events/req minimal/ddbsim {ev:.2f} x cost/event minimal/ddbsim "
                     f"{cost:.2f} (medians vs pooled: not exact)")
    lines += [
        "",
        "3. Idle region (no traffic, no canaries), 30 storage hosts; fastest of "
        f"{len(idle['small']['segment_wall_s'])} x {idle['small']['measured_sim_s']:g} sim-s",
        f"  {'partitions':>10}{'build wall-s':>14}{'wall-s/sim-h':>14}{'events/sim-s':>14}"
        f"{'msgs/sim-s':>12}{'hb links':>10}",
    ]
    for r in (idle["small"], idle["large"]):
        lines.append(f"  {r['partitions']:>10,}{r['build_wall_s']:>14.3f}"
                     f"{r['wall_s_per_sim_hour']:>14.3f}{_num(r['events_per_sim_s'], '.1f'):>14}"
                     f"{r['messages_per_sim_s']:>12.1f}{r['heartbeat_links']:>10}")
    lines += [
        f"  RATIO per-sim-hour cost {idle['large']['partitions']:,}/"
        f"{idle['small']['partitions']:,} partitions = "
        f"{idle['ratio_per_sim_hour_large_over_small']:.2f} wall, "
        f"{idle['ratio_cpu_per_sim_hour_large_over_small']:.2f} CPU  (target ~1)",
        "  Heartbeats are one per host pair per interval, covering every partition the two",
        "  hosts share, and leases are computed from their timestamps: an idle region's",
        "  cost follows hosts and host pairs (hb links), not partitions.  Only the build",
        "  grows with partitions.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    if args.quick:
        reps, warmup, measure = 1, 1.0, 2.0
        idle_args = (100, 1000, 5.0, 60.0, 1)
    else:
        reps, warmup, measure = 5, 2.0, 10.0
        idle_args = (100, 10_000, 5.0, 600.0, 2)

    start = time.perf_counter()  # wall-clock ok
    traffic = compare_traffic(reps, warmup, measure)
    idle = compare_idle(*idle_args)
    total = time.perf_counter() - start  # wall-clock ok

    env_info = {
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "total_wall_s": total,
    }
    print(report(traffic, idle, env_info))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"env": env_info, "traffic": traffic, "idle": idle},
                                   indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
