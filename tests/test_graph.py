"""KnowledgeGraph: storage, edges and exact cosine top-k against ``naive_topk``."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine import graph as graph_mod
from engine.config import EngineConfig
from engine.graph import KnowledgeGraph
from naive import naive_topk, naive_unit_rows

SERIAL = EngineConfig(parallel=False)
PARALLEL = EngineConfig(parallel=True)
FASTMATH = EngineConfig(parallel=True, fastmath=True)


def build(matrix, config=PARALLEL, **kwargs):
    matrix = np.asarray(matrix, dtype=np.float64)
    g = KnowledgeGraph(matrix.shape[1], config=config, **kwargs)
    g.add_entities(matrix, [f"e{i}" for i in range(matrix.shape[0])])
    return g


def assert_topk_like_naive(g, matrix, vec, k, atol=1e-5):
    """The fast result is a correct top-k up to float32 rounding of near-ties.

    Exact ordering rules are checked on the fast result itself; agreement with
    the float64 reference is checked up to ``atol``.
    """
    ids, scores = g.query_similar(vec, k)
    n = len(matrix)
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    assert len(ids) == len(scores) == min(k, n)
    assert len(set(ids.tolist())) == len(ids)
    # Sorted by descending score, ties by ascending id.
    for a in range(len(ids) - 1):
        assert scores[a] > scores[a + 1] or (scores[a] == scores[a + 1] and ids[a] < ids[a + 1])
    ref_ids, ref_scores = naive_topk(matrix, vec, n)
    ref = dict(zip(ref_ids.tolist(), ref_scores.tolist()))
    np.testing.assert_allclose(scores, [ref[i] for i in ids.tolist()], atol=atol)
    if len(ids) < n:
        worst_kept = min(ref[i] for i in ids.tolist())
        left_out = set(ref) - set(ids.tolist())
        assert max(ref[i] for i in left_out) <= worst_kept + 2 * atol
    # Where the reference is clearly separated, the ids agree exactly.
    exact = ref_ids[: len(ids)]
    gaps = np.diff(ref_scores)
    if len(gaps) == 0 or np.all(np.abs(gaps) > 4 * atol):
        np.testing.assert_array_equal(ids, exact)


# ------------------------------------------------------------------ exact figures


def test_query_exact_figures_on_fixed_data():
    g = build([[1, 0, 0], [0, 1, 0], [1, 1, 0], [-1, 0, 0], [0, 0, 5]])
    ids, scores = g.query_similar([2.0, 0.0, 0.0], 5)
    np.testing.assert_array_equal(ids, [0, 2, 1, 4, 3])
    np.testing.assert_allclose(scores, [1.0, math.sqrt(0.5), 0.0, 0.0, -1.0], atol=1e-7)
    ids, scores = g.query_similar([0, 1, 1], 2)
    np.testing.assert_array_equal(ids, [1, 4])  # 1/sqrt(2) each: the lower id first
    assert scores[0] == scores[1]


@pytest.mark.parametrize("config", [SERIAL, PARALLEL, FASTMATH], ids=["serial", "parallel", "fastmath"])
@pytest.mark.parametrize("dim", [1, 3, 8, 13, 128])
def test_duplicates_tie_with_lower_id_first(config, dim):
    rng = np.random.default_rng(dim)
    base = rng.standard_normal((5, dim))
    # Many copies, interleaved, so duplicates land in different parallel blocks;
    # scaled copies must tie too (they normalise to the same unit vector).
    n = 3 * graph_mod.MIN_ROWS_PER_BLOCK
    rows = base[np.arange(n) % 5] * np.where(np.arange(n) % 2 == 0, 1.0, 4.0)[:, None]
    g = build(rows, config=config)
    ids, scores = g.query_similar(base[2], 7)
    # (In 1-D every row of the same sign is the same direction.)
    unit = naive_unit_rows(rows)
    same = np.all(np.abs(unit - unit[2]) < 1e-12, axis=1)
    expected = np.flatnonzero(same)[:7]
    np.testing.assert_array_equal(ids, expected)
    assert np.all(scores == scores[0])
    np.testing.assert_allclose(scores[0], 1.0, atol=1e-5)


def test_parallel_serial_and_fastmath_agree_on_large_graph():
    rng = np.random.default_rng(1)
    n, dim = 3 * graph_mod.MIN_ROWS_PER_BLOCK + 17, 24
    matrix = rng.standard_normal((n, dim))
    q = rng.standard_normal(dim)
    results = [build(matrix, config=c).query_similar(q, 25) for c in (SERIAL, PARALLEL)]
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert_topk_like_naive(build(matrix, config=FASTMATH), matrix, q, 25)
    assert_topk_like_naive(build(matrix, config=PARALLEL), matrix, q, 25)


@pytest.mark.parametrize("k", [1, 2, 50, 10_000])
def test_large_k_and_k_beyond_n_on_parallel_path(k):
    rng = np.random.default_rng(k)
    n = 2 * graph_mod.MIN_ROWS_PER_BLOCK + 3
    # 40 directions, each repeated with power-of-two scales (exactly the same
    # unit row): many exact ties, all resolved by id. A random query keeps
    # distinct directions far apart compared with float32 rounding.
    directions = rng.standard_normal((40, 4))
    scales = 2.0 ** rng.integers(-3, 4, size=n)
    matrix = directions[rng.integers(0, 40, size=n)] * scales[:, None]
    q = rng.standard_normal(4)
    g = build(matrix)
    ids, scores = g.query_similar(q, k)
    ref_ids, ref_scores = naive_topk(matrix, q, k)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)


def brute_force_topk(g, q, k):
    """Score every stored row with the kernel's own float32 dot product, then
    sort by (-score, id): what the pruned search must reproduce bit for bit."""
    q32 = graph_mod._prepare(np.asarray(q, dtype=np.float64)[None, :], "q").unit[0]
    scores = np.array([graph_mod._row_dot_j(g.embedding(i), q32) for i in range(len(g))])
    order = sorted(range(len(g)), key=lambda i: (-scores[i], i))[:k]
    return np.array(order, dtype=np.int64), scores[order].astype(np.float32)


def test_int8_quantisation_bound_holds():
    rng = np.random.default_rng(8)
    rows = rng.standard_normal((500, 37)) * rng.choice([1e-30, 1.0, 1e30], size=(500, 1))
    rows[:50, 1:] *= 1e-6  # one dominant component: the coarsest codes
    unit, codes, scale, _ = graph_mod._prepare(rows, "embeddings")
    assert codes.dtype == np.int8 and scale.dtype == np.float32
    assert np.abs(codes).max() <= graph_mod.CODE_MAX
    err = np.abs(unit.astype(np.float64) - scale.astype(np.float64)[:, None] * codes)
    assert np.all(err <= scale.astype(np.float64)[:, None] / 2)


@pytest.mark.parametrize("config", [SERIAL, PARALLEL], ids=["serial", "parallel"])
def test_exact_arithmetic_ties_match_naive_exactly(config):
    # Unit vectors with 1, 4 or 16 components of +-1, +-1/2, +-1/4: every dot
    # product is exact in float32 and float64 alike, so scores tie exactly
    # across different directions too, right at the pruning threshold.
    rng = np.random.default_rng(9)
    dim, n = 16, 2 * graph_mod.MIN_ROWS_PER_BLOCK + 100
    rows = np.zeros((n, dim))
    for i in range(n):
        m = rng.choice([1, 4, 16])
        where = rng.choice(dim, size=m, replace=False)
        rows[i, where] = rng.choice([-1.0, 1.0], size=m) / np.sqrt(m)
    g = build(rows, config=config)
    signs = np.where(np.arange(dim) % 3 == 0, -1.0, 1.0)
    for q in (rows[5], rows[7], np.ones(dim), signs, np.r_[np.ones(4), np.zeros(dim - 4)]):
        for k in (1, 10, 333):
            ids, scores = g.query_similar(q, k)
            ref_ids, ref_scores = naive_topk(rows, q, k)
            np.testing.assert_array_equal(ids, ref_ids)
            np.testing.assert_allclose(scores, ref_scores, rtol=1e-6)


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([1, 3, 8, 29]),
    st.sampled_from([0.0, 1e-7, 1e-4, 1e-2]),
    st.integers(1, 12),
)
def test_pruned_search_equals_scoring_every_row(seed, dim, jitter, k):
    # Near-duplicates of a few directions put many scores within float32
    # rounding of the pruning threshold.
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((4, dim))
    rows = base[rng.integers(0, 4, size=300)] + jitter * rng.standard_normal((300, dim))
    rows[np.all(rows == 0, axis=1), 0] = 1.0
    g = build(rows, config=SERIAL)
    q = base[0] + jitter * rng.standard_normal(dim)
    if not q.any():
        q[0] = 1.0
    ids, scores = g.query_similar(q, k)
    ref_ids, ref_scores = brute_force_topk(g, q, k)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores)


def test_pruned_parallel_search_equals_scoring_every_row():
    rng = np.random.default_rng(10)
    n, dim = 3 * graph_mod.MIN_ROWS_PER_BLOCK, 32
    base = rng.standard_normal((50, dim))
    rows = base[rng.integers(0, 50, size=n)] + 1e-3 * rng.standard_normal((n, dim))
    g = build(rows, config=PARALLEL)
    for k in (1, 10, 100):
        ids, scores = g.query_similar(base[3], k)
        ref_ids, ref_scores = brute_force_topk(g, base[3], k)
        np.testing.assert_array_equal(ids, ref_ids)
        np.testing.assert_array_equal(scores, ref_scores)


# ------------------------------------------------------------------ edge sizes


def test_size_one_and_k_greater_than_n():
    g = build([[0.5, -2.0]])
    ids, scores = g.query_similar([1.0, 0.0], 10)
    np.testing.assert_array_equal(ids, [0])
    np.testing.assert_allclose(scores, [0.5 / math.sqrt(4.25)], rtol=1e-6)


def test_empty_graph_returns_empty_arrays():
    g = KnowledgeGraph(4)
    ids, scores = g.query_similar([1, 2, 3, 4], 3)
    assert ids.shape == (0,) and ids.dtype == np.int64
    assert scores.shape == (0,) and scores.dtype == np.float32
    assert len(g) == 0


@pytest.mark.parametrize(
    "k, exc, message",
    [(0, ValueError, "k must be >= 1"), (-3, ValueError, "k must be >= 1"),
     (2.0, TypeError, "k must be an int"), (True, TypeError, "k must be an int")],
)
def test_bad_k(k, exc, message):
    g = build([[1, 0]])
    with pytest.raises(exc, match=message):
        g.query_similar([1, 0], k)


@pytest.mark.parametrize(
    "vec, exc, message",
    [([0.0, 0.0], ValueError, "zero vector"),
     ([np.nan, 1.0], ValueError, "NaN or inf"),
     ([np.inf, 1.0], ValueError, "NaN or inf"),
     ([1.0, 2.0, 3.0], ValueError, r"length 2, got shape \(3,\)"),
     ([[1.0, 2.0]], ValueError, "1-D"),
     ("ab", TypeError, "which is not numeric"),
     (["a", "b"], TypeError, "has dtype <U1, which is not numeric")],
)
def test_bad_query_vector(vec, exc, message):
    g = build([[1, 0]])
    with pytest.raises(exc, match=message):
        g.query_similar(vec, 1)


# ------------------------------------------------------------------ storage


@pytest.mark.parametrize(
    "vec, exc, message",
    [(np.zeros(3), ValueError, "zero vector"),
     ([1.0, np.nan, 0.0], ValueError, "NaN or inf"),
     ([1.0, -np.inf, 0.0], ValueError, "NaN or inf"),
     ([1.0, 2.0], ValueError, r"length 3, got shape \(2,\)"),
     (np.ones((1, 3)), ValueError, "1-D vector of length 3"),
     ([True, False, True], TypeError, "has dtype bool, which is not numeric"),
     (None, TypeError, "has dtype object, which is not numeric")],
)
def test_add_entity_rejects_bad_vectors(vec, exc, message):
    g = KnowledgeGraph(3)
    with pytest.raises(exc, match=message):
        g.add_entity(vec, "x")
    assert len(g) == 0


def test_add_entity_rejects_non_str_label():
    g = KnowledgeGraph(2)
    with pytest.raises(TypeError, match="label must be a str, got int"):
        g.add_entity([1.0, 0.0], 7)


def test_add_entities_validates_everything_before_storing():
    g = build([[1.0, 0.0]])
    with pytest.raises(ValueError, match="embeddings row 1 is the zero vector"):
        g.add_entities([[1.0, 1.0], [0.0, 0.0]], ["a", "b"])
    with pytest.raises(ValueError, match="2 embeddings but 1 labels"):
        g.add_entities([[1.0, 1.0], [2.0, 0.0]], ["a"])
    with pytest.raises(TypeError, match=r"labels\[1\] must be a str"):
        g.add_entities([[1.0, 1.0], [2.0, 0.0]], ["a", None])
    with pytest.raises(TypeError, match="not a single str"):
        g.add_entities([[1.0, 1.0], [2.0, 0.0]], "ab")
    with pytest.raises(ValueError, match=r"shape \(m, 2\)"):
        g.add_entities([1.0, 1.0], ["a"])
    assert len(g) == 1 and g.capacity == 1024
    assert g.add_entities(np.empty((0, 2)), []).shape == (0,)


def test_ids_labels_embeddings_and_norms():
    g = KnowledgeGraph(3, config=SERIAL)
    assert g.add_entity([3.0, 0.0, 4.0], "first") == 0
    assert g.add_entity(np.array([0, 2, 0], dtype=np.int32), "second") == 1
    np.testing.assert_array_equal(g.add_entities([[1, 1, 1], [0, 0, 9]], ["c", "d"]), [2, 3])
    assert len(g) == 4
    assert [g.label(i) for i in range(4)] == ["first", "second", "c", "d"]
    assert g.labels(np.array([3, 0])) == ["d", "first"]
    emb = g.embedding(0)
    assert emb.dtype == np.float32
    np.testing.assert_allclose(emb, [0.6, 0.0, 0.8], rtol=1e-7)
    assert g.norm(0) == 5.0 and g.norm(3) == 9.0
    emb[0] = 123.0  # a copy: the store is unchanged
    assert g.embedding(0)[0] == np.float32(0.6)


def test_float64_input_is_stored_as_float32_unit_rows():
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((50, 7)) * rng.choice([1e-300, 1e-3, 1.0, 1e300], size=(50, 1))
    g = build(matrix)
    stored = np.array([g.embedding(i) for i in range(50)])
    assert stored.dtype == np.float32
    np.testing.assert_allclose(stored, naive_unit_rows(matrix), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(stored.astype(np.float64), axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("entity_id, exc, message", [
    (5, KeyError, r"unknown entity id 5: the graph has 2 entities \(ids 0..1\)"),
    (-1, KeyError, "unknown entity id -1"),
    (1.0, TypeError, "entity id must be an int, got float"),
    (True, TypeError, "entity id must be an int, got bool"),
])
def test_unknown_ids_are_clear_errors(entity_id, exc, message):
    g = build([[1, 0], [0, 1]])
    for call in (g.label, g.embedding, g.neighbors, g.norm):
        with pytest.raises(exc, match=message):
            call(entity_id)


# ------------------------------------------------------------------ growth


def test_growth_keeps_embeddings_and_is_geometric():
    rng = np.random.default_rng(4)
    n = 1000
    matrix = rng.standard_normal((n, 5))
    g = KnowledgeGraph(5, initial_capacity=1)
    for i, row in enumerate(matrix):
        assert g.add_entity(row, str(i)) == i
    # Doubling from 1: capacities 2, 4, ..., 1024 -> exactly ceil(log2(n)) reallocations.
    assert g.reallocations == math.ceil(math.log2(n))
    assert g.capacity == 1024
    stored = np.array([g.embedding(i) for i in range(n)])
    np.testing.assert_allclose(stored, naive_unit_rows(matrix), rtol=1e-6, atol=1e-7)
    assert [g.label(i) for i in (0, 511, 999)] == ["0", "511", "999"]
    assert g.nbytes == 1024 * (5 * 4 + 5 + 4 + 8)  # rows, codes, scale, norm
    assert_topk_like_naive(g, matrix, matrix[10], 5)


def test_bulk_growth_jumps_to_next_power_of_two():
    g = KnowledgeGraph(2, initial_capacity=3)
    g.add_entities(np.ones((20, 2)), ["x"] * 20)
    assert g.capacity == 24 and g.reallocations == 1
    g.add_entities(np.ones((4, 2)), ["y"] * 4)
    assert g.capacity == 24 and len(g) == 24
    g.add_entity([1, 2], "z")
    assert g.capacity == 48 and g.reallocations == 2


def test_constructor_validation():
    with pytest.raises(ValueError, match="dim must be >= 1"):
        KnowledgeGraph(0)
    with pytest.raises(TypeError, match="dim must be an int"):
        KnowledgeGraph(2.5)
    with pytest.raises(ValueError, match="initial_capacity must be >= 1"):
        KnowledgeGraph(2, initial_capacity=0)
    with pytest.raises(TypeError, match="config must be an EngineConfig"):
        KnowledgeGraph(2, config="fast")


# ------------------------------------------------------------------ edges


def test_edges_neighbors_in_insertion_order():
    g = build(np.eye(4))
    assert g.add_edge(0, 2, "next")
    assert g.add_edge(0, 1, "column")
    assert g.add_edge(0, 3, "next")
    assert g.add_edge(0, 2, "column")
    assert not g.add_edge(0, 2, "next")  # same triple: no-op
    assert g.add_edge(1, 1, "self")
    assert g.neighbors(0) == [2, 1, 3]
    assert g.neighbors(0, "next") == [2, 3]
    assert g.neighbors(0, "column") == [1, 2]
    assert g.neighbors(0, "other") == []
    assert g.neighbors(1) == [1]
    assert g.neighbors(3) == []
    assert g.n_edges == 5


def test_bad_edges():
    g = build(np.eye(2))
    with pytest.raises(KeyError, match="unknown destination id 2: the graph has 2 entities"):
        g.add_edge(0, 2, "next")
    with pytest.raises(KeyError, match="unknown source id 9"):
        g.add_edge(9, 0, "next")
    with pytest.raises(ValueError, match="non-empty str"):
        g.add_edge(0, 1, "")
    with pytest.raises(TypeError, match="edge kind must be a str"):
        g.add_edge(0, 1, 3)
    assert g.n_edges == 0


# ------------------------------------------------------------------ properties


@st.composite
def graphs_and_queries(draw):
    n = draw(st.integers(1, 40))
    dim = draw(st.integers(1, 6))
    # Small integers: many duplicate and parallel rows, hence exact ties.
    matrix = draw(hnp.arrays(np.float64, (n, dim), elements=st.integers(-3, 3).map(float)))
    matrix[np.all(matrix == 0, axis=1), 0] = 1.0
    q = draw(hnp.arrays(np.float64, dim, elements=st.integers(-3, 3).map(float)))
    if not q.any():
        q[0] = -1.0
    k = draw(st.integers(1, n + 3))
    return matrix, q, k


@given(graphs_and_queries())
def test_query_matches_naive_topk(case):
    matrix, q, k = case
    g = build(matrix)
    assert_topk_like_naive(g, matrix, q, k, atol=1e-6)
    # Rows with the same direction normalise to bit-identical float32 rows, so
    # they tie exactly and come out in ascending id order.
    ids, scores = g.query_similar(q, k)
    unit = naive_unit_rows(matrix)
    for a in range(len(ids)):
        for b in range(a + 1, len(ids)):
            if np.allclose(unit[ids[a]], unit[ids[b]], rtol=0, atol=1e-12):
                assert scores[a] == scores[b] and ids[a] < ids[b]


@given(
    hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.just(5)),
               elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
    st.integers(1, 35),
)
def test_query_on_arbitrary_floats_is_a_correct_topk(matrix, k):
    matrix = matrix[np.any(matrix != 0, axis=1)]
    if len(matrix) == 0:
        return
    g = build(matrix)
    q = matrix[0] + 0.5
    if not q.any():
        q[0] = 1.0
    assert_topk_like_naive(g, matrix, q, k)


# ------------------------------------------------------------------ threads


def test_concurrent_writers_and_readers():
    dim, per_writer, writers = 6, 400, 3
    g = KnowledgeGraph(dim, initial_capacity=2)
    anchor = np.zeros(dim)
    anchor[0] = 1.0
    g.add_entity(anchor, "anchor")
    errors = []
    stop = threading.Event()

    def write(w):
        rng = np.random.default_rng(w)
        try:
            for i in range(per_writer):
                v = rng.standard_normal(dim)
                v[0] = -abs(v[0]) - 0.1  # never as close to the anchor as itself
                eid = g.add_entity(v, f"w{w}-{i}")
                if i % 50 == 0:
                    g.add_edge(eid, 0, "seen")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def read():
        try:
            while not stop.is_set():
                ids, scores = g.query_similar(anchor, 3)
                assert ids[0] == 0 and abs(scores[0] - 1.0) < 1e-6
                assert np.all(ids < len(g))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in readers + threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors
    n = 1 + writers * per_writer
    assert len(g) == n
    labels = [g.label(i) for i in range(n)]
    assert sorted(labels[1:]) == sorted(f"w{w}-{i}" for w in range(writers) for i in range(per_writer))
    assert g.n_edges == writers * (per_writer // 50)
    assert g.reallocations == math.ceil(math.log2(n / 2))
    # Each writer's rows are intact, whatever the interleaving.
    for w in range(writers):
        rng = np.random.default_rng(w)
        expected = []
        for _ in range(per_writer):
            v = rng.standard_normal(dim)
            v[0] = -abs(v[0]) - 0.1
            expected.append(v)
        got = np.array([g.embedding(labels.index(f"w{w}-{i}")) for i in range(per_writer)])
        np.testing.assert_allclose(got, naive_unit_rows(np.array(expected)), rtol=1e-6, atol=1e-7)
