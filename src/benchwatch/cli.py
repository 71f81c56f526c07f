"""The ``benchwatch`` command line: argument parsing and the exit-code contract.

Exit codes (kept stable, CI and the action depend on them):
  0  ok or pass
  1  the gate failed
  2  usage, config or data error (one line on stderr, no traceback unless --debug)

Command modules are imported lazily so ``--help`` and ``--version`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from . import __version__
from .errors import UserError

DESCRIPTION = """\
Continuous benchmarking around airspeed velocity (asv).

benchwatch reads asv's own results files and turns them into statistically
honest regression gates, PR comments, change-point and trend reports, and a
static history site. asv stays the runner; benchwatch is the analysis.
"""

EPILOG = """\
examples:
  benchwatch config validate                 check configs/suites.yaml against benchmarks/
  benchwatch config show ci-fast --env ci    the merged suite a CI runner gets
  benchwatch run ci-fast --env local         run a suite through asv, print its pass/fail table
  benchwatch run ci-fast --dry-run           show the asv commands without running them

exit codes:
  0  ok, or the gate passed
  1  the gate failed (a regression or a failed success criterion)
  2  usage, config or data error; the message names the file, line and cause

Run 'benchwatch COMMAND --help' for a command's options.
"""


#: Modules that add a subcommand, in the order ``--help`` lists them.
COMMAND_MODULES = ("cli_config", "run", "continuous", "compare", "gate", "changes", "trends",
                   "baselines", "calibrate", "gha", "results_branch", "comment", "site.build",
                   "abtest", "configs_compare", "recommend")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message to one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="benchwatch",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"benchwatch {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks for errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each module's setup_arguments only declares options; heavy imports (scipy,
    # numpy, asv) happen inside the function that runs the command.
    for name in COMMAND_MODULES:
        importlib.import_module(f".{name}", __package__).setup_arguments(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # argparse cannot take a trailing positional list after options that follow
    # the first positional ("run SUITE --env ci HEAD~1..HEAD"); commands that
    # accept such a list name it in ``trailing_positionals`` and get the leftovers.
    args, extras = parser.parse_known_args(argv)
    if extras:
        target = getattr(args, "trailing_positionals", None)
        if target is None or any(e.startswith("-") for e in extras):
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        setattr(args, target, list(getattr(args, target)) + extras)
    if getattr(args, "command", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        if args.debug:
            raise
        print(f"benchwatch: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
