"""Small neural networks: build, run one input or a batch, save and load.

``Network`` is the validated public wrapper; the forward passes are private
kernels in ``_kernels.py``. The single-input path is tuned for latency: the
compiled kernel for the network's exact argument types is looked up once at
construction and called directly (skipping numba's per-call type dispatch),
after a cheap type check of ``x`` here. Scratch memory is preallocated per
thread, so a forward pass allocates nothing and several threads may call
``infer`` on one network at once.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numba
import numpy as np
from numba import types as nbt

from .. import _jit
from .._validate import as_dtype_array, check_int
from ..config import EngineConfig, resolve
from . import _format, _kernels
from ._layout import ModelType, check_dims, default_dims, init_params, param_count, scratch_size, views

_ONE = {
    ModelType.MLP: _kernels._mlp_one,
    ModelType.CNN1D: _kernels._cnn1d_one,
    ModelType.LSTM: _kernels._lstm_one,
    ModelType.SPIKING: _kernels._spiking_one,
}
_BATCH = {
    ModelType.MLP: _kernels._mlp_batch,
    ModelType.CNN1D: _kernels._cnn1d_batch,
    ModelType.LSTM: _kernels._lstm_batch,
    ModelType.SPIKING: _kernels._spiking_batch,
}

_ndarray = np.ndarray


def _direct_entry(dispatcher: Any, dtype: np.dtype) -> Any:
    """The compiled entry point of ``dispatcher`` for (x, p, s, out, 4 x int64).

    Calling it skips numba's type dispatch (a few hundred ns on this class of
    machine), which is most of a small network's latency. It does no type
    checking of its own, so callers must pass exactly these types.
    """
    if not isinstance(dispatcher, numba.core.dispatcher.Dispatcher):
        return dispatcher  # NUMBA_DISABLE_JIT: a plain Python function
    f = numba.from_dtype(dtype)
    sig = (
        nbt.Array(f, 1, "A"),
        nbt.Array(f, 1, "C"),
        nbt.Array(f, 1, "C"),
        nbt.Array(f, 1, "C"),
        nbt.int64, nbt.int64, nbt.int64, nbt.int64,
    )
    dispatcher.compile(sig)
    return dispatcher.overloads[sig].entry_point


class Network:
    """A built or loaded network. Create one with ``build_network`` or ``load_network``.

    ``infer(x)`` runs one input vector; ``infer_batch(X)`` runs rows of ``X`` in
    parallel (when the config allows) and matches ``infer`` row by row.
    Non-finite inputs are not rejected: they propagate like any float math.
    """

    def __init__(self, model_type: ModelType, dims: tuple[int, int, int, int], params: np.ndarray,
                 config: EngineConfig):
        problem = check_dims(model_type, dims)
        if problem:
            raise ValueError(problem)
        if params.shape != (param_count(model_type, dims),):
            raise ValueError(f"params has shape {params.shape}, expected ({param_count(model_type, dims)},)")
        self.model_type = model_type
        self.config = config
        self.dims = tuple(int(d) for d in dims)
        self.input_size = self.dims[0]
        self.output_size = self.dims[3]
        self._dtype = config.np_dtype
        self._params = np.ascontiguousarray(params, dtype=self._dtype)
        self._params.flags.writeable = False
        self._scratch_n = scratch_size(model_type, self.dims)
        self._in_shape = (self.input_size,)
        self._ints = self.dims
        self._tls = threading.local()
        one = _jit.for_config(_ONE[model_type], config, parallel=False)
        self._one = _direct_entry(one, self._dtype)
        self._batch = _jit.for_config(_BATCH[model_type], config)

    # -- introspection ---------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def nbytes(self) -> int:
        """Bytes of parameters (what ``save`` writes, less the 64-byte header)."""
        return int(self._params.nbytes)

    @property
    def params(self) -> np.ndarray:
        """The flat parameter buffer, read-only."""
        return self._params

    def weights(self) -> dict[str, np.ndarray]:
        """Named read-only views of the parameters, e.g. ``w1`` (inputs x outputs)."""
        return views(self.model_type, self.dims, self._params)

    def __repr__(self) -> str:
        return (f"Network({self.model_type.name}, dims={self.dims}, dtype={self._dtype.name}, "
                f"nbytes={self.nbytes})")

    # -- inference -------------------------------------------------------------------

    def _coerce_x(self, x: Any) -> np.ndarray:
        arr = as_dtype_array(x, "x", self._dtype)
        if arr.ndim != 1:
            raise ValueError(f"x must be a 1-D vector of length {self.input_size}, got shape {arr.shape}; "
                             "use infer_batch for 2-D input")
        if arr.shape[0] != self.input_size:
            raise ValueError(f"x has length {arr.shape[0]}, but this network takes {self.input_size}")
        return arr

    def _check_out(self, out: Any) -> None:
        if (out.__class__ is not _ndarray or out.dtype is not self._dtype
                or out.shape != (self.output_size,) or not out.flags.c_contiguous
                or not out.flags.writeable):
            raise ValueError(
                f"out must be a writeable C-contiguous {self._dtype.name} array of shape "
                f"({self.output_size},)"
            )

    def infer(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Run one input vector and return the outputs.

        Returns a new array, or fills and returns ``out`` when given (a
        preallocated ``out`` makes the call allocation-free end to end).
        """
        if x.__class__ is not _ndarray or x.dtype is not self._dtype or x.shape != self._in_shape:
            x = self._coerce_x(x)
        if out is None:
            out = np.empty(self.output_size, self._dtype)
        else:
            self._check_out(out)
        try:
            s = self._tls.s
        except AttributeError:
            s = self._tls.s = np.empty(self._scratch_n, self._dtype)
        a, b, c, d = self._ints
        self._one(x, self._params, s, out, a, b, c, d)
        return out

    def infer_batch(self, X: np.ndarray) -> np.ndarray:
        """Run every row of ``X`` (n x input_size); row i equals ``infer(X[i])``."""
        arr = as_dtype_array(X, "X", self._dtype)
        if arr.ndim != 2 or arr.shape[1] != self.input_size:
            raise ValueError(f"X must have shape (n, {self.input_size}), got {arr.shape}")
        arr = np.ascontiguousarray(arr)
        n = arr.shape[0]
        out = np.empty((n, self.output_size), self._dtype)
        if n == 0:
            return out
        blocks = min(n, numba.get_num_threads()) if self.config.parallel else 1
        scratch = np.empty((blocks, self._scratch_n), self._dtype)
        a, b, c, d = self._ints
        args = (arr, self._params, scratch, out, a, b, c, d)
        if self.config.parallel:
            _jit.launch(self._batch, self.config, *args)
        else:
            self._batch(*args)
        return out

    # -- persistence ---------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to ``path`` atomically (format: ``engine.neural._format``)."""
        _format.write(path, self.model_type, self.dims, self._params)


def build_network(
    model_type: ModelType | str,
    input_size: int,
    *,
    seed: int = 0,
    config: EngineConfig | None = None,
    hidden_size: int | None = None,
    output_size: int | None = None,
) -> Network:
    """Build a network with deterministic weights from ``seed``.

    ``hidden_size`` is the first hidden width (MLP; the second is half of it), the
    channel count (CNN1D), the hidden state size (LSTM) or the hidden neuron
    count (SPIKING). Defaults: MLP 32/16, CNN1D 8 channels of width 5, LSTM 16,
    SPIKING 64 neurons over 20 steps; 8 outputs.
    """
    mt = ModelType.parse(model_type)
    cfg = resolve(config)
    check_int("input_size", input_size)
    if hidden_size is not None:
        check_int("hidden_size", hidden_size)
    if output_size is not None:
        check_int("output_size", output_size)
    check_int("seed", seed, minimum=0)
    dims = default_dims(mt, int(input_size), hidden_size, output_size)
    problem = check_dims(mt, dims)
    if problem:
        raise ValueError(problem)
    params = init_params(mt, dims, int(seed)).astype(cfg.np_dtype)
    return Network(mt, dims, params, cfg)


def load_network(path: str | os.PathLike[str], *, config: EngineConfig | None = None) -> Network:
    """Load a network saved by ``Network.save``.

    The network runs with ``config`` (or the environment's); its ``dtype`` decides
    the working precision, so a float32 file loaded under a float64 config is
    widened (exactly). Raises ``WeightFileError`` for a missing, truncated,
    corrupt or wrong-version file.
    """
    cfg = resolve(config)
    model_type, dims, params = _format.read(path)
    return Network(model_type, dims, params, cfg)
