"""engine.neural against the naive references, plus batch, threads, and NRT allocation checks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.config import EngineConfig
from engine.neural import ModelType, Network, build_network

from naive import naive_cnn1d, naive_lstm, naive_mlp, naive_spiking

CONFIGS = {
    "f64": EngineConfig(fastmath=False, parallel=False, dtype="float64"),
    "f64-fast-par": EngineConfig(fastmath=True, parallel=True, dtype="float64"),
    "f32": EngineConfig(fastmath=False, parallel=True, dtype="float32"),
}


def reference(net: Network, x: np.ndarray) -> np.ndarray:
    w = net.weights()
    if net.model_type is ModelType.MLP:
        return naive_mlp(w, x)
    if net.model_type is ModelType.CNN1D:
        return naive_cnn1d(w, x)
    if net.model_type is ModelType.LSTM:
        return naive_lstm(w, x)
    return naive_spiking(w, x, net.dims[2], dtype=np.float64)


def tolerance(cfg: EngineConfig) -> float:
    return 1e-4 if cfg.dtype == "float32" else 1e-10


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
@pytest.mark.parametrize("mt", [ModelType.MLP, ModelType.CNN1D, ModelType.LSTM])
@pytest.mark.parametrize("input_size", [5, 50])
def test_dense_types_match_reference(mt, cfg_name, input_size):
    cfg = CONFIGS[cfg_name]
    net = build_network(mt, input_size, seed=3, config=cfg)
    rng = np.random.default_rng(input_size)
    for _ in range(5):
        x = rng.normal(size=input_size)
        got = net.infer(x)
        assert got.dtype == cfg.np_dtype and got.shape == (8,)
        want = reference(net, x.astype(cfg.dtype))
        np.testing.assert_allclose(got, want, rtol=tolerance(cfg), atol=tolerance(cfg))


def test_spiking_matches_reference_exactly_in_strict_float64():
    net = build_network(ModelType.SPIKING, 40, seed=1, config=CONFIGS["f64"])
    rng = np.random.default_rng(0)
    total = 0.0
    for _ in range(10):
        x = rng.normal(size=40)
        got = net.infer(x)
        want = naive_spiking(net.weights(), x, net.dims[2])
        np.testing.assert_array_equal(got, want)
        total += got.sum()
    assert total > 0, "the default spiking network should fire on unit-variance input"


def test_spiking_float32_matches_reference_in_float32():
    net = build_network(ModelType.SPIKING, 40, seed=1, config=CONFIGS["f32"])
    x = np.random.default_rng(5).normal(size=40).astype(np.float32)
    np.testing.assert_array_equal(net.infer(x), naive_spiking(net.weights(), x, net.dims[2], np.float32))


def test_spiking_counts_are_bounded_by_steps():
    net = build_network("spiking", 10, seed=0, config=CONFIGS["f64"], hidden_size=5)
    x = np.full(10, 100.0)
    counts = net.infer(x)
    assert np.all(counts >= 0) and np.all(counts <= net.dims[2])
    assert np.all(counts == np.round(counts))


def test_fixed_figures_for_a_hand_checked_mlp():
    # input 1 -> hidden 2/1 -> 1 output; weights set by hand through the flat buffer.
    net = build_network("mlp", 1, seed=0, config=CONFIGS["f64"], hidden_size=2, output_size=1)
    # layout: w1 (1x2), b1 (2), w2 (2x1), b2 (1), w3 (1x1), b3 (1)
    params = np.array([1.0, -1.0, 0.5, 0.0, 2.0, 3.0, -1.0, 4.0, 0.25])
    net2 = Network(net.model_type, net.dims, params, CONFIGS["f64"])
    # x=2: h1 = relu([2.5, -2]) = [2.5, 0]; h2 = relu(2.5*2 + 0*3 - 1) = 4; out = 4*4 + 0.25
    assert net2.infer(np.array([2.0])).tolist() == [16.25]
    # x=-3: h1 = relu([-2.5, 3]) = [0, 3]; h2 = relu(9 - 1) = 8; out = 32.25
    assert net2.infer(np.array([-3.0])).tolist() == [32.25]


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
@pytest.mark.parametrize("mt", list(ModelType))
def test_batch_rows_equal_single_inference(mt, cfg_name):
    cfg = CONFIGS[cfg_name]
    net = build_network(mt, 12, seed=7, config=cfg)
    X = np.random.default_rng(1).normal(size=(37, 12))
    Y = net.infer_batch(X)
    assert Y.shape == (37, 8) and Y.dtype == cfg.np_dtype
    for i in range(X.shape[0]):
        np.testing.assert_allclose(Y[i], net.infer(X[i]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_batch_edge_sizes(n):
    net = build_network("mlp", 4, config=CONFIGS["f64-fast-par"])
    X = np.ones((n, 4))
    Y = net.infer_batch(X)
    assert Y.shape == (n, 8)
    for i in range(n):
        np.testing.assert_allclose(Y[i], net.infer(X[i]), rtol=1e-12)


def test_batch_accepts_non_contiguous_and_other_dtypes():
    net = build_network("cnn1d", 6, config=CONFIGS["f32"])
    X = np.arange(72, dtype=np.int64).reshape(6, 12)[:, ::2] * 0.1
    np.testing.assert_allclose(net.infer_batch(X)[2], net.infer(X[2]), rtol=1e-5)


@pytest.mark.parametrize("mt", [ModelType.MLP, ModelType.LSTM, ModelType.SPIKING])
def test_input_size_one(mt):
    net = build_network(mt, 1, config=CONFIGS["f64"])
    x = np.array([0.7])
    np.testing.assert_allclose(net.infer(x), reference(net, x), rtol=1e-10, atol=1e-12)


def test_cnn_kernel_width_equal_to_input():
    net = build_network("cnn1d", 5, config=CONFIGS["f64"])
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(net.infer(x), naive_cnn1d(net.weights(), x), rtol=1e-10)


@pytest.mark.parametrize("mt", [ModelType.MLP, ModelType.CNN1D, ModelType.LSTM])
def test_non_finite_input_propagates(mt):
    net = build_network(mt, 8, config=CONFIGS["f64"])
    for bad in (np.nan, np.inf):
        x = np.zeros(8)
        x[3] = bad
        with np.errstate(all="ignore"):
            want = reference(net, x)
        np.testing.assert_allclose(net.infer(x), want, rtol=1e-10, equal_nan=True)


def test_float64_input_to_float32_network_and_lists():
    net = build_network("mlp", 3, config=CONFIGS["f32"])
    x64 = np.array([0.1, 0.2, 0.3])
    assert net.infer(x64).dtype == np.float32
    np.testing.assert_array_equal(net.infer([0.1, 0.2, 0.3]), net.infer(x64.astype(np.float32)))
    np.testing.assert_array_equal(net.infer(np.array([1, 2, 3])), net.infer(np.array([1.0, 2.0, 3.0], np.float32)))


def test_out_parameter_is_filled_and_returned():
    net = build_network("mlp", 3, config=CONFIGS["f64"])
    out = np.full(8, -99.0)
    got = net.infer(np.ones(3), out=out)
    assert got is out
    np.testing.assert_array_equal(out, net.infer(np.ones(3)))


def test_strided_input():
    net = build_network("mlp", 5, config=CONFIGS["f64"])
    base = np.arange(10.0)
    np.testing.assert_array_equal(net.infer(base[::2]), net.infer(base[::2].copy()))


def test_seed_determinism():
    a = build_network("lstm", 9, seed=11, config=CONFIGS["f64"])
    b = build_network("lstm", 9, seed=11, config=CONFIGS["f64"])
    c = build_network("lstm", 9, seed=12, config=CONFIGS["f64"])
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_nbytes_and_read_only_weights():
    net = build_network("mlp", 50, config=CONFIGS["f32"])
    assert net.nbytes == (50 * 32 + 32 + 32 * 16 + 16 + 16 * 8 + 8) * 4
    with pytest.raises(ValueError):
        net.weights()["w1"][0, 0] = 1.0
    with pytest.raises(ValueError):
        net.params[0] = 1.0


@pytest.mark.parametrize(
    "call, exc, fragment",
    [
        (lambda n: n.infer(np.ones(4)), ValueError, "x has length 4, but this network takes 3"),
        (lambda n: n.infer(np.ones((1, 3))), ValueError, "use infer_batch for 2-D input"),
        (lambda n: n.infer("abc"), TypeError, "x has dtype <U3, which is not numeric"),
        (lambda n: n.infer(np.ones(3, dtype=complex)), TypeError, "x is complex (complex128)"),
        (lambda n: n.infer(None), TypeError, "x has dtype object, which is not numeric"),
        (lambda n: n.infer(np.ones(3), out=np.ones(7)), ValueError, "out must be a writeable"),
        (lambda n: n.infer(np.ones(3), out=[0.0] * 8), ValueError, "out must be a writeable"),
        (lambda n: n.infer_batch(np.ones(3)), ValueError, "X must have shape (n, 3)"),
        (lambda n: n.infer_batch(np.ones((2, 4))), ValueError, "X must have shape (n, 3), got (2, 4)"),
    ],
)
def test_bad_inference_input_is_a_clear_error(call, exc, fragment):
    net = build_network("mlp", 3, config=CONFIGS["f64"])
    with pytest.raises(exc) as info:
        call(net)
    assert fragment in str(info.value)
    assert "numba" not in str(info.value).lower()


@pytest.mark.parametrize(
    "kwargs, exc, fragment",
    [
        (dict(model_type="gru", input_size=3), ValueError, "unknown model type 'gru'"),
        (dict(model_type="mlp", input_size=0), ValueError, "input_size must be >= 1"),
        (dict(model_type="mlp", input_size="3"), TypeError, "input_size must be an int"),
        (dict(model_type="mlp", input_size=3, hidden_size=0), ValueError, "hidden_size must be >= 1"),
        (dict(model_type="mlp", input_size=3, seed=-1), ValueError, "seed must be >= 0"),
        (dict(model_type="cnn1d", input_size=4), ValueError, "CNN1D needs input_size >= kernel_width (5)"),
        (dict(model_type="mlp", input_size=3, config="fast"), TypeError, "config must be an EngineConfig"),
    ],
)
def test_bad_build_arguments(kwargs, exc, fragment):
    with pytest.raises(exc) as info:
        build_network(**kwargs)
    assert fragment in str(info.value)


def test_model_type_parsing():
    assert ModelType.parse("Spiking") is ModelType.SPIKING
    assert ModelType.parse(ModelType.CNN1D) is ModelType.CNN1D


@given(arrays(np.float64, 6, elements=st.floats(-1e3, 1e3, allow_nan=False)))
def test_property_mlp_matches_reference(x):
    net = _hyp_net()
    np.testing.assert_allclose(net.infer(x), naive_mlp(net.weights(), x), rtol=1e-9, atol=1e-9)


_HYP: dict[str, Network] = {}


def _hyp_net() -> Network:
    if "mlp" not in _HYP:
        _HYP["mlp"] = build_network("mlp", 6, seed=2, config=CONFIGS["f64"])
    return _HYP["mlp"]


@pytest.mark.parametrize("mt", list(ModelType))
def test_threads_share_one_network_safely(mt):
    net = build_network(mt, 30, seed=4, config=CONFIGS["f64"])
    X = np.random.default_rng(9).normal(size=(64, 30))
    expected = np.stack([net.infer(x) for x in X])
    results: dict[int, list[np.ndarray]] = {}
    barrier = threading.Barrier(4)

    def work(tid: int) -> None:
        barrier.wait()
        results[tid] = [net.infer(X[(i + tid) % 64]) for i in range(400)]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for tid, outs in results.items():
        for i, y in enumerate(outs):
            np.testing.assert_array_equal(y, expected[(i + tid) % 64])


NRT_SCRIPT = textwrap.dedent(
    """
    import os
    assert os.environ["NUMBA_NRT_STATS"] == "1"
    import numba
    import numpy as np
    from numba.core.runtime import rtsys
    from engine import _jit
    from engine.config import EngineConfig
    from engine.neural import build_network, ModelType
    from engine.neural.network import _ONE

    def driver(kernel):
        @numba.njit
        def run(x, p, s, out, a, b, c, d, times):
            for _ in range(times):
                kernel(x, p, s, out, a, b, c, d)
        return run

    cfg = EngineConfig(fastmath=False, parallel=False, dtype="float64")
    for mt in ModelType:
        net = build_network(mt, 50, config=cfg)
        x = np.random.default_rng(0).normal(size=50)
        out = np.empty(net.output_size)
        s = np.empty(net._scratch_n)
        run = driver(_jit.for_config(_ONE[mt], cfg, parallel=False))
        run(x, net.params, s, out, *net.dims, 3)  # warm-up: compile
        a = rtsys.get_allocation_stats()
        run(x, net.params, s, out, *net.dims, 1)
        b = rtsys.get_allocation_stats()
        run(x, net.params, s, out, *net.dims, 1000)
        c = rtsys.get_allocation_stats()
        one_call = b.alloc - a.alloc
        thousand = c.alloc - b.alloc
        # The compiled hot path: 1000 forward passes allocate exactly what 1 does
        # (only the driver's own argument headers).
        assert thousand == one_call, (mt, one_call, thousand)

        net.infer(x, out=out)
        a = rtsys.get_allocation_stats()
        for _ in range(1000):
            net.infer(x, out=out)
        b = rtsys.get_allocation_stats()
        # From Python: numba wraps each of the 4 argument arrays in a MemInfo
        # header for the duration of the call and frees it on return.
        assert b.alloc - a.alloc == 4000, (mt, b.alloc - a.alloc)
        assert b.free - a.free == 4000, (mt, b.free - a.free)
        assert b.mi_alloc - a.mi_alloc == b.mi_free - a.mi_free
    print("ok")
    """
)


def test_no_nrt_allocations_in_the_hot_path():
    import os

    env = dict(os.environ, NUMBA_NRT_STATS="1")
    out = subprocess.run([sys.executable, "-c", NRT_SCRIPT], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def test_read_only_and_reversed_input():
    net = build_network("mlp", 5, config=CONFIGS["f32"])
    x = np.arange(5, dtype=np.float32)
    ro = x.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(net.infer(ro), net.infer(x))
    np.testing.assert_array_equal(net.infer(x[::-1]), net.infer(x[::-1].copy()))
