"""The command line: ``ddbsim run | list | keys``.

Bad input -- an unknown or mistyped ``--set`` key, an impossible value, a
missing scenario file, a fault naming a host that does not exist -- gets one
line saying what is wrong and how to fix it, and exit status 2; never a
traceback.  A run's failure message names the scenario, the seed and the
overrides needed to reproduce it.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ddbsim.config import Config, ConfigError, parse_assignments
from ddbsim.lab import scenario as scenario_mod
from ddbsim.lab.faults import FaultError

USER_ERRORS = (ConfigError, FaultError, scenario_mod.ScenarioError)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"ddbsim: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ddbsim", description="A DynamoDB-style region, simulated.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run a scenario script")
    r.add_argument("scenario", help="path to a scenario script (or its name in scenarios/)")
    _run_options(r)
    ls = sub.add_parser("list", help="list the scenarios with their descriptions")
    ls.add_argument("--dir", default="scenarios", help="folder of scenario scripts")
    sub.add_parser("keys", help="list every config key with its default")
    return p


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=1, help="root random seed (default 1)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. replication.lease_s=3 (repeatable)")
    p.add_argument("--json", dest="json_path", metavar="PATH", help="write the result as JSON")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args.scenario, args)
        if args.command == "list":
            return _list(args.dir)
        if args.command == "keys":
            return _keys()
    except USER_ERRORS as exc:
        print(f"ddbsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ddbsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `ddbsim keys | head`
        sys.stderr.close()
        return 0
    return 0


def main_for_script(path: str, argv: Sequence[str] | None = None) -> None:
    """``python scenarios/x.py --seed 3`` behaves as ``ddbsim run scenarios/x.py --seed 3``."""
    p = _Parser(prog=Path(path).name)
    _run_options(p)
    args = p.parse_args(argv)
    try:
        code = _run(path, args)
    except USER_ERRORS as exc:
        print(f"ddbsim: error: {exc}", file=sys.stderr)
        code = 2
    sys.exit(code)


def _run(path: str, args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ConfigError(f"--seed must be zero or more, got {args.seed}")
    overrides = parse_assignments(args.sets)
    builder, _doc = scenario_mod.load(path)
    scenarios = scenario_mod.build(builder)
    for s in scenarios:  # validate every variant's config before running any
        s.config(overrides)
    try:
        result = scenario_mod.run_all(scenarios, args.seed, overrides)
    except USER_ERRORS:
        raise
    except Exception:
        sets = " ".join(f"--set {k}={v}" for k, v in overrides.items())
        print(f"ddbsim: run failed; reproduce with: ddbsim run {path} --seed {args.seed} {sets}"
              .rstrip(), file=sys.stderr)
        raise
    if args.json_path:
        result.to_json(args.json_path)
    if not args.quiet:
        print(result.summary(), end="")
    failed = [r for r in (result.variants or [result])
              if any(c["valid"] is False for c in r.data["checks"].values())]
    if failed:
        sets = " ".join(f"--set {k}={v}" for k, v in overrides.items())
        for r in failed:
            bad = [n for n, c in r.data["checks"].items() if c["valid"] is False]
            print(f"ddbsim: check failed ({', '.join(bad)}) in {r.data['scenario']}"
                  f"{' [' + r.data['variant'] + ']' if r.data['variant'] else ''}; reproduce with: "
                  f"ddbsim run {path} --seed {args.seed} {sets}".rstrip(), file=sys.stderr)
        return 1
    return 0


def _list(folder: str) -> int:
    root = Path(folder)
    if not root.is_dir():
        raise scenario_mod.ScenarioError(f"no scenario folder {folder!r} (use --dir)")
    for file in sorted(root.glob("*.py")):
        if file.name.startswith("_"):
            continue
        doc = _first_doc_line(file)
        print(f"{file.stem:<20} {doc}")
    return 0


def _first_doc_line(file: Path) -> str:
    import ast

    tree = ast.parse(file.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _keys() -> int:
    cfg = Config()
    for key in Config.keys():
        section, name = key.split(".", 1)
        print(f"{key} = {getattr(getattr(cfg, section), name)!r}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
