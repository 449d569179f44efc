"""Per-concern random streams: more draws in one concern never move another.

A short run of the real region (``ddbsim.lab.experiment.Run``: the service, the
clients' traffic, plus one leader's host power-cycled so that elections draw
back-offs), twice on one seed.  The second time the ``queue`` concern of one
storage host draws more: every call to its Draws takes one value more
(so the service times it hands out shift by one) and moves its generator by
one more draw (so a concern that shared the generator would get other
batches).  The ``paxos`` and ``disk`` concerns of the same host hand out the
same values in the same order; the queue's own are different.

Draws come in batches of 1024 per kind, so in a short run a stream's
generator is drawn only once or twice, and two concerns that shared one
generator could well get the same batches in both runs.  Both runs
therefore use batches of 4: every few draws go to the generator, and any
sharing shows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ddbsim.lab.experiment import Run
from ddbsim.lab.scenario import Scenario
from ddbsim.world import streams
from ddbsim.world.scheduling import call_later
from ddbsim.world.streams import Draws

SEED = 7
RUN_S = 10.0


class Recorded:
    """A Draws that records every value it hands out, in order; with
    ``extra``, each call first draws ``extra`` values more through the
    Draws and from its generator."""

    def __init__(self, inner: Draws, log: list[Any], extra: int = 0) -> None:
        self._inner = inner
        self._log = log
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any) -> Any:
            for _ in range(self._extra):
                attr(*args)
                self._inner.generator.random()
            value = attr(*args)
            self._log.append((name, value))
            return value
        return call


def run_region(extra_queue_draws: int) -> dict[str, list[Any]]:
    """Run the region for RUN_S with traffic; the leader of p-0000 loses
    power at 2 s and comes back at 4 s (boot takes 2 s).  Returns what the
    recorded concerns of the first follower of p-0000 handed out."""
    scenario = Scenario("streams", RUN_S)
    run = Run(scenario, scenario.config({"storage.boot_s": 2.0, "workload.rate_per_s": 300.0}),
              SEED)
    service, world = run.service, run.world
    members = service.partition_map.partition("p-0000").members
    leader, host = members[0][0], members[1][0]
    node = service.nodes[host]
    logs: dict[str, list[Any]] = {"queue": [], "paxos": [], "disk": [], "disk_t": []}
    node.queue._draws = Recorded(node.queue._draws, logs["queue"], extra_queue_draws)  # type: ignore[assignment]
    node.paxos_draws = Recorded(node.paxos_draws, logs["paxos"])  # type: ignore[assignment]
    for member in node.members.values():  # each replica was handed the node's paxos stream
        member.draws = node.paxos_draws
    disk = node.disk
    write_delay_s: Callable[[], float] = disk.write_delay_s

    def recorded_write_delay_s() -> float:
        value = write_delay_s()
        logs["disk"].append(value)
        logs["disk_t"].append(world.env.now)
        return value
    disk.write_delay_s = recorded_write_delay_s  # type: ignore[method-assign]

    env = world.env
    victim = world.topology.hosts[leader]
    call_later(env, 2.0, lambda: victim.power_off(env.now))
    call_later(env, 4.0, victim.power_on)
    for client in run.clients:
        client.start()
    env.run(until=RUN_S)
    return logs


def _same_prefix(a: list[Any], b: list[Any]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def test_more_queue_draws_move_neither_paxos_nor_disk_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "_BATCH", 4)
    base = run_region(0)
    perturbed = run_region(1)
    # Every concern drew (the leader's death made the follower elect).
    for name in ("queue", "paxos", "disk"):
        assert base[name] and perturbed[name], name
    # The perturbed concern hands out other values ...
    assert not _same_prefix(base["queue"], perturbed["queue"])
    # ... and that moved the run: the follower's disk writes happen at other times ...
    assert base["disk_t"] != perturbed["disk_t"]
    # ... yet the other concerns of the same host hand out the same values,
    # in the same order (however many each run asked for).
    assert _same_prefix(base["paxos"], perturbed["paxos"])
    assert _same_prefix(base["disk"], perturbed["disk"])
    assert min(len(base["disk"]), len(perturbed["disk"])) > 100
