"""Named random streams: deterministic per (seed, name), independent, batched."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from ddbsim.world.streams import _BATCH, Draws, Streams


def test_same_seed_and_name_give_the_same_sequence() -> None:
    a = Streams(7).stream("network").random(50)
    b = Streams(7).stream("network").random(50)
    assert np.array_equal(a, b)


def test_stream_is_cached_per_name() -> None:
    s = Streams(7)
    assert s.stream("x") is s.stream("x")
    first = s.stream("x").random(3)
    # Asking again continues the same generator rather than restarting it.
    assert not np.array_equal(s.stream("x").random(3), first)


def test_stream_matches_the_documented_derivation() -> None:
    seq = np.random.SeedSequence(42, spawn_key=(zlib.crc32(b"client/az-1/0"),))
    expected = np.random.Generator(np.random.PCG64(seq)).random(10)
    assert np.array_equal(Streams(42).stream("client/az-1/0").random(10), expected)


def test_different_names_and_seeds_give_different_sequences() -> None:
    s = Streams(7)
    a = s.stream("network").random(20)
    b = s.stream("storage/az-1/r1/h1").random(20)
    c = Streams(8).stream("network").random(20)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(set(a.tolist()) & set(b.tolist())) == 0


def test_adding_a_stream_does_not_shift_another() -> None:
    alone = Streams(3)
    expected = alone.stream("target").random(100)

    crowded = Streams(3)
    for i in range(20):  # new components created first, and drawing heavily
        crowded.stream(f"other/{i}").random(1000)
    interleaved = []
    for _ in range(10):
        interleaved.extend(crowded.stream("target").random(10).tolist())
        crowded.stream("late-comer").random(7)
    assert np.array_equal(np.array(interleaved), expected)


def test_negative_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match="seed must be zero or more, got -1"):
        Streams(-1)
    assert Streams(0).root_seed == 0


def _gen(seed: int = 11, name: str = "d") -> np.random.Generator:
    return Streams(seed).stream(name)


def test_draws_uniform_equals_numpy_batches() -> None:
    d = Draws(_gen())
    got = [d.uniform() for _ in range(_BATCH + 5)]
    ref = _gen()
    expected = ref.random(_BATCH).tolist() + ref.random(_BATCH).tolist()[:5]
    assert got == expected
    assert all(0.0 <= u < 1.0 for u in got)


def test_draws_exponential_and_lognormal_equal_numpy_batches() -> None:
    d = Draws(_gen())
    exps = [d.exponential(2.5) for _ in range(10)]
    logs = [d.lognormal(0.001, 0.25) for _ in range(10)]
    ref = _gen()
    # One batch per kind, made on first use, from the same generator in that order.
    e = ref.standard_exponential(_BATCH)[:10]
    n = ref.standard_normal(_BATCH)[:10]
    assert exps == pytest.approx((2.5 * e).tolist(), rel=1e-15)
    assert logs == pytest.approx((0.001 * np.exp(0.25 * n)).tolist(), rel=1e-12)


def test_draws_kinds_keep_separate_buffers() -> None:
    d = Draws(_gen())
    u1 = d.uniform()
    d.exponential(1.0)
    u2 = d.uniform()
    ref = _gen().random(2).tolist()
    assert [u1, u2] == ref


def test_lognormal_with_zero_sigma_is_the_median_and_draws_nothing() -> None:
    d = Draws(_gen())
    assert d.lognormal(0.004, 0.0) == 0.004
    assert d.uniform() == _gen().random(1)[0]


def test_choice_index_is_in_range_and_uses_uniform() -> None:
    d = Draws(_gen())
    picks = [d.choice_index(7) for _ in range(2000)]
    assert min(picks) == 0 and max(picks) == 6
    ref = _gen().random(2000)
    assert picks == [int(u * 7) for u in ref.tolist()]


def test_streams_draws_wraps_the_named_stream() -> None:
    s = Streams(5)
    d = s.draws("w")
    assert d.generator is s.stream("w")
    assert d.uniform() == Streams(5).stream("w").random(_BATCH)[0]


_SNIPPET = """
import sys
from ddbsim.config import Config
from ddbsim.service.service import Service
from ddbsim.world import Streams, World
s = Streams(2024)
names = {"network", "client/az-1/client-1", "storage/az-2/r1/h3", "lab/faults"}
out = []
for name in sorted(names):
    d = s.draws(name)
    out.append([d.uniform(), d.exponential(1.0), d.lognormal(1.0, 0.3)])
# A short run of the real region: every message time depends on the streams.
cfg = Config()
world = World(cfg, 3)
Service(world, cfg)
world.env.run(until=3.0)
out.append([world.network.sent, world.network.dropped, world.env.now])
print(repr(out))
"""


def test_draws_are_identical_across_processes_with_different_hash_seeds() -> None:
    outputs = []
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run([sys.executable, "-c", _SNIPPET], capture_output=True, text=True,
                              env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                                  os.path.abspath(__file__)))), timeout=60)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("[") > 4  # real numbers were printed
    # The region did send messages (heartbeats) in those three seconds.
    last = ast.literal_eval(outputs[0])[-1]
    assert last[0] > 0
