"""AllocationEngine against ``NaiveAllocator``: the rule, batches, scores, threads, errors."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import allocation as allocation_mod
from engine.allocation import Allocation, AllocationEngine
from engine.config import EngineConfig
from naive import NaiveAllocator, naive_unit

F64_SERIAL = EngineConfig(fastmath=False, parallel=False, dtype="float64")
F64_PAR_FM = EngineConfig(fastmath=True, parallel=True, dtype="float64")
F32_PAR = EngineConfig(fastmath=False, parallel=True, dtype="float32")
F32_SERIAL_FM = EngineConfig(fastmath=True, parallel=False, dtype="float32")
# Every (fastmath, parallel) pair, each dtype twice.
CONFIGS = [F64_SERIAL, F64_PAR_FM, F32_PAR, F32_SERIAL_FM]
CONFIG_IDS = ["f64-serial", "f64-par-fastmath", "f32-par", "f32-serial-fastmath"]
F64_PAR = EngineConfig(fastmath=False, parallel=True, dtype="float64")


def tol(config):
    """Agreement with the float64 reference: a few ulps of the engine's dtype."""
    return 1e-12 if config.dtype == "float64" else 2e-6


def assert_unit_rows(P, config):
    norms = np.linalg.norm(P.astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=10 * tol(config))


# ------------------------------------------------------------------ the rule


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_hand_worked_three_columns(config):
    e = AllocationEngine(3, 2, vigilance=0.9, learning_rate=0.5, config=config)
    t = tol(config)
    assert e.allocate(np.array([1.0, 0.0])) == (0, 1.0, True)
    assert e.allocate(np.array([0.0, 2.0])) == (1, 1.0, True)  # score 0 < 0.9
    # x_hat = (0.6, 0.8): scores (0.6, 0.8), best 0.8 < 0.9 and a column is free.
    assert e.allocate([3, 4]) == (2, 1.0, True)
    # x_hat = (0.8, 0.6): scores (0.8, 0.6, 0.96) -> column 2, moved to the
    # normalised midpoint of (0.6, 0.8) and (0.8, 0.6), i.e. (1, 1) / sqrt(2).
    col, score, novel = e.allocate(np.array([4.0, 3.0]))
    assert (col, novel) == (2, False)
    assert score == pytest.approx(0.96, abs=t)
    r = math.sqrt(0.5)
    np.testing.assert_allclose(e.prototypes, [[1, 0], [0, 1], [r, r]], atol=t)
    np.testing.assert_allclose(e.scores(np.array([0.0, 5.0])), [0.0, 1.0, r], atol=t)
    # Full: x = (-1, 0) scores (-1, 0, -r); nothing reaches 0.9 but no column
    # is free, so column 1 (score 0) wins and turns to (-1, 1) / sqrt(2).
    col, score, novel = e.allocate(np.array([-1.0, 0.0]))
    assert (col, score, novel) == (1, 0.0, False)
    np.testing.assert_allclose(e.prototypes, [[1, 0], [-r, r], [r, r]], atol=t)
    assert e.n_used == 3
    assert_unit_rows(e.prototypes, config)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_ties_go_to_the_lowest_column(config):
    e = AllocationEngine(2, 2, vigilance=0.9, learning_rate=0.1, config=config)
    e.allocate(np.array([0.0, 3.0]))
    e.allocate(np.array([2.0, 0.0]))
    result = e.allocate(np.array([1.0, 1.0]))  # scores exactly equal
    assert result.column == 0 and not result.novel
    assert isinstance(result, Allocation)
    assert type(result.column) is int and type(result.score) is float and type(result.novel) is bool


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_edge_sizes_and_zero_blend(config):
    # dim 1: every input is +1 or -1.
    e = AllocationEngine(2, 1, vigilance=0.5, learning_rate=0.5, config=config)
    assert e.allocate([5.0]) == (0, 1.0, True)
    assert e.allocate([0.5]) == (0, 1.0, False)
    assert e.allocate([-2.0]) == (1, 1.0, True)
    assert e.allocate([-1.0]) == (1, 1.0, False)
    # One column, the exact opposite input, eta 0.5: the blend is zero and the
    # column keeps its direction.
    e = AllocationEngine(1, 3, vigilance=0.5, learning_rate=0.5, config=config)
    e.allocate(np.array([1.0, 2.0, 2.0]))
    before = e.prototypes.copy()
    result = e.allocate(np.array([-1.0, -2.0, -2.0]))
    assert result == (0, pytest.approx(-1.0, abs=tol(config)), False)
    np.testing.assert_array_equal(e.prototypes, before)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_learning_rate_one_replaces_the_winner(config):
    e = AllocationEngine(1, 4, vigilance=0.0, learning_rate=1.0, config=config)
    e.allocate(np.array([1.0, 0.0, 0.0, 0.0]))
    e.allocate(np.array([0.0, 0.0, 3.0, 4.0]))
    np.testing.assert_allclose(e.prototypes, [[0.0, 0.0, 0.6, 0.8]], atol=tol(config))


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_extreme_but_finite_magnitudes_normalise(config):
    e = AllocationEngine(5, 3, vigilance=1.0, config=config)
    cases = (
        [1e300, 2e300, -2e300],  # the sum of squares overflows
        [1.7e308, 1.7e308, 0.0],  # so does the norm itself
        [1e-300, 0.0, 1e-310],  # the sum of squares underflows
        [3e-320, 4e-320, 0.0],  # subnormal components
    )
    for x in cases:
        assert e.allocate(np.array(x)).novel
        np.testing.assert_allclose(e.prototypes[-1], naive_unit(x), atol=tol(config))
    assert_unit_rows(e.prototypes, config)


def run_both(config, n_columns, dim, vigilance, eta, X):
    """Allocate X row by row in the engine and in the reference, in lockstep.

    Stops comparing decisions where the reference's margin (best vs second
    score, best vs vigilance) is below the engine's rounding, since either
    answer is then correct; returns the number of rows compared.
    """
    e = AllocationEngine(n_columns, dim, vigilance=vigilance, learning_rate=eta, config=config)
    ref = NaiveAllocator(n_columns, dim, vigilance=vigilance, learning_rate=eta)
    t = tol(config)
    for i, x in enumerate(X):
        s = ref.scores(x) if ref.u else np.empty(0)
        if s.size:
            top = np.sort(s)[::-1]
            margins = [abs(top[0] - vigilance)] + ([top[0] - top[1]] if s.size > 1 else [])
            if min(margins) < 1e3 * t:
                return e, ref, i
        got = e.allocate(x)
        want = ref.allocate(x)
        assert (got.column, got.novel) == (want[0], want[2]), i
        assert got.score == pytest.approx(want[1], abs=10 * t), i
        np.testing.assert_allclose(e.prototypes, ref.prototypes, atol=100 * t)
    return e, ref, len(X)


@given(
    seed=st.integers(0, 2**32 - 1),
    config_index=st.integers(0, len(CONFIGS) - 1),
    n_columns=st.integers(1, 10),
    dim=st.integers(1, 12),
    vigilance=st.sampled_from([-1.0, -0.2, 0.0, 0.3, 0.6, 0.9, 1.0]),
    eta=st.sampled_from([0.05, 0.1, 0.5, 0.9, 1.0]),
    rows=st.integers(1, 30),
)
def test_matches_naive_allocator(seed, config_index, n_columns, dim, vigilance, eta, rows):
    config = CONFIGS[config_index]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, dim)) * rng.uniform(0.01, 100.0, size=(rows, 1))
    e, ref, compared = run_both(config, n_columns, dim, vigilance, eta, X)
    assert e.n_used == ref.u
    assert 0 <= e.n_used <= n_columns
    assert_unit_rows(e.prototypes, config)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_clustered_stream_matches_naive(config):
    # Five well-separated clusters: every decision has a wide margin, so the
    # float32 engines must agree with the float64 reference on all of them.
    rng = np.random.default_rng(3)
    centres = np.linalg.qr(rng.standard_normal((16, 5)))[0].T  # orthonormal
    labels = rng.integers(0, 5, size=120)
    X = centres[labels] + 0.05 * rng.standard_normal((120, 16))
    e, ref, compared = run_both(config, 8, 16, 0.8, 0.2, X)
    assert compared == 120
    assert e.n_used == 5
    # Each cluster owns one column.
    cols = e.allocate_batch(centres)
    assert sorted(cols.tolist()) == list(range(5))


# ------------------------------------------------------------------ batches


@given(
    seed=st.integers(0, 2**32 - 1),
    config_index=st.integers(0, len(CONFIGS) - 1),
    n_columns=st.integers(1, 12),
    dim=st.integers(1, 24),
    vigilance=st.sampled_from([-1.0, 0.0, 0.3, 0.7, 1.0]),
    eta=st.sampled_from([0.1, 0.5, 1.0]),
    rows=st.integers(0, 40),
    split=st.integers(0, 40),
)
def test_batch_equals_sequence_of_allocate(
    seed, config_index, n_columns, dim, vigilance, eta, rows, split
):
    config = CONFIGS[config_index]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, dim))
    one = AllocationEngine(n_columns, dim, vigilance=vigilance, learning_rate=eta, config=config)
    batch = AllocationEngine(n_columns, dim, vigilance=vigilance, learning_rate=eta, config=config)
    expected = [one.allocate(x).column for x in X]
    split = min(split, rows)  # two batches in a row continue from the state
    got = np.concatenate([batch.allocate_batch(X[:split]), batch.allocate_batch(X[split:])])
    assert got.dtype == np.int64
    assert got.tolist() == expected
    # Same kernel code on the same data: identical, not just close.
    assert batch.n_used == one.n_used
    np.testing.assert_array_equal(batch.prototypes, one.prototypes)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_batch_rejects_bad_rows_and_leaves_state_untouched(config):
    rng = np.random.default_rng(0)
    e = AllocationEngine(6, 5, vigilance=0.5, config=config)
    e.allocate_batch(rng.standard_normal((4, 5)))
    before_used, before = e.n_used, e.prototypes.copy()
    X = rng.standard_normal((8, 5))
    X[3] = 0.0
    with pytest.raises(ValueError, match=r"allocate_batch: row 3 of X is a zero vector"):
        e.allocate_batch(X)
    X[3] = 1.0
    X[6, 2] = np.nan
    with pytest.raises(ValueError, match=r"allocate_batch: row 6 of X contains NaN or inf"):
        e.allocate_batch(X)
    X[6, 2] = -np.inf
    with pytest.raises(ValueError, match=r"row 6 of X contains NaN or inf"):
        e.allocate_batch(X)
    assert e.n_used == before_used
    np.testing.assert_array_equal(e.prototypes, before)
    empty = e.allocate_batch(np.empty((0, 5)))
    assert empty.dtype == np.int64 and empty.shape == (0,)
    assert e.n_used == before_used


# ------------------------------------------------------------------ scores


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_scores_shapes_values_and_read_only(config):
    rng = np.random.default_rng(1)
    e = AllocationEngine(5, 7, vigilance=0.95, config=config)
    ref = NaiveAllocator(5, 7, vigilance=0.95)
    assert e.scores(np.ones(7)).shape == (0,)
    assert e.scores(np.ones((3, 7))).shape == (3, 0)
    X = rng.standard_normal((5, 7))
    e.allocate_batch(X)
    ref.allocate_batch(X)
    Q = rng.standard_normal((4, 7))
    before = e.prototypes.copy()
    S = e.scores(Q)
    assert S.shape == (4, e.n_used) and S.dtype == config.np_dtype
    for q, row in zip(Q, S):
        np.testing.assert_allclose(row, ref.scores(q), atol=10 * tol(config))
        np.testing.assert_array_equal(e.scores(q), row)  # 1-D gives the same numbers
    np.testing.assert_array_equal(e.prototypes, before)
    assert e.scores(np.empty((0, 7))).shape == (0, e.n_used)


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_allocate_compares_exactly_the_scores_it_reports(config):
    rng = np.random.default_rng(2)
    e = AllocationEngine(4, 6, vigilance=0.2, config=config)
    e.allocate_batch(rng.standard_normal((10, 6)))
    for x in rng.standard_normal((20, 6)):
        s = e.scores(x)
        result = e.allocate(x)
        if not result.novel:
            assert result.column == int(np.argmax(s))
            assert result.score == float(s[result.column])


def test_scores_do_not_depend_on_fastmath_or_parallel():
    # Scores are strict in-order sums in every configuration. Opening columns
    # copies x_hat exactly, so engines fed the same novel inputs hold identical
    # prototypes and must report bit-identical scores.
    rng = np.random.default_rng(4)
    X = rng.standard_normal((12, 9))
    Q = rng.standard_normal((5, 9))
    configs = [F64_SERIAL, F64_PAR_FM, F64_PAR]  # fastmath off/on, parallel off/on
    results = []
    for config in configs:
        e = AllocationEngine(12, 9, vigilance=1.0, config=config)
        e.allocate_batch(X)
        results.append(e.scores(Q))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_parallel_split_matches_serial_bit_for_bit():
    # Big enough that single-row sweeps (from 512 columns in use), four-row
    # group sweeps (from 128) and scores() over many rows are split across
    # threads; the split never changes a score.
    n_columns, dim = 600, allocation_mod.PAR_MIN_WORK // 512
    assert 512 * dim >= allocation_mod.PAR_MIN_WORK > 511 * dim
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n_columns + 30, dim))
    serial = AllocationEngine(n_columns, dim, vigilance=1.0, learning_rate=0.3, config=F64_SERIAL)
    par = AllocationEngine(n_columns, dim, vigilance=1.0, learning_rate=0.3, config=F64_PAR)
    par_batch = AllocationEngine(n_columns, dim, vigilance=1.0, learning_rate=0.3, config=F64_PAR)
    cols_serial = serial.allocate_batch(X)
    cols_par = np.array([par.allocate(x).column for x in X])
    np.testing.assert_array_equal(cols_par, cols_serial)
    np.testing.assert_array_equal(par_batch.allocate_batch(X), cols_serial)
    np.testing.assert_array_equal(par.prototypes, serial.prototypes)
    np.testing.assert_array_equal(par_batch.prototypes, serial.prototypes)
    Q = rng.standard_normal((4, dim))
    np.testing.assert_array_equal(par.scores(Q), serial.scores(Q))
    np.testing.assert_array_equal(par.scores(Q[0]), serial.scores(Q[0]))
    # And the split sweep agrees with the reference on a couple of rows.
    ref = NaiveAllocator(n_columns, dim)
    ref.P[:] = serial.prototypes
    ref.u = n_columns
    np.testing.assert_allclose(par.scores(Q[1]), ref.scores(Q[1]), atol=1e-12)


# ------------------------------------------------------------------ state and attributes


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
def test_prototypes_view_is_read_only_and_reset_forgets(config):
    e = AllocationEngine(3, 4, vigilance=1.0, learning_rate=0.25, config=config)
    assert e.prototypes.shape == (0, 4)
    e.allocate(np.array([1.0, 2.0, 3.0, 4.0]))
    e.allocate(np.array([4.0, 3.0, 2.0, 1.0]))
    P = e.prototypes
    assert P.shape == (2, 4) and P.dtype == config.np_dtype
    assert not P.flags.writeable
    with pytest.raises(ValueError):
        P[0, 0] = 5.0
    assert_unit_rows(P, config)
    assert (e.n_columns, e.dim, e.vigilance, e.learning_rate, e.config) == (3, 4, 1.0, 0.25, config)
    with pytest.raises(AttributeError):
        e.dim = 5
    assert "n_columns=3" in repr(e)
    e.reset()
    assert e.n_used == 0 and e.prototypes.shape == (0, 4)
    assert e.allocate(np.array([0.0, 0.0, 0.0, 2.0])) == (0, 1.0, True)


@pytest.mark.parametrize("config", [F64_SERIAL, F32_PAR], ids=["f64", "f32"])
def test_inputs_of_other_dtypes_and_layouts(config):
    e = AllocationEngine(8, 4, vigilance=1.0, config=config)
    ref = NaiveAllocator(8, 4, vigilance=1.0)
    inputs = [
        np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32),
        np.array([4, 3, 2, 1]),  # integers are numbers
        [1.5, -2.0, 0.0, 1.0],  # a list
        np.arange(8.0)[::2] + 1.0,  # strided
        np.array([1.0, 0.5, 0.25, 2.0], dtype=">f8"),  # big-endian
        np.array([3.0, 1.0, 4.0, 1.0], dtype=np.float16),
    ]
    ro = np.array([2.0, 7.0, 1.0, 8.0])
    ro.flags.writeable = False
    inputs.append(ro)
    for x in inputs:
        assert e.allocate(x).novel
        ref.allocate(x)
    np.testing.assert_allclose(e.prototypes, ref.prototypes, atol=10 * tol(config))
    assert e.allocate_batch([[1, 0, 0, 0]]).tolist() == [7]


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("config", CONFIGS, ids=CONFIG_IDS)
@pytest.mark.parametrize(
    "x, exc, message",
    [
        (np.zeros(3), ValueError, r"allocate: x is a zero vector"),
        (np.array([1.0, np.nan, 0.0]), ValueError, r"allocate: x contains NaN or inf"),
        (np.array([np.inf, 1.0, 0.0]), ValueError, r"contains NaN or inf"),
        (np.array([1e308, -np.inf, 0.0]), ValueError, r"contains NaN or inf"),
        (np.ones(4), ValueError, r"x has length 4 but this engine has dim=3"),
        (np.ones((2, 3)), ValueError, r"must be 1-D of length 3.*allocate_batch"),
        (np.float64(1.0), ValueError, r"must be 1-D"),
        (np.array(["a", "b", "c"]), TypeError, r"not numeric"),
        (np.ones(3, dtype=bool), TypeError, r"dtype bool, which is not numeric"),
        (np.ones(3, dtype=complex), TypeError, r"complex.*x.real"),
        (np.array([1.0, None, 2.0], dtype=object), TypeError, r"dtype object"),
        ([[1.0], [1.0, 2.0]], TypeError, r"could not turn x into a numeric array"),
        ("abc", TypeError, r"not numeric"),
        (np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0]), TypeError, r"masked array.*filled"),
    ],
)
def test_allocate_rejects_bad_input_clearly(config, x, exc, message):
    e = AllocationEngine(4, 3, config=config)
    e.allocate(np.array([1.0, 2.0, 3.0]))
    before = e.prototypes.copy()
    with pytest.raises(exc, match=message) as info:
        e.allocate(x)
    assert "numba" not in type(info.value).__module__
    assert e.n_used == 1
    np.testing.assert_array_equal(e.prototypes, before)


@pytest.mark.parametrize("config", [F64_SERIAL, F32_PAR], ids=["f64", "f32"])
def test_scores_and_batch_reject_bad_shapes(config):
    e = AllocationEngine(4, 3, config=config)
    with pytest.raises(ValueError, match=r"scores: X must have shape \(3,\) or \(n, 3\)"):
        e.scores(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"scores: X has length 2 but this engine has dim=3"):
        e.scores(np.ones(2))
    with pytest.raises(ValueError, match=r"scores: row 1 of X is a zero vector"):
        e.scores(np.array([[1.0, 0, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match=r"scores: x contains NaN"):
        e.scores(np.array([1.0, np.nan, 0]))
    with pytest.raises(ValueError, match=r"allocate_batch: X must have shape \(n, 3\).*allocate"):
        e.allocate_batch(np.ones(3))
    with pytest.raises(TypeError, match=r"allocate_batch: X has dtype"):
        e.allocate_batch(np.ones((2, 3), dtype=bool))


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        ({"n_columns": 0}, ValueError, r"n_columns must be >= 1, got 0"),
        ({"dim": -2}, ValueError, r"dim must be >= 1, got -2"),
        ({"n_columns": 2.5}, TypeError, r"n_columns must be an int, got float"),
        ({"dim": True}, TypeError, r"dim must be an int, got bool"),
        ({"vigilance": 1.5}, ValueError, r"vigilance must be in \[-1, 1\]"),
        ({"vigilance": -1.01}, ValueError, r"vigilance must be in \[-1, 1\]"),
        ({"vigilance": float("nan")}, ValueError, r"vigilance must be in \[-1, 1\]"),
        ({"vigilance": "0.5"}, TypeError, r"vigilance must be a real number, got str"),
        ({"learning_rate": 0.0}, ValueError, r"learning_rate must be in \(0, 1\]"),
        ({"learning_rate": 1.2}, ValueError, r"learning_rate must be in \(0, 1\]"),
        ({"config": "fast"}, TypeError, r"config must be an EngineConfig"),
    ],
)
def test_constructor_validates(kwargs, exc, message):
    args = {"n_columns": 4, "dim": 3, **kwargs}
    with pytest.raises(exc, match=message):
        AllocationEngine(**args)


def test_constructor_accepts_numpy_integers_and_boundaries():
    e = AllocationEngine(np.int64(2), np.int32(3), vigilance=-1, learning_rate=1, config=F64_SERIAL)
    assert (e.n_columns, e.dim, e.vigilance, e.learning_rate) == (2, 3, -1.0, 1.0)
    # vigilance -1: nothing scores below it, so only the first input opens a column.
    e.allocate_batch(np.eye(3))
    assert e.n_used == 1


# ------------------------------------------------------------------ threads


@pytest.mark.parametrize("config", [F64_PAR, F32_SERIAL_FM], ids=["f64-par", "f32-serial-fm"])
def test_concurrent_allocations_lose_nothing(config):
    # 16 orthogonal directions, vigilance 0.5, learning rate 1: whatever order
    # the threads interleave in, each direction must own exactly one column,
    # each column must be exactly its direction, and every novel result must
    # correspond to a column in use.
    dim, k, n_threads, rounds = 32, 16, 8, 6
    e = AllocationEngine(k + 8, dim, vigilance=0.5, learning_rate=1.0, config=config)
    directions = np.eye(dim)[:k]
    results: list[list[tuple[int, Allocation]]] = [[] for _ in range(n_threads)]
    score_shapes: list[int] = []
    barrier = threading.Barrier(n_threads + 2)
    errors: list[BaseException] = []

    def writer(t):
        rng = np.random.default_rng(t)
        barrier.wait()
        try:
            for _ in range(rounds):
                order = rng.permutation(k)
                scale = rng.uniform(0.5, 3.0, size=(k, 1))
                if t % 2:
                    cols = e.allocate_batch(directions[order] * scale)
                    results[t].extend(
                        (int(d), Allocation(int(c), 1.0, False)) for d, c in zip(order, cols)
                    )
                else:
                    for d, s in zip(order, scale[:, 0]):
                        results[t].append((int(d), e.allocate(directions[d] * s)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader():
        barrier.wait()
        try:
            for _ in range(200):
                S = e.scores(directions)
                score_shapes.append(S.shape[1])
                # Every column is exactly one of the directions at all times.
                assert np.isin(S, (0.0, 1.0)).all()
                assert (S.sum(axis=0) == 1.0).all()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert e.n_used == k
    flat = [item for per_thread in results for item in per_thread]
    assert len(flat) == n_threads * rounds * k
    owner = {}
    for d, r in flat:
        assert 0 <= r.column < e.n_used
        assert owner.setdefault(d, r.column) == r.column  # one column per direction
    assert sorted(owner.values()) == list(range(k))
    n_novel = sum(r.novel for per_thread in results[0::2] for _, r in per_thread)
    assert n_novel <= k  # batches do not report novelty; single calls never over-count
    by_column = [d for d, _ in sorted(owner.items(), key=lambda kv: kv[1])]
    np.testing.assert_array_equal(e.prototypes, directions[by_column])
    assert all(0 <= u <= k for u in score_shapes)


def test_novel_count_equals_columns_used_under_threads():
    # 8 threads race to allocate the same 12 orthogonal directions (5 times each,
    # shuffled). Any serial order gives the same end state: one column per
    # direction, opened exactly once, each exactly its direction.
    dim, k, n_threads = 24, 12, 8
    e = AllocationEngine(k, dim, vigilance=0.5, learning_rate=1.0, config=F64_SERIAL)
    directions = np.eye(dim)[:k]
    novel = [0] * n_threads
    seen: list[list[tuple[int, int]]] = [[] for _ in range(n_threads)]
    barrier = threading.Barrier(n_threads)

    def worker(t):
        rng = np.random.default_rng(100 + t)
        barrier.wait()
        for d in np.tile(rng.permutation(k), 5):
            r = e.allocate(directions[d] * (1 + t))
            novel[t] += r.novel
            seen[t].append((int(d), r.column))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(novel) == e.n_used == k
    owner = dict(pair for per_thread in seen for pair in per_thread)
    assert all(owner[d] == c and 0 <= c < e.n_used for per_thread in seen for d, c in per_thread)
    np.testing.assert_array_equal(e.prototypes[[owner[d] for d in range(k)]], directions)


@pytest.mark.parametrize("config", [F64_SERIAL, F64_PAR], ids=["serial", "parallel"])
def test_scores_never_see_a_half_written_column(config):
    # One column, flipped between +v and -v by learning-rate-1 updates. v has
    # 4096 components of 1/64, so every partial sum of a score is exact: a
    # consistent state scores exactly +1 or -1 against v, and a column caught
    # mid-write would score something in between.
    dim = 4096
    v = np.full(dim, 1.0 / 64.0)
    e = AllocationEngine(1, dim, vigilance=0.0, learning_rate=1.0, config=config)
    e.allocate(v)
    stop = threading.Event()
    seen: list[float] = []
    errors: list[BaseException] = []

    def writer():
        sign = -1.0
        while not stop.is_set():
            e.allocate(sign * v)
            sign = -sign

    def reader():
        try:
            for _ in range(400):
                s = e.scores(v)
                seen.append(float(s[0]))
                S = e.scores(np.stack([v, -v]))
                assert S[0, 0] == -S[1, 0]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    writers = [threading.Thread(target=writer) for _ in range(3)]
    readers = [threading.Thread(target=reader) for _ in range(4)]
    for th in writers + readers:
        th.start()
    for th in readers:
        th.join()
    stop.set()
    for th in writers:
        th.join()
    assert not errors, errors
    assert set(seen) <= {1.0, -1.0}, sorted(set(seen))[:5]
    assert len(seen) == 1600


def test_parallel_kernels_from_several_threads_at_once():
    # Large enough that every call runs a parallel region: readers (row-parallel
    # and column-split scores) and writers (split sweep) launch them
    # concurrently; the threading layer must cope and the results stay exact.
    n_columns, dim = 600, 1024
    rng = np.random.default_rng(8)
    e = AllocationEngine(n_columns, dim, vigilance=1.0, config=F64_PAR)
    e.allocate_batch(rng.standard_normal((n_columns, dim)))
    Q = rng.standard_normal((3, dim))
    data = [rng.standard_normal((20, dim)) for _ in range(2)]
    errors: list[BaseException] = []

    def reader():
        try:
            for _ in range(20):
                S = e.scores(Q)
                assert S.shape == (3, n_columns)
                assert e.scores(Q[0]).shape == (n_columns,)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def writer(X):
        for x in X:
            e.allocate(x)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    threads += [threading.Thread(target=writer, args=(X,)) for X in data]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    ref = NaiveAllocator(n_columns, dim)
    ref.P[:] = e.prototypes
    ref.u = n_columns
    np.testing.assert_allclose(e.scores(Q[2]), ref.scores(Q[2]), atol=1e-12)
    assert_unit_rows(e.prototypes, F64_PAR)
