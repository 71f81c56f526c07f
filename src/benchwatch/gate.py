"""``benchwatch gate``: placeholder until this command lands (issue 4)."""

from __future__ import annotations

import argparse

from .errors import UserError


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gate", help="(being built)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    raise UserError("'benchwatch gate' is not built yet")
