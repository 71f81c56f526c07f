"""The ``benchwatch config`` command: validate suite configs and show a resolved suite.

Argument parsing only at import time; the loader (and ruamel.yaml) is imported when a
subcommand runs, so ``benchwatch --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError

if TYPE_CHECKING:
    from .suite_config import ConfigError

DEFAULT_CONFIG = Path("configs") / "suites.yaml"

CONFIG_EPILOG = """\
examples:
  benchwatch config validate
  benchwatch config validate configs/suites.yaml --benchmarks benchmarks/
  benchwatch config show ci-fast --env ci
  benchwatch config show production-comprehensive:1.0.0 --format json --output suite.json

The format, its units and every rule are described in site/configs.md.
"""

VALIDATE_EPILOG = """\
PATH defaults to configs/suites.yaml in the current directory or the nearest parent
that has one. Every 'select' regex must match at least one asv benchmark name found
in the benchmark directory (default: a benchmarks/ directory next to the configs/
directory, when there is one). Discovery imports the benchmark modules as asv does,
but runs no benchmark.

Each problem is printed as 'path:line:column: reason'; all are listed, first by
position. Exit 0 when the file is valid, 2 otherwise.

examples:
  benchwatch config validate
  benchwatch config validate my-suites.yaml --benchmarks ../engine/benchmarks
"""

SHOW_EPILOG = """\
NAME[:VERSION] picks a suite; without a version the highest semantic version is
used. Parameters are merged in this order, later wins:
  default_parameters  <-  the entry's parameters  <-  the environment's parameter_overrides

The YAML and JSON outputs hold the same data (the YAML loads back to the JSON).

examples:
  benchwatch config show ci-fast
  benchwatch config show ci-fast:1.0.0 --env ci --format json
  benchwatch config show production-comprehensive --env production --output resolved.yaml
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    config = subparsers.add_parser(
        "config", help="validate benchmark suite configs, show a resolved suite",
        description="Benchmark suite configs (configs/suites.yaml): versioned suites, "
                    "runner environments, SLA thresholds and gate settings.",
        epilog=CONFIG_EPILOG, formatter_class=fmt)
    config.set_defaults(func=lambda args: _usage(config))
    actions = config.add_subparsers(dest="config_command", metavar="ACTION")

    validate = actions.add_parser(
        "validate", help="check a suite config file; exit 2 listing every problem",
        description="Check a suite config file: schema, types, units, semantic versions, "
                    "regexes and environment overrides.",
        epilog=VALIDATE_EPILOG, formatter_class=fmt)
    validate.add_argument("path", nargs="?", metavar="PATH", type=Path,
                          help="the config file (default: configs/suites.yaml)")
    validate.add_argument("--benchmarks", metavar="DIR", type=Path,
                          help="asv benchmark directory to check 'select' regexes against")
    validate.set_defaults(func=run_validate)

    show = actions.add_parser(
        "show", help="print one suite merged for an environment",
        description="Print one suite version with its parameters merged for an "
                    "environment: what a runner executes.",
        epilog=SHOW_EPILOG, formatter_class=fmt)
    show.add_argument("suite", metavar="NAME[:VERSION]", help="suite name, optionally a version")
    show.add_argument("--env", metavar="ENV", help="environment whose overrides apply")
    show.add_argument("--config", metavar="PATH", type=Path,
                      help="the config file (default: configs/suites.yaml)")
    show.add_argument("--format", choices=("yaml", "json"), default="yaml",
                      help="output format (default: yaml)")
    show.add_argument("--output", metavar="FILE", type=Path,
                      help="write to FILE (atomically) instead of stdout")
    show.set_defaults(func=run_show)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print("benchwatch config: error: choose an action: validate or show", file=sys.stderr)
    return 2


def find_config(start: Path | None = None) -> Path:
    """``configs/suites.yaml`` in ``start`` (default: the cwd) or its nearest parent."""
    from .paths import find_upwards

    found = find_upwards(DEFAULT_CONFIG, start)
    if found is None:
        here = (start or Path.cwd()).resolve()
        raise UserError(f"no {DEFAULT_CONFIG} in {here} or its parents; pass the config path")
    return found


def default_benchmark_dir(config_path: Path) -> Path | None:
    """``benchmarks/`` next to the ``configs/`` directory holding the file, if present."""
    for directory in (config_path.parent, config_path.parent.parent):
        candidate = directory / "benchmarks"
        if candidate.is_dir():
            return candidate
    return None


def _print_errors(exc: ConfigError, args: argparse.Namespace) -> int:
    """One ``path:line:col: reason`` per line, so the first line is the first error."""
    if args.debug:
        raise exc
    for line in exc.errors:
        print(line, file=sys.stderr)
    return exc.exit_code


def run_validate(args: argparse.Namespace) -> int:
    from . import suite_config

    path = args.path or find_config()
    bench_dir = args.benchmarks or default_benchmark_dir(path)
    names = None
    if bench_dir is not None:
        from .benchmarks_index import discover

        names = discover(bench_dir)
    try:
        loaded = suite_config.load(path, names, names_from=str(bench_dir))
    except suite_config.ConfigError as exc:
        return _print_errors(exc, args)
    checked = f", selects checked against {len(names)} asv benchmarks in {bench_dir}" \
        if names is not None else ""
    print(f"ok: {len(loaded.suites)} suites, {len(loaded.environments)} environments{checked}")
    return 0


def render(resolved_dict: dict, fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(resolved_dict, indent=2) + "\n"
    import yaml

    return yaml.safe_dump(resolved_dict, sort_keys=False, default_flow_style=False,
                          allow_unicode=True)


def run_show(args: argparse.Namespace) -> int:
    from . import suite_config
    from .output import emit

    path = args.config or find_config()
    try:
        loaded = suite_config.load(path)
    except suite_config.ConfigError as exc:
        return _print_errors(exc, args)
    resolved = suite_config.resolve(loaded, args.suite, env=args.env)
    emit(render(resolved.to_dict(), args.format), args.output)
    return 0
