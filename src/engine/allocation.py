"""Cortical-column allocation: winner-take-all over unit prototypes, with novelty.

What it is for: ``AllocationEngine`` keeps up to ``n_columns`` unit-norm
prototypes. Each input is normalised and scored (cosine) against the columns in
use; a poor best match opens a new column, otherwise the best column moves
toward the input. What it must not do: learn anything but this rule, grow past
``n_columns``, or let a numba error reach a caller.

The rule, for x_hat = x / ||x|| and scores s_j = P_j . x_hat over used columns:

* no column used yet, or ``max s < vigilance`` while a column is free:
  ``P_u = x_hat``, return ``(u, 1.0, novel=True)`` and use one more column;
* otherwise the winner ``w = argmax s`` (lowest index on ties) becomes
  ``normalise((1 - eta) P_w + eta x_hat)`` and ``(w, s_w, False)`` is returned
  (``s_w`` is the score before the update). If that blend is exactly zero
  (``x_hat = -P_w`` with ``eta = 0.5``) it has no direction, and ``P_w`` is left
  unchanged.

Layout and summation order. Prototypes are stored transposed, ``PT[i, j]`` =
component ``i`` of column ``j`` (``dim x n_columns``, C order). Scores are then
an axpy sweep, ``s[:u] += PT[i, :u] * x_hat[i]`` for i = 0, 1, ...: every score
is a strict left-to-right sum, yet the inner loop is element-wise across
columns, so LLVM vectorises it *without* fastmath. The row layout needs
reassociation to vectorise a per-column dot product: with ``fastmath=False`` it
ran 1.0-1.1 ms at 1024 columns x dim 1000, against 0.15 ms for the transposed
sweep. A consequence worth knowing: scores (and so every winner and novelty
decision) are bit-identical across fastmath and parallel settings for a given
dtype; fastmath only touches the winner update. The price is that updating or
writing one column is a strided access (``dim`` elements, one padded row
apart), about 5 us at dim 1000, small next to the sweep.

Batches. ``allocate_batch`` takes rows four at a time: the group is scored in
one pass that loads each prototype value once for all four rows, then each row,
in order, re-scores the (at most three) columns that earlier rows of its group
opened or moved, and decides. Same sums, same order: the result is
bit-identical to calling ``allocate`` row by row. At 1024 columns x dim 100 the
sweep costs 10 us per row instead of 15 us (float64).

Precision. Prototypes, normalised inputs and scores use ``config.dtype``; the
input norm and the winner's blend are computed in float64. Normalisation is
overflow/underflow safe (it rescales by the largest component when the plain
sum of squares leaves the safe range).

Parallelism. With ``config.parallel`` and at least ``PAR_MIN_WORK``
multiply-adds, a sweep is split into column blocks, one per numba thread; each
score is still the same in-order sum, so results are bit-identical to the
serial sweep. Whether that pays depends on the second core being free. On this
project's 2-core box (1024 columns x dim 1000, float64) the sweep alone takes
140-170 us on one thread and 87-130 us split when the other core is idle or
lightly used; but waking the worker costs ~17 us median and ~56 us p99 under
``OMP_WAIT_POLICY=PASSIVE`` (which ``engine.graph`` sets; ~3 us when
spinning), and when another process holds the second core (other jobs, or
OpenBLAS's spinning threads right after a NumPy call) the split is no faster
than serial. Choose ``parallel=False`` when p99 latency on a busy machine
matters more than throughput.

Concurrency. ``allocate``, ``allocate_batch`` and ``reset`` serialise on one
``threading.Lock``: an uncontended acquire/release costs tens of nanoseconds
per call (a batch pays it once for all its rows). ``scores`` does not take the
lock: it is a seqlock reader. Writers make a counter odd before touching the
prototypes and even afterwards (both under the GIL, which orders them with
the reader's reads); a reader notes an even counter, computes, and keeps the
result only if the counter is unchanged, so it never returns scores from a
half-written column. After ``_OPTIMISTIC_READS`` failed attempts (a steady
stream of writers) it takes the lock, so it cannot starve. This relies on the
GIL build of CPython, like the rest of the engine's threading.
"""

from __future__ import annotations

import threading
from numbers import Real
from typing import Any, NamedTuple

import numba
import numpy as np
from numba import prange

from . import _jit
from ._validate import as_real_array, check_int
from .config import EngineConfig, resolve

# Below this many multiply-adds (rows x columns in use x dim) a parallel region
# costs more to wake than it saves. 2**21 keeps a four-row batch group at dim
# 100 x 1024 columns (410k) serial, where splitting ran 52k rows/s against 70k,
# and one row at dim 1000 x 1024 columns (1M) serial too: float32 on the 2-core
# box, split gave p50/p99 96/158 us against 84/125 us serial (wake-up cost under
# OMP_WAIT_POLICY=PASSIVE). Larger sweeps are split.
PAR_MIN_WORK = 1 << 21
# Smallest column block worth a thread of its own.
MIN_COLUMNS_PER_BLOCK = 64
# Rows of a batch scored together in one pass over the prototypes (the
# ``_score_four`` kernel is written for exactly this many).
GROUP_ROWS = 4
# Lock-free attempts ``scores`` makes before falling back to the writers' lock.
_OPTIMISTIC_READS = 3

_F64 = np.dtype(np.float64)

# Kernel status codes (a row index travels with them).
_OK = 0
_ZERO = 1
_NONFINITE = 2

# Sums of squares outside this range may have under/overflowed; the normaliser
# then rescales by the largest component first.
_SS_LO = 1e-280
_SS_HI = 1e280


_new_tuple = tuple.__new__


class Allocation(NamedTuple):
    """Result of one allocation: the column chosen, its score, whether it is new.

    A NamedTuple rather than a frozen dataclass because ``allocate`` is timed per
    call and building a tuple is the cheapest immutable record in CPython.
    """

    column: int
    score: float
    novel: bool


# ------------------------------------------------------------------ kernels


def _normalise_into(x, out):
    """Write x / ||x|| into ``out``; return a status code.

    Compiled once without fastmath, whatever the engine's config: the NaN and
    inf checks below are only meaningful when the compiler may not assume them
    away.
    """
    d = x.shape[0]
    ss = 0.0
    for i in range(d):
        v = np.float64(x[i])
        ss += v * v
    if ss > _SS_LO and ss < _SS_HI:  # false for NaN, inf, 0 and near-under/overflow
        norm = np.sqrt(ss)
        for i in range(d):
            out[i] = np.float64(x[i]) / norm
        return _OK
    m = 0.0
    for i in range(d):
        v = abs(np.float64(x[i]))
        if not v <= 1.7976931348623157e308:  # NaN or inf
            return _NONFINITE
        if v > m:
            m = v
    if m == 0.0:
        return _ZERO
    # Rescale by the largest component; ||x|| itself may not be representable.
    ss = 0.0
    for i in range(d):
        v = np.float64(x[i]) / m
        ss += v * v
    norm = np.sqrt(ss)
    for i in range(d):
        out[i] = (np.float64(x[i]) / m) / norm
    return _OK


def _score_block(pt, x, s, lo, hi):
    """s[j] = sum_i pt[i, j] * x[i] for lo <= j < hi, each a strict in-order sum.

    Fixed flags (no fastmath): the loop vectorises across columns, so it needs no
    reassociation, and scores do not depend on the engine's fastmath setting.
    Four input components are folded per pass, written so that each score still
    adds its terms in index order (bit-identical to one term per pass), while
    ``s`` is loaded and stored a quarter as often: 1024 x 1000 float64 went
    from 168 to 139 us, float32 from 90 to 62 us.
    """
    m = hi - lo
    seg = s[lo:hi]
    for j in range(m):
        seg[j] = 0.0
    d = x.shape[0]
    d4 = d - d % 4
    for i in range(0, d4, 4):
        x0 = x[i]
        x1 = x[i + 1]
        x2 = x[i + 2]
        x3 = x[i + 3]
        r0 = pt[i, lo:hi]
        r1 = pt[i + 1, lo:hi]
        r2 = pt[i + 2, lo:hi]
        r3 = pt[i + 3, lo:hi]
        for j in range(m):
            seg[j] = (((seg[j] + r0[j] * x0) + r1[j] * x1) + r2[j] * x2) + r3[j] * x3
    for i in range(d4, d):
        xi = x[i]
        row = pt[i, lo:hi]
        for j in range(m):
            seg[j] += row[j] * xi


_normalise_into_f = _jit.specialise(_normalise_into, fastmath=False, parallel=False)
_score_block_f = _jit.specialise(_score_block, fastmath=False, parallel=False)


def _n_blocks(rows, u, d, max_blocks):
    """Column blocks to split a sweep of ``rows`` rows over ``u`` columns into."""
    if max_blocks < 2 or rows * u * d < PAR_MIN_WORK:
        return 1
    return max(1, min(max_blocks, u // MIN_COLUMNS_PER_BLOCK))


_n_blocks_f = _jit.specialise(_n_blocks, fastmath=False, parallel=False)


def _score_four(pt, xh, r0, S, lo, hi):
    """S[k, lo:hi] = scores of rows r0 .. r0+3 of flat ``xh``, for k = 0..3.

    The same arithmetic, in the same order, as four ``_score_block`` calls, so
    every score is bit-identical to the one-row sweep; but each prototype value
    is loaded once for four rows instead of once per row, and the sweep is
    bound by loads from cache. 1024 columns x dim 100, float64: 10 us per row
    instead of 15 us (more rows at once spill registers and get slower).
    """
    d = pt.shape[0]
    m = hi - lo
    s0 = S[0, lo:hi]
    s1 = S[1, lo:hi]
    s2 = S[2, lo:hi]
    s3 = S[3, lo:hi]
    for j in range(m):
        s0[j] = 0.0
        s1[j] = 0.0
        s2[j] = 0.0
        s3[j] = 0.0
    x0 = xh[r0 * d:(r0 + 1) * d]
    x1 = xh[(r0 + 1) * d:(r0 + 2) * d]
    x2 = xh[(r0 + 2) * d:(r0 + 3) * d]
    x3 = xh[(r0 + 3) * d:(r0 + 4) * d]
    d4 = d - d % 4
    for i in range(0, d4, 4):
        q0 = pt[i, lo:hi]
        q1 = pt[i + 1, lo:hi]
        q2 = pt[i + 2, lo:hi]
        q3 = pt[i + 3, lo:hi]
        a0, a1, a2, a3 = x0[i], x0[i + 1], x0[i + 2], x0[i + 3]
        b0, b1, b2, b3 = x1[i], x1[i + 1], x1[i + 2], x1[i + 3]
        c0, c1, c2, c3 = x2[i], x2[i + 1], x2[i + 2], x2[i + 3]
        e0, e1, e2, e3 = x3[i], x3[i + 1], x3[i + 2], x3[i + 3]
        for j in range(m):
            p0 = q0[j]
            p1 = q1[j]
            p2 = q2[j]
            p3 = q3[j]
            s0[j] = (((s0[j] + p0 * a0) + p1 * a1) + p2 * a2) + p3 * a3
            s1[j] = (((s1[j] + p0 * b0) + p1 * b1) + p2 * b2) + p3 * b3
            s2[j] = (((s2[j] + p0 * c0) + p1 * c1) + p2 * c2) + p3 * c3
            s3[j] = (((s3[j] + p0 * e0) + p1 * e1) + p2 * e2) + p3 * e3
    for i in range(d4, d):
        q = pt[i, lo:hi]
        a0 = x0[i]
        b0 = x1[i]
        c0 = x2[i]
        e0 = x3[i]
        for j in range(m):
            p = q[j]
            s0[j] += p * a0
            s1[j] += p * b0
            s2[j] += p * c0
            s3[j] += p * e0


def _score_column(pt, x, c):
    """Score of column ``c``: the same in-order sum, in the same dtype, as ``_score_block``."""
    acc = pt.dtype.type(0)
    for i in range(x.shape[0]):
        acc += pt[i, c] * x[i]
    return acc


_score_four_f = _jit.specialise(_score_four, fastmath=False, parallel=False)
_score_column_f = _jit.specialise(_score_column, fastmath=False, parallel=False)


def _allocate_rows(
    pt, n_columns, u, X, n, vigilance, eta, max_blocks, xh, cols, scores, novel, S, tmp
):
    """Allocate the ``n`` rows of flat ``X`` (row r is ``X[r*d:(r+1)*d]``) in order.

    Every row is normalised into ``xh`` before any state changes, so a bad row
    leaves ``pt`` untouched. Rows are then taken four at a time: the group is
    scored against the columns as they stand before its first row, and each
    row, in order, re-scores the columns that earlier rows of the group opened
    or moved (at most three) before deciding. Every score is computed by the
    same in-order sum either way, so the result is bit-identical to allocating
    the rows one at a time. Returns ``(status, bad_row, u, column, score,
    novel)``, the last three describing the final row.
    """
    d = pt.shape[0]
    for r in range(n):
        status = _normalise_into_f(X[r * d:(r + 1) * d], xh[r * d:(r + 1) * d])
        if status != _OK:
            return status, r, u, -1, 0.0, False
    keep = 1.0 - eta
    group = S.shape[0]
    w = -1
    best = 1.0
    is_new = False
    r0 = 0
    while r0 < n:
        n_rows = min(group, n - r0)
        u0 = u
        if u0 > 0:
            nb = _n_blocks_f(n_rows, u0, d, max_blocks)
            if n_rows == 4:
                if nb > 1:
                    for b in prange(nb):
                        _score_four_f(pt, xh, r0, S, b * u0 // nb, (b + 1) * u0 // nb)
                else:
                    _score_four_f(pt, xh, r0, S, 0, u0)
            else:
                for k in range(n_rows):
                    x = xh[(r0 + k) * d:(r0 + k + 1) * d]
                    if nb > 1:
                        for b in prange(nb):
                            _score_block_f(pt, x, S[k], b * u0 // nb, (b + 1) * u0 // nb)
                    else:
                        _score_block_f(pt, x, S[k], 0, u0)
        for k in range(n_rows):
            r = r0 + k
            x = xh[r * d:(r + 1) * d]
            sr = S[k]
            is_new = u == 0
            if not is_new:
                w = 0
                best = sr[0]
                for j in range(1, u):
                    if sr[j] > best:  # strict: the lowest index wins a tie
                        best = sr[j]
                        w = j
                is_new = best < vigilance and u < n_columns
            if is_new:
                for i in range(d):
                    pt[i, u] = x[i]
                w = u
                best = 1.0
                u += 1
            else:
                nn = 0.0
                for i in range(d):
                    v = keep * np.float64(pt[i, w]) + eta * np.float64(x[i])
                    tmp[i] = v
                    nn += v * v
                if nn > 0.0:  # an exactly zero blend has no direction: keep P_w
                    norm = np.sqrt(nn)
                    for i in range(d):
                        pt[i, w] = tmp[i] / norm
            # Later rows of the group scored column w before this change.
            for k2 in range(k + 1, n_rows):
                S[k2, w] = _score_column_f(pt, xh[(r0 + k2) * d:(r0 + k2 + 1) * d], w)
            cols[r] = w
            scores[r] = best
            novel[r] = is_new
        r0 += n_rows
    return _OK, -1, u, w, np.float64(best), is_new


def _score_rows(pt, u, X, n, max_blocks, xh, out):
    """Cosine scores of the ``n`` flat rows of ``X`` against columns ``< u``.

    Read-only on ``pt``. Returns ``(status, bad_row)``.
    """
    d = pt.shape[0]
    for r in range(n):
        status = _normalise_into_f(X[r * d:(r + 1) * d], xh[r * d:(r + 1) * d])
        if status != _OK:
            return status, r
    if n == 1:
        nb = _n_blocks_f(1, u, d, max_blocks)
        if nb > 1:
            for b in prange(nb):
                _score_block_f(pt, xh, out[0], b * u // nb, (b + 1) * u // nb)
        else:
            _score_block_f(pt, xh, out[0], 0, u)
    else:
        # Groups of four rows share each load of the prototypes.
        n_groups = n // 4
        if max_blocks > 1 and n * u * d >= PAR_MIN_WORK:
            for g in prange(n_groups):
                _score_four_f(pt, xh, 4 * g, out[4 * g:4 * g + 4], 0, u)
        else:
            for g in range(n_groups):
                _score_four_f(pt, xh, 4 * g, out[4 * g:4 * g + 4], 0, u)
        for r in range(4 * n_groups, n):
            _score_block_f(pt, xh[r * d:(r + 1) * d], out[r], 0, u)
    return _OK, -1


# ------------------------------------------------------------------ helpers

def _padded_width(n_columns: int, dtype: np.dtype) -> int:
    """Row length of the transposed store: ``n_columns`` padded to an odd number
    of 64-byte cache lines.

    A column is read and written with a stride of one row. With a power-of-two
    row size (1024 float64 = 8 KiB) every element of a column maps to the same
    few cache sets, so a winner update at dim 1000 missed L1 and L2 on every
    access (18 us); an odd number of lines spreads them over all sets (5 us).
    """
    per_line = max(1, 64 // dtype.itemsize)
    lines = -(-n_columns // per_line)
    if lines % 2 == 0:
        lines += 1
    return lines * per_line


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def _kernel_ready(arr: np.ndarray) -> np.ndarray:
    """C-contiguous and writeable, copying only if needed.

    Read-only arrays are copied because numba compiles a separate specialisation
    for them, which would stall the first such call for seconds.
    """
    arr = np.ascontiguousarray(arr)
    return arr if arr.flags.writeable else arr.copy()


def _bad_row_error(status: int, row: int, func: str, single: bool) -> ValueError:
    where = "x" if single else f"row {row} of X"
    if status == _ZERO:
        return ValueError(
            f"{func}: {where} is a zero vector; it has no direction to normalise, "
            "drop it or pass a vector with at least one non-zero component"
        )
    return ValueError(
        f"{func}: {where} contains NaN or inf; clean it first (e.g. np.nan_to_num) "
        "or drop it"
    )


# ------------------------------------------------------------------ engine


class AllocationEngine:
    """Winner-take-all column allocation with novelty (see the module docstring).

    Parameters
    ----------
    n_columns, dim:
        Capacity (number of columns) and input length, both >= 1.
    vigilance:
        A new column opens when the best cosine score is below this, in
        [-1, 1] (the range of a cosine). ``-1`` never opens a second column;
        ``1`` opens one for every input until full (an exact repeat can still
        land on either side of 1.0 by rounding).
    learning_rate:
        ``eta`` in (0, 1]: how far the winner moves toward the input; ``1``
        replaces it by the input.
    config:
        ``EngineConfig``; ``None`` reads the environment. ``dtype`` sets the
        prototypes' precision, ``parallel`` allows splitting the score sweep
        (``num_threads`` caps it), ``fastmath`` applies to the winner update only.

    Thread safety: ``allocate``, ``allocate_batch`` and ``reset`` serialise on
    one ``threading.Lock``, which costs one uncontended acquire/release (tens of
    nanoseconds) per call, paid once per batch; ``scores`` is lock-free on the
    common path and never sees a half-written column (module docstring).
    """

    def __init__(
        self,
        n_columns: int,
        dim: int,
        vigilance: float = 0.75,
        learning_rate: float = 0.1,
        config: EngineConfig | None = None,
    ) -> None:
        self._n_columns = check_int("n_columns", n_columns)
        self._dim = check_int("dim", dim)
        vig = _real("vigilance", vigilance)
        if not -1.0 <= vig <= 1.0:
            raise ValueError(
                f"vigilance must be in [-1, 1] (a cosine threshold), got {vigilance!r}"
            )
        eta = _real("learning_rate", learning_rate)
        if not 0.0 < eta <= 1.0:
            raise ValueError(
                f"learning_rate must be in (0, 1], got {learning_rate!r}; "
                "0 would never move a column"
            )
        self._vigilance = vig
        self._eta = eta
        self._config = cfg = resolve(config)
        dt = cfg.np_dtype
        self._dtype = dt
        self._pt = np.zeros((self._dim, _padded_width(self._n_columns, dt)), dtype=dt)
        self._n_used = 0
        self._seq = 0  # odd while a writer is changing _pt / _n_used
        self._lock = threading.Lock()
        self._parallel = cfg.parallel
        pool = numba.config.NUMBA_NUM_THREADS
        self._max_blocks = (min(cfg.num_threads or pool, pool)) if cfg.parallel else 1
        self._alloc_k = _jit.for_config(_allocate_rows, cfg)
        self._score_k = _jit.for_config(_score_rows, cfg)
        # Writers' scratch, only touched under _lock.
        self._xh1 = np.empty(self._dim, dtype=dt)
        self._cols1 = np.empty(1, dtype=np.int64)
        self._scores1 = np.empty(1, dtype=np.float64)
        self._novel1 = np.empty(1, dtype=np.bool_)
        self._S = np.empty((GROUP_ROWS, self._n_columns), dtype=dt)
        self._tmp = np.empty(self._dim, dtype=np.float64)

    # -------------------------------------------------------------- attributes

    @property
    def n_columns(self) -> int:
        return self._n_columns

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def vigilance(self) -> float:
        return self._vigilance

    @property
    def learning_rate(self) -> float:
        return self._eta

    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def n_used(self) -> int:
        """Number of columns in use."""
        return self._n_used

    @property
    def prototypes(self) -> np.ndarray:
        """Read-only ``(n_used, dim)`` view of the used prototypes (unit rows).

        A live view: later allocations show through it. For a snapshot that is
        consistent while other threads allocate, copy it while they are idle.
        """
        view = self._pt[:, : self._n_used].T
        view.flags.writeable = False
        return view

    def __repr__(self) -> str:
        return (
            f"AllocationEngine(n_columns={self._n_columns}, dim={self._dim}, "
            f"vigilance={self._vigilance}, learning_rate={self._eta}, "
            f"config={self._config!r}) with {self._n_used} columns used"
        )

    # -------------------------------------------------------------- validation

    def _vector(self, x: Any, func: str) -> np.ndarray:
        arr = as_real_array(x, "x", func)
        if arr.ndim != 1:
            hint = "; use allocate_batch for several rows" if arr.ndim == 2 else ""
            raise ValueError(
                f"{func}: x must be 1-D of length {self._dim}, got shape {arr.shape}{hint}"
            )
        if arr.shape[0] != self._dim:
            raise ValueError(
                f"{func}: x has length {arr.shape[0]} but this engine has dim={self._dim}"
            )
        return _kernel_ready(arr)

    def _rows(self, X: Any, func: str, allow_1d: bool) -> tuple[np.ndarray, bool]:
        """Return C-contiguous 2-D rows and whether ``X`` was a single 1-D vector."""
        arr = as_real_array(X, "X", func)
        single = arr.ndim == 1 and allow_1d
        if single:
            if arr.shape[0] != self._dim:
                raise ValueError(
                    f"{func}: X has length {arr.shape[0]} but this engine has dim={self._dim}"
                )
            arr = arr.reshape(1, -1)
        elif arr.ndim != 2 or arr.shape[1] != self._dim:
            want = f"({self._dim},) or (n, {self._dim})" if allow_1d else f"(n, {self._dim})"
            hint = "; use allocate for a single vector" if arr.ndim == 1 else ""
            raise ValueError(f"{func}: X must have shape {want}, got {arr.shape}{hint}")
        return _kernel_ready(arr), single

    # -------------------------------------------------------------- writers

    def _write(self, X: np.ndarray, n: int, xh: np.ndarray, cols: np.ndarray,
               scores: np.ndarray, novel: np.ndarray) -> tuple:
        """Run the allocation kernel on flat rows under the lock (seqlock writer)."""
        with self._lock:
            self._seq += 1
            try:
                if self._parallel:
                    res = _jit.launch(
                        self._alloc_k, self._config,
                        self._pt, self._n_columns, self._n_used, X, n, self._vigilance,
                        self._eta, self._max_blocks, xh, cols, scores, novel, self._S, self._tmp,
                    )
                else:  # the common path, without launch's extra call
                    res = self._alloc_k(
                        self._pt, self._n_columns, self._n_used, X, n, self._vigilance,
                        self._eta, 1, xh, cols, scores, novel, self._S, self._tmp,
                    )
                if res[0] == _OK:
                    self._n_used = res[2]
            finally:
                self._seq += 1
        return res

    def allocate(self, x: np.ndarray) -> Allocation:
        """Allocate one input vector; see the module docstring for the rule.

        ``x`` is a 1-D real array of length ``dim`` (contiguous float64 goes
        straight to the kernel; float32, integers and lists are converted). A zero or
        non-finite vector, or a wrong shape, raises ``ValueError`` and changes
        nothing; a non-numeric one raises ``TypeError``. Cost: one lock acquire
        and one compiled call that normalises, scores, picks the winner and
        updates in place.
        """
        if not (
            type(x) is np.ndarray
            and x.ndim == 1
            and x.dtype is _F64
            and x.shape[0] == self._dim
            and (flags := x.flags).c_contiguous
            and flags.writeable
        ):
            x = self._vector(x, "allocate")
        res = self._write(x, 1, self._xh1, self._cols1, self._scores1, self._novel1)
        if res[0] != _OK:
            raise _bad_row_error(res[0], 0, "allocate", True)
        return _new_tuple(Allocation, res[3:])  # what Allocation(*res[3:]) does, minus a call

    def allocate_batch(self, X: np.ndarray) -> np.ndarray:
        """Allocate the rows of ``X`` (shape ``(n, dim)``) in order, in one compiled call.

        Returns the int64 column index of every row. The result and the final
        state are exactly those of calling :meth:`allocate` on each row in turn.
        Every row is checked first: a zero or non-finite row raises
        ``ValueError`` naming its index, and the engine is left untouched.
        """
        X, _ = self._rows(X, "allocate_batch", allow_1d=False)
        n = X.shape[0]
        cols = np.empty(n, dtype=np.int64)
        if n == 0:
            return cols
        xh = np.empty(n * self._dim, dtype=self._dtype)
        scores = np.empty(n, dtype=np.float64)
        novel = np.empty(n, dtype=np.bool_)
        res = self._write(X.reshape(-1), n, xh, cols, scores, novel)
        if res[0] != _OK:
            raise _bad_row_error(res[0], res[1], "allocate_batch", False)
        return cols

    def reset(self) -> None:
        """Forget every column (``n_used`` back to 0)."""
        with self._lock:
            self._seq += 1
            try:
                self._pt.fill(0)
                self._n_used = 0
            finally:
                self._seq += 1

    # -------------------------------------------------------------- reader

    def scores(self, X: np.ndarray) -> np.ndarray:
        """Cosine scores of ``X`` against the used prototypes, without changing them.

        ``X`` of shape ``(dim,)`` gives shape ``(n_used,)``; ``(n, dim)`` gives
        ``(n, n_used)``. Scores have the engine's dtype and are exactly the ones
        ``allocate`` compares. Safe to call from many threads, also while others
        allocate: the result always reflects one consistent state.
        """
        X, single = self._rows(X, "scores", allow_1d=True)
        n = X.shape[0]
        flat = X.reshape(-1)
        xh = np.empty(n * self._dim, dtype=self._dtype)
        for _ in range(_OPTIMISTIC_READS):
            seq = self._seq
            if seq & 1:
                continue  # a writer is mid-update
            out = self._score_once(self._n_used, flat, n, xh, single)
            if self._seq == seq:
                break
        else:
            with self._lock:
                out = self._score_once(self._n_used, flat, n, xh, single)
        return out[0] if single else out

    def _score_once(
        self, u: int, flat: np.ndarray, n: int, xh: np.ndarray, single: bool
    ) -> np.ndarray:
        out = np.empty((n, u), dtype=self._dtype)
        args = (self._pt, u, flat, n, self._max_blocks, xh, out)
        if self._parallel:
            status, row = _jit.launch(self._score_k, self._config, *args)
        else:
            status, row = self._score_k(*args)
        if status != _OK:
            raise _bad_row_error(status, row, "scores", single)
        return out
