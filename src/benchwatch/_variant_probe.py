"""Accuracy probe of a configuration experiment: how far a variant's results move.

A configuration that is faster is only worth recommending if it computes the same
thing. ``benchwatch configs compare`` therefore runs this module once per variant,
each time in a fresh subprocess whose environment holds that variant's ``ENGINE_*``
and ``NUMBA_*`` settings (they are read at import, so one process cannot host two
variants). The subprocess computes a fixed set of engine outputs on fixed, seeded
inputs and saves them to an ``.npz`` file; the lead process then compares each
variant's arrays with the baseline's in units in the last place (ulp).

Outputs (``OUTPUTS``): every neural model type's batch inference and one single
inference, both SIMD dot-product kernels, hashed text embeddings, knowledge-graph
top-k cosine scores and allocation scores after a fixed allocation sequence. Each
follows the variant's ``ENGINE_DTYPE``, so a float64 variant really computes in
float64.

ulp: ``|variant - baseline| / spacing(|baseline|)``, with the spacing taken in the
*coarser* of the two dtypes: a float32 baseline against a float64 variant is
measured in float32 ulp (the float64 result is the more exact one; the distance is
the float32 result's own rounding). Integer outputs (top-k ids, allocation winners)
are not compared in ulp; a changed winner shows up in the scores that follow it.

This module must not read asv results; it only runs the engine.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Seconds one probe subprocess may take (compilation included).
TIMEOUT_S = 600.0

#: Words of the probe's texts.
_WORDS = ("spike", "column", "prototype", "vigilance", "numba", "kernel", "graph",
          "embedding", "latency", "throughput")


def _rng(name: str) -> np.random.Generator:
    """One fixed generator per output, so a subset of outputs gives the same arrays
    as the full set."""
    return np.random.default_rng([20240601, OUTPUTS.index(name)])


def _neural_batch(model: str):
    def run(cfg):
        from engine import build_network

        X = _rng(f"neural.{model}.infer_batch").normal(size=(64, 32))
        return build_network(model, 32, seed=1, config=cfg).infer_batch(X.astype(cfg.np_dtype))
    return run


def _neural_one(cfg):
    from engine import build_network

    x = _rng("neural.MLP.infer").normal(size=32)
    return build_network("MLP", 32, seed=1, config=cfg).infer(x.astype(cfg.np_dtype))


def _dot(kernel: str):
    def run(cfg):
        from engine import kernels

        rng = _rng(f"simd.{kernel}")
        a = rng.random(1024).astype(cfg.np_dtype)
        b = rng.random(1024).astype(cfg.np_dtype)
        f = getattr(kernels, kernel)
        return np.array([f(a[:n], b[:n]) for n in (64, 1024)], dtype=cfg.np_dtype)
    return run


def _embed(cfg):
    from engine.text import embed_texts

    texts = [" ".join(_WORDS[(i * 7 + j) % len(_WORDS)] for j in range(3 + i % 5))
             for i in range(96)]  # >= 64 texts: the parallel path when the variant allows it
    return embed_texts(texts, config=cfg)


def _graph(cfg):
    from engine import KnowledgeGraph

    rng = _rng("graph.query_similar.scores")
    graph = KnowledgeGraph(48, config=cfg)
    graph.add_entities(rng.normal(size=(4096, 48)), [f"e{i}" for i in range(4096)])
    return np.stack([graph.query_similar(q, 16)[1] for q in rng.normal(size=(4, 48))])


def _allocation(cfg):
    from engine import AllocationEngine

    rng = _rng("allocation.scores")
    engine = AllocationEngine(64, 24, vigilance=0.5, config=cfg)
    engine.allocate_batch(rng.normal(size=(256, 24)))
    return engine.scores(rng.normal(size=(32, 24)))


#: The outputs a probe run computes, in this order: name -> function of the config.
OUTPUTS = (
    "neural.MLP.infer_batch", "neural.CNN1D.infer_batch", "neural.LSTM.infer_batch",
    "neural.SPIKING.infer_batch", "neural.MLP.infer",
    "simd.dot_scalar", "simd.dot_simd",
    "text.embed_texts",
    "graph.query_similar.scores",
    "allocation.scores",
)
_COMPUTE = {
    "neural.MLP.infer_batch": _neural_batch("MLP"),
    "neural.CNN1D.infer_batch": _neural_batch("CNN1D"),
    "neural.LSTM.infer_batch": _neural_batch("LSTM"),
    "neural.SPIKING.infer_batch": _neural_batch("SPIKING"),
    "neural.MLP.infer": _neural_one,
    "simd.dot_scalar": _dot("dot_scalar"),
    "simd.dot_simd": _dot("dot_simd"),
    "text.embed_texts": _embed,
    "graph.query_similar.scores": _graph,
    "allocation.scores": _allocation,
}


def compute(names: Sequence[str] = OUTPUTS) -> dict[str, np.ndarray]:
    """The outputs ``names`` under the configuration of this process's environment.

    Inputs are small and seeded: the probe is about bits, not speed, and must stay
    quick when numba's cache is cold (each variant compiles its own kernels).
    """
    from engine.config import EngineConfig

    unknown = [n for n in names if n not in _COMPUTE]
    if unknown:
        raise ValueError(f"unknown probe outputs {unknown}; known: {', '.join(OUTPUTS)}")
    cfg = EngineConfig.from_env()
    return {name: np.asarray(_COMPUTE[name](cfg)) for name in names}


def _describe() -> dict[str, object]:
    """What the probe process actually ran with: proof the variant's settings took."""
    import numba

    from engine.config import EngineConfig

    cfg = EngineConfig.from_env()
    layer = None
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel region has run (a serial variant)
        pass
    return {"fastmath": cfg.fastmath, "parallel": cfg.parallel,
            "num_threads": cfg.num_threads, "dtype": cfg.dtype,
            "numba_num_threads": numba.config.NUMBA_NUM_THREADS, "threading_layer": layer}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchwatch._variant_probe OUT.npz [OUTPUT ...]``: compute and save the
    outputs (all of ``OUTPUTS`` when none is named)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m benchwatch._variant_probe OUT.npz [OUTPUT ...]",
              file=sys.stderr)
        return 2
    outputs = compute(args[1:] or OUTPUTS)
    meta = json.dumps(_describe())
    np.savez(args[0], __meta__=np.array(meta), **outputs)
    return 0


# --------------------------------------------------------------------------- lead side


@dataclass(frozen=True)
class ProbeRun:
    """One variant's outputs and what its process reported about its configuration."""

    variant: str
    outputs: Mapping[str, np.ndarray]
    meta: Mapping[str, object]


@dataclass(frozen=True)
class Accuracy:
    """How far one variant's outputs are from the baseline's.

    ``max_ulp`` is the largest elementwise distance over every element of every
    output, ``worst_output`` the output where it occurs (``None`` when all are
    identical), ``ulp_dtype`` the dtype whose spacing measured it (``float32``
    whenever either side computed in float32). ``max_ulp_of_scale`` measures the
    same differences in ulp of each output's largest magnitude: an element near zero
    after cancellation can be thousands of its own ulp away while the difference is
    a few ulp of the values around it, and the two figures together say which.
    """

    variant: str
    max_ulp: float
    worst_output: str | None
    ulp_dtype: str
    max_ulp_of_scale: float


def run_probe(variant: str, env: Mapping[str, str], *, outputs: Sequence[str] = (),
              python: str | None = None, timeout: float = TIMEOUT_S,
              cwd: Path | None = None) -> ProbeRun:
    """Run the probe for one variant in a fresh subprocess with ``env`` added to this
    process's environment (``outputs``: a subset of ``OUTPUTS``, default all).

    Raises ``RuntimeError`` with the child's last line if it fails: a bad
    ``ENGINE_*`` value fails here, before any benchmark runs."""
    child_env = dict(os.environ)
    child_env.update(env)
    with tempfile.TemporaryDirectory(prefix="benchwatch-probe-") as tmp:
        path = Path(tmp) / "outputs.npz"
        cmd = [python or sys.executable, "-m", "benchwatch._variant_probe", str(path),
               *outputs]
        try:
            proc = subprocess.run(cmd, env=child_env, capture_output=True, text=True,
                                  timeout=timeout, cwd=cwd, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"accuracy probe of variant {variant!r} took more than "
                               f"{timeout:g} s") from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"accuracy probe of variant {variant!r} exited "
                               f"{proc.returncode}: {last}")
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
    return ProbeRun(variant, arrays, meta)


def _coarse(a: np.ndarray, b: np.ndarray) -> type:
    return np.float32 if np.float32 in (a.dtype.type, b.dtype.type) else np.float64


def ulp_distance(baseline: np.ndarray, variant: np.ndarray) -> tuple[float, str]:
    """(max elementwise ulp, dtype name) between two float arrays of one shape.

    NaN in both at the same place counts 0; NaN on one side only, or an inf that
    differs, counts inf. The spacing is that of the coarser dtype (see the module
    docstring).
    """
    a, b = np.asarray(baseline), np.asarray(variant)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    coarse = _coarse(a, b)
    if a.size == 0:
        return 0.0, np.dtype(coarse).name
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    spacing = np.spacing(np.abs(a64).astype(coarse)).astype(np.float64)
    return _max_ratio(a64, b64, spacing), np.dtype(coarse).name


def ulp_of_scale(baseline: np.ndarray, variant: np.ndarray) -> float:
    """Max |variant - baseline| in ulp of the baseline's largest magnitude (coarser
    dtype); 0 for an empty or all-zero baseline that the variant matches exactly."""
    a, b = np.asarray(baseline), np.asarray(variant)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    finite = np.abs(a64[np.isfinite(a64)])
    scale = float(finite.max()) if finite.size else 0.0
    spacing = float(np.spacing(_coarse(a, b)(scale)))
    return _max_ratio(a64, b64, np.full(a64.shape, spacing))


def _max_ratio(a64: np.ndarray, b64: np.ndarray, spacing: np.ndarray) -> float:
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a64 - b64)
        ulp = diff / spacing
    same = (np.isnan(a64) & np.isnan(b64)) | (np.isinf(a64) & (a64 == b64))
    ulp = np.where(same, 0.0, ulp)
    ulp = np.where(np.isnan(ulp), math.inf, ulp)
    return float(ulp.max())


def accuracy(baseline: ProbeRun, variant: ProbeRun) -> Accuracy:
    """The variant's largest ulp distance from the baseline over the float outputs
    both runs computed."""
    worst, where, scaled, dtypes = 0.0, None, 0.0, set()
    for name in OUTPUTS:
        a, b = baseline.outputs.get(name), variant.outputs.get(name)
        if a is None or b is None or a.dtype.kind != "f":
            continue
        d, dtype = ulp_distance(a, b)
        dtypes.add(dtype)
        scaled = max(scaled, ulp_of_scale(a, b))
        if d > worst:
            worst, where = d, name
    return Accuracy(variant.variant, worst, where,
                    "float32" if "float32" in dtypes or not dtypes else "float64", scaled)


if __name__ == "__main__":  # pragma: no cover - exercised through run_probe
    sys.exit(main())
