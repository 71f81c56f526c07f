"""Slow, obviously-correct NumPy references for every fast engine function.

Each fast kernel in ``src/engine`` is tested against its twin here. These are
written for clarity, not speed: plain loops and textbook formulas, no numba.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- kernels & allocation


def naive_dot(a, b):
    """Dot product in float64, correctly rounded via ``math.fsum``.

    Products of float32 or float64 inputs are formed in float64 (exact for
    float32). When the sum is not finite (inf, NaN, or an overflowing
    intermediate) it falls back to a plain left-to-right float64 sum, which
    gives IEEE's answer (inf, -inf or NaN).
    """
    import math

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape and a.ndim == 1
    products = [float(x) * float(y) for x, y in zip(a, b)]
    try:
        return math.fsum(products)
    except (ValueError, OverflowError):
        total = 0.0
        for p in products:
            total += p
        return total


def naive_unit(x):
    """x / ||x|| in float64; ValueError for a zero or non-finite vector.

    x is first divided by its largest magnitude, so that ||x|| neither overflows
    (components near 1e308) nor underflows; ``math.hypot`` then takes the norm.
    """
    import math

    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("non-finite vector")
    m = float(np.max(np.abs(x))) if x.size else 0.0
    if m == 0.0:
        raise ValueError("zero vector")
    y = x / m
    return y / math.hypot(*y)


class NaiveAllocator:
    """Cortical-column allocation the textbook way: prototype rows, float64, loops.

    The rule (engine.allocation): normalise x; score s_j = P_j . x_hat for the
    u used columns; if u == 0, or max s < vigilance while u < n_columns, the
    input becomes column u (score 1.0, novel); otherwise the first column with
    the highest score wins and moves to normalise((1 - eta) P_w + eta x_hat),
    unless that blend is exactly zero, in which case it stays.
    """

    def __init__(self, n_columns, dim, vigilance=0.75, learning_rate=0.1):
        self.n_columns = n_columns
        self.dim = dim
        self.vigilance = vigilance
        self.learning_rate = learning_rate
        self.P = np.zeros((n_columns, dim))
        self.u = 0

    def column_scores(self, x_hat):
        """Cosine of the (already unit) x_hat with every used column."""
        return np.array([naive_dot(self.P[j], x_hat) for j in range(self.u)])

    def scores(self, x):
        return self.column_scores(naive_unit(x))

    def allocate(self, x):
        """Return (column, score, novel) and update the state."""
        import math

        x_hat = naive_unit(x)
        if self.u == 0:
            return self._open(x_hat)
        s = self.column_scores(x_hat)
        w = 0
        for j in range(1, self.u):
            if s[j] > s[w]:
                w = j
        if s[w] < self.vigilance and self.u < self.n_columns:
            return self._open(x_hat)
        eta = self.learning_rate
        blend = (1.0 - eta) * self.P[w] + eta * x_hat
        norm = math.hypot(*blend)
        if norm > 0.0:
            self.P[w] = blend / norm
        return w, float(s[w]), False

    def _open(self, x_hat):
        self.P[self.u] = x_hat
        self.u += 1
        return self.u - 1, 1.0, True

    def allocate_batch(self, X):
        return np.array([self.allocate(row)[0] for row in X], dtype=np.int64)

    @property
    def prototypes(self):
        return self.P[: self.u].copy()


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


def naive_unit_rows(matrix):
    """Rows divided by their L2 norm, in float64.

    Each row is first divided by its max-abs so that norms of tiny (subnormal)
    or huge rows neither underflow nor overflow.
    """
    m = np.asarray(matrix, dtype=np.float64)
    m = m / np.abs(m).max(axis=1, keepdims=True)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def naive_topk(matrix, vec, k):
    """Exact cosine top-k: (ids, float64 scores), by descending score then ascending id."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape[0] == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    q = naive_unit_rows(np.asarray(vec, dtype=np.float64)[None, :])[0]
    scores = [float(np.dot(row, q)) for row in naive_unit_rows(m)]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
    return np.array(order, dtype=np.int64), np.array([scores[i] for i in order])


_MASK64 = (1 << 64) - 1


def naive_gram_hash(gram):
    """64-bit FNV-1a over each code point's 4 little-endian bytes, then murmur3 fmix64."""
    h = 0xCBF29CE484222325
    for ch in gram:
        for byte in ord(ch).to_bytes(4, "little"):
            h ^= byte
            h = (h * 0x100000001B3) & _MASK64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    h ^= h >> 33
    return h


def naive_embed(text, dim, ngram):
    """Signed hashed character n-gram counts, L2-normalised (float64)."""
    if len(text) == 0:
        grams = []
    elif len(text) < ngram:
        grams = [text]
    else:
        grams = [text[i : i + ngram] for i in range(len(text) - ngram + 1)]
    row = [0.0] * dim
    for gram in grams:
        h = naive_gram_hash(gram)
        row[h % dim] += -1.0 if h >> 63 else 1.0
    norm = sum(v * v for v in row) ** 0.5
    if norm > 0:
        row = [v / norm for v in row]
    return np.array(row)


def naive_chunk_text(text, max_chars, overlap):
    """``engine.text.chunk_text`` rules, one character at a time: (text, start, end) triples."""
    last = len(text.rstrip())

    def is_sentence_end(p):
        # text[:p] ends with . ! or ? plus optional closers, and whitespace or the end follows.
        if p < len(text) and not text[p].isspace():
            return False
        q = p
        while q > 0 and text[q - 1] in "\"')]":
            q -= 1
        return q > 0 and text[q - 1] in ".!?"

    def skip_space(p):
        while p < len(text) and text[p].isspace():
            p += 1
        return p

    def cut(start):
        limit = start + max_chars
        if limit >= last:
            return last
        for p in range(limit, start + max_chars // 2, -1):
            if is_sentence_end(p):
                return p
        for p in range(limit, start, -1):
            if text[p].isspace():
                while text[p - 1].isspace():
                    p -= 1
                return p
        return limit

    out = []
    start = skip_space(0)
    prev_end = 0
    while start < last:
        end = cut(start)
        if end <= prev_end:
            start = skip_space(prev_end)
            end = cut(start)
        out.append((text[start:end], start, end))
        if end >= last:
            break
        prev_end = end
        nxt = skip_space(end)
        for p in range(max(end - overlap, start + 1), end):
            if overlap and not text[p].isspace() and text[p - 1].isspace():
                nxt = p
                break
        start = nxt
    return out


# ---------------------------------------------------------------- statistics


def naive_cliffs_delta(before, after):
    """Cliff's delta by counting every pair: P(after > before) - P(after < before)."""
    greater = less = 0
    for a in before:
        for b in after:
            if b > a:
                greater += 1
            elif b < a:
                less += 1
    return (greater - less) / (len(before) * len(after))


def naive_robust_sd(values):
    """1.4826 x the median absolute deviation, with the standard library."""
    import statistics

    med = statistics.median(values)
    return 1.4826 * statistics.median([abs(v - med) for v in values])


# ---------------------------------------------------------------- trends


def naive_theil_sen(x, y):
    """Median of (y_j - y_i) / (x_j - x_i) over every pair i < j with x_i != x_j."""
    import statistics

    slopes = []
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            if x[j] != x[i]:
                slopes.append((y[j] - y[i]) / (x[j] - x[i]))
    return statistics.median(slopes)


def naive_mann_kendall(x, y):
    """(S, var S, two-sided p) of Kendall's S of y against x, pair by pair.

    S sums sign(x_j - x_i) * sign(y_j - y_i) over pairs; the variance is the textbook
    one with ties in both x and y (Kendall 1970, as scipy's asymptotic kendalltau):
    [n(n-1)(2n+5) - sum_x t(t-1)(2t+5) - sum_y u(u-1)(2u+5)] / 18
      + [sum t(t-1)(t-2)] [sum u(u-1)(u-2)] / (9 n(n-1)(n-2))
      + [sum t(t-1)] [sum u(u-1)] / (2 n(n-1)).
    """
    import math
    from collections import Counter

    def sign(v):
        return (float(v) > 0) - (float(v) < 0)

    n = len(x)
    s = 0
    for i in range(n):
        for j in range(i + 1, n):
            s += sign(x[j] - x[i]) * sign(y[j] - y[i])
    tx = [t for t in Counter(x).values() if t > 1]
    ty = [t for t in Counter(y).values() if t > 1]
    var = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in tx)
           - sum(t * (t - 1) * (2 * t + 5) for t in ty)) / 18
    var += (sum(t * (t - 1) * (t - 2) for t in tx) * sum(t * (t - 1) * (t - 2) for t in ty)
            / (9 * n * (n - 1) * (n - 2)))
    var += sum(t * (t - 1) for t in tx) * sum(t * (t - 1) for t in ty) / (2 * n * (n - 1))
    if var <= 0:
        return s, 0.0, 1.0
    z = s / math.sqrt(var)
    return s, var, math.erfc(abs(z) / math.sqrt(2))


# ---------------------------------------------------------------- change points


def naive_optimal_partition(y, w, penalty, min_size):
    """Change positions minimising sum of weighted squared errors + penalty per change.

    Textbook optimal partitioning, by dynamic programming over every last-segment start,
    with every segment cost recomputed from its points. Segments have at least
    ``min_size`` points; among equal totals the earliest previous change wins.
    """
    n = len(y)

    def cost(s, t):
        sw = sum(w[s:t])
        mean = sum(wi * yi for wi, yi in zip(w[s:t], y[s:t])) / sw
        return sum(wi * (yi - mean) ** 2 for wi, yi in zip(w[s:t], y[s:t]))

    best = {0: -penalty}
    last = {}
    for t in range(min_size, n + 1):
        options = [(best[s] + cost(s, t) + penalty, s)
                   for s in [0] + list(range(min_size, t - min_size + 1)) if s in best]
        value, s = min(options, key=lambda o: (o[0], o[1]))
        best[t], last[t] = value, s
    out = []
    t = n
    while t > 0:
        t = last[t]
        if t > 0:
            out.append(t)
    return sorted(out)


def naive_outlier_mask(y, sd, k, z):
    """y[i] is an outlier when it is more than z * sd[i] from the median of up to k
    neighbours on each side it has at least two neighbours on (both sides must agree)."""
    import statistics

    n = len(y)
    out = []
    for i in range(n):
        left = y[max(0, i - k):i]
        right = y[i + 1:i + 1 + k]
        devs = [abs(y[i] - statistics.median(side)) for side in (left, right) if len(side) >= 2]
        out.append(bool(devs) and min(devs) > z * sd[i])
    return out


def naive_weighted_mean_test(y1, w1, y2, w2):
    """(mean1, mean2, p): weighted least squares of y on a group indicator, scale from
    the residuals, two-sided t with n1 + n2 - 2 degrees of freedom."""
    import math

    from scipy import stats

    m1 = sum(a * b for a, b in zip(w1, y1)) / sum(w1)
    m2 = sum(a * b for a, b in zip(w2, y2)) / sum(w2)
    df = len(y1) + len(y2) - 2
    rss = sum(w * (y - m1) ** 2 for w, y in zip(w1, y1)) + \
        sum(w * (y - m2) ** 2 for w, y in zip(w2, y2))
    se = math.sqrt(rss / df * (1 / sum(w1) + 1 / sum(w2)))
    return m1, m2, 2 * stats.t.sf(abs(m2 - m1) / se, df)


# ---------------------------------------------------------------- asv results


def naive_asv_rows(data, info=None):
    """The rows of one asv api-2 result file (already parsed JSON), the long way.

    Parameter combinations come from explicit recursion over the axes (the last
    axis varies fastest, as asv stores them) and every column is looked up by its
    name in ``result_columns``. No validation: for well-formed files only.
    Returns ``(benchmark, params, value, ci_99, quartiles, number, repeat,
    samples, version)`` tuples in file order.
    """
    info = info or {}
    names = data["result_columns"]
    out = []
    for benchmark, entry in data["results"].items():
        column = {}
        for i in range(len(entry)):
            column[names[i]] = entry[i]
        axes = column.get("params")
        if axes is None:
            axes = info.get(benchmark, {}).get("params", [])
        combos = []

        def expand(prefix, rest):
            if not rest:
                combos.append(tuple(prefix))
                return
            for value in rest[0]:
                expand(prefix + [str(value)], rest[1:])

        expand([], axes)

        def at(key, i):
            values = column.get(key)
            return None if values is None else values[i]

        version = column.get("version", info.get(benchmark, {}).get("version"))
        for i, params in enumerate(combos):
            value = at("result", i)
            ci = (at("stats_ci_99_a", i), at("stats_ci_99_b", i))
            quartiles = (at("stats_q_25", i), at("stats_q_75", i))
            samples = at("samples", i)
            out.append((
                benchmark, params, None if value is None else float(value),
                None if None in ci else (float(ci[0]), float(ci[1])),
                None if None in quartiles else (float(quartiles[0]), float(quartiles[1])),
                at("stats_number", i), at("stats_repeat", i),
                None if samples is None else tuple(float(s) for s in samples),
                None if version is None else str(version),
            ))
    return out


# ---------------------------------------------------------------- group-sequential tests


def naive_gs_cumulative_exit(boundaries, fractions, drift=0.0, abseps=1e-7, seed=0):
    """P(|Z_j| >= c_j for some look j <= k), for k = 1..K, straight from the joint law.

    (Z_1, ..., Z_K) is multivariate normal with mean drift * sqrt(t_k) and
    corr(Z_i, Z_j) = sqrt(t_i / t_j) for t_i <= t_j (Brownian motion observed at the
    information fractions). The chance of not having stopped by look k is the normal
    probability of the box |Z_j| < c_j, j <= k, which scipy's multivariate normal CDF
    (Genz's quasi-Monte-Carlo integration, to ``abseps``) gives without any recursion:
    an independent check of benchwatch.sequential's numerical integration.
    """
    from scipy.stats import multivariate_normal

    t = np.asarray(fractions, dtype=float)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    mean = drift * np.sqrt(t)
    out = []
    for k in range(1, t.size + 1):
        c = np.asarray(boundaries[:k], dtype=float)
        law = multivariate_normal(mean[:k], cov[:k, :k], seed=seed, abseps=abseps,
                                  releps=0.0, maxpts=10_000_000)
        box = law.cdf(c, lower_limit=-c)
        out.append(1.0 - float(box))
    return out


def naive_gs_monte_carlo(boundaries, fractions, drift, n_paths, seed=0, block=250_000):
    """Share of ``n_paths`` simulated Brownian paths (drift * t + W(t)) that stop at each
    look, |B(t_k)| / sqrt(t_k) >= c_k with no earlier stop; a list, one rate per look."""
    rng = np.random.default_rng(seed)
    t = np.asarray(fractions, dtype=float)
    steps = np.diff(np.concatenate(([0.0], t)))
    stops = np.zeros(t.size)
    done = 0
    while done < n_paths:
        m = min(block, n_paths - done)
        inc = rng.standard_normal((m, t.size)) * np.sqrt(steps) + drift * steps
        z = np.cumsum(inc, axis=1) / np.sqrt(t)
        alive = np.ones(m, dtype=bool)
        for k in range(t.size):
            stop = alive & (np.abs(z[:, k]) >= boundaries[k])
            stops[k] += stop.sum()
            alive &= ~stop
        done += m
    return list(stops / n_paths)


def naive_holm(p_values):
    """Holm's step-down adjusted p-values by the textbook loop (NaN ignored, kept NaN):
    the i-th smallest of m finite p-values times (m - i), running maximum, capped at 1."""
    import math

    finite = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(finite)
    out = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def naive_family_geomean(items, alpha=0.05):
    """Geometric mean time ratio of a benchmark family with a t interval, slowly.

    ``items`` are (workload key, time ratio) pairs, one per series. The log ratios of
    one workload are averaged first; then the mean of the k workload logs, its sample
    standard deviation, the t quantile with k - 1 degrees of freedom and the two-sided
    p of t = mean / (sd / sqrt(k)), each written out. Returns (ratio, low, high, p).
    """
    import math

    from scipy.stats import t as t_dist

    groups = {}
    for key, ratio in items:
        groups.setdefault(key, []).append(math.log(ratio))
    logs = [sum(v) / len(v) for v in groups.values()]
    k = len(logs)
    mean = sum(logs) / k
    sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (k - 1))
    se = sd / math.sqrt(k)
    q = t_dist.ppf(1 - alpha / 2, k - 1)
    p = 2 * t_dist.sf(abs(mean / se), k - 1)
    return math.exp(mean), math.exp(mean - q * se), math.exp(mean + q * se), p
