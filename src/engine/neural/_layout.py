"""Model types, their shapes, and where each weight sits in the flat buffer.

A network is described by its type and four integers ``dims``; everything else
(parameter count, scratch size, named weight views, initial values) follows from
them. The weight file stores exactly these, so this module is the single source
of truth for both ``network.py`` and ``_format.py``.

dims per type:
  MLP      (input_size, hidden_1, hidden_2, output_size)
  CNN1D    (input_size, channels, kernel_width, output_size)
  LSTM     (input_size, hidden, 0, output_size)        input_size = sequence length
  SPIKING  (input_size, hidden, time_steps, output_size)
"""

from __future__ import annotations

import enum

import numpy as np

# Leaky integrate-and-fire constants of SPIKING networks (stored in the weights).
LIF_BETA = 0.9
LIF_THRESHOLD = 1.0

# Upper bound on any single dimension: a sanity check for corrupt files and
# typos, not an engine limit anyone should meet.
MAX_DIM = 1 << 24


class ModelType(enum.Enum):
    """The network families the engine runs.

    ``SPIKING`` is a two-layer leaky integrate-and-fire network run for a fixed
    number of time steps on a constant input current; its output is the spike
    count of each output neuron.
    """

    MLP = 1
    CNN1D = 2
    LSTM = 3
    SPIKING = 4

    @classmethod
    def parse(cls, value: "ModelType | str") -> "ModelType":
        """Accept a member or its name in any case (asv params are strings)."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                pass
        names = ", ".join(m.name for m in cls)
        raise ValueError(f"unknown model type {value!r}; expected one of {names}")


# (default hidden size, third dim default, output size default)
_DEFAULTS = {
    ModelType.MLP: (32, None, 8),
    ModelType.CNN1D: (8, 5, 8),
    ModelType.LSTM: (16, 0, 8),
    ModelType.SPIKING: (64, 20, 8),
}


def default_dims(
    model_type: ModelType,
    input_size: int,
    hidden_size: int | None = None,
    output_size: int | None = None,
) -> tuple[int, int, int, int]:
    """The dims of a network built with ``build_network``'s defaults."""
    hidden_default, third, out_default = _DEFAULTS[model_type]
    hidden = hidden_default if hidden_size is None else hidden_size
    out = out_default if output_size is None else output_size
    if model_type is ModelType.MLP:
        third = max(1, hidden // 2)
    return (input_size, hidden, int(third), out)


def check_dims(model_type: ModelType, dims: tuple[int, int, int, int]) -> str | None:
    """Return why ``dims`` are invalid for ``model_type``, or None when they are fine."""
    n_in, a, b, n_out = dims
    names = {
        ModelType.MLP: ("input_size", "hidden_1", "hidden_2", "output_size"),
        ModelType.CNN1D: ("input_size", "channels", "kernel_width", "output_size"),
        ModelType.LSTM: ("input_size", "hidden", "unused", "output_size"),
        ModelType.SPIKING: ("input_size", "hidden", "time_steps", "output_size"),
    }[model_type]
    for name, value in zip(names, dims):
        if name == "unused":
            if value != 0:
                return f"{name} must be 0 for LSTM, got {value}"
            continue
        if not 1 <= value <= MAX_DIM:
            return f"{name} must be between 1 and {MAX_DIM}, got {value}"
    if model_type is ModelType.CNN1D and n_in < b:
        return f"CNN1D needs input_size >= kernel_width ({b}), got input_size={n_in}"
    return None


def weight_shapes(model_type: ModelType, dims: tuple[int, int, int, int]) -> list[tuple[str, tuple[int, ...]]]:
    """Named weight arrays in buffer order. Dense weights are (inputs, outputs)."""
    n_in, a, b, n_out = dims
    if model_type is ModelType.MLP:
        return [
            ("w1", (n_in, a)), ("b1", (a,)),
            ("w2", (a, b)), ("b2", (b,)),
            ("w3", (b, n_out)), ("b3", (n_out,)),
        ]
    if model_type is ModelType.CNN1D:
        return [
            ("conv_w", (a, b)), ("conv_b", (a,)),
            ("dense_w", (a, n_out)), ("dense_b", (n_out,)),
        ]
    if model_type is ModelType.LSTM:
        return [
            ("w_x", (4 * a,)), ("w_h", (a, 4 * a)), ("b", (4 * a,)),
            ("dense_w", (a, n_out)), ("dense_b", (n_out,)),
        ]
    return [
        ("w_in", (n_in, a)), ("w_out", (a, n_out)),
        ("beta", (1,)), ("threshold", (1,)),
    ]


def param_count(model_type: ModelType, dims: tuple[int, int, int, int]) -> int:
    return sum(int(np.prod(shape)) for _, shape in weight_shapes(model_type, dims))


def scratch_size(model_type: ModelType, dims: tuple[int, int, int, int]) -> int:
    """Elements of per-thread scratch a forward pass needs."""
    n_in, a, b, n_out = dims
    if model_type is ModelType.MLP:
        return a + b
    if model_type is ModelType.CNN1D:
        return a
    if model_type is ModelType.LSTM:
        return 6 * a
    return 2 * a + 2 * n_out


def init_params(model_type: ModelType, dims: tuple[int, int, int, int], seed: int) -> np.ndarray:
    """Deterministic float64 parameters for ``seed`` (He-style scales)."""
    rng = np.random.default_rng([seed, model_type.value])
    parts: list[np.ndarray] = []
    for name, shape in weight_shapes(model_type, dims):
        size = int(np.prod(shape))
        if name == "beta":
            parts.append(np.full(1, LIF_BETA))
        elif name == "threshold":
            parts.append(np.full(1, LIF_THRESHOLD))
        elif model_type is ModelType.LSTM and name in ("w_x", "w_h", "b"):
            bound = 1.0 / np.sqrt(dims[1])
            parts.append(rng.uniform(-bound, bound, size))
        elif len(shape) == 1:  # biases
            parts.append(rng.normal(0.0, 0.1, size))
        else:
            fan_in = shape[1] if name == "conv_w" else shape[0]
            scale = np.sqrt(2.0 / fan_in)
            if model_type is ModelType.SPIKING:
                # Strong enough that a unit-variance input makes neurons fire.
                scale *= 1.5
            parts.append(rng.normal(0.0, scale, size))
    return np.concatenate(parts)


def views(model_type: ModelType, dims: tuple[int, int, int, int], params: np.ndarray) -> dict[str, np.ndarray]:
    """Read-only named views into ``params`` (for references, inspection and tests)."""
    out: dict[str, np.ndarray] = {}
    off = 0
    for name, shape in weight_shapes(model_type, dims):
        size = int(np.prod(shape))
        v = params[off : off + size].reshape(shape)
        v.flags.writeable = False
        out[name] = v
        off += size
    return out
