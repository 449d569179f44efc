"""The import graph of the ``ddbsim`` package: no cycles between modules, and
the rooms' rule -- ``world`` (physics) imports neither ``service`` nor
``lab``; ``service`` does not import ``lab``; ``lab`` may import both.

The walker reads every module with :mod:`ast` and counts every ``import``
and ``from ... import`` anywhere in the file: at the top, inside functions,
under ``if TYPE_CHECKING:``.  Relative imports are resolved.  ``from a.b
import c`` is an edge to ``a.b`` (it runs the package) and, when ``a.b.c``
is a module, to ``a.b.c`` too; ``import a.b.c`` and ``from a.b.c import x``
are edges to ``a.b.c`` alone (the parent packages are run implicitly, which
is no edge).  A name that is no module of the package (the standard library,
third parties) is no edge.
"""
from __future__ import annotations

import ast
import importlib.util
import inspect
from collections.abc import Iterable, Mapping
from pathlib import Path

import ddbsim

DDBSIM = Path(ddbsim.__file__).resolve().parent

# ----------------------------------------------------------------------
# the walker
# ----------------------------------------------------------------------
def modules(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root``: dotted name -> file."""
    out = {}
    for file in sorted(root.rglob("*.py")):
        parts = list(file.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = file
    return out


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (see the module docstring)."""
    mods = modules(root)

    def known(name: str) -> str | None:
        """The module ``name`` is, or is an attribute of."""
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, file in mods.items():
        is_package = file.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    # ``from . import x`` in a.b.c means package a.b; in a.b/__init__, a.b
                    parts = mod.split(".")
                    base = parts[:len(parts) - node.level + (1 if is_package else 0)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [source] + [f"{source}.{alias.name}" for alias in node.names
                                      if f"{source}.{alias.name}" in mods]
            for target in targets:
                found = known(target)
                if found is not None and found != mod:
                    edges.add(found)
        graph[mod] = edges
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, each
    sorted, each followed by one concrete cycle through its first module
    (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    components.append(sorted(comp))
    return sorted(components)


def one_cycle(graph: Mapping[str, Iterable[str]], component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, inside it:
    ``[a, b, ..., a]``."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if w in members and w not in previous:
                    previous[w] = v
                    nxt.append(w)
        frontier = nxt
    return component  # not reached for a strongly connected component


def room_violations(graph: Mapping[str, Iterable[str]], package: str) -> list[tuple[str, str]]:
    """Edges that break the rooms' rule: ``world`` importing ``service`` or
    ``lab``, ``service`` importing ``lab``."""
    forbidden = {"world": ("service", "lab"), "service": ("lab",)}

    def room(mod: str) -> str:
        parts = mod.split(".")
        return parts[1] if len(parts) > 1 and parts[0] == package else ""

    return sorted((a, b) for a, targets in graph.items() for b in targets
                  if room(b) in forbidden.get(room(a), ()))


def describe(graph: Mapping[str, Iterable[str]], components: list[list[str]]) -> str:
    return "\n".join(f"cycle: {' <-> '.join(c)}  (e.g. {' -> '.join(one_cycle(graph, c))})"
                     for c in components)


# ----------------------------------------------------------------------
# ddbsim
# ----------------------------------------------------------------------
def test_the_walker_sees_every_module_of_ddbsim() -> None:
    graph = import_graph(DDBSIM)
    assert {"ddbsim", "ddbsim.lab", "ddbsim.lab.experiment", "ddbsim.world.region",
            "ddbsim.service.service", "ddbsim.lab.checkers.healing"} <= set(graph)
    assert "ddbsim.lab.workload" in graph["ddbsim.lab.experiment"]


def test_no_room_rule_violations() -> None:
    bad = room_violations(import_graph(DDBSIM), "ddbsim")
    assert not bad, "\n".join(f"room rule: {a} -> {b}" for a, b in bad)


def test_no_import_cycles() -> None:
    graph = import_graph(DDBSIM)
    found = cycles(graph)
    assert not found, describe(graph, found)


def test_no_lab_module_imports_the_lab_package() -> None:
    """``ddbsim.lab`` is the public face (it imports the run, and so nearly
    everything): a lab module importing it is a cycle in waiting."""
    graph = import_graph(DDBSIM)
    bad = sorted(m for m, targets in graph.items()
                 if m.startswith("ddbsim.lab.") and "ddbsim.lab" in targets)
    assert not bad


def test_ddbsim_lab_run_is_the_function_and_no_module() -> None:
    """A package attribute cannot be both: ``ddbsim.lab.run`` was once also a
    module, which replaced the function once the first run imported it."""
    import ddbsim.lab
    import ddbsim.lab.experiment  # noqa: F401  (what once shadowed the function)

    assert importlib.util.find_spec("ddbsim.lab.run") is None
    assert inspect.isfunction(ddbsim.lab.run) and ddbsim.lab.run is ddbsim.run


# ----------------------------------------------------------------------
# the walker can fail
# ----------------------------------------------------------------------
def _package(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(inspect.cleandoc(text) + "\n", encoding="utf-8")
    return root / "pkg"


CLEAN = {
    "pkg/__init__.py": "from pkg.lab import probe",
    "pkg/world/__init__.py": "",
    "pkg/world/clock.py": "import math",
    "pkg/service/__init__.py": "",
    "pkg/service/a.py": "from pkg.world.clock import math\nfrom . import b",
    "pkg/service/b.py": "from ..world import clock",
    "pkg/lab/__init__.py": "",
    "pkg/lab/probe.py": "import pkg.service.a\nfrom pkg.world import clock",
}


def test_the_walker_passes_a_clean_package(tmp_path: Path) -> None:
    root = _package(tmp_path, CLEAN)
    graph = import_graph(root)
    assert graph["pkg.service.a"] == {"pkg.world.clock", "pkg.service", "pkg.service.b"}
    assert graph["pkg.service.b"] == {"pkg.world", "pkg.world.clock"}
    assert cycles(graph) == []
    assert room_violations(graph, "pkg") == []


def test_the_walker_reports_a_planted_cycle_and_room_violations(tmp_path: Path) -> None:
    root = _package(tmp_path, {
        **CLEAN,
        # a <-> b through a relative import and a TYPE_CHECKING block
        "pkg/service/a.py": "from . import b",
        "pkg/service/b.py": """
            from typing import TYPE_CHECKING

            if TYPE_CHECKING:
                from .a import Thing
            """,
        # world -> lab inside a function: a room-rule violation, and a cycle
        # with lab.probe, which imports world.clock
        "pkg/world/clock.py": """
            def tick():
                from pkg.lab.probe import probe
                return probe()
            """,
        # service -> lab through a relative import of the package
        "pkg/service/c.py": "from .. import lab",
    })
    graph = import_graph(root)
    found = cycles(graph)
    assert found == [["pkg.lab.probe", "pkg.world.clock"], ["pkg.service.a", "pkg.service.b"]]
    text = describe(graph, found)
    assert "pkg.service.a -> pkg.service.b -> pkg.service.a" in text
    assert "pkg.lab.probe -> pkg.world.clock -> pkg.lab.probe" in text
    assert room_violations(graph, "pkg") == [("pkg.service.c", "pkg.lab"),
                                             ("pkg.world.clock", "pkg.lab.probe")]


def test_one_cycle_finds_a_shortest_cycle_inside_a_larger_component() -> None:
    graph = {"a": {"b"}, "b": {"c", "a2"}, "c": {"a"}, "a2": {"b"}}
    [component] = cycles(graph)
    assert component == ["a", "a2", "b", "c"]
    assert one_cycle(graph, component) == ["a", "b", "c", "a"]
