"""engine.kernels: dot_scalar / dot_simd against ``naive_dot``, plus input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine import kernels
from engine.kernels import dot_scalar, dot_simd
from naive import naive_dot

DOTS = [dot_scalar, dot_simd]
DTYPES = [np.float32, np.float64]


def tolerance(a, b):
    """Forward error bound of a float sum of products in a's dtype: (n + 2) eps sum|a_i b_i|.

    The absolute term covers products that underflow in float32 but not in the
    float64 reference.
    """
    dt = np.finfo(a.dtype)
    n = a.shape[0]
    magnitude = math.fsum(abs(float(x) * float(y)) for x, y in zip(a, b))
    return (n + 2) * float(dt.eps) * magnitude + (n + 1) * float(dt.tiny)


@pytest.mark.parametrize("dot", DOTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_small_exact_figures(dot, dtype):
    a = np.array([1.0, 2.0, 3.0], dtype=dtype)
    b = np.array([4.0, -5.0, 6.0], dtype=dtype)
    assert dot(a, b) == 12.0
    assert dot(a[:1], b[:1]) == 4.0  # size 1
    result = dot(np.empty(0, dtype=dtype), np.empty(0, dtype=dtype))
    assert result == 0.0 and type(result) is float


@pytest.mark.parametrize("dot", DOTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_returns_python_float(dot, dtype):
    a = np.linspace(0, 1, 33, dtype=dtype)
    assert type(dot(a, a)) is float


@pytest.mark.parametrize("dtype", DTYPES)
def test_scalar_is_a_strict_loop_in_the_input_dtype(dtype):
    # Bit-exact against a left-to-right loop that rounds to the input dtype after
    # every operation: no reordering, no FMA, no wider accumulator.
    rng = np.random.default_rng(7)
    a = rng.standard_normal(257).astype(dtype)
    b = rng.standard_normal(257).astype(dtype)
    acc = dtype(0)
    for x, y in zip(a, b):
        acc = dtype(acc + dtype(x * y))
    assert dot_scalar(a, b) == float(acc)


def test_float32_scalar_accumulates_in_float32():
    # 2**24 + 1 is not a float32: a float32 running sum stalls at 2**24.
    a = np.ones(9, dtype=np.float32)
    a[0] = 2.0**12
    assert dot_scalar(a, a) == float(2**24)
    assert dot_scalar(a.astype(np.float64), a.astype(np.float64)) == float(2**24 + 8)


@given(
    data=st.data(),
    dtype=st.sampled_from(DTYPES),
    n=st.integers(0, 300),
)
def test_matches_naive_within_float_tolerance(data, dtype, n):
    bound = 2.0**50 if dtype is np.float32 else 2.0**500
    width = 32 if dtype is np.float32 else 64
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=width)
    a = data.draw(hnp.arrays(dtype, n, elements=elements))
    b = data.draw(hnp.arrays(dtype, n, elements=elements))
    expected = naive_dot(a, b)
    tol = tolerance(a, b)
    for dot in DOTS:
        assert abs(dot(a, b) - expected) <= tol, dot.__name__


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 8, 9, 31, 32, 33, 1024, 100_003])
def test_random_sizes_against_naive_and_numpy(dtype, n):
    rng = np.random.default_rng(n)
    a = rng.standard_normal(n).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    expected = naive_dot(a, b)
    tol = tolerance(a, b)
    for dot in DOTS:
        got = dot(a, b)
        assert abs(got - expected) <= tol
        assert abs(got - float(np.dot(a, b))) <= 2 * tol


@pytest.mark.parametrize("dot", DOTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_and_inf_follow_ieee(dot, dtype):
    inf, nan = np.inf, np.nan
    cases = [
        ([1.0, nan, 2.0], [1.0, 1.0, 1.0]),  # NaN propagates
        ([1.0, inf, 2.0], [1.0, 1.0, 1.0]),  # +inf
        ([1.0, -inf, 2.0], [1.0, 2.0, 1.0]),  # -inf
        ([inf, -inf], [1.0, 1.0]),  # inf - inf
        ([inf, 1.0], [0.0, 1.0]),  # inf * 0
    ]
    for a, b in cases:
        a = np.array(a * 5, dtype=dtype)  # long enough for the vector loop
        b = np.array(b * 5, dtype=dtype)
        expected = naive_dot(a, b)
        got = dot(a, b)
        if math.isnan(expected):
            assert math.isnan(got), (a, b)
        else:
            assert got == expected, (a, b)


@pytest.mark.parametrize("dot", DOTS)
def test_zero_vectors(dot):
    z = np.zeros(100)
    assert dot(z, z) == 0.0
    assert dot(z, np.arange(100.0)) == 0.0


@pytest.mark.parametrize("dot", DOTS)
def test_layouts_and_byte_orders_are_converted(dot):
    a = np.arange(20.0)
    b = np.arange(20.0)[::-1].copy()
    expected = naive_dot(a[::2], b[::2])
    assert dot(a[::2], b[::2]) == expected  # strided views
    assert dot(a.astype(">f8"), b) == naive_dot(a, b)  # big-endian
    ro = a.copy()
    ro.flags.writeable = False
    assert dot(ro, b) == naive_dot(a, b)  # read-only
    assert dot(a.tolist(), b.tolist()) == naive_dot(a, b)  # lists of floats


@pytest.mark.parametrize("dot", DOTS)
@pytest.mark.parametrize(
    "a, b, exc, message",
    [
        (np.ones(3), np.ones(4), ValueError, r"a has 3 elements but b has 4"),
        (np.ones((2, 2)), np.ones((2, 2)), ValueError, r"must be 1-D.*ravel"),
        (np.float64(3.0), np.float64(2.0), ValueError, r"must be 1-D"),
        (np.ones(3, np.float32), np.ones(3), TypeError, r"a is float32 but b is float64.*cast"),
        (np.ones(3, np.int64), np.ones(3, np.int64), TypeError, r"int64.*only float32 and float64"),
        (np.ones(3, complex), np.ones(3, complex), TypeError, r"complex128.*only float32"),
        (np.ones(3, np.float16), np.ones(3, np.float16), TypeError, r"float16.*astype"),
        (np.array([1, "a"], dtype=object), np.ones(2), TypeError, r"object"),
        ([1, 2, 3], [1.0, 2.0, 3.0], TypeError, r"became a int64 array.*dtype=np.float64"),
        (["x", "y"], ["z", "w"], TypeError, r"became a <U1 array"),
        ([[1.0], [2.0, 3.0]], [1.0, 2.0], TypeError, r"could not turn a into an array"),
        (None, np.ones(1), TypeError, r"a became a object array"),
        (np.ma.array([1.0, 2.0], mask=[0, 1]), np.ones(2), TypeError, r"masked array.*filled"),
    ],
)
def test_bad_input_gives_a_clear_error(dot, a, b, exc, message):
    with pytest.raises(exc, match=message) as info:
        dot(a, b)
    assert dot.__name__ in str(info.value)
    assert "numba" not in type(info.value).__module__


@pytest.mark.parametrize("dot", DOTS)
def test_array_subclasses_and_array_likes(dot, tmp_path):
    m = np.memmap(tmp_path / "v.bin", dtype=np.float64, mode="w+", shape=(4,))
    m[:] = [1.0, 2.0, 3.0, 4.0]
    assert dot(m, m) == 30.0
    assert dot(np.arange(4.0), (1.0, 1.0, 1.0, 1.0)) == 6.0  # tuple of floats


def test_raw_dispatchers_are_exposed_with_fixed_signatures():
    a = np.ones(64, dtype=np.float32)
    assert kernels._dot_scalar_f(a, a) == 64.0
    assert kernels._dot_simd_f(a, a) == 64.0
    assert kernels._dot_simd_f.targetoptions["fastmath"]
    assert not kernels._dot_scalar_f.targetoptions["fastmath"]
    # Closed to new signatures: other types fail fast instead of compiling.
    assert len(kernels._dot_simd_f.signatures) == 2
    with pytest.raises(TypeError):
        kernels._dot_simd_f(np.arange(3), np.arange(3))
