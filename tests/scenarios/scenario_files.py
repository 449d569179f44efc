"""Scenario scripts imported by the tests that call their builders."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def scenario_module(name: str) -> ModuleType:
    """The scenario script ``scenarios/<name>.py``, imported (for its
    ``build_scenario`` with test-sized parameters, and its helpers)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scenarios" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
