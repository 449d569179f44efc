"""Scenarios: config + workload + fault schedule + duration -- the data of an
experiment, and the loading of scenario scripts.  Running one is
:func:`ddbsim.lab.experiment.run` (``ddbsim.lab.run``).

A scenario script in ``scenarios/`` is a small module whose docstring's
first line describes it, which defines ``build_scenario(**overrides)``
returning a :class:`Scenario` (or a list of them, to compare variants on the
same seed), and which ends with::

    if __name__ == "__main__":
        from ddbsim.cli import main_for_script
        main_for_script(__file__)

A fault schedule is a list of :class:`~ddbsim.lab.faults.Fault`, or a
function ``(world, rng) -> list`` that draws one from the run's seed.

A scenario may add **workload phases** (``phases``, a list of
:class:`~ddbsim.lab.phases.Phase`): traffic that starts and stops during the
run on top of the config's workload -- a hot key range, a spike, a single
hot key.

A scenario may **analyse its own result**: ``analyse`` is a function of the
result's data (the dict of ``--json``) that returns a dict -- numbers,
strings, None, and dicts of those -- stored under ``result.data["analysis"]``
after the run.  So it is in the JSON, its numbers are figures of a sweep
(``analysis.write_availability.markov``), and the summary prints it, one
labelled line per top-level key.  It must be deterministic: a function of
the data alone.

A scenario may ask for **point-in-time restores** (``restore_at_s``, instants
of the run): after the checks, the table is restored from the archive as of
each (``durability.pitr`` must be on) and verified against the history
(``metrics.history`` must be on) -- the ``restore`` check
(:mod:`ddbsim.lab.restore`).

A scenario may also bring **its own runner** instead of the detailed
simulator: ``runner(scenario, config, seed)`` returns the
:class:`~ddbsim.lab.result.Result` (the fast failure model of
:mod:`ddbsim.lab.nines` does this); ``ddbsim run`` and sweeps treat it like
any other run.
the data alone.  A scenario that compares variants may also give
``compare``: a function of the list of every variant's data (the headline
first) that returns such a dict, stored under ``result.data["comparison"]``
of the headline result and printed after the variants' summaries; every
variant should carry the same ``compare``.
"""
from __future__ import annotations

import difflib
import hashlib
import importlib.util
import inspect
import math
import numbers
import os
import sys
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from ddbsim.config import Config, ConfigError, parse_text
from ddbsim.lab.faults import Fault, FaultError
from ddbsim.lab.phases import Phase, PhaseError, check_phases
from ddbsim.world.region import World

FaultPlan = Union[list[Fault], Callable[[World, np.random.Generator], list[Fault]]]
#: A scenario's own analysis of its result's data (see the module docstring).
Analysis = Callable[[dict[str, Any]], dict[str, Any]]
#: A scenario's own runner, in place of the detailed simulator (the module docstring).
Runner = Callable[["Scenario", Config, int], Any]
#: A comparison of every variant's result data (see the module docstring).
Comparison = Callable[[list[dict[str, Any]]], dict[str, Any]]


class ScenarioError(ValueError):
    """A scenario file that cannot be found or used: one line naming the file
    and what is wrong (the original exception, if any, is its ``__cause__``)."""


@dataclass
class Scenario:
    name: str
    duration_s: float
    faults: FaultPlan = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    variant: str = ""
    analyse: Analysis | None = None
    runner: Runner | None = None
    phases: list[Phase] = field(default_factory=list)
    compare: Comparison | None = None
    #: instants to restore the table to after the run, each verified (see above)
    restore_at_s: Sequence[float] = ()

    def __post_init__(self) -> None:
        duration = self.duration_s
        if not (isinstance(duration, numbers.Real) and not isinstance(duration, bool)
                and math.isfinite(duration) and duration > 0):
            raise ScenarioError(f"scenario {self.name}: duration_s must be a positive, finite "
                                f"number of seconds, got {duration!r}")
        for t in self.restore_at_s:
            if not (isinstance(t, numbers.Real) and not isinstance(t, bool) and math.isfinite(t)
                    and 0 <= t <= duration):
                raise ScenarioError(f"scenario {self.name}: restore_at_s must hold instants of "
                                    f"the run, 0..{duration:g} s, got {t!r}")
        if isinstance(self.faults, Fault):
            raise ScenarioError(f"scenario {self.name}: faults must be a list of Fault, got a "
                                "single Fault; put it in a list: faults=[...]")
        if not callable(self.faults):
            if not isinstance(self.faults, (list, tuple)):
                raise ScenarioError(f"scenario {self.name}: faults must be a list of Fault or a "
                                    "function (world, rng) -> list of Fault, got "
                                    f"{type(self.faults).__name__}")
            check_faults(self.faults, f"scenario {self.name}: faults")
        try:
            check_phases(self.phases, f"scenario {self.name}")
        except PhaseError as exc:
            raise ScenarioError(str(exc)) from None

    def fault_schedule(self, world: World) -> list[Fault]:
        if callable(self.faults):
            drawn = self.faults(world, world.streams.stream("lab/faults"))
            try:
                schedule = drawn if isinstance(drawn, list) else list(drawn)  # keeps a FaultSchedule's info
            except TypeError:
                raise ScenarioError(f"scenario {self.name}: its fault function must return a list "
                                    f"of Fault, got {type(drawn).__name__}") from None
            check_faults(schedule, f"scenario {self.name}: its fault function returned")
            return schedule
        return list(self.faults)

    def config(self, overrides: dict[str, Any] | None = None) -> Config:
        return Config().with_overrides({**self.overrides, **(overrides or {})})


def check_faults(faults: Any, where: str) -> None:
    """Every item of a fault schedule is a :class:`Fault` (else a ScenarioError)."""
    for i, f in enumerate(faults):
        if not isinstance(f, Fault):
            raise ScenarioError(f"{where} item {i} is not a Fault: {f!r}")


def resolve(path: str | os.PathLike[str]) -> Path:
    """The file a scenario argument names: a path, or a name in scenarios/."""
    file = Path(path)
    if not file.exists():
        candidate = Path("scenarios") / f"{path}.py"
        if not candidate.exists():
            raise ScenarioError(f"scenario file not found: {path}")
        file = candidate
    return file


def describe_exception(exc: BaseException) -> str:
    """``ValueError: bad`` (the type, then the message, on one line)."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def load(path: str | os.PathLike[str]) -> tuple[Callable[..., Any], str]:
    """Load a scenario script: its builder and its one-line description.

    A file that cannot be imported (a syntax error, an exception at import)
    is a ScenarioError naming the file, with the original as its cause.
    """
    file = resolve(path)
    if file.is_dir():
        raise ScenarioError(f"scenario {path} is a folder, not a .py file")
    if file.suffix != ".py":
        raise ScenarioError(f"a scenario is a .py file, got {path}")
    name = f"ddbsim_scenario_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot load scenario {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise ScenarioError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ScenarioError(f"{path} raised on import: {describe_exception(exc)}") from exc
    builder = getattr(module, "build_scenario", None)
    if builder is None:
        raise ScenarioError(f"{path} defines no build_scenario(**overrides) function")
    if not callable(builder):
        raise ScenarioError(f"{path}: build_scenario is not a function")
    doc = (module.__doc__ or "").strip().splitlines()
    return builder, (doc[0] if doc else "")


def parameters(builder: Callable[..., Any]) -> dict[str, type]:
    """The named parameters of a ``build_scenario`` function (not its
    ``**overrides``), each with its type: from its annotation, else from its
    default's type (a parameter with neither takes text)."""
    try:
        hints = typing.get_type_hints(builder)
    except Exception:  # an annotation that does not resolve: fall back on defaults
        hints = {}
    out: dict[str, type] = {}
    for name, p in inspect.signature(builder).parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        hint = hints.get(name)
        if hint not in (int, float, bool, str):
            default = p.default
            hint = type(default) if isinstance(default, (int, float, bool, str)) else str
        out[name] = hint
    return out


def parse_params(builder: Callable[..., Any], items: list[str], path: str) -> dict[str, Any]:
    """``["count=5", ...]`` (``--param``) -> keyword arguments of ``build_scenario``,
    each parsed to its parameter's type; a ConfigError for an unknown name or
    a value of the wrong type."""
    known = parameters(builder)
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--param takes name=value, got {item!r}")
        name, text = (part.strip() for part in item.split("=", 1))
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            hint = (f"did you mean '{close[0]}'? " if close else "") + \
                f"{Path(path).name} takes: {', '.join(known) or 'no parameters'}"
            raise ConfigError(f"unknown scenario parameter '{name}'; {hint}")
        out[name] = parse_text(f"--param {name}", text, known[name])
    return out


def build(builder: Callable[..., Any], params: dict[str, Any] | None = None) -> list[Scenario]:
    """The scenarios ``builder(**params)`` returns, as a list."""
    built = builder(**(params or {}))
    scenarios = built if isinstance(built, list) else [built]
    if not scenarios or not all(isinstance(s, Scenario) for s in scenarios):
        raise ScenarioError("build_scenario() must return a Scenario or a list of them")
    return scenarios


def load_scenarios(path: str | os.PathLike[str],
                   param_items: Sequence[str] = ()) -> list[Scenario]:
    """Load a scenario script and build its scenarios with ``param_items``
    (``--param name=value``, parsed by :func:`parse_params`), every mistake a
    one-line error naming the file (the original as its cause): a parameter
    it does not take (a ConfigError), a builder that needs arguments not
    given, raises, or returns something else (a ScenarioError)."""
    builder, _doc = load(path)
    params = parse_params(builder, list(param_items), str(path))
    try:
        signature = inspect.signature(builder).parameters.values()
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        needed = [p.name for p in signature if p.default is p.empty and p.name not in params
                  and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if needed:
            raise ScenarioError(f"{path}: build_scenario() must run with no arguments, but needs "
                                f"{', '.join(needed)} (give them defaults)")
    try:
        built = builder(**params)
    except (ScenarioError, ConfigError, FaultError, PhaseError) as exc:
        raise ScenarioError(f"{path}: build_scenario(): {exc}") from exc
    except Exception as exc:
        raise ScenarioError(f"{path}: build_scenario() raised "
                            f"{describe_exception(exc)}") from exc
    try:
        return build(lambda: built)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}, got {type(built).__name__}") from None


def source_hash(root: Path, files: Iterable[Path]) -> str:
    """The SHA-256 of source files (each one's path relative to ``root``,
    then its bytes, in the order given): which code a result came from."""
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def content_hash(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a scenario file's bytes (hex): which version of it a result came from."""
    return hashlib.sha256(resolve(path).read_bytes()).hexdigest()
