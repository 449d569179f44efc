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

A scenario may **analyse its own result**: ``analyse`` is a function of the
result's data (the dict of ``--json``) that returns a dict -- numbers,
strings, None, and dicts of those -- stored under ``result.data["analysis"]``
after the run.  So it is in the JSON, its numbers are figures of a sweep
(``analysis.write_availability.markov``), and the summary prints it, one
labelled line per top-level key.  It must be deterministic: a function of
the data alone.
"""
from __future__ import annotations

import difflib
import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from ddbsim.config import Config, ConfigError, parse_text
from ddbsim.lab.faults import Fault
from ddbsim.world.region import World

FaultPlan = Union[list[Fault], Callable[[World, np.random.Generator], list[Fault]]]
#: A scenario's own analysis of its result's data (see the module docstring).
Analysis = Callable[[dict[str, Any]], dict[str, Any]]


class ScenarioError(ValueError):
    """A scenario file that cannot be found or used."""


@dataclass
class Scenario:
    name: str
    duration_s: float
    faults: FaultPlan = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    variant: str = ""
    analyse: Analysis | None = None

    def __post_init__(self) -> None:
        if not self.duration_s > 0:
            raise ScenarioError(f"scenario {self.name}: duration_s must be positive")

    def fault_schedule(self, world: World) -> list[Fault]:
        if callable(self.faults):
            drawn = self.faults(world, world.streams.stream("lab/faults"))
            return drawn if isinstance(drawn, list) else list(drawn)  # keeps a FaultSchedule's info
        return list(self.faults)

    def config(self, overrides: dict[str, Any] | None = None) -> Config:
        return Config().with_overrides({**self.overrides, **(overrides or {})})


def resolve(path: str) -> Path:
    """The file a scenario argument names: a path, or a name in scenarios/."""
    file = Path(path)
    if not file.exists():
        candidate = Path("scenarios") / f"{path}.py"
        if not candidate.exists():
            raise ScenarioError(f"scenario file not found: {path}")
        file = candidate
    return file


def load(path: str) -> tuple[Callable[..., Any], str]:
    """Load a scenario script: its builder and its one-line description."""
    file = resolve(path)
    if file.suffix != ".py":
        raise ScenarioError(f"a scenario is a .py file, got {path}")
    name = f"ddbsim_scenario_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot load scenario {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    builder = getattr(module, "build_scenario", None)
    if builder is None:
        raise ScenarioError(f"{path} defines no build_scenario(**overrides) function")
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
