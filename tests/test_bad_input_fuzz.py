"""Garbage into every public entry point: only ValueError, TypeError or KeyError come out.

A numba typing error, an AttributeError from deep inside a wrapper, or a crash
would all fail here. Each call either succeeds or raises one of the documented
exception types with a message that does not mention numba.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import AllocationEngine, EngineConfig, KnowledgeGraph, NeuromorphicSystem, build_network
from engine.kernels import dot_scalar, dot_simd

CFG = EngineConfig(parallel=False)
DIM = 4

garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=5),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6),
    st.lists(st.lists(st.integers(-2, 2), max_size=3), max_size=3),
    st.just(object()),
    st.just({"a": 1}),
    st.sampled_from([
        np.zeros(DIM), np.full(DIM, np.nan), np.full(DIM, np.inf), np.ones(DIM + 1),
        np.ones((2, DIM)), np.ones((2, DIM + 1)), np.ones(DIM, dtype=complex),
        np.array(["a"] * DIM), np.ones(DIM, dtype=bool), np.ones(0), np.ones((0, DIM)),
        np.ma.array(np.ones(DIM), mask=[0, 1, 0, 0]), np.ones(DIM, dtype=np.int8),
        np.ones(DIM, dtype=">f8"), np.ones(2 * DIM)[::2], np.float64(3.0),
    ]),
)

ALLOWED = (ValueError, TypeError, KeyError)


def _call(fn, *args):
    try:
        fn(*args)
    except ALLOWED as exc:
        text = str(exc)
        assert "numba" not in text.lower(), text
        assert "Traceback" not in text, text
    # Anything else propagates and fails the test.


_OBJECTS: dict[str, object] = {}


def _objects():
    if not _OBJECTS:
        eng = AllocationEngine(8, DIM, config=CFG)
        eng.allocate(np.ones(DIM))
        graph = KnowledgeGraph(DIM, config=CFG)
        graph.add_entity(np.ones(DIM), "one")
        system = NeuromorphicSystem(CFG, dim=16, n_columns=8)
        system.process_document("A first document. It has two sentences.")
        _OBJECTS.update(eng=eng, graph=graph, system=system, net=build_network("mlp", DIM, config=CFG))
    return _OBJECTS


@settings(max_examples=150)
@given(a=garbage, b=garbage)
def test_kernels_reject_garbage_cleanly(a, b):
    _call(dot_scalar, a, b)
    _call(dot_simd, a, b)


@settings(max_examples=150)
@given(v=garbage, k=garbage)
def test_objects_reject_garbage_cleanly(v, k):
    o = _objects()
    eng, graph, system, net = o["eng"], o["graph"], o["system"], o["net"]
    _call(eng.allocate, v)
    _call(eng.allocate_batch, v)
    _call(eng.scores, v)
    _call(net.infer, v)
    _call(net.infer_batch, v)
    _call(graph.query_similar, v, k)
    _call(graph.add_entity, v, "x")
    _call(graph.add_edge, 0, k, "kind")
    _call(graph.neighbors, k)
    _call(system.process_allocation_request, v)
    _call(system.query_similar_entities, k, 2)
    _call(system.execute_query, v, k)
    _call(system.process_document, v)


@settings(max_examples=100)
@given(args=st.lists(garbage, min_size=1, max_size=4))
def test_constructors_reject_garbage_cleanly(args):
    _call(AllocationEngine, *args)
    _call(KnowledgeGraph, *args[:1])
    _call(build_network, *args[:2])


@pytest.mark.parametrize("bad", [np.full(DIM, np.nan), np.zeros(DIM), np.ones(DIM + 1)])
def test_allocation_state_untouched_by_rejected_input(bad):
    eng = AllocationEngine(8, DIM, config=CFG)
    eng.allocate(np.arange(1.0, DIM + 1))
    before = np.array(eng.prototypes), eng.n_used
    with pytest.raises(ValueError):
        eng.allocate(bad)
    with pytest.raises(ValueError):
        eng.allocate_batch(np.stack([np.ones(DIM), bad[:DIM]]) if bad.shape[0] == DIM else bad)
    np.testing.assert_array_equal(eng.prototypes, before[0])
    assert eng.n_used == before[1]


def test_system_refuses_complex_and_masked_embeddings():
    system = _objects()["system"]
    with pytest.raises(TypeError, match="is complex"):
        system.allocate_embeddings(np.ones((1, 16), dtype=complex))
    with pytest.raises(TypeError, match="masked array"):
        system.process_allocation_request(np.ma.array(np.ones(16), mask=[1] + [0] * 15))


def test_values_beyond_float32_are_refused_not_silently_infinite():
    import warnings

    from engine import EngineConfig, NeuromorphicSystem, build_network

    net = build_network("MLP", 4, hidden_size=4, seed=0,
                        config=EngineConfig(dtype="float32"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warning either
        with pytest.raises(ValueError, match=r"x has values beyond float32's range"):
            net.infer(np.array([1e39, 0.0, 0.0, 0.0]))
        with pytest.raises(ValueError, match=r"X has values beyond float32's range"):
            net.infer_batch(np.full((2, 4), -1e300))
        system = NeuromorphicSystem(dim=4, config=EngineConfig(dtype="float32"))
        with pytest.raises(ValueError, match=r"beyond float32's range"):
            system.allocate_embeddings(np.full((1, 4), 1e39))
