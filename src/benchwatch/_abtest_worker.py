"""One arm of ``benchwatch abtest``: a long-lived process that takes one sample per request.

``benchwatch.abtest`` starts two of these, one per arm, each with the arm's ``ENGINE_*``
settings in its environment and the arm's exported sources first on ``PYTHONPATH``, and
asks them for samples in ABBA order over JSON lines:

- ``{"op": "list"}`` -> ``{"benchmarks": [...]}``: asv's own discovery
  (``asv_runner.discovery.list_benchmarks``) of the benchmark directory: name, type,
  unit, params (asv's repr strings) and the other attributes asv records.
- ``{"op": "prepare", "name": N, "param_idx": I}`` -> ``{"type", "unit", "number"}``: find
  the benchmark by name as asv does (``get_benchmark_from_name``), run its
  ``setup_cache`` (once per cache key per process, as asv does once per run) and
  ``setup``, and for time benchmarks take one discarded sample with asv's own timing
  code, which picks ``number`` (calls per sample) when the benchmark does not declare
  one and warms the code up. ``{"skipped": true}`` when setup skips the combination.
- ``{"op": "sample", ...}`` -> ``{"value": V}``: one sample. For ``time_``/``timeraw_``
  benchmarks that is ``TimeBenchmark.run`` with ``repeat`` forced to 1 and ``number``
  fixed to the prepared one, so every sample of an arm averages the same number of calls;
  the benchmark's own ``warmup_time``, ``setup`` (re-run between samples as asv does),
  ``timer`` and params apply. The value is seconds per call. For ``track_`` benchmarks the
  value is what the method returns.
- ``{"op": "release", ...}`` runs the benchmark's teardown; ``{"op": "quit"}`` ends.

Any exception becomes ``{"error": "Type: message", "traceback": "..."}``; the process
keeps serving.

This file must import only the standard library and asv_runner: ``PYTHONPATH`` puts the
arm's sources first, and an exported ref of this repository holds its own (older) copy
of ``benchwatch``, which must neither shadow the toolkit nor be mistaken for it. That is
also why the parent runs it as a script with ``python -P`` rather than ``-m``.
Benchmarks may print: file descriptor 1 is pointed at stderr, and replies go to a
private duplicate of the original stdout.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import traceback

TIMED_TYPES = ("time", "timeraw")
ALLOWED_TYPES = TIMED_TYPES + ("track",)


class _Prepared:
    """A set-up benchmark at one parameter combination and its calls per sample."""

    def __init__(self, bench, number: int | None):
        self.bench = bench
        self.number = number


class Worker:
    def __init__(self, root: str):
        self.root = root
        self.prepared: dict[tuple[str, int | None], _Prepared] = {}
        self.caches: dict[str, object] = {}

    def handle(self, req: dict) -> dict:
        op = req.get("op")
        if op == "list":
            from asv_runner.discovery import list_benchmarks

            buf = io.StringIO()
            list_benchmarks(self.root, buf)
            return {"benchmarks": json.loads(buf.getvalue())}
        if op == "quit":
            for key in list(self.prepared):
                self._release(key)
            return {"ok": True}
        key = (req["name"], req.get("param_idx"))
        if op == "prepare":
            return self._prepare(key)
        if op == "sample":
            return {"value": self._sample(self.prepared[key])}
        if op == "release":
            self._release(key)
            return {"ok": True}
        raise ValueError(f"unknown op {op!r}")

    def _prepare(self, key: tuple[str, int | None]) -> dict:
        from asv_runner.discovery import get_benchmark_from_name

        if key in self.prepared:
            self._release(key)
        name, idx = key
        bench = get_benchmark_from_name(self.root, name if idx is None else f"{name}-{idx}")
        if bench.type not in ALLOWED_TYPES:
            raise ValueError(f"{name} is a {bench.type} benchmark; only time_, timeraw_ "
                             "and track_ benchmarks give one sample per call")
        cache_key = bench.setup_cache_key
        if cache_key is not None:
            if cache_key not in self.caches:
                self.caches[cache_key] = bench.do_setup_cache()
            bench.set_cache(self.caches[cache_key])
        else:
            bench.set_cache(None)
        if bench.do_setup():
            bench.do_teardown()
            return {"skipped": True, "type": bench.type, "unit": bench.unit}
        prepared = _Prepared(bench, None)
        if bench.type in TIMED_TYPES:
            # asv's own choice of calls per sample (number=0: grow until one sample
            # takes sample_time) together with its warm-up; the sample is discarded
            declared = int(bench.number)
            bench.repeat = 1
            bench.number = declared
            result = bench.do_run()
            prepared.number = int(result["number"])
        self.prepared[key] = prepared
        return {"type": bench.type, "unit": bench.unit, "number": prepared.number,
                "timeout": bench.timeout}

    def _sample(self, prepared: _Prepared) -> float:
        bench = prepared.bench
        if bench.type in TIMED_TYPES:
            # do_setup/redo_setup reload these from the benchmark's attributes; set
            # them right before each run, which reads them once at its start
            bench.repeat = 1
            bench.number = prepared.number
            result = bench.do_run()
            return float(result["samples"][0])
        value = bench.do_run()
        if isinstance(value, bool):
            value = float(value)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{bench.name} returned {value!r}, not a finite number")
        return float(value)

    def _release(self, key: tuple[str, int | None]) -> None:
        prepared = self.prepared.pop(key, None)
        if prepared is not None:
            prepared.bench.do_teardown()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _abtest_worker.py BENCHMARK_DIR", file=sys.stderr)
        return 2
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # whatever a benchmark prints goes to the arm's log, not the channel
    worker = Worker(os.path.abspath(argv[1]))
    for line in sys.stdin:
        if not line.strip():
            continue
        req: dict = {}
        try:
            req = json.loads(line)
            reply = worker.handle(req)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            reply = {"error": f"{type(exc).__name__}: {exc}".strip(),
                     "traceback": traceback.format_exc()}
        channel.write(json.dumps(reply) + "\n")
        if req.get("op") == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
