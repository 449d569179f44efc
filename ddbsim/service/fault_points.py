"""Fault points: named places inside the service where a fault can strike.

FoundationDB's simulator salts its code with ``BUGGIFY`` points: at a named
place, on runs that enable it, the code does something legal but unusual --
waits longer, drops its own step -- so that rare interleavings become
common.  TigerBeetle's simulator crashes a replica at a chosen moment of its
protocol.  A :class:`FaultPoints` is both, for one service:

* **Traps** (crash-restart at a protocol boundary).  The nemesis *arms* a
  step (:data:`STEPS`) with a callback; the next storage host that passes
  that step calls it with its host id, once, and the trap is gone.  The
  nemesis powers that host off at once (``ddbsim.lab.faults``): a blip that
  lands right after a promise, an ``accepted``, a write acknowledged to a
  client, or a prepare -- with the WAL writes not yet durable lost with it.
* **Buggify points** (:data:`POINTS`): on a run that enables a point (drawn
  per seed by the nemesis, printed with the schedule), each pass through it
  delays the step by up to ``delay_s`` with probability ``p``, from the
  run's ``service/fault_points`` stream.  Delays only: a delayed step is
  always a legal behaviour (a slow disk, a busy CPU), never a protocol
  change, so the correct protocol must stay safe under any of them.

The service checks :attr:`FaultPoints.on` (one attribute) before calling in,
so a run with nothing armed or enabled pays one attribute load per point.
"""
from __future__ import annotations

from collections.abc import Callable

from ddbsim.world.streams import Draws

#: The protocol boundaries a trap can be armed at.
STEPS = (
    "promised",  # an acceptor made its promise durable and sent it
    "accepted",  # an acceptor sent ``accepted`` for records it wrote
    "acknowledged",  # a leader answered a client that its write committed
    "prepared",  # a candidate sent its prepares
)

#: The buggify points: where the service may delay its own step.
POINTS = (
    "before_persist",  # an acceptor's WAL write takes longer to become durable
    "before_reply",  # an acceptor's ``accepted`` leaves later than its write lands
    "before_promise",  # an acceptor's promise takes longer to become durable
    "promise_to_accept",  # a new leader waits before its first accepts (recovery)
)


class FaultPoints:
    """The traps and buggify points of one service (see the module docstring)."""

    __slots__ = ("on", "_traps", "_enabled", "_draws")

    def __init__(self) -> None:
        #: whether anything is armed or enabled: the service's one check
        self.on = False
        self._traps: dict[str, list[Callable[[str], None]]] = {}
        self._enabled: dict[str, tuple[float, float]] = {}  # point -> (p, delay_s)
        self._draws: Draws | None = None

    # -- traps -------------------------------------------------------------
    def arm(self, step: str, fire: Callable[[str], None]) -> None:
        """Call ``fire(host_id)`` when the next storage host passes ``step``."""
        if step not in STEPS:
            raise ValueError(f"unknown step {step!r}; known: {', '.join(STEPS)}")
        self._traps.setdefault(step, []).append(fire)
        self.on = True

    def passed(self, step: str, host_id: str) -> None:
        """A host passed ``step``: spring the oldest trap armed there."""
        traps = self._traps.get(step)
        if traps:
            fire = traps.pop(0)
            self._update()
            fire(host_id)

    # -- buggify -----------------------------------------------------------
    def enable(self, points: dict[str, tuple[float, float]], draws: Draws) -> None:
        """Enable each point with ``(probability, max delay s)``."""
        for name in points:
            if name not in POINTS:
                raise ValueError(f"unknown fault point {name!r}; known: {', '.join(POINTS)}")
        self._enabled = dict(points)
        self._draws = draws
        self._update()

    def delay_s(self, point: str) -> float:
        """Extra seconds the step at ``point`` waits this time (often 0)."""
        spec = self._enabled.get(point)
        if spec is None or self._draws is None:
            return 0.0
        p, most_s = spec
        if self._draws.uniform() >= p:
            return 0.0
        return self._draws.uniform() * most_s

    def quiet(self) -> None:
        """Disarm every trap and disable every point (the heal: the run's
        liveness phase is judged without faults)."""
        self._traps = {}
        self._enabled = {}
        self._update()

    def enabled(self) -> list[str]:
        return sorted(self._enabled)

    def _update(self) -> None:
        self.on = bool(self._enabled) or any(self._traps.values())


#: Nothing armed, nothing enabled: what a component holds until told otherwise.
INERT = FaultPoints()
