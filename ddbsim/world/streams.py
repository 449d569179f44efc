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
    """Scalar draws served from batched numpy arrays, one batch per kind.

    The hot path pays one method call and one ``list.pop`` per draw; the
    numpy call that refills a batch is amortised over :data:`_BATCH` draws.
    """

    __slots__ = ("_gen", "_u", "_e", "_n")

    def __init__(self, gen: np.random.Generator) -> None:
        self._gen = gen
        self._u: list[float] = []
        self._e: list[float] = []
        self._n: list[float] = []

    @staticmethod
    def _batch(values: np.ndarray) -> list[float]:
        return values.tolist()[::-1]  # popped from the end: in the order drawn

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        buf = self._u
        if not buf:
            buf = self._u = self._batch(self._gen.random(_BATCH))
        return buf.pop()

    def exponential(self, mean: float) -> float:
        buf = self._e
        if not buf:
            buf = self._e = self._batch(self._gen.standard_exponential(_BATCH))
        return mean * buf.pop()

    def lognormal(self, median: float, sigma: float) -> float:
        if sigma == 0:
            return median
        buf = self._n
        if not buf:
            buf = self._n = self._batch(self._gen.standard_normal(_BATCH))
        return median * math.exp(sigma * buf.pop())

    def lognormal_factors(self, sigma: float) -> list[float]:
        """A batch of ``exp(sigma * z)``, z standard normal, to pop from the
        end: a log-normal draw with median ``m`` is ``m * factors.pop()``.
        For a hot path that draws many log-normals of one shape."""
        return self._batch(np.exp(sigma * self._gen.standard_normal(_BATCH)))

    def choice_index(self, n: int) -> int:
        return int(self.uniform() * n)

    @property
    def generator(self) -> np.random.Generator:
        return self._gen
