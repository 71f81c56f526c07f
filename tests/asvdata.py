"""Write asv api-version-2 results directories for tests, in asv's exact layout.

``results/<machine>/machine.json``, ``results/<machine>/<hash8>-<env>.json`` (columns
``result, params, version, started_at, duration, stats_ci_99_a, stats_ci_99_b,
stats_q_25, stats_q_75, stats_number, stats_repeat, samples, profile``) and
``results/benchmarks.json`` with each benchmark's type, unit, params and version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
           "samples", "profile"]
ENV = "virtualenv-py3.11-numpy2.4.6"


@dataclass
class Bench:
    name: str
    unit: str = "seconds"
    params: list[list[str]] = field(default_factory=list)
    version: str = "v1"

    @property
    def type(self) -> str:
        method = self.name.rsplit(".", 1)[-1]
        return method.split("_", 1)[0]


def write_machine(results: Path, machine: str) -> None:
    d = results / machine
    d.mkdir(parents=True, exist_ok=True)
    (d / "machine.json").write_text(json.dumps(
        {"machine": machine, "arch": "x86_64", "cpu": "test", "num_cpu": "2", "os": "Linux",
         "ram": "1000", "version": 1}))


def write_benchmarks(results: Path, benches: list[Bench]) -> None:
    data = {b.name: {"name": b.name, "type": b.type, "unit": b.unit,
                     "param_names": [f"p{i}" for i in range(len(b.params))],
                     "params": b.params, "version": b.version} for b in benches}
    data["version"] = 2
    (results / "benchmarks.json").write_text(json.dumps(data))


def entry(values: list, samples: list | None = None, params: list | None = None,
          version: str = "v1") -> list:
    """One benchmark's result entry; ``values``/``samples`` one per parameter combination.

    With samples, the CI and quartiles are computed from them like asv does (roughly).
    """
    n = len(values)
    ci_a, ci_b, q25, q75, number, repeat, samp = ([None] * n for _ in range(7))
    if samples is not None:
        for i, s in enumerate(samples):
            if s is None:
                continue
            arr = np.asarray(s, dtype=float)
            samp[i] = [float(x) for x in arr]
            q25[i], q75[i] = (float(x) for x in np.percentile(arr, [25, 75]))
            ci_a[i], ci_b[i] = (float(x) for x in np.percentile(arr, [0.5, 99.5]))
            number[i], repeat[i] = 1, len(arr)
    return [values, params or [], version, 0, 1.0, ci_a, ci_b, q25, q75, number, repeat,
            samp if samples is not None else None, None]


def write_result(results: Path, machine: str, commit: str, date_ms: int,
                 entries: dict[str, list], env: str = ENV) -> Path:
    write_machine(results, machine) if not (results / machine / "machine.json").exists() else None
    data = {"commit_hash": commit, "env_name": env, "date": date_ms,
            "params": {"machine": machine, "python": "3.11"}, "python": "3.11",
            "requirements": {}, "env_vars": {}, "result_columns": COLUMNS,
            "results": entries, "durations": {}, "version": 2}
    path = results / machine / f"{commit[:8]}-{env}.json"
    path.write_text(json.dumps(data))
    return path
