"""Cheap callbacks on the SimPy clock.

``call_later`` schedules a plain function ``delay`` seconds from now as one
SimPy event with one callback: no process, no generator, no ``Timeout``
object bookkeeping.  The hot request path (network deliveries, service
completions, timeouts) runs on these.  SimPy breaks ties FIFO, so two calls
scheduled for the same instant run in the order they were scheduled.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL, Event


def call_later(env: simpy.Environment, delay: float, fn: Callable[..., Any], *args: Any) -> Event:
    """Run ``fn(*args)`` after ``delay`` simulated seconds."""
    ev = Event(env)
    ev._ok = True
    ev._value = None
    ev.callbacks.append(lambda _ev: fn(*args))  # type: ignore[union-attr]
    env.schedule(ev, NORMAL, delay)
    return ev
