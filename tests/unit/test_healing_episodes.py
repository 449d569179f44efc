"""Healing episodes as the lab records them from the service's hooks
(:class:`ddbsim.lab.metrics.Observation`): how each one ends."""
from __future__ import annotations

from ddbsim.lab.metrics import Observation

P = "p-0011"
WHOLE = (("az-1/r1/h1", "storage"), ("az-2/r1/h1", "storage"), ("az-3/r2/h2", "storage"))


def _ends(obs: Observation) -> list[tuple[str, str | None]]:
    return [(e["lost_host"], e["end"]) for e in obs.healing]


def test_an_episode_ends_with_its_storage_replica() -> None:
    obs = Observation()
    obs.replica_lost(16.0, P, "az-3/r1/h2", 10.5)
    obs.replica_added(19.0, P, "az-3/r2/h2", "log", "az-3/r1/h2")
    obs.replica_added(270.0, P, "az-3/r2/h2", "storage", "az-3/r2/h2")
    assert _ends(obs) == [("az-3/r1/h2", "storage replica")]
    assert obs.healing[0]["log_replica_host"] == "az-3/r2/h2"


def test_a_replacement_lost_after_it_joined_ends_its_episode() -> None:
    obs = Observation()
    obs.replica_lost(16.0, P, "az-3/r1/h2", 10.5)
    obs.replica_added(19.0, P, "az-3/r2/h3", "log", "az-3/r1/h2")
    obs.replica_lost(32.0, P, "az-3/r2/h3", 26.5)
    assert _ends(obs) == [("az-3/r1/h2", "replacement lost: its replica on az-3/r2/h3 was lost "
                                         "too (healed in that episode)"), ("az-3/r2/h3", None)]


def test_a_replacement_lost_before_its_membership_committed_ends_its_episode() -> None:
    # game_day seed 130, p-0011: the copy to az-3/r1/h2 went out, the host
    # failed, and the membership change naming it committed afterwards
    obs = Observation()
    obs.replica_lost(32.0, P, "az-3/r2/h3", 26.5)
    obs.replica_lost(151.5, P, "az-3/r1/h2", 146.0)
    obs.replica_added(172.5, P, "az-3/r1/h2", "log", "az-3/r2/h3")
    obs.replica_added(178.5, P, "az-3/r2/h2", "log", "az-3/r1/h2")
    obs.replica_added(428.5, P, "az-3/r2/h2", "storage", "az-3/r2/h2")
    obs.group_whole(428.5, P, WHOLE)
    assert _ends(obs) == [
        ("az-3/r2/h3", "replacement lost: its replica on az-3/r1/h2 was lost before it joined "
                       "(healed in that episode)"),
        ("az-3/r1/h2", "storage replica")]


def test_a_lost_host_that_returns_before_its_replacement_ends_as_returned() -> None:
    obs = Observation()
    obs.replica_lost(16.0, P, "az-3/r2/h2", 10.0)
    obs.group_whole(40.0, P, WHOLE)
    assert _ends(obs) == [("az-3/r2/h2", "returned")]


def test_the_summary_counts_ends_by_kind_not_by_host() -> None:
    from ddbsim.lab.report import _healing_lines

    obs = Observation()
    for i, host in enumerate(("az-3/r1/h1", "az-3/r1/h2")):
        obs.replica_lost(10.0 + i, f"p-000{i}", host, 5.0)
        obs.replica_added(12.0 + i, f"p-000{i}", f"az-3/r2/h{i + 1}", "log", host)
        obs.replica_lost(20.0 + i, f"p-000{i}", f"az-3/r2/h{i + 1}", 15.0)
    for e in obs.healing:
        e.update(log_replica_after_s=None, storage_replica_after_s=None, degraded_s=None)
    line = _healing_lines(obs.healing)[0]
    assert line == ("healing      4 replicas lost; ended: replacement lost 2, "
                    "still open at the end 2")
