"""The outage and repair durations the fast failure model draws.

These are the times the detailed simulator takes to do each step of a
repair -- what the fast model cannot know from first principles, because
they come out of the protocol (heartbeats, leases, elections, copies):

* ``failover_s`` -- from the leader's host failing to a new leader serving
  (the followers notice the silence, wait out the lease, win an election and
  recover the log; paper §6.2);
* ``detection_s`` -- from a member's host failing to the leader starting to
  replace it (``healing.detection_s`` of silence);
* ``log_join_s`` -- from detection to a log replica serving in the group
  (paper §5.1: "seconds"): the unarchived WAL copy and a membership change;
* ``rebuild_s`` -- from a log replica joining to its storage replica
  replacing it (paper §5.1: "minutes"): the B-tree copy;
* ``boot_s`` -- from a host's power returning to its replicas serving
  (``storage.boot_s`` plus WAL replay).

:func:`derived` reads them off the detailed model's config (no runs: the
config's timeouts and copy sizes over bandwidths); :mod:`.calibrate`
measures them with short detailed runs (``ddbsim calibrate``), which is
what ``nines.durations=calibrated`` uses.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ddbsim.config import Config


@dataclass(frozen=True)
class Durations:
    failover_s: float
    detection_s: float
    log_join_s: float
    rebuild_s: float
    boot_s: float
    retry_s: float  # a leader's wait before looking again for a host to heal onto
    source: str = "derived"  # derived | calibrated

    @property
    def heal_s(self) -> float:
        """Mean time from a member's failure to a replacement serving, with
        log replicas (``detection_s + log_join_s``)."""
        return self.detection_s + self.log_join_s

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def derived(cfg: Config) -> Durations:
    """The durations the detailed model's config implies, without running it."""
    rep, heal = cfg.replication, cfg.healing
    return Durations(
        # silence, then the old lease, then one election round
        failover_s=rep.leader_timeout_s + rep.lease_s + rep.election_timeout_s,
        detection_s=heal.detection_s, log_join_s=heal.log_copy_s, rebuild_s=heal.rebuild_s,
        boot_s=cfg.storage.boot_s, retry_s=heal.retry_s, source="derived")
