"""Deliberate protocol bugs, for proving that the checkers can fail.

Tests switch these on through :func:`ddbsim.service.region.Service.inject_bug`;
they are not part of :class:`~ddbsim.config.Config` and cannot be set from
the command line.

* ``ack_before_quorum`` -- the leader acknowledges a write as soon as its
  own WAL record is persisted, without waiting for a quorum.
* ``skip_recovery`` -- a new leader does not recover accepted-but-uncommitted
  entries from the promises; it continues from its own log.
"""
from __future__ import annotations

KNOWN_BUGS = frozenset({"ack_before_quorum", "skip_recovery"})
