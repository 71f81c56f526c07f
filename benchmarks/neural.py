"""Neural family: single-inference latency and batch inference under
concurrency for every model type, plus compile time."""

import numpy as np

from engine import ModelType, build_network

from ._measure import TIME_ROUNDS, _Metrics, compile_snippet, measure

MODEL_TYPES = [m.name for m in ModelType]


def _net(model_type: str, input_size: int):
    return build_network(model_type, input_size, seed=0)


def _inputs(n: int, input_size: int, dtype) -> np.ndarray:
    return np.random.default_rng(3).normal(size=(n, input_size)).astype(dtype)


class SingleInference(_Metrics):
    """``infer`` one vector at a time, timed call by call."""

    params = [MODEL_TYPES, [10, 50, 100, 500]]
    param_names = ["model_type", "input_size"]

    def setup_cache(self):
        return self._measure_all()

    def measure(self, model_type, input_size):
        net = _net(model_type, input_size)
        xs = _inputs(64, input_size, net.dtype)
        ops = 200 if model_type == "LSTM" and input_size >= 100 else 2000
        return measure(lambda i: net.infer(xs[i % 64]), ops=ops)


class InferTime:
    """asv's own timing of ``infer`` (samples for the regression gate)."""

    rounds = TIME_ROUNDS

    params = [MODEL_TYPES, [10, 100]]
    param_names = ["model_type", "input_size"]

    def setup(self, model_type, input_size):
        self.net = _net(model_type, input_size)
        self.x = _inputs(1, input_size, self.net.dtype)[0]
        self.out = np.empty(self.net.output_size, self.net.dtype)
        self.net.infer(self.x)

    def time_infer(self, model_type, input_size):
        self.net.infer(self.x, out=self.out)


class BatchInference(_Metrics):
    """``infer_batch`` on batches of 100 rows from several threads.

    ``iterations`` is the number of inferences per thread (iterations / 100
    batch calls), so throughput is in inferences per second.
    """

    params = [MODEL_TYPES, [1000, 5000, 10000], [1, 4, 8]]
    param_names = ["model_type", "iterations", "concurrency"]

    def setup_cache(self):
        return self._measure_all()

    def measure(self, model_type, iterations, concurrency):
        net = _net(model_type, 50)
        X = _inputs(100, 50, net.dtype)
        return measure(lambda i: net.infer_batch(X), ops=iterations // 100,
                       threads=concurrency, warmup=2, units_per_op=100)


class CompileTime:
    """Compiling every network kernel from an empty numba cache."""

    number = 1
    repeat = (1, 3, 120.0)
    timeout = 600

    def timeraw_compile_neural(self):
        return compile_snippet(
            "from engine import build_network, ModelType\n"
            "for m in ModelType:\n"
            "    n = build_network(m, 8)\n"
            "    n.infer(np.ones(8, n.dtype)); n.infer_batch(np.ones((2, 8), n.dtype))\n"
        )
