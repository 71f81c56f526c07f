"""The console script answers --version and --help, through the installed entry point."""

import subprocess
import sys
from pathlib import Path

from benchwatch import __version__
from benchwatch.cli import main


def test_version_through_console_script():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "benchwatch"), "--version"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == f"benchwatch {__version__}"


def test_help_lists_exit_codes(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    assert "2  usage, config or data error" in text


def test_unknown_option_exits_2(capsys):
    try:
        main(["--no-such-flag"])
    except SystemExit as exc:
        assert exc.code == 2
    else:  # pragma: no cover
        raise AssertionError("argparse did not exit")
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
