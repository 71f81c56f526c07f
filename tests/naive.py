"""Slow, obviously-correct NumPy references for every fast engine function.

Each fast kernel in ``src/engine`` is tested against its twin here. These are
written for clarity, not speed: plain loops and textbook formulas, no numba.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- kernels & allocation

# ---------------------------------------------------------------- neural networks


def _relu(v):
    return np.maximum(v, 0.0)


def naive_mlp(w, x):
    """Three dense layers, ReLU on the hidden ones; w holds (inputs x outputs) matrices."""
    x = np.asarray(x, dtype=np.float64)
    h1 = _relu(x @ w["w1"].astype(np.float64) + w["b1"])
    h2 = _relu(h1 @ w["w2"].astype(np.float64) + w["b2"])
    return h2 @ w["w3"].astype(np.float64) + w["b3"]


def naive_cnn1d(w, x):
    """Valid 1-D convolution, ReLU, global average pool, dense."""
    x = np.asarray(x, dtype=np.float64)
    conv_w = w["conv_w"].astype(np.float64)
    channels, width = conv_w.shape
    positions = x.shape[0] - width + 1
    fmap = np.empty((positions, channels))
    for t in range(positions):
        for c in range(channels):
            fmap[t, c] = w["conv_b"][c] + np.dot(conv_w[c], x[t : t + width])
    pooled = _relu(fmap).mean(axis=0)
    return pooled @ w["dense_w"].astype(np.float64) + w["dense_b"]


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def naive_lstm(w, x):
    """A textbook LSTM over the scalar sequence x; gate order i, f, g, o."""
    x = np.asarray(x, dtype=np.float64)
    hidden = w["w_h"].shape[0]
    h = np.zeros(hidden)
    c = np.zeros(hidden)
    for xt in x:
        z = w["b"] + w["w_x"] * xt + h @ w["w_h"].astype(np.float64)
        i = _sigmoid(z[:hidden])
        f = _sigmoid(z[hidden : 2 * hidden])
        g = np.tanh(z[2 * hidden : 3 * hidden])
        o = _sigmoid(z[3 * hidden :])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h @ w["dense_w"].astype(np.float64) + w["dense_b"]


def naive_spiking(w, x, steps, dtype=np.float64):
    """Two leaky integrate-and-fire layers under a constant input current.

    Computed in ``dtype`` with the engine's summation order (inputs in index
    order), so that threshold crossings match exactly rather than approximately.
    """
    x = np.asarray(x, dtype=dtype)
    w_in = w["w_in"].astype(dtype)
    w_out = w["w_out"].astype(dtype)
    beta = dtype(w["beta"][0])
    thr = dtype(w["threshold"][0])
    n_in, hidden = w_in.shape
    n_out = w_out.shape[1]
    cur = np.zeros(hidden, dtype=dtype)
    for j in range(n_in):
        cur = (cur + w_in[j] * x[j]).astype(dtype)
    vh = np.zeros(hidden, dtype=dtype)
    vo = np.zeros(n_out, dtype=dtype)
    counts = np.zeros(n_out)
    for _ in range(steps):
        io = np.zeros(n_out, dtype=dtype)
        for i in range(hidden):
            v = dtype(beta * vh[i] + cur[i])
            if v >= thr:
                vh[i] = 0
                io = (io + w_out[i]).astype(dtype)
            else:
                vh[i] = v
        for o in range(n_out):
            v = dtype(beta * vo[o] + io[o])
            if v >= thr:
                vo[o] = 0
                counts[o] += 1
            else:
                vo[o] = v
    return counts


# ---------------------------------------------------------------- knowledge graph, text & system
