"""Options every analysis command shares, and the one way they load results.

``--results-dir`` (default: the ``results_dir`` of ``./asv.conf.json``),
``--machine`` (default: all), ``--repo`` (git commit order; default: result
dates), ``--strict`` (a bad file is exit 2 instead of a warning), ``--format``
and ``--output``. Each command works on a results directory alone, without the
project's git repository.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .results import Row

FORMATS = ("text", "markdown", "json", "csv", "html")


def add_arguments(p: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS) -> None:
    g = p.add_argument_group("results")
    g.add_argument("--results-dir", metavar="DIR", type=Path,
                   help="asv results directory (default: results_dir of ./asv.conf.json)")
    g.add_argument("--machine", metavar="NAME", help="only this asv machine (default: all)")
    g.add_argument("--repo", metavar="PATH", type=Path,
                   help="git repository for commit order (default: order by result date)")
    g.add_argument("--strict", action="store_true",
                   help="a bad result file is an error (exit 2) instead of a warning")
    o = p.add_argument_group("output")
    o.add_argument("--format", choices=formats, default=formats[0],
                   help=f"output format (default: {formats[0]})")
    o.add_argument("--output", metavar="FILE", type=Path,
                   help="write to FILE atomically instead of stdout")


def default_results_dir(start: Path | None = None) -> Path:
    """``results_dir`` of the nearest ``asv.conf.json``, relative to that file."""
    from .run import find_asv_conf, read_asv_conf

    try:
        conf_path = find_asv_conf(start)
    except UserError:
        raise UserError("no asv.conf.json here or above; pass --results-dir DIR") from None
    conf = read_asv_conf(conf_path)
    return (conf_path.parent / conf.get("results_dir", "results")).resolve()


@dataclass(frozen=True)
class Results:
    rows: tuple[Row, ...]
    results_dir: Path
    files: int


def load(args: argparse.Namespace) -> Results:
    """Load what the options name, printing each skipped file as a warning."""
    from . import results

    results_dir = args.results_dir or default_results_dir()
    loaded = results.load(results_dir, machine=args.machine, strict=args.strict)
    for problem in loaded.problems:
        print(f"benchwatch: warning: {problem}", file=sys.stderr)
    if not loaded.rows:
        where = f" for machine {args.machine!r}" if args.machine else ""
        raise UserError(f"no asv results{where}", path=str(results_dir))
    return Results(loaded.rows, Path(results_dir), loaded.files)
