"""Named, independent random streams derived from one root seed.

Every component draws from its own stream, named by a stable string
(``"network"``, ``"client/az-1/0"``).  The stream is a numpy ``Generator``
seeded from ``SeedSequence(root_seed, spawn_key=(crc32(name),))``, so adding
a component never shifts the draws of another, and the names -- not Python's
per-process salted string hashing -- fix the streams across processes.

:class:`Draws` hands out scalars from batched numpy draws (a batch of 1024
costs about as much as seven scalar draws).
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

_BATCH = 1024


class Streams:
    """A factory of named ``numpy.random.Generator`` streams."""

    def __init__(self, root_seed: int) -> None:
        if root_seed < 0:
            raise ValueError(f"seed must be zero or more, got {root_seed}")
        self.root_seed = int(root_seed)
        self._made: dict[str, np.random.Generator] = {}

    def stream(self, name: str) -> np.random.Generator:
        """The generator named ``name`` (the same object on every call)."""
        gen = self._made.get(name)
        if gen is None:
            seq = np.random.SeedSequence(self.root_seed, spawn_key=(zlib.crc32(name.encode()),))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._made[name] = gen
        return gen

    def draws(self, name: str) -> Draws:
        return Draws(self.stream(name))


class Draws:
    """Scalar draws served from batched numpy arrays, one batch per kind."""

    __slots__ = ("_gen", "_buffers")

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen
        self._buffers: dict[str, list[Any]] = {}

    def _next(self, kind: str, make: Callable[[int], np.ndarray]) -> float:
        buf = self._buffers.get(kind)
        if buf is None or not buf[0]:
            buf = [make(_BATCH).tolist()[::-1]]
            self._buffers[kind] = buf
        return buf[0].pop()

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        return self._next("u", self._gen.random)

    def exponential(self, mean: float) -> float:
        return mean * self._next("e", self._gen.standard_exponential)

    def lognormal(self, median: float, sigma: float) -> float:
        if sigma == 0:
            return median
        return median * math.exp(sigma * self._next("n", self._gen.standard_normal))

    def choice_index(self, n: int) -> int:
        return int(self.uniform() * n)

    @property
    def generator(self) -> np.random.Generator:
        return self._gen
