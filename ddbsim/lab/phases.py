"""Workload phases: traffic that changes over a run.

A scenario's base traffic is the config's ``workload`` section, the same
for the whole run.  A :class:`Phase` adds traffic of its own from
``start_s`` to ``end_s``: Poisson arrivals at ``rate_per_s`` (the whole
region's, shared by the client hosts as the base rate is), keys drawn as its
:class:`Keys` say, its own operation mix and item size if given (else the
config's).  Phases overlap the base traffic and each other, so a skewed
workload is written as a background plus the phases that skew it::

    Scenario(..., phases=[
        Phase("hot_range", 300, 900, 400, Keys.hash_range(0.0, 0.125), mix={"put": 1.0}),
        Phase("hot_key", 1000, 1100, 150, Keys.single("k0000042"), item_size_bytes=8192),
    ])

Keys are the workload's own, ``k0000000`` .. ``k{key_count-1}``:

* :meth:`Keys.uniform` -- uniform over them;
* :meth:`Keys.zipf` -- Zipf over them (rank 1 most popular);
* :meth:`Keys.hash_range` -- uniform over those whose partition-key hash
  lies in ``[lo, hi)`` of the hash space, as fractions: a *key range* in
  DynamoDB's sense (a table's partitions split the hash space, so
  ``hash_range(0, 1/8)`` is the first partition of a table of eight);
* :meth:`Keys.single` -- one key.

Every phase draws from streams of its own (``client/<host>/<phase>/...``):
adding a phase never moves the base traffic's draws.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ddbsim.service.messages import OPERATIONS

KEY_KINDS = ("uniform", "zipf", "hash_range", "single")


class PhaseError(ValueError):
    """A phase that cannot be run: one line saying which and why."""


@dataclass(frozen=True)
class Keys:
    """How a phase picks its keys (see the module docstring)."""

    kind: str = "uniform"
    exponent: float = 1.1  # zipf
    lo: float = 0.0  # hash_range, fractions of the hash space
    hi: float = 1.0
    key: str = ""  # single

    @staticmethod
    def uniform() -> Keys:
        return Keys("uniform")

    @staticmethod
    def zipf(exponent: float = 1.1) -> Keys:
        return Keys("zipf", exponent=exponent)

    @staticmethod
    def hash_range(lo: float, hi: float) -> Keys:
        return Keys("hash_range", lo=lo, hi=hi)

    @staticmethod
    def single(key: str) -> Keys:
        return Keys("single", key=key)

    def describe(self) -> str:
        if self.kind == "zipf":
            return f"zipf {self.exponent:g}"
        if self.kind == "hash_range":
            return f"hash range {self.lo:g}-{self.hi:g}"
        if self.kind == "single":
            return f"key {self.key}"
        return "uniform"


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float
    rate_per_s: float
    keys: Keys = field(default_factory=Keys)
    #: operation kind -> share (summing to 1); None: the config's mix
    mix: Mapping[str, float] | None = None
    #: the phase's item size (bytes, as workload.item_size_distribution says); None: the config's
    item_size_bytes: float | None = None

    def __post_init__(self) -> None:
        where = f"phase {self.name!r}"
        if not self.name or "/" in self.name:
            raise PhaseError(f"{where}: a phase needs a name without '/'")
        for name in ("start_s", "end_s", "rate_per_s"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
                    and math.isfinite(value) and float(value) >= 0):
                raise PhaseError(f"{where}: {name} must be a finite number, zero or more, "
                                 f"got {value!r}")
        if not self.end_s > self.start_s:
            raise PhaseError(f"{where}: end_s ({self.end_s}) must be after start_s ({self.start_s})")
        if not isinstance(self.keys, Keys) or self.keys.kind not in KEY_KINDS:
            raise PhaseError(f"{where}: keys must be Keys.uniform(), Keys.zipf(s), "
                             f"Keys.hash_range(lo, hi) or Keys.single(key)")
        k = self.keys
        if k.kind == "hash_range" and not 0.0 <= k.lo < k.hi <= 1.0:
            raise PhaseError(f"{where}: a hash range is 0 <= lo < hi <= 1, got {k.lo}, {k.hi}")
        if k.kind == "zipf" and not k.exponent > 0:
            raise PhaseError(f"{where}: a zipf exponent is above 0, got {k.exponent}")
        if k.kind == "single" and not k.key:
            raise PhaseError(f"{where}: Keys.single needs a key")
        if self.mix is not None:
            unknown = [kind for kind in self.mix if kind not in OPERATIONS]
            if unknown:
                raise PhaseError(f"{where}: unknown operation kinds {', '.join(unknown)}; use "
                                 f"{', '.join(OPERATIONS)}")
            if any(v < 0 for v in self.mix.values()) or abs(sum(self.mix.values()) - 1) > 1e-9:
                raise PhaseError(f"{where}: the mix's shares are zero or more and sum to 1")
        if self.item_size_bytes is not None and not self.item_size_bytes > 0:
            raise PhaseError(f"{where}: item_size_bytes must be above 0")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "start_s": self.start_s, "end_s": self.end_s,
                "rate_per_s": self.rate_per_s, "keys": self.keys.describe(),
                "mix": dict(self.mix) if self.mix is not None else None,
                "item_size_bytes": self.item_size_bytes}


def check_phases(phases: Any, where: str) -> None:
    """Every item is a :class:`Phase` and no two share a name (else a PhaseError)."""
    if not isinstance(phases, (list, tuple)):
        raise PhaseError(f"{where}: phases must be a list of Phase, got {type(phases).__name__}")
    names = set()
    for i, p in enumerate(phases):
        if not isinstance(p, Phase):
            raise PhaseError(f"{where}: phases item {i} is not a Phase: {p!r}")
        if p.name in names or p.name == BACKGROUND:
            raise PhaseError(f"{where}: two phases named {p.name!r} (or the reserved "
                             f"{BACKGROUND!r})")
        names.add(p.name)


#: The name the base traffic goes by beside the phases.
BACKGROUND = "background"
