"""Sweeps: one scenario script over many seeds and a grid of config overrides.

A sweep is the cartesian product of **seeds** and **grid points** (every
combination of ``--grid key=v1,v2`` lists), on top of base ``--set``
overrides.  Each product element is a :class:`Task` with a stable string key
(``seed=3 replication.lease_s=3``: the seed, then every override sorted by
key), and tasks run seed by seed, grid points in the order given, so a sweep
stopped half way has compared every grid point on the seeds it finished.

**Where tasks run.**  :func:`run_task` is a top-level function, so it
pickles by reference: it loads the scenario script by absolute path inside
the worker (``ddbsim.lab.scenario.load``/``build``), runs every variant on
the task's seed (``run_all``) and returns a JSON-safe record; an exception in
the simulation becomes a record with status ``"error"`` and the full
traceback, so one bad seed never stops a sweep.  Workers are local processes
(``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method:
fresh interpreters, like Dask's workers, and no ``fork`` of a process that
holds threads) or the workers of a Dask cluster (``distributed.Client``).
``distributed`` is an optional extra, imported only when ``--dask`` is used.

**Records.**  One JSON object per line: the scenario path as given, its
name, the task key, seed, overrides (base sets and grid values) and grid
values; ``status`` (``ok``; ``failed`` -- some check's ``valid`` is False
in the headline result or any variant; ``error`` -- an exception); the
failed checks (``variant/check`` when the scenario has variants); ``checks``
(name -> valid: True, False or "unknown"); ``figures``, every finite number
of the result's nested dicts flattened to dotted names
(``availability.overall``, ``latency_ms.get.p99``,
``checks.durability.lost_writes``; lists and the config skipped; prefixed
``variant/`` when there are variants); ``error`` (the traceback or None);
``reproduce``, the ``ddbsim run`` command that reproduces the task;
``wall_s``, the task's wall-clock seconds -- the only wall-clock figure in a
sweep, excluded when comparing records and never used in the summary;
``scenario_sha256``, the hash of the scenario file's bytes the task ran; and
``ddbsim_sha256``, the hash of the simulator's source that ran it.

**Resume.**  Records are appended to the output file as tasks finish, one
flushed line each.  On start the file is read back: a task whose key has a
record is skipped (and still counted in the summary).  A last line that is
cut short (the process was killed mid-write) is dropped, and the file is
rewritten without it before anything is appended; a bad line anywhere else,
or a record of another scenario (by the name its ``build_scenario`` gives),
is a user error: a sweep never mixes two experiments in one file; so is a
file that is not UTF-8 text, and a last line that is not JSON yet could not
be a record cut short (it does not start as one, or it ends with a newline):
a file that is not a results file is never rewritten.  A record made from
another version of the scenario file (its ``scenario_sha256`` differs, or is
missing) or by another version of ddbsim (its ``ddbsim_sha256``) is kept in
the file but not reused: its task runs again, and a note says so -- a rerun
after a fix must not report the old code's verdicts.  A task recorded as
``error`` is kept, not retried, unless ``retry_errors`` is set (its old
record is then removed from the file before the task runs again).
Duplicate keys among the records of one version of the file, which this
module never writes, resolve to the last record.

**Summary.**  For each grid point: the tasks, their ok/failed/error counts,
and for each figure its mean over the tasks that have it, with a two-sided
95% confidence interval from Student's t: mean +- t(0.975, n-1) * s /
sqrt(n), ``s`` the sample standard deviation.  The t quantile comes from an
embedded table (exact to 4 decimals for df 1..30, plus df 40, 60 and 120),
interpolated linearly in 1/df between entries and towards the normal
quantile 1.95996 as df grows -- the classical table method, within 0.001 of
the exact quantile everywhere.  With n = 1 there is a mean and no interval.
Then the failing and errored tasks, each with its failed checks or the last
line of its traceback and its reproduce command.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import numbers
import os
import shlex
import signal
import sys
import time
import traceback
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ddbsim.config import ConfigError, parse_assignments
from ddbsim.lab.experiment import check_setup, run_all
from ddbsim.lab.faults import FaultError
from ddbsim.lab.frames import summary_frame as frames_summary
from ddbsim.lab.frames import sweep_frame
from ddbsim.lab.scenario import (
    ScenarioError,
    build,
    content_hash,
    load,
    load_scenarios,
    parse_params,
    resolve,
    source_hash,
)
from ddbsim.service.probes import PROBES

if TYPE_CHECKING:
    import pandas as pd

DASK_HINT = "install the dask extra: pip install 'ddbsim[dask]'"

OK, FAILED, ERROR = "ok", "failed", "error"

#: The most seeds, and tasks, one sweep takes: beyond, a typo (0:100000000)
#: would fill the memory before anything runs.
MAX_SEEDS = 100_000
MAX_TASKS = 1_000_000

#: How every record's line starts (its first key): a cut-short last line
#: is a prefix of a record, anything else means the file is not a results file.
_RECORD_START = '{"scenario": '

#: Shown first, in this order (per variant); the rest follow with ``all_figures``.
HEADLINE = (
    "availability.overall", "availability.read", "availability.write",
    "requests.total", "requests.error", "requests.throttled",
    "latency_ms.get.p99", "latency_ms.put.p99",
    "leaders.changes", "leaders.failover_s.max", "checks.durability.lost_writes",
)

# Top-level result keys that are not figures of the run: its identity and inputs.
_NOT_FIGURES = ("config", "seed", "duration_s", "variants", "probes")

# Two-sided 95% Student t quantiles, t(0.975, df).
_T975 = {
    1: 12.7062, 2: 4.3027, 3: 3.1824, 4: 2.7764, 5: 2.5706, 6: 2.4469, 7: 2.3646, 8: 2.3060,
    9: 2.2622, 10: 2.2281, 11: 2.2010, 12: 2.1788, 13: 2.1604, 14: 2.1448, 15: 2.1314,
    16: 2.1199, 17: 2.1098, 18: 2.1009, 19: 2.0930, 20: 2.0860, 21: 2.0796, 22: 2.0739,
    23: 2.0687, 24: 2.0639, 25: 2.0595, 26: 2.0555, 27: 2.0518, 28: 2.0484, 29: 2.0452,
    30: 2.0423, 40: 2.0211, 60: 2.0003, 120: 1.9799,
}
_Z975 = 1.95996


class SweepError(ValueError):
    """A user mistake in a sweep's arguments or output file: one line, no traceback."""


# ----------------------------------------------------------------------
# seeds, grid, tasks
# ----------------------------------------------------------------------
def parse_seeds(text: str) -> list[int]:
    """``A:B`` (half-open, like ``range``), ``N``, or a comma list of those.

    Returns the distinct seeds in increasing order.
    """
    seeds: list[int] = []
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise SweepError("--seeds is empty; give A:B, N or a comma list such as 1,4,10:20")
    for part in parts:
        if not part:
            raise SweepError(f"--seeds {text!r} has an empty item; use e.g. 1,4,10:20")
        bounds = part.split(":")
        if len(bounds) > 2:
            raise SweepError(f"--seeds item {part!r} is not N or A:B (half-open, like range)")
        try:
            numbers_ = [int(b.strip()) for b in bounds]
        except ValueError:
            raise SweepError(f"--seeds item {part!r} is not N or A:B of whole numbers, "
                             "e.g. 0:200 or 1,4,10:20") from None
        if any(n < 0 for n in numbers_):
            raise SweepError(f"--seeds item {part!r}: seeds must be zero or more")
        if len(numbers_) == 1:
            seeds.append(numbers_[0])
        else:
            lo, hi = numbers_
            if hi <= lo:
                raise SweepError(f"--seeds range {part!r} is empty (A:B runs A up to B-1)")
            if len(seeds) + hi - lo > MAX_SEEDS:
                raise SweepError(f"--seeds {text!r} makes more than {MAX_SEEDS:,} seeds; "
                                 "sweep fewer at a time")
            seeds.extend(range(lo, hi))
    return sorted(set(seeds))


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """``["replication.lease_s=2,3", ...]`` -> ``{"replication.lease_s": ["2", "3"]}``,
    keys and values in the order given."""
    grid: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            raise SweepError(f"--grid takes key=v1,v2,..., got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise SweepError(f"--grid {item!r} has no key; use key=v1,v2")
        values = [v.strip() for v in raw.split(",")]
        if not any(values):
            raise SweepError(f"--grid {key} has no values; use {key}=v1,v2")
        if not all(values):
            raise SweepError(f"--grid {key} has an empty value in {raw!r}; use {key}=v1,v2")
        if key in grid:
            raise SweepError(f"--grid {key} is given twice; list all its values in one --grid")
        if len(set(values)) != len(values):
            raise SweepError(f"--grid {key} repeats a value in {raw!r}")
        grid[key] = values
    return grid


def grid_points(grid: Mapping[str, Sequence[str]]) -> list[tuple[tuple[str, str], ...]]:
    """Every combination of the grid's values, the first key varying slowest."""
    keys = list(grid)
    return [tuple(zip(keys, combo, strict=True))
            for combo in itertools.product(*(grid[k] for k in keys))]


def _kv(key: str, value: str) -> str:
    return shlex.quote(f"{key}={value}")


def task_key(seed: int, overrides: Sequence[tuple[str, str]]) -> str:
    """``seed=3 replication.lease_s=3``: the seed, then the overrides as given (sorted)."""
    return " ".join([f"seed={seed}", *(_kv(k, v) for k, v in overrides)])


def reproduce_command(scenario: str, seed: int, overrides: Sequence[tuple[str, str]],
                      params: Sequence[str] = ()) -> str:
    """The ``ddbsim run`` command that reproduces one task."""
    parts = ["ddbsim run", shlex.quote(scenario), f"--seed {seed}"]
    parts += [f"--param {shlex.quote(p)}" for p in params]
    parts += [f"--set {_kv(k, v)}" for k, v in overrides]
    return " ".join(parts)


def point_label(grid: Sequence[tuple[str, str]]) -> str:
    return " ".join(f"{k}={v}" for k, v in grid) if grid else "(no grid)"


@dataclass(frozen=True)
class Task:
    """One run of a sweep: a seed and the overrides of one grid point."""

    seed: int
    overrides: tuple[tuple[str, str], ...]  # base sets and grid values, sorted by key
    grid: tuple[tuple[str, str], ...] = ()  # this grid point's values, in grid order
    #: ``--param name=value`` items for the scenario's build_scenario, as given
    #: (the same for every task of a sweep)
    params: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return task_key(self.seed, self.overrides)

    @property
    def point(self) -> str:
        return point_label(self.grid)

    def reproduce(self, scenario: str) -> str:
        return reproduce_command(scenario, self.seed, self.overrides, self.params)


def expand(seeds: Sequence[int], base: Mapping[str, str],
           grid: Mapping[str, Sequence[str]], params: Sequence[str] = ()) -> list[Task]:
    """Seeds x grid points, seed by seed; a grid value replaces a base set of
    the same key.  ``params`` (``--param`` items) go with every task."""
    points = grid_points(grid)
    tasks = []
    for seed in seeds:
        for point in points:
            merged = {**base, **dict(point)}
            tasks.append(Task(seed, tuple(sorted(merged.items())), point, tuple(params)))
    return tasks


# ----------------------------------------------------------------------
# the spec: everything validated before anything runs
# ----------------------------------------------------------------------
@dataclass
class SweepSpec:
    scenario: str  # as the user gave it: used in records and reproduce commands
    path: str  # absolute: what workers load
    name: str  # the scenario's name, from build_scenario(): a results file's identity
    tasks: list[Task]
    seeds: list[int]
    base: dict[str, str]
    grid: dict[str, list[str]]
    #: the SHA-256 of the scenario file's bytes, stored in every record: a
    #: record made from another version of the file is not reused ("" = unchecked)
    content: str = ""
    #: the SHA-256 of the simulator's source, stored in every record: a record
    #: made by other code is not reused either ("" = unchecked)
    code: str = ""


def resolve_scenario(scenario: str) -> Path:
    """The file a scenario argument names (a path, or a name in scenarios/), absolute."""
    return resolve(scenario).resolve()


def prepare(scenario: str, seeds: str | Sequence[int], sets: Sequence[str] = (),
            grid: Sequence[str] = (), params: Sequence[str] = ()) -> SweepSpec:
    """Parse and validate a sweep: the seeds, the overrides, the scenario file
    and its ``--param`` values (``params``: ``name=value`` items),
    and every grid point's config for every variant (a ConfigError names the
    key and suggests the closest), and its fault schedule on the first seed
    (a fault naming an AZ that does not exist is one error here, not one
    per task)."""
    if isinstance(seeds, str):
        seed_list = parse_seeds(seeds)
    else:
        seed_list = sorted(set(seeds))
        if any(isinstance(s, bool) or not isinstance(s, numbers.Integral) for s in seed_list):
            raise SweepError(f"seeds must be whole numbers, got {seed_list[:5]!r}")
    if not seed_list or any(s < 0 for s in seed_list):
        raise SweepError("seeds must be a non-empty list of numbers that are zero or more")
    if len(seed_list) > MAX_SEEDS:
        raise SweepError(f"{len(seed_list):,} seeds is more than {MAX_SEEDS:,}; "
                         "sweep fewer at a time")
    base = parse_assignments(list(sets))
    grid_map = parse_grid(grid)
    clash = [k for k in grid_map if k in base]
    if clash:
        key = clash[0]
        raise SweepError(f"--set {key}={base[key]} conflicts with --grid {key}: the grid would "
                         "replace it; give the key in one of them only")
    n_points = math.prod(len(v) for v in grid_map.values())
    if len(seed_list) * n_points > MAX_TASKS:
        raise SweepError(f"{len(seed_list):,} seeds x {n_points:,} grid points makes more than "
                         f"{MAX_TASKS:,} tasks; sweep fewer at a time")
    path = resolve_scenario(scenario)
    param_items = tuple(item.strip() for item in params)
    scenarios = load_scenarios(path, param_items)
    checked: set[tuple[int, Any]] = set()
    for point in grid_points(grid_map):
        overrides = {**base, **dict(point)}
        for i, s in enumerate(scenarios):
            try:
                cfg = s.config(overrides)
            except ConfigError as exc:
                named = any(k in str(exc) for k, _v in point)
                where = f" (grid point {point_label(point)})" if named else ""
                raise ConfigError(f"{exc}{where}") from None
            if (i, cfg) not in checked:
                checked.add((i, cfg))
                _check_faults(s, cfg, seed_list[0], point)
    return SweepSpec(scenario=scenario, path=str(path), name=scenarios[0].name,
                     tasks=expand(seed_list, base, grid_map, param_items), seeds=seed_list,
                     base=base, grid=grid_map, content=_content(path, param_items),
                     code=code_hash())


@functools.cache
def code_hash() -> str:
    """SHA-256 of the ddbsim package's source (every ``.py`` file, in sorted
    order of their paths): which simulator a record came from."""
    root = Path(__file__).resolve().parents[1]
    return source_hash(root, sorted(root.rglob("*.py")))


def _content(path: Path, params: Sequence[str]) -> str:
    """What a record must have been made from to be reused: the scenario
    file's bytes and, if any, the ``--param`` values."""
    digest = content_hash(path)
    if not params:
        return digest
    return hashlib.sha256(f"{digest}\n{json.dumps(list(params))}".encode()).hexdigest()


def _check_faults(scenario: Any, cfg: Any, seed: int, point: Sequence[tuple[str, str]]) -> None:
    """Set up (not run) one task, as ``ddbsim run`` does before running:
    its fault schedule is drawn and validated.  A user mistake is raised;
    any other exception is left to the tasks, which record it."""
    try:
        check_setup(scenario, cfg, seed)
    except (FaultError, ScenarioError) as exc:
        where = f" (grid point {point_label(point)})" if point else ""
        raise type(exc)(f"{scenario.name}: {exc}{where}") from exc
    except Exception:  # noqa: BLE001 -- the tasks record it, seed by seed
        pass


def check_writable(path: str | Path, option: str) -> None:
    """A file can be written at ``path``: a name is given, its folder exists,
    it is not a folder, and it can be opened for writing (tried without
    changing an existing file's bytes; a file created for the try is removed)."""
    if not str(path).strip():
        raise SweepError(f"{option} needs a file name, got an empty one")
    p = Path(path)
    if p.is_dir():
        raise SweepError(f"{option} {path} is a folder; give a file name")
    if not p.parent.is_dir():
        raise SweepError(f"{option} {path}: no folder {p.parent} (create it first)")
    existed = p.exists()
    try:
        with open(p, "ab"):
            pass
    except OSError as exc:
        raise SweepError(f"{option} {path} cannot be written: {exc.strerror or exc}") from None
    if not existed:
        p.unlink(missing_ok=True)


def require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise SweepError(DASK_HINT) from None


# ----------------------------------------------------------------------
# one task -> one record
# ----------------------------------------------------------------------
def flatten_figures(data: Mapping[str, Any], prefix: str = "") -> dict[str, int | float]:
    """Every finite number in the result's nested dicts, by dotted name.

    Lists (windows, faults, healing, ...) and strings are skipped, booleans
    too (check verdicts are kept apart), and so are the config and the run's
    identity (seed, duration).
    """
    out: dict[str, int | float] = {}

    def walk(obj: Mapping[str, Any], path: str) -> None:
        for k, v in obj.items():
            name = f"{path}.{k}" if path else str(k)
            if isinstance(v, bool) or v is None:
                continue
            if isinstance(v, numbers.Integral):
                out[prefix + name] = int(v)
            elif isinstance(v, numbers.Real):
                x = float(v)
                if math.isfinite(x):
                    out[prefix + name] = x
            elif isinstance(v, Mapping):
                walk(v, name)

    walk({k: v for k, v in data.items() if k not in _NOT_FIGURES}, "")
    return out


def _base_record(scenario: str, name: str, task: Task) -> dict[str, Any]:
    return {"scenario": scenario, "name": name, "key": task.key, "seed": task.seed,
            "overrides": dict(task.overrides), "grid": dict(task.grid)}


def record_from_result(result: Any, scenario: str, task: Task) -> dict[str, Any]:
    """The record of a finished run (a :class:`~ddbsim.lab.result.Result`)."""
    parts = result.variants or [result]
    several = len(parts) > 1
    checks: dict[str, Any] = {}
    failed: list[str] = []
    figures: dict[str, int | float] = {}
    hits: dict[str, int] = {}
    for i, part in enumerate(parts):
        data = part.data
        for probe, n in (data.get("probes") or {}).items():
            hits[probe] = hits.get(probe, 0) + n
        prefix = f"{data.get('variant') or f'variant{i}'}/" if several else ""
        for check, verdict in data.get("checks", {}).items():
            valid = verdict.get("valid") if isinstance(verdict, Mapping) else verdict
            checks[prefix + check] = valid
            if valid is False:
                failed.append(prefix + check)
        figures.update(flatten_figures(data, prefix))
    rec = _base_record(scenario, result.data["scenario"], task)
    rec.update({"status": FAILED if failed else OK, "failed_checks": failed, "checks": checks,
                "figures": figures, "error": None, "reproduce": task.reproduce(scenario),
                "probes": hits})
    return rec


def error_record(scenario: str, name: str, task: Task, error: str,
                 wall_s: float | None = None) -> dict[str, Any]:
    """The record of a task that raised (in the run, or on its way back)."""
    rec = _base_record(scenario, name, task)
    rec.update({"status": ERROR, "failed_checks": [], "checks": {}, "figures": {}, "error": error,
                "reproduce": task.reproduce(scenario), "wall_s": wall_s})
    return rec


def run_task(path: str, scenario: str, name: str, task: Task) -> dict[str, Any]:
    """Run one task in a worker: load the script at ``path`` (absolute), run
    every variant on the task's seed, and return its record.  Never raises
    for a failure of the run: that is a record with status ``"error"``."""
    start = time.perf_counter()  # wall-clock ok
    try:
        builder, _doc = load(path)
        params = parse_params(builder, list(task.params), scenario)
        result = run_all(build(builder, params), task.seed, dict(task.overrides))
        rec = record_from_result(result, scenario, task)
    except Exception:
        rec = error_record(scenario, name, task, traceback.format_exc())
    rec["wall_s"] = round(time.perf_counter() - start, 4)  # wall-clock ok
    return rec


def comparable(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record without its wall-clock seconds: what must be the same run to run."""
    return {k: v for k, v in record.items() if k != "wall_s"}


def last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


# ----------------------------------------------------------------------
# the results file
# ----------------------------------------------------------------------
@dataclass
class Loaded:
    records: dict[str, dict[str, Any]]  # by key, in file order
    rewrite: bool  # the file must be rewritten (a cut last line, dropped errors, duplicates)
    dropped_partial: bool = False
    dropped_errors: int = 0
    #: records made from another version of the scenario file (or before
    #: records carried its hash): kept in the file, not reused
    stale: list[dict[str, Any]] = field(default_factory=list)


def _not_a_results_file(out: Path, why: str) -> SweepError:
    return SweepError(f"{out} is not a ddbsim results file ({why}); "
                      "move it away or choose another --out")


def load_records(out: Path, name: str, retry_errors: bool = False,
                 content: str | None = None, code: str | None = None) -> Loaded:
    """Read an existing results file for resuming (see the module docstring).

    With ``content`` (a scenario file's hash), a record whose
    ``scenario_sha256`` differs goes to ``stale``, not ``records``; with
    ``code`` (the simulator's hash), likewise one whose ``ddbsim_sha256``
    differs.  The file is never changed here.
    """
    if not out.exists():
        return Loaded({}, False)
    try:
        text = out.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise _not_a_results_file(out, "not UTF-8 text") from None
    lines = text.split("\n")
    rewrite = bool(lines[-1])  # no newline at the end: the last line was cut short
    numbered = [(i, ln) for i, ln in enumerate(lines, 1) if ln.strip()]
    records: dict[str, dict[str, Any]] = {}
    stale: list[dict[str, Any]] = []
    dropped_partial = False
    for pos, (lineno, line) in enumerate(numbered):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            cut_short = pos == len(numbered) - 1 and rewrite and (
                line.startswith(_RECORD_START) or _RECORD_START.startswith(line))
            if cut_short:  # killed mid-write: drop it
                dropped_partial = True
                continue
            raise SweepError(f"{out}:{lineno} is not a sweep record (not JSON); "
                             "move the file away or choose another --out") from None
        if not (isinstance(rec, dict) and isinstance(rec.get("key"), str) and "status" in rec
                and "name" in rec):
            raise SweepError(f"{out}:{lineno} is not a sweep record; "
                             "move the file away or choose another --out")
        if rec["name"] != name:
            raise SweepError(f"{out} holds results of scenario {rec['name']!r}, not {name!r}; "
                             "choose another --out or move the file away")
        if (content is not None and rec.get("scenario_sha256") != content) or (
                code is not None and rec.get("ddbsim_sha256") != code):
            stale.append(rec)
            continue
        if rec["key"] in records:
            rewrite = True
            del records[rec["key"]]
        records[rec["key"]] = rec
    dropped_errors = 0
    if retry_errors:
        for key in [k for k, r in records.items() if r["status"] == ERROR]:
            del records[key]
            dropped_errors += 1
        rewrite = rewrite or dropped_errors > 0
    return Loaded(records, rewrite, dropped_partial, dropped_errors, stale)


def load_frame(path: str | Path) -> pd.DataFrame:
    """A sweep's JSON Lines file as a pandas DataFrame, one row per record
    in file order (the last record of a key; a cut-short last line is
    skipped): see :func:`ddbsim.lab.frames.sweep_frame` for the columns.
    pandas is an optional extra (``pip install 'ddbsim[frames]'``)."""
    out = Path(path)
    if not out.is_file():
        raise SweepError(f"no sweep results file {path}")
    first = next((ln for ln in out.read_text(encoding="utf-8").splitlines() if ln.strip()), None)
    try:
        name = json.loads(first)["name"] if first is not None else ""
    except (json.JSONDecodeError, TypeError, KeyError):
        raise SweepError(f"{path}:1 is not a sweep record") from None
    return sweep_frame(load_records(out, name).records.values())


def summary_frame(summary: Mapping[str, Any], all_figures: bool = False) -> pd.DataFrame:
    """A sweep's summary (``Outcome.summary()``) as a DataFrame: per grid
    point and figure the mean and its 95% interval (see
    :func:`ddbsim.lab.frames.summary_frame`)."""
    return frames_summary(summary, all_figures)


def _dumps(record: Mapping[str, Any]) -> str:
    return json.dumps(record, allow_nan=False)


def rewrite_records(out: Path, records: Mapping[str, Mapping[str, Any]],
                    stale: Sequence[Mapping[str, Any]] = ()) -> None:
    """Replace the file with these records (after the stale ones), atomically."""
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for rec in [*stale, *records.values()]:
            fh.write(_dumps(rec) + "\n")
    os.replace(tmp, out)


# ----------------------------------------------------------------------
# executors: each yields records as tasks finish
# ----------------------------------------------------------------------
def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_local(spec: SweepSpec, tasks: Sequence[Task], workers: int) -> Generator[dict[str, Any], None, None]:
    import concurrent.futures as cf
    import multiprocessing as mp

    pool = cf.ProcessPoolExecutor(max_workers=max(1, min(workers, len(tasks))),
                                  mp_context=mp.get_context("spawn"), initializer=_ignore_sigint)
    finished = False
    try:
        futures = {pool.submit(run_task, spec.path, spec.scenario, spec.name, t): t for t in tasks}
        for fut in cf.as_completed(futures):
            task = futures[fut]
            try:
                rec = fut.result()
            except Exception:  # the record could not come back (pickling, a dead worker)
                rec = error_record(spec.scenario, spec.name, task, traceback.format_exc())
            yield rec
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted: stop now; finished records are already on disk
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for p in processes:
                if p.is_alive():
                    p.terminate()


def _dask_client(address: str) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address``."""
    try:
        import distributed
    except ImportError:
        raise SweepError(DASK_HINT) from None
    try:
        return distributed.Client(address)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _dask_timeout() -> str:
    """How long ``distributed.Client`` waits for a scheduler to answer (its
    ``distributed.comm.timeouts.connect`` setting)."""
    try:
        import dask

        return str(dask.config.get("distributed.comm.timeouts.connect"))
    except Exception:  # not installed or not set: distributed's default
        return "30s"


def _run_dask(spec: SweepSpec, tasks: Sequence[Task], client: Any) -> Generator[dict[str, Any], None, None]:
    import distributed

    finished = False
    futures: list[Any] = []
    try:
        by_key: dict[str, Task] = {}
        for t in tasks:
            fut = client.submit(run_task, spec.path, spec.scenario, spec.name, t, pure=False)
            by_key[fut.key] = t
            futures.append(fut)
        for fut in distributed.as_completed(futures):
            task = by_key[fut.key]
            try:
                rec = fut.result()
            except Exception:
                rec = error_record(spec.scenario, spec.name, task, traceback.format_exc())
            yield rec
        finished = True
    finally:
        if not finished:  # interrupted: drop what is queued (run_sweep closes the client)
            client.cancel(futures)


# ----------------------------------------------------------------------
# the sweep
# ----------------------------------------------------------------------
@dataclass
class Outcome:
    spec: SweepSpec
    out: Path
    records: dict[str, dict[str, Any]]  # every record in the file, by key
    already_done: int  # tasks of this sweep found in the file at the start
    ran: int  # tasks run now
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return summarize(self.spec, self.records, self.already_done, self.ran, self.interrupted,
                         out=str(self.out))

    @property
    def done(self) -> int:
        return sum(1 for t in self.spec.tasks if t.key in self.records)


def run_sweep(spec: SweepSpec, out: str | Path, workers: int | None = None,
              dask: str | None = None, retry_errors: bool = False,
              progress: bool | None = None, notes: TextIO | None = None,
              note_every: int | None = None) -> Outcome:
    """Run the tasks of ``spec`` not yet in ``out``, appending their records.

    ``progress``: True shows a tqdm bar on stderr, False hides it, None shows
    it only when stderr is a terminal.  ``notes`` receives one-line notes
    (what is being resumed, what is being waited for) and, when there is no
    bar and ``progress`` is not False, a line every ``note_every`` finished
    runs (default: about ten lines in all).  KeyboardInterrupt stops the
    sweep cleanly; the outcome says so (``interrupted``).
    """
    out = Path(out)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise SweepError(f"--workers must be 1 or more, got {workers}")
    if dask is not None:
        require_dask()
    check_writable(out, "--out")
    loaded = load_records(out, spec.name, retry_errors, spec.content or None,
                          spec.code or None)
    if loaded.rewrite:
        rewrite_records(out, loaded.records, loaded.stale)
    records = loaded.records
    todo = [t for t in spec.tasks if t.key not in records]
    already = len(spec.tasks) - len(todo)
    outcome = Outcome(spec, out, records, already, 0)

    def note(text: str) -> None:
        outcome.notes.append(text)
        if notes is not None:
            print(f"ddbsim: {text}", file=notes, flush=True)

    if loaded.dropped_partial:
        note(f"dropped a cut-short last line of {out}")
    if loaded.dropped_errors:
        note(f"retrying {loaded.dropped_errors} errored task(s)")
    if loaded.stale:
        unhashed = sum(1 for r in loaded.stale if "scenario_sha256" not in r)
        why = "an older ddbsim that did not record the file's hash" if unhashed == len(
            loaded.stale) else (f"a different version of {spec.scenario} or of ddbsim "
                                "(edited since) or other --param values")
        note(f"{_plural(len(loaded.stale), 'earlier record')} in {out} came from {why}; "
             "kept in the file but not reused: those tasks run again")
    if dask is not None and todo:
        note(f"connecting to the Dask scheduler at {dask} (waiting up to {_dask_timeout()} "
             "for it to answer)")
    client = _dask_client(dask) if dask is not None and todo else None
    where = f"the Dask cluster at {dask}" if dask else \
        _plural(min(workers, max(1, len(todo))), "local worker")
    if already and not todo:
        note(f"all {already} tasks already done in {out}; nothing to run")
    elif already:
        note(f"{already} of {len(spec.tasks)} tasks already done in {out}; "
             f"running the other {len(todo)} on {where}")
    else:
        note(f"running {len(todo)} tasks ({_plural(len(spec.seeds), 'seed')} x "
             f"{_plural(len(grid_points(spec.grid)), 'grid point')}) on {where}; "
             f"records go to {out}")
    if not todo:
        return outcome

    from tqdm import tqdm

    bad = {FAILED: 0, ERROR: 0}
    for t in spec.tasks:
        rec = records.get(t.key)
        if rec is not None and rec["status"] in bad:
            bad[rec["status"]] += 1
    show_bar = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=len(spec.tasks), initial=already, desc=spec.name, unit="run",
               file=sys.stderr, disable=not show_bar, dynamic_ncols=True)
    # Without a bar (in a pipe, a log file), a line every `every` runs instead.
    every = (note_every or max(1, math.ceil(len(todo) / 10))) \
        if not show_bar and progress is not False and notes is not None else 0
    stream = _run_dask(spec, todo, client) if client is not None else \
        _run_local(spec, todo, workers)
    try:
        with open(out, "a", encoding="utf-8") as fh:
            for rec in stream:
                if spec.content:
                    rec["scenario_sha256"] = spec.content
                if spec.code:
                    rec["ddbsim_sha256"] = spec.code
                fh.write(_dumps(rec) + "\n")
                fh.flush()
                records[rec["key"]] = rec
                outcome.ran += 1
                if rec["status"] in bad:
                    bad[rec["status"]] += 1
                bar.set_postfix_str(f"failed {bad[FAILED]} error {bad[ERROR]}", refresh=False)
                bar.update(1)
                if every and (outcome.ran % every == 0 or outcome.ran == len(todo)):
                    note(f"{already + outcome.ran} of {len(spec.tasks)} runs done "
                         f"(failed {bad[FAILED]}, error {bad[ERROR]})")
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        stream.close()
        bar.close()
        if client is not None:
            client.close()
    return outcome


# ----------------------------------------------------------------------
# statistics and the summary
# ----------------------------------------------------------------------
def t_quantile(df: int) -> float:
    """Two-sided 95% Student t quantile t(0.975, df), from the embedded table
    interpolated in 1/df (see the module docstring)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be 1 or more, got {df}")
    if df in _T975:
        return _T975[df]
    anchors = sorted(_T975)
    lo = max(a for a in anchors if a < df)
    hi = min((a for a in anchors if a > df), default=None)
    t_lo = _T975[lo]
    if hi is None:  # beyond the table: towards the normal quantile at 1/df = 0
        return _Z975 + (t_lo - _Z975) * (lo / df)
    t_hi = _T975[hi]
    w = (1 / lo - 1 / df) / (1 / lo - 1 / hi)
    return t_lo + (t_hi - t_lo) * w


def mean_ci(values: Sequence[float]) -> tuple[float, float | None]:
    """Mean and half-width of the 95% t interval (None with one value)."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = math.fsum(values) / n
    if n == 1:
        return mean, None
    var = math.fsum((x - mean) ** 2 for x in values) / (n - 1)
    return mean, t_quantile(n - 1) * math.sqrt(var / n)


def _figure_order(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """(headline, rest): per variant prefix in order of appearance, the
    headline figures in HEADLINE order, then the others as they appear."""
    prefixes: list[str] = []
    for n in names:
        p = n.split("/", 1)[0] + "/" if "/" in n else ""
        if p not in prefixes:
            prefixes.append(p)
    present = set(names)
    head, rest = [], []
    for p in prefixes:
        head += [p + h for h in HEADLINE if p + h in present]
        chosen = {p + h for h in HEADLINE}
        rest += [n for n in names if n not in chosen and
                 (n.split("/", 1)[0] + "/" if "/" in n else "") == p]
    return head, rest


def summarize(spec: SweepSpec, records: Mapping[str, Mapping[str, Any]], already_done: int = 0,
              ran: int = 0, interrupted: bool = False, out: str | None = None) -> dict[str, Any]:
    """The sweep's summary as a plain, JSON-safe dict (no wall-clock figure)."""
    counts = {OK: 0, FAILED: 0, ERROR: 0}
    points: list[dict[str, Any]] = []
    failing: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    by_point: dict[tuple[tuple[str, str], ...], list[Mapping[str, Any]]] = {
        p: [] for p in grid_points(spec.grid)}
    pending = 0
    probe_seeds: dict[str, int] | None = None  # probe -> tasks that hit it (None: no record says)
    for t in spec.tasks:
        rec = records.get(t.key)
        if rec is None:
            pending += 1
            continue
        if "probes" in rec:
            probe_seeds = probe_seeds if probe_seeds is not None else dict.fromkeys(PROBES, 0)
            for probe in rec["probes"]:
                probe_seeds[probe] = probe_seeds.get(probe, 0) + 1
        by_point[t.grid].append(rec)
        counts[rec["status"]] = counts.get(rec["status"], 0) + 1
        if rec["status"] == FAILED:
            failing.append({"key": t.key, "seed": t.seed, "overrides": dict(t.overrides),
                            "failed_checks": list(rec.get("failed_checks", [])),
                            "reproduce": rec.get("reproduce") or t.reproduce(spec.scenario)})
        elif rec["status"] == ERROR:
            errors.append({"key": t.key, "seed": t.seed, "overrides": dict(t.overrides),
                           "error": last_line(rec.get("error")),
                           "reproduce": rec.get("reproduce") or t.reproduce(spec.scenario)})
    tasks_per_point = len(spec.seeds)
    for point, recs in by_point.items():
        names: list[str] = []
        seen: set[str] = set()
        for r in recs:
            for n in r.get("figures", {}):
                if n not in seen:
                    seen.add(n)
                    names.append(n)
        head, rest = _figure_order(names)
        figures: dict[str, dict[str, Any]] = {}
        for n in head + rest:
            xs = [r["figures"][n] for r in recs if n in r.get("figures", {})]
            mean, half = mean_ci(xs)
            figures[n] = {"n": len(xs), "mean": mean, "ci95": half, "min": min(xs), "max": max(xs)}
        pc = {s: sum(1 for r in recs if r["status"] == s) for s in (OK, FAILED, ERROR)}
        points.append({"grid": dict(point), "label": point_label(point), "tasks": tasks_per_point,
                       "done": len(recs), **pc, "headline": head, "figures": figures})
    return {
        "scenario": spec.scenario, "name": spec.name, "out": out,
        "seeds": len(spec.seeds), "base": dict(spec.base), "grid": dict(spec.grid),
        "tasks": len(spec.tasks), "done": len(spec.tasks) - pending, "pending": pending,
        "already_done": already_done, "ran": ran, "interrupted": interrupted,
        OK: counts[OK], FAILED: counts[FAILED], ERROR: counts[ERROR],
        "ci": "95% two-sided Student t over seeds (t table for df 1..30, 40, 60, 120, "
              "interpolated in 1/df towards 1.96)",
        "points": points, "failing": failing, "errors": errors,
        "probes": None if probe_seeds is None else {
            "tasks_hitting": probe_seeds,
            "never_hit": [p for p, n in probe_seeds.items() if n == 0]},
    }


def _is_fraction(name: str) -> bool:
    base = name.split("/", 1)[-1]
    return base.startswith("availability.") or base.endswith(".availability")


def _fmt(x: float) -> str:
    if isinstance(x, int) or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}" if abs(x) >= 100 else f"{x:.4g}"


#: Unit suffixes of a figure's name segments, longest first.
_FIGURE_UNITS = (("_bytes_per_s", "bytes/s"), ("_per_s", "/s"), ("_bytes", "bytes"),
                 ("_ms", "ms"), ("_s", "s"), ("_fraction", "fraction"))


def figure_unit(name: str) -> str:
    """A figure's unit, from its name: ``%`` for an availability (shown as a
    percentage), else the unit suffix of its innermost segment that has one
    (``latency_ms.get.p99`` -> ms, ``leaders.failover_s.max`` -> s); "" for
    a count or a pure number."""
    if _is_fraction(name):
        return "%"
    last = name.rsplit(".", 1)[-1]
    if last in ("count", "n") or last.endswith("_count"):
        return ""
    for segment in reversed(name.split("/", 1)[-1].split(".")):
        for suffix, unit in _FIGURE_UNITS:
            if segment.endswith(suffix):
                return unit
    return ""


def _decimals(f: Mapping[str, Any]) -> int | None:
    """Decimals that show a row's interval to two significant digits (at most
    6), used for its mean, min and max too; None without an interval."""
    half = f["ci95"]
    if half is None:
        return None
    if half <= 0:
        return 0 if all(float(f[k]).is_integer() for k in ("mean", "min", "max")) else 4
    return max(0, min(6, 1 - math.floor(math.log10(half))))


def _row_cells(f: Mapping[str, Any], unit: str) -> list[str]:
    """mean, ± half-width, min and max of one figure, all to the same decimals."""
    scale = 100.0 if unit == "%" else 1.0
    places = 4 if unit == "%" else _decimals(f)

    def cell(x: float) -> str:
        return _fmt(x) if places is None else f"{scale * x:,.{places}f}"

    half = "" if f["ci95"] is None else f"± {cell(f['ci95'])}"
    return [cell(f["mean"]), half, cell(f["min"]), cell(f["max"])]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_summary(summary: Mapping[str, Any], all_figures: bool = False) -> str:
    """The summary as text: per grid point the counts and figures, then the
    failing and errored tasks with their reproduce commands."""
    s = summary
    lines = [f"== sweep {s['name']} ({s['scenario']}): {_plural(s['tasks'], 'task')}, "
             f"{_plural(s['seeds'], 'seed')} x {_plural(len(s['points']), 'grid point')} ==",
             f"status       ok {s[OK]}  failed {s[FAILED]}  error {s[ERROR]}"
             + (f"  not run {s['pending']}" if s["pending"] else "")
             + f"  ({s['already_done']} already done, {s['ran']} run now)"]
    if s["base"]:
        lines.append("base         " + " ".join(f"--set {_kv(k, v)}" for k, v in s["base"].items()))
    lines.append(f"intervals    {s['ci']}; in each figure's unit (an availability's in "
                 "percentage points)")
    for p in s["points"]:
        lines += ["", f"-- {p['label']}: {p['done']} of {p['tasks']} tasks done, ok {p[OK]}  "
                      f"failed {p[FAILED]}  error {p[ERROR]}"]
        names = list(p["figures"]) if all_figures else p["headline"]
        if not names:
            lines.append("  (no figures: no task of this point finished a run)")
            continue
        width = max(28, *(len(n) for n in names))
        lines.append(f"  {'figure':<{width}} {'unit':<8} {'mean':>12} {'± 95% CI':>12} "
                     f"{'min':>12} {'max':>12} {'n':>5}")
        for n in names:
            f = p["figures"][n]
            unit = figure_unit(n)
            cells = _row_cells(f, unit)
            lines.append(f"  {n:<{width}} {unit:<8} {cells[0]:>12} {cells[1]:>12} "
                         f"{cells[2]:>12} {cells[3]:>12} {f['n']:>5}")
        if not all_figures and len(p["figures"]) > len(names):
            lines.append(f"  (+{len(p['figures']) - len(names)} more figures: --all-figures)")
    probes = s.get("probes")
    if probes:
        hit = probes["tasks_hitting"]
        lines += ["", f"code probes  {len(hit) - len(probes['never_hit'])} of {len(hit)} hit "
                      f"by at least one task; never hit: {', '.join(probes['never_hit']) or 'none'}"]
        width = max(len(p) for p in hit)
        for name, n in hit.items():
            lines.append(f"  {name:<{width}} {n:>6} of {s['done']} tasks")
    if s["failing"]:
        lines += ["", f"failing tasks ({len(s['failing'])}):"]
        for f in s["failing"]:
            lines += [f"  {f['key']}: {', '.join(f['failed_checks'])}",
                      f"    reproduce: {f['reproduce']}"]
    if s["errors"]:
        lines += ["", f"errored tasks ({len(s['errors'])}):"]
        for e in s["errors"]:
            lines += [f"  {e['key']}: {e['error']}", f"    reproduce: {e['reproduce']}"]
        lines.append("  (errored tasks are not run again on resume; add --retry-errors)")
    return "\n".join(lines) + "\n"
