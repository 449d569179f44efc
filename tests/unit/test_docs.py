"""The documentation stands on its own: every relative link in README.md and
docs/*.md names a file inside the repository (and a heading there, when it
has an anchor), and no file points to documents outside it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) -- inline Markdown links; images too
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".ruff_cache", "build",
             "dist", ".ipynb_checkpoints", ".hypothesis"}
# Built from parts so that this file does not match itself.
OUTSIDE = ("..", "/shared")
EXTERNAL_DESIGN = ("DESIGN", ".md")


def links(doc: Path) -> list[str]:
    return LINK.findall(doc.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in doc.read_text(encoding="utf-8").splitlines()
            if line.startswith("#")}


def repo_files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        if any(part in SKIP_DIRS or part.endswith(".egg-info")
               for part in path.relative_to(ROOT).parts):
            continue
        if path.is_file():
            out.append(path)
    return out


def test_the_docs_exist_and_the_readme_links_them() -> None:
    assert (ROOT / "docs" / "results.md").is_file()
    assert (ROOT / "docs" / "architecture.md").is_file()
    readme_links = links(ROOT / "README.md")
    assert "docs/results.md" in readme_links
    assert "docs/architecture.md" in readme_links


def test_every_relative_link_resolves_inside_the_repository() -> None:
    checked = 0
    for doc in DOCS:
        for target in links(doc):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            dest = (doc.parent / path_part).resolve() if path_part else doc
            where = f"{doc.relative_to(ROOT)} links {target!r}"
            assert dest.is_relative_to(ROOT), f"{where}: outside the repository"
            assert dest.is_file(), f"{where}: no such file"
            if anchor and dest.suffix == ".md":
                assert anchor in anchors(dest), f"{where}: no heading #{anchor}"
            checked += 1
    assert checked >= 3  # the README's links to docs/ and the docs' own


def test_the_link_check_catches_a_broken_link(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text("see [a](docs/nope.md) and [b](https://example.com)\n", encoding="utf-8")
    assert links(doc) == ["docs/nope.md", "https://example.com"]
    assert not (tmp_path / "docs/nope.md").is_file()
    assert slug("Determinism per seed") == "determinism-per-seed"


def test_no_file_points_outside_the_repository() -> None:
    outside, design = "".join(OUTSIDE), "".join(EXTERNAL_DESIGN)
    files = repo_files()
    assert ROOT / "README.md" in files
    offenders = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if outside in text or design in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_readme_starts_with_the_two_setup_commands() -> None:
    lines = [line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    assert lines[0] == "# ddbsim"
    assert lines[1].startswith("`make demo`")
    assert lines[2].startswith("`make test`")


def test_the_license_is_an_spdx_string_and_the_backend_supports_it() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["license"] == "Apache-2.0"  # a table is deprecated in setuptools
    assert "setuptools>=77" in meta["build-system"]["requires"]  # 77 reads the SPDX form
