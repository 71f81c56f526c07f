"""Fixture asv benchmark directory for tests/test_suite_config.py."""

import os

# Like the real suite, set a variable for the benchmark runs; discovery must undo it.
os.environ["BENCHWATCH_FIXTURE_IMPORTED"] = "1"
