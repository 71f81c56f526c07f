"""Change-point detection for one benchmark series: where did its level shift?

The detector takes one series (values in commit order, NaN where the benchmark failed,
and optionally each value's standard error from its samples or asv's CI) and returns
the level shifts in it. It knows nothing about asv, files or benchmarks; the
``changes`` command feeds it.

The method, per analysis window of at most ``window`` finite points:

1. Noise model, on the log scale (benchmark noise is multiplicative). The commit-to-commit
   standard deviation ``sigma`` is the robust SD of first differences over sqrt(2); a
   level shift is one large difference among many and does not move it. It splits into
   the within-commit part each commit reports (its standard error, from samples or CI)
   and a run-to-run part ``tau`` that no single run can see (drift between runs). A
   commit whose own variance ``se_i^2`` is over 4x the typical one (a disturbed run: its
   samples scatter) is weighted by ``1 / (tau^2 + se_i^2)`` instead of the common
   weight, so it counts less. This is where samples and CIs help; a value-only detector
   treats every commit alike.
2. Outliers: a commit far from the median of its ``neighbours`` on *both* sides (more
   than ``outlier_z`` of its own noise) is a one-off (a disturbed run), not a level. It
   is left out; a commit at a genuine step is close to one side, so it stays.
3. Segmentation: the exact optimum of the weighted squared error plus ``penalty *
   log(n)`` per change (optimal partitioning; segments of at least ``min_size``).
4. Pruning, as in the Hunter/Otava merge step: while some change fails, drop the
   weakest and re-test its neighbours. A change must have a weighted t-test p-value
   (its two adjacent segments, scale estimated from their residuals, so run-to-run
   noise is in it) below ``alpha`` and a size of at least ``min_change_pct`` (the noise
   threshold: slow drift can be "significant" and still not a change worth a report).

Windows and incrementality: the first window starts at the first point. When a window
is full (``window`` points), its first change (if it leaves at least ``window // 4``
points after it) is *confirmed* and the next window starts at that change; otherwise
the window slides by half. The window that reaches the newest point is *open*: every
change in it is reported as provisional, since later commits may still move it. A
confirmed change depends only on the points of full windows, so an analysis is
extended by restarting at the open window (``DetectorState``) and gives exactly the
answer a from-scratch run gives.

The segmentation kernel is a private ``@njit`` function behind ``detect``; tests compare
it with the plain-Python twin in ``tests/naive.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from . import stats

#: Bump when the method changes, so cached analyses made by an older one are dropped.
ALGORITHM_VERSION = 1


@dataclass(frozen=True)
class DetectorConfig:
    """The detector's tunables (see the module docstring and site/changes.md)."""

    window: int = 128  # finite points per analysis window
    min_size: int = 5  # points per segment, at least: a shorter excursion is not a level
    penalty: float = 3.0  # per change, times log(points in the window)
    alpha: float = 0.001  # a change's p-value must be below this
    min_change_pct: float = 4.0  # smaller steps are drift, however significant
    outlier_z: float = 4.0  # a commit this many SDs from both neighbourhoods is an outlier
    neighbours: int = 5  # commits on each side an outlier is judged against

    def __post_init__(self) -> None:
        if self.min_size < 2:
            raise ValueError("min_size must be at least 2 (a segment needs a spread)")
        if self.window < 4 * self.min_size:
            raise ValueError(f"window must be at least 4 * min_size = {4 * self.min_size}")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must be in (0, 1), e.g. 0.001")
        if not (self.penalty > 0 and self.outlier_z > 0 and self.min_change_pct >= 0):
            raise ValueError("penalty and outlier_z must be positive, min_change_pct >= 0")
        if self.neighbours < 2:
            raise ValueError("neighbours must be at least 2")

    def fingerprint(self) -> str:
        """A short digest of the method and its settings (cache key)."""
        text = json.dumps([ALGORITHM_VERSION, asdict(self)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


DEFAULT_CONFIG = DetectorConfig()


@dataclass(frozen=True)
class Change:
    """One level shift. Indices are positions in the arrays given to ``detect``.

    ``index`` is the first point at the new level, ``previous`` the last point at the
    old one (outliers and NaN between them are skipped). ``before``/``after`` are the
    levels of the two adjacent segments: inverse-variance weighted geometric means of
    their values (arithmetic means when a value is <= 0), outliers left out.
    """

    index: int
    previous: int
    before: float
    after: float
    change_pct: float
    p_value: float
    provisional: bool


@dataclass(frozen=True)
class DetectorState:
    """What extending an analysis needs: the confirmed changes, where the open window
    starts (``anchor``) and how many leading points they depend on (``closed``)."""

    anchor: int
    closed: int
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Detection:
    changes: tuple[Change, ...]  # confirmed, then provisional; by index
    state: DetectorState
    points_examined: int  # points passed through analysis windows (work done)
    windows: int


# ----------------------------------------------------------------------------- kernels


@njit(cache=True)
def _segment_cost(cw, cwy, cwyy, s, t):
    sw = cw[t] - cw[s]
    if sw <= 0.0:
        return 0.0
    swy = cwy[t] - cwy[s]
    cost = (cwyy[t] - cwyy[s]) - swy * swy / sw
    return max(0.0, cost)


@njit(cache=True)
def _optimal_partition(y, w, penalty, min_size):
    """Change positions minimising weighted SSE + penalty per change (exact, O(n^2))."""
    n = y.size
    cw = np.zeros(n + 1)
    cwy = np.zeros(n + 1)
    cwyy = np.zeros(n + 1)
    for i in range(n):
        cw[i + 1] = cw[i] + w[i]
        cwy[i + 1] = cwy[i] + w[i] * y[i]
        cwyy[i + 1] = cwyy[i] + w[i] * y[i] * y[i]
    best = np.full(n + 1, np.inf)
    last = np.zeros(n + 1, dtype=np.int64)
    best[0] = -penalty
    for t in range(min_size, n + 1):
        # the previous change s: 0 (no change yet) or any s leaving min_size on both sides
        b = best[0] + _segment_cost(cw, cwy, cwyy, 0, t) + penalty
        arg = 0
        for s in range(min_size, t - min_size + 1):
            c = best[s] + _segment_cost(cw, cwy, cwyy, s, t) + penalty
            if c < b:
                b = c
                arg = s
        best[t] = b
        last[t] = arg
    out = []
    t = n
    while t > 0:
        s = last[t]
        if s > 0:
            out.append(s)
        t = s
    res = np.empty(len(out), dtype=np.int64)
    for i in range(len(out)):
        res[i] = out[len(out) - 1 - i]
    return res


@njit(cache=True)
def _outlier_mask(y, sd, k, z):
    """True where y[i] is more than z * sd[i] from the median of its k neighbours on
    the left and from that on the right (a side with fewer than 2 points is not used)."""
    n = y.size
    out = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        dev = np.inf
        lo = max(0, i - k)
        if i - lo >= 2:
            dev = min(dev, abs(y[i] - np.median(y[lo:i])))
        hi = min(n, i + 1 + k)
        if hi - (i + 1) >= 2:
            dev = min(dev, abs(y[i] - np.median(y[i + 1:hi])))
        out[i] = dev != np.inf and dev > z * sd[i]
    return out


# ----------------------------------------------------------------------------- window


@dataclass(frozen=True)
class _Split:
    index: int  # window-local position of the first point at the new level
    previous: int
    before: float
    after: float
    change_pct: float
    p_value: float


def _level(mean: float, log_scale: bool) -> float:
    return math.exp(mean) if log_scale else mean


def _relative_change(m1: float, m2: float, log_scale: bool) -> float:
    if log_scale:
        return math.expm1(m2 - m1)
    return (m2 - m1) / abs(m1) if m1 != 0 else math.copysign(math.inf, m2 - m1)


def _analyse_window(y: np.ndarray, s2: np.ndarray, log_scale: bool,
                    cfg: DetectorConfig) -> list[_Split]:
    n = y.size
    if n < 2 * cfg.min_size:
        return []
    sigma = stats.robust_sd(np.diff(y)) / math.sqrt(2.0)
    if not sigma > 0:
        # more than half the steps are exactly zero (quantised or constant values)
        sigma = float(np.std(np.diff(y))) / math.sqrt(2.0)
        if not sigma > 0:
            return []
    known = np.isfinite(s2)
    typical_s2 = float(np.median(s2[known])) if known.any() else 0.0
    # run-to-run variance: what the history shows beyond what the runs report; at least
    # a tenth of sigma, so a commit with a tiny reported spread cannot dominate
    tau2 = max(sigma * sigma - typical_s2, (0.1 * sigma) ** 2)
    # A spread estimated from ~10 samples is itself noisy: trusting a commit *more*
    # because its few samples happened to agree, or less because one sample hiccuped,
    # adds noise. Only a commit whose variance is over 4x the typical one (a disturbed
    # run) is weighted down; every other commit gets the typical variance.
    var = tau2 + np.where(known & (s2 > 4.0 * typical_s2), s2, typical_s2)
    keep = np.flatnonzero(~_outlier_mask(y, np.sqrt(var), cfg.neighbours, cfg.outlier_z))
    if keep.size < 2 * cfg.min_size:
        return []
    yk = np.ascontiguousarray(y[keep])
    wk = np.ascontiguousarray(1.0 / var[keep])
    cuts = list(_optimal_partition(yk, wk, cfg.penalty * math.log(keep.size), cfg.min_size))
    tests = _prune(yk, wk, cuts, log_scale, cfg)
    return [_Split(int(keep[c]), int(keep[c - 1]), _level(m1, log_scale), _level(m2, log_scale),
                   100.0 * _relative_change(m1, m2, log_scale), p)
            for c, (m1, m2, p) in zip(cuts, tests)]


def _prune(y: np.ndarray, w: np.ndarray, cuts: list[int], log_scale: bool,
           cfg: DetectorConfig) -> list[tuple[float, float, float]]:
    """Drop the weakest change until every one passes; ``cuts`` is edited in place.

    Returns (mean before, mean after, p-value) per surviving change.
    """
    min_change = cfg.min_change_pct / 100.0
    while True:
        bounds = [0] + cuts + [y.size]
        tests = [stats.weighted_mean_test(y[a:c], w[a:c], y[c:b], w[c:b])
                 for a, c, b in zip(bounds, bounds[1:], bounds[2:])]
        if not tests:
            return []
        worst = max(range(len(tests)), key=lambda j: tests[j][2])
        if not tests[worst][2] < cfg.alpha:
            del cuts[worst]
            continue
        sizes = [abs(_relative_change(m1, m2, log_scale)) for m1, m2, _ in tests]
        smallest = min(range(len(sizes)), key=sizes.__getitem__)
        if sizes[smallest] < min_change:
            del cuts[smallest]
            continue
        return tests


# ----------------------------------------------------------------------------- public


def detect(values: Sequence[float], se: Sequence[float] | None = None,
           config: DetectorConfig = DEFAULT_CONFIG,
           state: DetectorState | None = None) -> Detection:
    """Level shifts in one series.

    ``values``: one per commit, in commit order; NaN (or inf) where there is no value.
    ``se``: each value's standard error in the same unit (from its samples or asv's
    CI), NaN where unknown; ``None`` when no commit has one.
    ``state``: the ``Detection.state`` of an earlier call on a prefix of this series
    (same leading ``state.closed`` points); the analysis restarts at its open window.
    The caller must check the prefix is unchanged (``changes`` hashes it).
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1:
        raise ValueError("values must be one-dimensional (one value per commit)")
    if se is None:
        e = np.full(v.shape, np.nan)
    else:
        e = np.asarray(se, dtype=float)
        if e.shape != v.shape:
            raise ValueError(f"se has {e.size} entries for {v.size} values; give one per "
                             "value (NaN where unknown) or None")
    pos = np.flatnonzero(np.isfinite(v))
    x = v[pos]
    log_scale = bool(x.size and np.all(x > 0))
    if log_scale:
        y = np.log(x)
        s2 = (e[pos] / x) ** 2
    else:
        y = x
        s2 = e[pos] ** 2
    s2[~(np.isfinite(s2) & (s2 >= 0))] = np.nan

    m = y.size
    window, margin = config.window, config.window // 4
    if state is None:
        a, closed, confirmed = 0, 0, []
    else:
        if not 0 <= state.anchor <= v.size or state.closed > v.size:
            raise ValueError("state does not belong to this series (it has fewer points)")
        a = int(np.searchsorted(pos, state.anchor))
        closed, confirmed = state.closed, list(state.changes)

    def change(split: _Split, offset: int, provisional: bool) -> Change:
        return Change(int(pos[offset + split.index]), int(pos[offset + split.previous]),
                      split.before, split.after, split.change_pct, split.p_value, provisional)

    examined = windows = 0
    provisional: list[Change] = []
    while True:
        e_ = min(a + window, m)
        found = _analyse_window(y[a:e_], s2[a:e_], log_scale, config)
        examined += e_ - a
        windows += 1
        if a + window > m:  # the open window: everything in it may still move
            provisional = [change(s, a, True) for s in found]
            break
        closed = int(pos[e_ - 1]) + 1
        if found and found[0].index <= window - margin:
            confirmed.append(change(found[0], a, False))
            a += found[0].index
        else:
            a = e_ - window // 2
    anchor = int(pos[a]) if a < m else int(v.size)
    return Detection(tuple(confirmed) + tuple(provisional),
                     DetectorState(anchor, closed, tuple(confirmed)), examined, windows)
