"""Compiled forward passes for the four network types.

Every network keeps its parameters in one flat buffer ``p`` (see ``_layout.py``
for the order) and gets a per-thread scratch buffer ``s``, so a forward pass
allocates nothing. Row functions are inlined into the single-input and batch
kernels at numba-IR level, so each kernel is compiled with the flags
(``fastmath``, ``parallel``) of the variant that calls it.

Weights are stored input-major (inputs x outputs), so a tile of outputs reads
contiguous weights for each input; see ``_dense_relu``.

Nothing here validates input: ``network.py`` does that before calling in.
"""

from __future__ import annotations

import math

import numba

_inline = numba.njit(inline="always", nogil=True, cache=True)
_U = numba.uint64


@_inline
def _dense_relu(x, p, w0, n_in, n_out, out, relu):
    """out[:n_out] = act(x @ W + b); W is p[w0 : w0 + n_in*n_out] (n_in x n_out), b follows.

    Eight outputs at a time are kept in registers while the inputs stream past,
    so each output is still summed in input order (results do not depend on
    fastmath), and the eight independent chains hide the add latency. Indices are
    unsigned: numba adds a negative-index wraparound check to signed indices,
    which blocks LLVM's vectoriser. Measured 2.2x faster than a plain
    output-innermost loop for a 50-32-16-8 MLP (see scripts/engine_speed.py).
    Returns the offset just past this layer's bias.
    """
    b0 = w0 + n_in * n_out
    no = _U(n_out)
    ni = _U(n_in)
    bu = _U(b0)
    i = _U(0)
    while i + _U(8) <= no:
        a0 = p[bu + i]
        a1 = p[bu + i + _U(1)]
        a2 = p[bu + i + _U(2)]
        a3 = p[bu + i + _U(3)]
        a4 = p[bu + i + _U(4)]
        a5 = p[bu + i + _U(5)]
        a6 = p[bu + i + _U(6)]
        a7 = p[bu + i + _U(7)]
        r = _U(w0) + i
        for j in range(ni):
            xj = x[j]
            a0 += p[r] * xj
            a1 += p[r + _U(1)] * xj
            a2 += p[r + _U(2)] * xj
            a3 += p[r + _U(3)] * xj
            a4 += p[r + _U(4)] * xj
            a5 += p[r + _U(5)] * xj
            a6 += p[r + _U(6)] * xj
            a7 += p[r + _U(7)] * xj
            r += no
        out[i] = a0
        out[i + _U(1)] = a1
        out[i + _U(2)] = a2
        out[i + _U(3)] = a3
        out[i + _U(4)] = a4
        out[i + _U(5)] = a5
        out[i + _U(6)] = a6
        out[i + _U(7)] = a7
        i += _U(8)
    while i < no:
        acc = p[bu + i]
        r = _U(w0) + i
        for j in range(ni):
            acc += p[r] * x[j]
            r += no
        out[i] = acc
        i += _U(1)
    if relu:
        for k in range(n_out):
            if out[k] < 0:
                out[k] = 0
    return b0 + n_out


@_inline
def _mlp_row(x, p, s, out, n_in, h1, h2, n_out):
    a = s[:h1]
    b = s[h1 : h1 + h2]
    off = _dense_relu(x, p, 0, n_in, h1, a, True)
    off = _dense_relu(a, p, off, h1, h2, b, True)
    _dense_relu(b, p, off, h2, n_out, out, False)


@_inline
def _cnn1d_row(x, p, s, out, n_in, channels, width, n_out):
    # Layout: conv weights (channels x width), conv bias (channels), then a dense
    # layer channels -> n_out over the global average of the ReLU feature map.
    positions = n_in - width + 1
    bc = channels * width
    pool = s[:channels]
    for c in range(channels):
        pool[c] = 0
    for t in range(positions):
        for c in range(channels):
            acc = p[bc + c]
            w = c * width
            for k in range(width):
                acc += p[w + k] * x[t + k]
            if not acc <= 0:  # ReLU that lets NaN through, like np.maximum
                pool[c] += acc
    inv = 1.0 / positions
    for c in range(channels):
        pool[c] *= inv
    _dense_relu(pool, p, bc + channels, channels, n_out, out, False)


@_inline
def _sigmoid(v):
    return 1.0 / (1.0 + math.exp(-v))


@_inline
def _lstm_row(x, p, s, out, n_in, hidden, unused, n_out):
    # One scalar per time step. Gate order in every 4*hidden block: i, f, g, o.
    # Layout: w_x (4H), w_h (H x 4H, input-major), b (4H), then dense H -> n_out.
    g4 = 4 * hidden
    wh0 = g4
    b0 = wh0 + hidden * g4
    d0 = b0 + g4
    h = s[:hidden]
    c = s[hidden : 2 * hidden]
    z = s[2 * hidden : 2 * hidden + g4]
    for j in range(hidden):
        h[j] = 0
        c[j] = 0
    for t in range(n_in):
        xt = x[t]
        for q in range(g4):
            z[q] = p[b0 + q] + p[q] * xt
        for j in range(hidden):
            hj = h[j]
            row = wh0 + j * g4
            for q in range(g4):
                z[q] += p[row + q] * hj
        for j in range(hidden):
            ig = _sigmoid(z[j])
            fg = _sigmoid(z[hidden + j])
            gg = math.tanh(z[2 * hidden + j])
            og = _sigmoid(z[3 * hidden + j])
            c[j] = fg * c[j] + ig * gg
            h[j] = og * math.tanh(c[j])
    _dense_relu(h, p, d0, hidden, n_out, out, False)


@_inline
def _spiking_row(x, p, s, out, n_in, hidden, steps, n_out):
    # Leaky integrate-and-fire, two layers, constant input current for `steps`
    # steps. v <- beta*v + I; a neuron spikes when v >= threshold and resets to 0.
    # Output: spike counts of the output layer. beta and threshold are the last
    # two entries of p; the weights carry no biases.
    w_out0 = n_in * hidden
    beta = p[w_out0 + hidden * n_out]
    thr = p[w_out0 + hidden * n_out + 1]
    cur = s[:hidden]
    vh = s[hidden : 2 * hidden]
    vo = s[2 * hidden : 2 * hidden + n_out]
    io = s[2 * hidden + n_out : 2 * hidden + 2 * n_out]
    for i in range(hidden):
        cur[i] = 0
        vh[i] = 0
    for j in range(n_in):
        xj = x[j]
        row = j * hidden
        for i in range(hidden):
            cur[i] += p[row + i] * xj
    for o in range(n_out):
        vo[o] = 0
        out[o] = 0
    for _ in range(steps):
        for o in range(n_out):
            io[o] = 0
        for i in range(hidden):
            v = beta * vh[i] + cur[i]
            if v >= thr:
                vh[i] = 0
                row = w_out0 + i * n_out
                for o in range(n_out):
                    io[o] += p[row + o]
            else:
                vh[i] = v
        for o in range(n_out):
            v = beta * vo[o] + io[o]
            if v >= thr:
                vo[o] = 0
                out[o] += 1
            else:
                vo[o] = v


# --- single-input kernels (compiled per config variant by engine._jit) ---------


def _mlp_one(x, p, s, out, a, b, c, d):
    _mlp_row(x, p, s, out, a, b, c, d)


def _cnn1d_one(x, p, s, out, a, b, c, d):
    _cnn1d_row(x, p, s, out, a, b, c, d)


def _lstm_one(x, p, s, out, a, b, c, d):
    _lstm_row(x, p, s, out, a, b, c, d)


def _spiking_one(x, p, s, out, a, b, c, d):
    _spiking_row(x, p, s, out, a, b, c, d)


# --- batch kernels: rows split into one block per thread, each with its own
# scratch row, so threads share nothing mutable -------------------------------


def _mlp_batch(X, p, S, out, a, b, c, d):
    n = X.shape[0]
    blocks = S.shape[0]
    for t in numba.prange(blocks):
        for r in range(t * n // blocks, (t + 1) * n // blocks):
            _mlp_row(X[r], p, S[t], out[r], a, b, c, d)


def _cnn1d_batch(X, p, S, out, a, b, c, d):
    n = X.shape[0]
    blocks = S.shape[0]
    for t in numba.prange(blocks):
        for r in range(t * n // blocks, (t + 1) * n // blocks):
            _cnn1d_row(X[r], p, S[t], out[r], a, b, c, d)


def _lstm_batch(X, p, S, out, a, b, c, d):
    n = X.shape[0]
    blocks = S.shape[0]
    for t in numba.prange(blocks):
        for r in range(t * n // blocks, (t + 1) * n // blocks):
            _lstm_row(X[r], p, S[t], out[r], a, b, c, d)


def _spiking_batch(X, p, S, out, a, b, c, d):
    n = X.shape[0]
    blocks = S.shape[0]
    for t in numba.prange(blocks):
        for r in range(t * n // blocks, (t + 1) * n // blocks):
            _spiking_row(X[r], p, S[t], out[r], a, b, c, d)
