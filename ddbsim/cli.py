"""The command line: ``ddbsim run | list | keys | sweep | chaos | selftest | calibrate``.

Bad input -- an unknown or mistyped ``--set`` key, an impossible value, a
missing or broken scenario file, a fault naming a host that does not exist,
an output path that cannot be written -- gets one line saying what is wrong
and how to fix it, and exit status 2; never a traceback (``--traceback``
prints the one behind it).  Output paths are checked before anything runs.
A run's failure message names the scenario, the seed and the overrides
needed to reproduce it.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from ddbsim import __version__
from ddbsim.config import Config, ConfigError, format_value, key_docs, parse_assignments
from ddbsim.lab import scenario as scenario_mod
from ddbsim.lab import sweep
from ddbsim.lab.experiment import check_setup, run_all
from ddbsim.lab.faults import FaultError
from ddbsim.lab.plots import has_throttling
from ddbsim.lab.result import Result
from ddbsim.lab.scenario import Scenario
from ddbsim.lab.sweep import SweepError

USER_ERRORS = (ConfigError, FaultError, scenario_mod.ScenarioError, SweepError)

#: The scenario ``ddbsim chaos`` sweeps, relative to the project root.
GAME_DAY = "scenarios/game_day.py"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"ddbsim: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="ddbsim", description="A DynamoDB-style region, simulated.")
    p.add_argument("--version", action="version", version=f"ddbsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    r = sub.add_parser("run", help="run a scenario script")
    r.add_argument("scenario", help="path to a scenario script (or its name in scenarios/)")
    _run_options(r)
    ls = sub.add_parser("list", help="list the scenarios with their descriptions")
    ls.add_argument("--dir", default="scenarios", help="folder of scenario scripts")
    _traceback_option(ls)
    keys = sub.add_parser("keys", help="list every config key: default, unit, provenance, meaning",
                          description="Every config key (for --set) with its default, its unit, "
                                      "its provenance -- [paper §N] the DynamoDB USENIX ATC 2022 "
                                      "paper, [docs] the DynamoDB developer guide, [sdk] the AWS "
                                      "SDKs' standard retry mode, [chosen] no public figure -- and "
                                      "what it means.")
    _traceback_option(keys)
    sw = sub.add_parser("sweep", help="run a scenario over many seeds and a grid of overrides")
    sw.add_argument("scenario", help="path to a scenario script (or its name in scenarios/)")
    sw.add_argument("--seeds", required=True, metavar="SEEDS",
                    help="A:B (half-open, like range), N, or a comma list of those: 0:200, 1,4,10:20")
    _sweep_options(sw, "sweep-<scenario>.jsonl")
    ch = sub.add_parser("chaos", help=f"sweep the game-day scenario ({GAME_DAY}) over many seeds")
    ch.add_argument("--seeds", default="0:200", metavar="SEEDS",
                    help="A:B (half-open), N, or a comma list of those (default 0:200)")
    _sweep_options(ch, "chaos.jsonl")
    st = sub.add_parser("selftest", help="check that the checkers catch deliberate protocol bugs")
    st.add_argument("--seeds", default="0:20", metavar="SEEDS",
                    help="seeds to hunt each mutant on, in order (default 0:20)")
    st.add_argument("--mutant", action="append", default=[], metavar="NAME",
                    help="only this mutant (repeatable; default: all)")
    st.add_argument("--workers", type=int, default=None, metavar="N",
                    help="local worker processes (default: the number of CPUs)")
    st.add_argument("--json", dest="json_path", metavar="PATH", help="write the report as JSON")
    _traceback_option(st)
    cal = sub.add_parser("calibrate",
                         help="measure the fast failure model's outage and repair durations",
                         description="Run short detailed simulations of the config's protocol "
                                     "under accelerated host churn and print the durations the "
                                     "fast failure model (ddbsim.lab.nines) uses -- failover, "
                                     "detection, log replica join, rebuild, boot -- with their "
                                     "spread.  Cached by a hash of the config; a changed config "
                                     "recalibrates.")
    cal.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key (repeatable)")
    cal.add_argument("--cache-dir", metavar="PATH", default=None,
                     help="the calibration cache (default: $DDBSIM_CACHE_DIR, else "
                          "$XDG_CACHE_HOME/ddbsim, else ~/.cache/ddbsim)")
    cal.add_argument("--refresh", action="store_true", help="measure again even if cached")
    cal.add_argument("--json", dest="json_path", metavar="PATH",
                     help="write the calibration as JSON")
    _traceback_option(cal)
    return p


def _traceback_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--traceback", action="store_true",
                   help="on a user error, print the traceback behind the one-line message")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=1, help="root random seed (default 1)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. replication.lease_s=3 (repeatable)")
    p.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter of the scenario's build_scenario, e.g. outage_s=120 "
                        "(repeatable)")
    p.add_argument("--json", dest="json_path", metavar="PATH", help="write the result as JSON")
    p.add_argument("--plot", dest="plot_path", metavar="PATH",
                   help="write the availability figure (every variant, faults shaded) -- or, "
                        "with admission control on, the throttle rate over time; the "
                        "format follows the suffix: .png, .svg, .pdf")
    p.add_argument("--quiet", action="store_true",
                   help="print nothing but errors (no summary, no progress bar)")
    _traceback_option(p)


def _sweep_options(p: argparse.ArgumentParser, default_out: str) -> None:
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key for every task (repeatable)")
    p.add_argument("--param", dest="params", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter of the scenario's build_scenario for every task "
                        "(repeatable)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="sweep a config key over these values; several --grid make a "
                        "cartesian product (repeatable)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="local worker processes (default: the number of CPUs)")
    where.add_argument("--dask", metavar="ADDRESS",
                       help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786 "
                            "(pip install 'ddbsim[dask]')")
    p.add_argument("--out", metavar="PATH",
                   help=f"JSON Lines results, appended as tasks finish and resumed on rerun "
                        f"(default {default_out})")
    p.add_argument("--retry-errors", action="store_true",
                   help="run again the tasks recorded with status error")
    p.add_argument("--summary-json", metavar="PATH", help="write the summary as JSON")
    p.add_argument("--all-figures", action="store_true",
                   help="show every figure in the summary, not only the headline ones")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar or notes (the summary is still printed)")
    _traceback_option(p)


def _attach_negative_seeds(argv: Sequence[str]) -> list[str]:
    """``--seeds -1:3`` -> ``--seeds=-1:3``: argparse takes ``-1:3`` for an
    option; joined, the seeds parser says what is wrong with it."""
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        if args[i] == "--seeds" and i + 1 < len(args) and re.match(r"-[\d.:,]", args[i + 1]):
            out.append(f"--seeds={args[i + 1]}")
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def _user_error(exc: BaseException, args: argparse.Namespace | None) -> int:
    if args is not None and getattr(args, "traceback", False):
        traceback.print_exception(exc)
    print(f"ddbsim: error: {exc}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    argv = _attach_negative_seeds(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args.scenario, args)
        if args.command == "sweep":
            return _sweep(args.scenario, args, None)
        if args.command == "chaos":
            if not Path(GAME_DAY).is_file():
                raise SweepError(f"chaos sweeps {GAME_DAY}, which does not exist here "
                                 "(run it from the project root)")
            return _sweep(GAME_DAY, args, "chaos.jsonl")
        if args.command == "selftest":
            return _selftest(args)
        if args.command == "list":
            return _list(args.dir)
        if args.command == "keys":
            return _keys()
        if args.command == "calibrate":
            return _calibrate(args)
    except USER_ERRORS as exc:
        return _user_error(exc, args)
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
        code = _user_error(exc, args)
    sys.exit(code)


def _run(path: str, args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise ConfigError(f"--seed must be zero or more, got {args.seed}")
    overrides = parse_assignments(args.sets)
    if args.json_path is not None:
        sweep.check_writable(args.json_path, "--json")
    if args.plot_path:
        _check_plot_path(args.plot_path)
    scenarios = scenario_mod.load_scenarios(path, args.params)
    configs = [s.config(overrides) for s in scenarios]  # every variant's, before running any
    for s, cfg in zip(scenarios, configs, strict=True):  # and its fault schedule
        try:
            check_setup(s, cfg, args.seed)
        except USER_ERRORS:
            raise
        except Exception:  # noqa: BLE001 -- not a user's mistake: the run below reports it
            pass
    show_progress = not args.quiet and sys.stderr.isatty()
    try:
        result = run_all(scenarios, args.seed, overrides,
                         progress=_RunBar if show_progress else None)
    except USER_ERRORS:
        raise
    except Exception:
        print(f"ddbsim: run failed; reproduce with: ddbsim run {path} --seed {args.seed} "
              f"{_options(args)}".rstrip(), file=sys.stderr)
        raise
    if args.json_path is not None:
        result.to_json(args.json_path)
    if args.plot_path:
        _write_plot(result, args.plot_path)
    if not args.quiet:
        print(result.summary(), end="")
    failed = [r for r in (result.variants or [result])
              if any(c["valid"] is False for c in r.data["checks"].values())]
    if failed:
        sets = _options(args)
        for r in failed:
            bad = [n for n, c in r.data["checks"].items() if c["valid"] is False]
            print(f"ddbsim: check failed ({', '.join(bad)}) in {r.data['scenario']}"
                  f"{' [' + r.data['variant'] + ']' if r.data['variant'] else ''}; reproduce with: "
                  f"ddbsim run {path} --seed {args.seed} {sets}".rstrip(), file=sys.stderr)
        return 1
    return 0


def _check_plot_path(path: str) -> None:
    """``--plot PATH`` can be written, in a format matplotlib knows."""
    from matplotlib.figure import Figure

    sweep.check_writable(path, "--plot")
    suffix = Path(path).suffix.lstrip(".").lower()
    known = Figure().canvas.get_supported_filetypes()
    if suffix not in known:
        raise ConfigError(f"--plot {path}: give a file name ending in one of "
                          f"{', '.join('.' + k for k in sorted(known))}")


def _write_plot(result: Result, path: str) -> None:
    """The availability figure -- or, with admission control on, the
    throttle rate over time -- without pyplot (no display needed)."""
    from matplotlib.figure import Figure

    if result.data["availability"] is None:
        print("ddbsim: no figure written: the run had metrics.enabled off", file=sys.stderr)
        return
    figure = Figure(figsize=(10.0, 4.0), layout="constrained")
    if has_throttling([part.data for part in result.parts]):
        result.plot_throttling(figure.add_subplot())
    else:
        result.plot_availability(figure.add_subplot())
    figure.savefig(path, dpi=120)


class _RunBar:
    """One run's progress on stderr (a terminal): the simulated seconds of
    traffic done, then the phase after the heal.  It is called between
    slices of simulated time (``Run.execute``) and changes nothing in the run."""

    def __init__(self, scenario: Scenario) -> None:
        from tqdm import tqdm

        label = scenario.name + (f" [{scenario.variant}]" if scenario.variant else "")
        self.duration_s = scenario.duration_s
        self.bar = tqdm(total=self.duration_s, desc=label, file=sys.stderr, leave=False,
                        dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s "
                                   "simulated [{elapsed}<{remaining}]{postfix}")
        self.bar.set_postfix_str("traffic and faults", refresh=False)
        self.shown_s = 0.0

    def __call__(self, phase: str, now_s: float) -> None:
        if phase == "traffic":
            if now_s < 10:  # a heavy run crawls through its first seconds: show them finer
                self.bar.set_postfix_str(f"traffic and faults, at {now_s:.3f} s", refresh=False)
            self.bar.update(min(now_s, self.duration_s) - self.bar.n)
            return
        if phase == "checks":
            self.bar.close()
            return
        if self.bar.n < self.duration_s:
            self.bar.update(self.duration_s - self.bar.n)
        wall = time.monotonic()
        if wall - self.shown_s >= 0.2:  # a redraw at most five times a second
            self.shown_s = wall
            self.bar.set_postfix_str(f"traffic done; {phase} at {now_s:.0f} s simulated")


def _options(args: argparse.Namespace) -> str:
    """The ``--param`` and ``--set`` options of a run, as given."""
    return " ".join([*(f"--param {p}" for p in args.params), *(f"--set {s}" for s in args.sets)])


def _sweep(path: str, args: argparse.Namespace, default_out: str | None) -> int:
    if args.workers is not None and args.workers < 1:
        raise SweepError(f"--workers must be 1 or more, got {args.workers}")
    spec = sweep.prepare(path, args.seeds, args.sets, args.grid, args.params)
    if args.dask:
        sweep.require_dask()
    if args.out is not None:
        sweep.check_writable(args.out, "--out")  # before Path(): Path("") is "."
    out = Path(args.out if args.out is not None else
               default_out or f"sweep-{Path(spec.path).stem}.jsonl")
    sweep.check_writable(out, "--out")
    if args.summary_json is not None:
        sweep.check_writable(args.summary_json, "--summary-json")
    outcome = sweep.run_sweep(spec, out, workers=args.workers, dask=args.dask,
                              retry_errors=args.retry_errors,
                              progress=False if args.quiet else None,
                              notes=None if args.quiet else sys.stderr)
    if outcome.interrupted:
        print(f"ddbsim: interrupted: {outcome.done} of {len(spec.tasks)} tasks are in {out}; "
              "run the same command again to resume", file=sys.stderr)
        return 130
    summary = outcome.summary()
    if args.summary_json is not None:
        with open(args.summary_json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
            fh.write("\n")
    print(sweep.format_summary(summary, all_figures=args.all_figures), end="")
    return 0 if summary["failed"] == 0 and summary["error"] == 0 else 1


def _selftest(args: argparse.Namespace) -> int:
    from ddbsim.lab import selftest
    from ddbsim.service.bugs import KNOWN_BUGS

    if not Path(selftest.SCENARIO).is_file():
        raise SweepError(f"selftest runs {selftest.SCENARIO}, which does not exist here "
                         "(run it from the project root)")
    unknown = [m for m in args.mutant if m not in KNOWN_BUGS]
    if unknown:
        raise ConfigError(f"unknown mutant {unknown[0]!r}; known: {', '.join(sorted(KNOWN_BUGS))}")
    if args.workers is not None and args.workers < 1:
        raise SweepError(f"--workers must be 1 or more, got {args.workers}")
    seeds = sweep.parse_seeds(args.seeds)
    if args.json_path is not None:
        sweep.check_writable(args.json_path, "--json")
    print(f"selftest: hunting each mutant with {selftest.SCENARIO} on seeds {args.seeds}")
    catches = selftest.run_selftest(seeds, args.mutant or None, args.workers or 0,
                                    progress=lambda text: print(text, flush=True))
    missed = [c for c in catches if not c.caught]
    print(f"selftest: {len(catches) - len(missed)} of {len(catches)} mutants caught")
    if args.json_path is not None:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump([c.to_dict() for c in catches], fh, indent=2)
            fh.write("\n")
    return 1 if missed else 0


def _list(folder: str) -> int:
    """Every scenario with its description; a file that cannot be read is
    named on stderr (one line each) after the others are listed, exit 2."""
    root = Path(folder)
    if not root.is_dir():
        raise scenario_mod.ScenarioError(f"no scenario folder {folder!r} (use --dir)")
    bad: list[str] = []
    for file in sorted(root.glob("*.py")):
        if file.name.startswith("_"):
            continue
        try:
            doc = _first_doc_line(file)
        except scenario_mod.ScenarioError as exc:
            bad.append(str(exc))
            continue
        print(f"{file.stem:<20} {doc}")
    for line in bad:
        print(f"ddbsim: error: {line}", file=sys.stderr)
    return 2 if bad else 0


def _first_doc_line(file: Path) -> str:
    import ast

    if file.is_dir():
        raise scenario_mod.ScenarioError(f"{file} is a folder, not a scenario script")
    try:
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except SyntaxError as exc:  # also a file that is not UTF-8 text
        where = f":{exc.lineno}" if exc.lineno else ""
        raise scenario_mod.ScenarioError(f"{file}{where}: syntax error: {exc.msg}") from None
    except (OSError, ValueError) as exc:
        raise scenario_mod.ScenarioError(f"{file} cannot be read: "
                                         f"{scenario_mod.describe_exception(exc)}") from None
    doc = ast.get_docstring(tree) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _calibrate(args: argparse.Namespace) -> int:
    from ddbsim.lab.nines.calibrate import calibrate, format_calibration

    cfg = Config().with_overrides(parse_assignments(args.sets))
    if args.json_path is not None:
        sweep.check_writable(args.json_path, "--json")
    cal, cached = calibrate(cfg, args.cache_dir, refresh=args.refresh)
    if args.json_path is not None:
        with open(args.json_path, "w", encoding="utf-8") as fh:
            json.dump({**cal.to_dict(), "cached": cached}, fh, indent=2, sort_keys=True)
    print(format_calibration(cal, cached), end="")
    return 0


def _keys() -> int:
    docs = key_docs()
    key_w = max(len(d.key) for d in docs)
    value_w = max(len(format_value(d.default)) for d in docs)
    unit_w = max(len(d.unit) for d in docs)
    tag_w = max(len(d.provenance) for d in docs)
    for d in docs:
        print(f"{d.key:<{key_w}} = {format_value(d.default):<{value_w}}  {d.unit:<{unit_w}}  "
              f"{d.provenance:<{tag_w}}  {d.meaning}".rstrip())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
