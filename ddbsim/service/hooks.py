"""The hooks through which observation sees the service.

The service calls these at the moments that matter; the lab's metrics and
history implement them.  Every method here does nothing, so a service built
with the base class runs the same, only without being watched.  Hooks must
never change behaviour: they receive values, they return nothing.
"""
from __future__ import annotations


class ServiceHooks:
    def leader_elected(self, t_s: float, pid: str, ballot: tuple[int, str], host: str) -> None:
        """A leader finished recovery and began serving."""

    def leader_lost(self, t_s: float, pid: str, ballot: tuple[int, str], host: str,
                    reason: str) -> None:
        """A leader stepped down or its host died."""

    def lease_held(self, pid: str, ballot: tuple[int, str], from_s: float, until_s: float) -> None:
        """A leader served on a lease it computed valid from ``from_s`` to ``until_s``."""

    def replica_lost(self, t_s: float, pid: str, host: str, last_seen_s: float) -> None:
        """A leader declared a replica unhealthy and began healing."""

    def replica_added(self, t_s: float, pid: str, host: str, kind: str, replaces: str) -> None:
        """A log or storage replica joined the group (its membership change committed)."""

    def storage_request(self, t_s: float, pid: str, kind: str, status: str) -> None:
        """A storage node answered a request (server-side availability)."""
