"""Cheap callbacks and timeouts on the SimPy clock.

``call_later`` schedules a plain function ``delay`` seconds from now as one
entry in SimPy's event queue: a slotted object whose only callback calls the
function -- no process, no generator, no ``Timeout``.  (The network does
the same with its own slotted delivery events.)  It pushes onto the
environment's queue the way ``Environment.schedule`` does (same priority,
same FIFO tie-break by event id), skipping the ``Event`` constructor; the
hot request path (network deliveries, service completions) runs on it.

:class:`Deadlines` handles the many timeouts that almost never fire: every
request arms one, with the same delay, so the deadlines come in order.  They
wait in a queue and one sweep event per ``granularity_s`` expires those that
are due, instead of one SimPy event per request.  A timeout therefore fires
between ``delay_s`` and ``delay_s + granularity_s`` after it was armed.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Container
from heapq import heappush
from typing import Any

import simpy
from simpy.events import NORMAL


class _Call:
    # What SimPy's ``Environment.step`` reads of an event: ``callbacks``
    # (which it swaps for None before calling them, so one list can serve
    # every call) and ``_ok``.
    __slots__ = ("callbacks", "fn", "args")
    _ok = True
    _value = None

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.callbacks = _FIRE
        self.fn = fn
        self.args = args


def _fire(call: _Call) -> None:
    call.fn(*call.args)


_FIRE = [_fire]


_new = object.__new__


def call_later(env: simpy.Environment, delay: float, fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` after ``delay`` simulated seconds."""
    call = _new(_Call)  # filled in here, without an __init__ frame: this runs for every request
    call.callbacks = _FIRE
    call.fn = fn
    call.args = args
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), call))  # type: ignore[attr-defined,misc]



class Deadlines:
    """Timeouts of one fixed delay, expired in sweeps."""

    def __init__(self, env: simpy.Environment, delay_s: float, on_expire: Callable[[Any], None],
                 granularity_s: float | None = None, pending: Container[Any] | None = None) -> None:
        self.env = env
        self.delay_s = delay_s
        self.granularity_s = granularity_s if granularity_s is not None else delay_s / 10
        self._on_expire = on_expire
        # If given, only keys still in ``pending`` expire (most complete in time).
        self._pending = pending
        self._queue: deque[tuple[float, Any]] = deque()
        self._armed = False

    def add(self, key: Any) -> None:
        """Arm a timeout for ``key``; ``on_expire(key)`` runs when it is due
        (unless it left ``pending`` meanwhile; without ``pending``, the owner
        ignores keys that completed)."""
        self._queue.append((self.env._now + self.delay_s, key))  # type: ignore[attr-defined]
        if not self._armed:
            self._armed = True
            call_later(self.env, self.delay_s, self._sweep)

    def clear(self) -> None:
        self._queue.clear()

    def _sweep(self) -> None:
        now = self.env.now
        queue = self._queue
        pending = self._pending
        while queue and queue[0][0] <= now:
            key = queue.popleft()[1]
            if pending is None or key in pending:
                self._on_expire(key)
        if queue:
            call_later(self.env, max(queue[0][0] - now, self.granularity_s), self._sweep)
        else:
            self._armed = False
