"""Knowledge graph: entities with embeddings, labels and typed edges, plus exact
cosine top-k search.

What it is for: storing one embedding per entity in a growable, contiguous
float32 matrix and answering "which entities are most similar to this vector"
exactly, with a parallel numba kernel. What it must not do: approximate search,
persistence, or any knowledge of where embeddings come from (that is
``engine.text`` and ``engine.system``).

Storage. Rows are stored unit-normalised (the original L2 norm is kept in a
float64 side array), so a cosine score is a plain dot product. The matrix has a
capacity; it doubles when full, so ``n`` inserts cost O(log n) reallocations and
O(n) amortised copying. It is float32 whatever ``EngineConfig.dtype`` says: the
search is memory-bound and float32 halves the bytes read per query.

Search. Exact, with a provably safe int8 prefilter: next to each float32 row
the graph keeps an int8 copy (one float32 scale per row, ``dim + 4`` bytes). A
row's int8 score plus its quantisation error bound is an upper bound on its
exact score, so rows that cannot beat the current k-th best are skipped without
reading their float32 row; every other row is scored exactly in float32. The
result is bit-identical to scoring every row, and the scan reads about a
quarter of the bytes (top-10 over 100k x 128: ~2-3 ms against ~5-8 ms for
NumPy's matmul + argpartition on this project's shared 2-core box). The worst
case (every row within the error bound of the threshold, e.g. all duplicates)
reads both copies: 1.25x the bytes of a plain float32 scan. Memory cost: 25%
more than the float32 matrix alone.

Concurrency. One lock guards every mutation (rows, labels, edges). Readers
never take it for the matrix: the writer publishes ``(matrix, n)`` as one tuple
after the new rows are written, a query reads that tuple once, and rows below a
published ``n`` are never written again (growth copies into a *new* array), so a
query sees a consistent snapshot and never waits for a writer. The lock's cost
is therefore paid by writers only: an uncontended acquire/release (well under a
microsecond) per ``add_entity``/``add_edge`` call, plus the row copy, and an
O(n * dim) copy inside the lock on the rare growth steps. ``neighbors`` takes
the lock briefly to copy one adjacency list.
"""

from __future__ import annotations

import threading
from typing import Iterable, NamedTuple, Sequence

import numba
import numpy as np
from numba import prange

from . import _jit
from ._validate import as_real_array, check_int
from .config import EngineConfig, resolve


# Rows per parallel block below which splitting the search across threads costs
# more (thread wake-up, per-block heaps) than it saves.
MIN_ROWS_PER_BLOCK = 4096
STORE_DTYPE = np.float32
# int8 codes of each unit row span [-CODE_MAX, CODE_MAX].
CODE_MAX = 127
# Blocks handed out per worker thread; more blocks balance load when a worker is
# descheduled, at the price of one k-sized heap each to merge.
BLOCKS_PER_THREAD = 8


# ------------------------------------------------------------------ kernels


def _heap_worse(s_a, i_a, s_b, i_b):
    """True when candidate a ranks below b: lower score, or equal score and higher id."""
    return s_a < s_b or (s_a == s_b and i_a > i_b)


def _heap_swap(hs, hi, a, b):
    ts = hs[a]
    ti = hi[a]
    hs[a] = hs[b]
    hi[a] = hi[b]
    hs[b] = ts
    hi[b] = ti


def _heap_sift_down(hs, hi, size, pos):
    # Min-heap on rank: the root is the worst candidate kept so far.
    while True:
        child = 2 * pos + 1
        if child >= size:
            return
        right = child + 1
        if right < size and _heap_worse_j(hs[right], hi[right], hs[child], hi[child]):
            child = right
        if not _heap_worse_j(hs[child], hi[child], hs[pos], hi[pos]):
            return
        _heap_swap_j(hs, hi, pos, child)
        pos = child


def _heap_sift_up(hs, hi, pos):
    while pos > 0:
        parent = (pos - 1) // 2
        if not _heap_worse_j(hs[pos], hi[pos], hs[parent], hi[parent]):
            return
        _heap_swap_j(hs, hi, pos, parent)
        pos = parent


def _row_dot(row, q):
    acc = np.float32(0.0)
    for j in range(row.shape[0]):
        acc += row[j] * q[j]
    return acc


def _code_dot(codes, q):
    acc = np.float32(0.0)
    for j in range(codes.shape[0]):
        acc += np.float32(codes[j]) * q[j]
    return acc


# The helpers are compiled once with fixed flags (plain njit); only the top-level
# kernel gets per-configuration variants through ``_jit``.
_heap_worse_j = numba.njit(inline="always", cache=True, nogil=True)(_heap_worse)
_heap_swap_j = numba.njit(inline="always", cache=True, nogil=True)(_heap_swap)
_heap_sift_down_j = numba.njit(cache=True, nogil=True)(_heap_sift_down)
_heap_sift_up_j = numba.njit(cache=True, nogil=True)(_heap_sift_up)
# The dot products always let LLVM reassociate the sum (whatever
# ``config.fastmath`` says): without it the loops are not vectorised and the dot
# product is 4x slower (measured in cache, dim 128). The summation tree is fixed
# by the compiled code, not by the data or the thread, so identical rows get
# identical scores (ties stay exact) and results are reproducible; scores may
# differ from a sequential sum in the last float32 bits, as BLAS's do.
_row_dot_j = numba.njit(fastmath={"reassoc", "contract"}, cache=True, nogil=True)(_row_dot)
_code_dot_j = numba.njit(fastmath={"reassoc", "contract"}, cache=True, nogil=True)(_code_dot)


def _topk_cosine(matrix, codes, code_scale, n, q, half_abs_q, slack, k, n_blocks):
    """Exact top-k of ``matrix[:n] @ q`` ranked by (score desc, id asc).

    Each block of rows keeps its own bounded heap of exact float32 scores (no
    shared state across threads); the blocks' survivors are merged serially at
    the end.

    Once a block's heap is full, a row is first scored from its int8 codes
    (4x fewer bytes than its float32 row; the search is memory-bound). With
    ``unit_row = code_scale * codes + e``, ``|e_j| <= code_scale / 2``, the exact
    score is at most ``coarse + code_scale * half_abs_q`` (``half_abs_q`` is
    ``sum|q_j| / 2``), plus float32 rounding of both sums, which ``slack``
    bounds. A row whose upper bound is below the heap's worst score cannot enter
    the heap, so it is skipped without reading its float32 row; every other row
    is scored exactly. The result is therefore identical to scoring every row.
    """
    cap = min(k, (n + n_blocks - 1) // n_blocks)
    heap_s = np.empty((n_blocks, cap), dtype=np.float32)
    heap_i = np.empty((n_blocks, cap), dtype=np.int64)
    sizes = np.zeros(n_blocks, dtype=np.int64)
    for b in prange(n_blocks):
        lo = b * n // n_blocks
        hi = (b + 1) * n // n_blocks
        hs = heap_s[b]
        hx = heap_i[b]
        size = 0
        for row in range(lo, hi):
            if size == cap:
                scale = code_scale[row]
                upper = scale * _code_dot_j(codes[row], q) + scale * half_abs_q + slack
                if upper < hs[0]:
                    continue
            s = _row_dot_j(matrix[row], q)
            if size < cap:
                hs[size] = s
                hx[size] = row
                size += 1
                _heap_sift_up_j(hs, hx, size - 1)
            elif s > hs[0]:
                # Rows arrive in ascending id order, so an equal score never
                # displaces the root: the lower id already kept wins the tie.
                hs[0] = s
                hx[0] = row
                _heap_sift_down_j(hs, hx, size, 0)
        sizes[b] = size

    total = 0
    for b in range(n_blocks):
        total += sizes[b]
    cand_s = np.empty(total, dtype=np.float32)
    cand_i = np.empty(total, dtype=np.int64)
    pos = 0
    for b in range(n_blocks):
        for t in range(sizes[b]):
            cand_s[pos] = heap_s[b, t]
            cand_i[pos] = heap_i[b, t]
            pos += 1
    # Sort by id, then stably by descending score: ties stay in ascending id.
    by_id = np.argsort(cand_i)
    cand_s = cand_s[by_id]
    cand_i = cand_i[by_id]
    order = np.argsort(-cand_s, kind="mergesort")
    m = min(k, total)
    out_i = np.empty(m, dtype=np.int64)
    out_s = np.empty(m, dtype=np.float32)
    for t in range(m):
        out_i[t] = cand_i[order[t]]
        out_s[t] = cand_s[order[t]]
    return out_i, out_s


# ------------------------------------------------------------------ validation


_ROWS_OK = 0
_ROW_NONFINITE = 1
_ROW_ZERO = 2


def _prepare_rows(values, unit, codes, code_scale, norms):
    """Normalise and quantise the rows of ``values`` into the output arrays.

    Returns ``(status, row)``: ``_ROWS_OK``, or the first row that is not finite
    or is zero. Each row is first divided by its max-abs so that neither huge
    (1e300) nor tiny (1e-300) rows overflow or underflow on the way to the norm.

    The int8 code scale is rounded to float32 *before* the codes are computed
    against it (in float64), so ``|unit - code_scale * codes| <= code_scale / 2``
    holds for the values the search actually reads. Compiled without fastmath
    always: the finiteness checks must not be optimised away.
    """
    m, d = values.shape
    for i in range(m):
        big = 0.0
        for j in range(d):
            v = values[i, j]
            if not np.isfinite(v):
                return _ROW_NONFINITE, i
            big = max(big, abs(v))
        if big == 0.0:
            return _ROW_ZERO, i
        ss = 0.0
        for j in range(d):
            t = values[i, j] / big
            ss += t * t
        unit_norm = np.sqrt(ss)
        norms[i] = big * unit_norm  # inf if the norm itself overflows
        top = 0.0
        for j in range(d):
            u = np.float32(values[i, j] / big / unit_norm)
            unit[i, j] = u
            top = max(top, abs(np.float64(u)))
        scale = np.float32(top / CODE_MAX)
        code_scale[i] = scale
        for j in range(d):
            c = np.rint(np.float64(unit[i, j]) / np.float64(scale))
            codes[i, j] = np.int8(min(max(c, -CODE_MAX), CODE_MAX))
    return _ROWS_OK, 0


_prepare_rows_j = _jit.specialise(_prepare_rows, fastmath=False, parallel=False)


class _Prepared(NamedTuple):
    unit: np.ndarray  # (m, dim) float32 unit rows
    codes: np.ndarray  # (m, dim) int8
    code_scale: np.ndarray  # (m,) float32
    norms: np.ndarray  # (m,) float64 norms of the rows as given


def _prepare(values: np.ndarray, what: str) -> _Prepared:
    """Validate and prepare a float64 ``(m, dim)`` array for storage or search.

    ``what`` names the input in error messages: "embeddings" gives
    "embeddings row 3 ..."; anything else names a single vector.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    m, d = values.shape
    out = _Prepared(
        np.empty((m, d), dtype=STORE_DTYPE),
        np.empty((m, d), dtype=np.int8),
        np.empty(m, dtype=np.float32),
        np.empty(m, dtype=np.float64),
    )
    status, row = _prepare_rows_j(values, *out)
    where = f"{what} row {row}" if what == "embeddings" else what
    if status == _ROW_NONFINITE:
        raise ValueError(f"{where} contains NaN or inf; embeddings must be finite")
    if status == _ROW_ZERO:
        raise ValueError(
            f"{where} is the zero vector, which has no direction; "
            "cosine similarity needs a non-zero vector"
        )
    return out


def _check_label(label: object, where: str = "label") -> str:
    if not isinstance(label, str):
        raise TypeError(f"{where} must be a str, got {type(label).__name__}")
    return label


# ------------------------------------------------------------------ public class


class _Store(NamedTuple):
    """One published, immutable-below-``n`` view of the numeric stores."""

    matrix: np.ndarray  # (capacity, dim) float32 unit rows
    codes: np.ndarray  # (capacity, dim) int8, see _prepare_rows
    code_scale: np.ndarray  # (capacity,) float32
    norms: np.ndarray  # (capacity,) float64 norms of the embeddings as given
    n: int

    @classmethod
    def empty(cls, capacity: int, dim: int, alloc=np.zeros) -> "_Store":
        return cls(
            alloc((capacity, dim), dtype=STORE_DTYPE),
            alloc((capacity, dim), dtype=np.int8),
            alloc(capacity, dtype=np.float32),
            alloc(capacity, dtype=np.float64),
            0,
        )

    def grown(self, capacity: int) -> "_Store":
        """A copy with ``capacity`` rows; the first ``n`` rows carried over.

        Rows past ``n`` are left uninitialised: no query reads them before a
        writer fills them and publishes a larger ``n``.
        """
        new = _Store.empty(capacity, self.matrix.shape[1], alloc=np.empty)
        n = self.n
        new.matrix[:n] = self.matrix[:n]
        new.codes[:n] = self.codes[:n]
        new.code_scale[:n] = self.code_scale[:n]
        new.norms[:n] = self.norms[:n]
        return new._replace(n=n)

    def write(self, rows: "_Prepared") -> "_Store":
        """Write prepared rows after the first ``n`` (capacity permitting) and
        return the store that publishes them."""
        n, m = self.n, rows.unit.shape[0]
        self.matrix[n : n + m] = rows.unit
        self.codes[n : n + m] = rows.codes
        self.code_scale[n : n + m] = rows.code_scale
        self.norms[n : n + m] = rows.norms
        return self._replace(n=n + m)


class KnowledgeGraph:
    """Entities (unit-normalised embedding + label) connected by typed edges.

    Ids are dense: 0, 1, 2, ... in insertion order, and never reused.
    """

    def __init__(
        self,
        dim: int,
        *,
        initial_capacity: int = 1024,
        config: EngineConfig | None = None,
    ) -> None:
        check_int("dim", dim)
        check_int("initial_capacity", initial_capacity)
        self._config = resolve(config)
        self._dim = int(dim)
        self._lock = threading.Lock()
        # Published snapshot read by queries without the lock; see module docstring.
        self._snapshot = _Store.empty(int(initial_capacity), self._dim)
        self._labels: list[str] = []
        self._out: list[list[tuple[int, str]]] = []
        self._edges: set[tuple[int, int, str]] = set()
        self._reallocations = 0
        self._topk = _jit.for_config(_topk_cosine, self._config)
        # Small graphs are searched serially: one block is not worth waking the pool.
        self._topk_serial = _jit.for_config(_topk_cosine, self._config, parallel=False)

    # ----------------------------------------------------------- properties

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def capacity(self) -> int:
        """Rows allocated in the embedding matrix (>= ``len(self)``)."""
        return self._snapshot.matrix.shape[0]

    @property
    def reallocations(self) -> int:
        """How many times the embedding matrix has grown (O(log n) for n inserts)."""
        return self._reallocations

    @property
    def n_edges(self) -> int:
        return len(self._edges)

    @property
    def nbytes(self) -> int:
        """Bytes held by the numeric stores at capacity: float32 rows, int8 codes,
        code scales and norms (``dim * 5 + 12`` bytes per row).

        Labels and edges are Python objects and are not counted.
        """
        store = self._snapshot
        return int(sum(a.nbytes for a in (store.matrix, store.codes, store.code_scale, store.norms)))

    def __len__(self) -> int:
        return self._snapshot.n

    def __repr__(self) -> str:
        return (
            f"KnowledgeGraph(dim={self._dim}, entities={len(self)}, "
            f"edges={self.n_edges}, capacity={self.capacity})"
        )

    # ----------------------------------------------------------- mutation

    def _append_locked(self, rows: _Prepared, labels: list[str]) -> int:
        """Store validated entities after the last one and publish them; return
        the first new id. Called with the lock held.

        Growth (the only step that can fail, on memory) comes first and doubles
        the capacity into *new* arrays, so queries still holding the old
        snapshot keep reading valid rows. Labels and adjacency lists are added
        before the new ``n`` is published, so a reader that sees an id finds them.
        """
        store = self._snapshot
        needed = store.n + len(labels)
        capacity = store.matrix.shape[0]
        if needed > capacity:
            while capacity < needed:
                capacity *= 2
            store = store.grown(capacity)
            self._reallocations += 1
        published = store.write(rows)
        self._labels.extend(labels)
        self._out.extend([] for _ in labels)
        self._snapshot = published
        return store.n

    def add_entity(self, embedding: Sequence[float] | np.ndarray, label: str) -> int:
        """Add one entity and return its id.

        ``embedding`` must be a finite, non-zero vector of length ``dim`` (any real
        dtype; it is normalised in float64 and stored as float32).
        """
        _check_label(label)
        vec = as_real_array(embedding, "embedding")
        if vec.ndim != 1 or vec.shape[0] != self._dim:
            raise ValueError(
                f"embedding must be a 1-D vector of length {self._dim}, got shape {vec.shape}"
            )
        rows = _prepare(vec[None, :], "embedding")
        with self._lock:
            return self._append_locked(rows, [label])

    def add_entities(self, embeddings: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """Add ``m`` entities at once; return their ids (contiguous, int64).

        All rows are validated before anything is stored: on error the graph is
        unchanged.
        """
        mat = as_real_array(embeddings, "embeddings")
        if mat.ndim != 2 or mat.shape[1] != self._dim:
            raise ValueError(
                f"embeddings must be a 2-D array of shape (m, {self._dim}), got shape {mat.shape}"
            )
        if isinstance(labels, str):
            raise TypeError("labels must be a sequence of str, not a single str")
        labels = list(labels)
        if len(labels) != mat.shape[0]:
            raise ValueError(
                f"got {mat.shape[0]} embeddings but {len(labels)} labels; pass one label per row"
            )
        for i, lab in enumerate(labels):
            _check_label(lab, f"labels[{i}]")
        m = mat.shape[0]
        if m == 0:
            return np.empty(0, dtype=np.int64)
        rows = _prepare(mat, "embeddings")
        with self._lock:
            first = self._append_locked(rows, labels)
        return np.arange(first, first + m, dtype=np.int64)

    def _check_id(self, entity_id: object, what: str = "entity id") -> int:
        if isinstance(entity_id, bool) or not isinstance(entity_id, (int, np.integer)):
            raise TypeError(f"{what} must be an int, got {type(entity_id).__name__}")
        n = self._snapshot.n
        i = int(entity_id)
        if not 0 <= i < n:
            raise KeyError(
                f"unknown {what} {i}: the graph has {n} entities"
                + (f" (ids 0..{n - 1})" if n else "")
            )
        return i

    def add_edge(self, src: int, dst: int, kind: str) -> bool:
        """Add a directed edge ``src -> dst`` of type ``kind``.

        Adding the same (src, dst, kind) again is a no-op; the return value says
        whether the edge was new. Self-loops are allowed.
        """
        s = self._check_id(src, "source id")
        d = self._check_id(dst, "destination id")
        if not isinstance(kind, str):
            raise TypeError(f"edge kind must be a str, got {type(kind).__name__}")
        if not kind:
            raise ValueError("edge kind must be a non-empty str such as 'next' or 'column'")
        key = (s, d, kind)
        with self._lock:
            if key in self._edges:
                return False
            self._edges.add(key)
            self._out[s].append((d, kind))
        return True

    # ----------------------------------------------------------- reads

    def neighbors(self, entity_id: int, kind: str | None = None) -> list[int]:
        """Destinations of ``entity_id``'s outgoing edges, in edge insertion order.

        With ``kind``, only edges of that type. With ``kind=None``, every type,
        each destination listed once (at the position of its first edge).
        """
        i = self._check_id(entity_id)
        with self._lock:
            edges = list(self._out[i])
        if kind is not None:
            return [d for d, k in edges if k == kind]
        seen: set[int] = set()
        out = []
        for d, _ in edges:
            if d not in seen:
                seen.add(d)
                out.append(d)
        return out

    def label(self, entity_id: int) -> str:
        return self._labels[self._check_id(entity_id)]

    def labels(self, ids: Iterable[int]) -> list[str]:
        return [self.label(i) for i in ids]

    def embedding(self, entity_id: int) -> np.ndarray:
        """The stored unit-norm float32 embedding (a copy)."""
        i = self._check_id(entity_id)
        return self._snapshot.matrix[i].copy()

    def norm(self, entity_id: int) -> float:
        """L2 norm of the embedding as it was passed in (float64)."""
        i = self._check_id(entity_id)
        return float(self._snapshot.norms[i])

    def query_similar(self, vec: Sequence[float] | np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact cosine top-k: ``(ids int64, scores float32)``.

        Sorted by descending score, ties by ascending id. ``k > len(self)``
        returns every entity; an empty graph returns two empty arrays.
        """
        check_int("k", k)
        q = as_real_array(vec, "query vector")
        if q.ndim != 1 or q.shape[0] != self._dim:
            raise ValueError(
                f"query vector must be 1-D of length {self._dim}, got shape {q.shape}"
            )
        q32 = _prepare(q[None, :], "query vector").unit[0]
        store = self._snapshot  # one read: a consistent snapshot
        n = store.n
        if n == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=STORE_DTYPE)
        k_eff = min(int(k), n)
        # Bounds for the int8 prefilter (see _topk_cosine), rounded up: half of
        # sum|q_j|, and float32 rounding of two dim-term sums of magnitude <= ~1
        # (each within dim * 2**-24; doubled for margin) plus the final adds.
        half_abs_q = np.float32(0.5 * float(np.abs(q32.astype(np.float64)).sum()) * (1 + 1e-6))
        slack = np.float32(4 * self._dim * 2.0**-24 + 1e-6)
        args = (store.matrix, store.codes, store.code_scale, n, q32, half_abs_q, slack, k_eff)
        n_blocks = 1
        if self._config.parallel and n >= 2 * MIN_ROWS_PER_BLOCK:
            n_blocks = min(BLOCKS_PER_THREAD * numba.get_num_threads(), n // MIN_ROWS_PER_BLOCK)
        if n_blocks == 1:
            ids, scores = self._topk_serial(*args, 1)
        else:
            # Hand out blocks one at a time: on a shared machine one worker may
            # be descheduled, and a static split would make the query wait for it.
            previous = numba.set_parallel_chunksize(1)
            try:
                ids, scores = _jit.launch(self._topk, self._config, *args, n_blocks)
            finally:
                numba.set_parallel_chunksize(previous)
        assert ids.shape[0] == k_eff
        return ids, scores
