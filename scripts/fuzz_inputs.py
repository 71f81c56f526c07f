"""The big fuzzing run: tests/test_fuzz_inputs.py's properties with many examples each.

CI runs each property with the conftest profile's 60 examples; this runs the same
functions with ``--examples`` (default 5,000) and prints, per property, the examples
run and what they exercised (files loaded clean or with problems, UserErrors, ...).
A failing property prints hypothesis's minimal example and the script exits 1.

    .venv/bin/python scripts/fuzz_inputs.py                 # 5,000 examples each
    .venv/bin/python scripts/fuzz_inputs.py --examples 500 -k config
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="examples per property")
    parser.add_argument("-k", metavar="TEXT", default="",
                        help="only properties whose name contains TEXT")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed")
    args = parser.parse_args(argv)

    from hypothesis import HealthCheck, seed, settings

    # the properties' own settings inherit the profile loaded when they are defined
    settings.register_profile("fuzz-big", max_examples=args.examples, deadline=None,
                              database=None, suppress_health_check=list(HealthCheck))
    settings.load_profile("fuzz-big")
    import test_fuzz_inputs as fuzz

    names = sorted(n for n in dir(fuzz) if n.startswith("test_") and args.k in n)
    failed = 0
    print(f"{'property':<52} {'examples':>8} {'seconds':>8}  outcomes", flush=True)
    for name in names:
        test = getattr(fuzz, name)
        if args.seed is not None:
            test = seed(args.seed)(test)
        calls = collections.Counter()
        if hasattr(test, "hypothesis"):
            inner = test.hypothesis.inner_test

            def counted(*a, _inner=inner, _calls=calls, **kw):
                _calls["n"] += 1
                return _inner(*a, **kw)

            test.hypothesis.inner_test = counted
        else:  # a fixed regression case: run once
            calls["n"] = 1
        before = collections.Counter(fuzz.OUTCOMES)
        start = time.perf_counter()
        try:
            test()
            status = ""
        except Exception:  # noqa: BLE001 - report every failing property, then exit 1
            failed += 1
            status = "FAILED"
            traceback.print_exc()
        seconds = time.perf_counter() - start
        delta = fuzz.OUTCOMES - before
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(delta.items()))
        print(f"{name:<52} {calls['n']:>8} {seconds:>8.1f}  {status}{outcomes}", flush=True)
    print(f"{len(names) - failed} of {len(names)} properties held"
          f" ({args.examples} examples requested each)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
