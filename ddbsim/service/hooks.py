"""The hooks through which observation sees the service.

The service calls these at the moments that matter; the lab's metrics and
history implement them.  Every method here does nothing, so a service built
with the base class runs the same, only without being watched.  Hooks must
never change behaviour: they receive values, they return nothing.
"""
from __future__ import annotations

from ddbsim.service.membership import Members


class ServiceHooks:
    def leader_elected(self, t_s: float, pid: str, ballot: tuple[int, str], host: str) -> None:
        """A leader finished recovery and began serving."""

    def leader_lost(self, t_s: float, pid: str, ballot: tuple[int, str], host: str,
                    reason: str) -> None:
        """A leader stepped down or its host died."""

    def lease_held(self, pid: str, ballot: tuple[int, str], from_s: float, until_s: float) -> None:
        """A leader served on a lease it computed valid from ``from_s`` to ``until_s``."""

    def replica_lost(self, t_s: float, pid: str, host: str, last_seen_s: float) -> None:
        """A leader found the member on ``host`` unhealthy and set out to
        replace it (a later leader that resumes the job says so again)."""

    def replica_added(self, t_s: float, pid: str, host: str, kind: str, replaces: str) -> None:
        """A membership change that put a ``kind`` replica on ``host`` in
        place of the member on ``replaces`` committed (the same host when a
        log replica became a storage replica)."""

    def healing_blocked(self, t_s: float, pid: str, host: str, reason: str) -> None:
        """The member on ``host`` cannot be replaced now, and why."""

    def repairs_paused(self, t_s: float, pid: str) -> None:
        """``pid``'s leader dropped its repairs in progress: it cannot hear a
        quorum of its group (a copy restarts from scratch when it can again)."""

    def repairs_resumed(self, t_s: float, pid: str) -> None:
        """``pid``'s leader, paused, hears a quorum again and repairs on."""

    def group_whole(self, t_s: float, pid: str, members: Members) -> None:
        """A leader found its group whole: every member healthy and a storage replica."""

    def storage_request(self, t_s: float, pid: str, kind: str, status: str) -> None:
        """A storage node answered a request (server-side availability)."""

    # -- durability: archive and scrub -------------------------------------
    def archived(self, t_s: float, pid: str, host: str, first: int, last: int) -> None:
        """The object store took the segment ``first..last`` of ``pid`` from ``host``."""

    def archive_refused(self, t_s: float, pid: str, host: str, first: int, last: int,
                        reason: str) -> None:
        """``host``'s archiver would not upload ``first..last`` of ``pid``, and why."""

    def restored_from_archive(self, t_s: float, pid: str, host: str, first: int,
                              head: int) -> None:
        """``host``'s replica of ``pid``, damaged from ``first`` on (a rotten
        record dropped on replay), restored from the archive (head ``head``)."""

    def wal_trimmed(self, t_s: float, pid: str, host: str, kind: str, records: int) -> None:
        """``host``'s ``kind`` replica of ``pid`` trimmed its archived WAL and
        now holds ``records`` records."""

    def scrubbed(self, t_s: float, pid: str, lsn: int, replicas: int, reference: bool) -> None:
        """A scrub of ``pid`` compared ``replicas`` replicas at ``lsn`` (and the
        archive's reference replica, if ``reference``)."""

    def corruption_found(self, t_s: float, pid: str, host: str, what: str, where: str,
                         by: str) -> None:
        """Corrupt data (``what``: item or wal) on ``host``'s replica of ``pid``, at
        ``where`` (a key range lo..hi, or a log position), found ``by`` the scrub,
        the archiver or a replay."""

    def corruption_repaired(self, t_s: float, pid: str, host: str, what: str, where: str) -> None:
        """The corruption found at ``where`` on ``host``'s replica of ``pid`` was repaired."""
    def routing_load(self, t_s: float, server: str, lookups: int) -> None:
        """A routing metadata server (``metadata`` or ``memds``) received
        ``lookups`` lookups (a whole-table download counts one)."""

    def route_missed(self, t_s: float, router: str) -> None:
        """A router's cache missed: the request waits for the metadata
        servers.  (Hits are only counted, by the cache: a call per request
        would cost the hot path.)"""
