"""The document workflow: chunk, embed, allocate, remember, query.

What it is for: one object, ``NeuromorphicSystem``, that wires ``engine.text``
(chunks and embeddings), ``engine.allocation`` (columns for embeddings) and
``engine.graph`` (entities, edges, similarity search) together, one public
method per stage so each stage can be benchmarked on its own. What it must not
do: implement any of those stages itself; numeric work stays in the modules
that own it.

How a document becomes graph content:

* one entity per chunk, with the chunk's embedding and the chunk's text as label;
* a ``next`` edge from each chunk's entity to the following chunk's entity of
  the same batch (document), so ``neighbors(e, "next")`` walks the document;
* a ``column`` edge from each new entity to the most recent earlier entity that
  was allocated to the same column, so every column is a chain, newest first,
  that ``neighbors(e, "column")`` walks.

A non-empty chunk whose signed n-gram features cancel exactly (only possible for
very short chunks) has a zero embedding and no direction for cosine search;
``process_document`` drops such chunks before allocation, so its result lists
only the chunks that became entities.

Concurrency: every public method may be called from several threads. The
allocator and the graph lock their own state; the system's lock only makes each
``update_knowledge_graph`` call atomic (its entities, edges and column chains
are added together), which costs one uncontended lock round-trip per batch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .allocation import Allocation, AllocationEngine
from ._validate import as_dtype_array, as_real_array, check_int
from .config import EngineConfig, resolve
from .graph import KnowledgeGraph
from .text import DEFAULT_MAX_CHARS, DEFAULT_NGRAM, DEFAULT_OVERLAP, Chunk, chunk_text, embed_texts

NEXT_EDGE = "next"
COLUMN_EDGE = "column"


@dataclass(frozen=True)
class DocumentResult:
    """What ``process_document`` did: ``chunks[i]`` became entity ``entity_ids[i]``
    and was allocated as ``allocations[i]``."""

    document_id: int
    chunks: tuple[Chunk, ...]
    entity_ids: tuple[int, ...]
    allocations: tuple[Allocation, ...]


@dataclass(frozen=True)
class QueryResult:
    """Top-k entities for a query, best first."""

    ids: np.ndarray
    scores: np.ndarray
    labels: tuple[str, ...]


class NeuromorphicSystem:
    """Documents in, a searchable knowledge graph out.

    ``dim`` is the embedding length shared by the text embedding, the allocator
    and the graph; ``n_columns``, ``vigilance`` and ``learning_rate`` go to the
    ``AllocationEngine``; ``ngram``, ``max_chars`` and ``overlap`` to
    ``engine.text``; ``initial_capacity`` to the ``KnowledgeGraph``. The
    components are public attributes (``allocator``, ``graph``) for inspection;
    mutate them only through the system, or the column chains go stale.
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        dim: int = 256,
        n_columns: int = 1024,
        vigilance: float = 0.75,
        learning_rate: float = 0.1,
        ngram: int = DEFAULT_NGRAM,
        max_chars: int = DEFAULT_MAX_CHARS,
        overlap: int = DEFAULT_OVERLAP,
        initial_capacity: int = 1024,
    ) -> None:
        self._config = resolve(config)
        # Validate the chunking parameters now rather than on the first document.
        chunk_text("", max_chars=max_chars, overlap=overlap)
        embed_texts([], dim=dim, ngram=ngram, config=self._config)
        self._dim = int(dim)
        self._ngram = int(ngram)
        self._max_chars = int(max_chars)
        self._overlap = int(overlap)
        self.allocator = AllocationEngine(
            n_columns, self._dim, vigilance=vigilance, learning_rate=learning_rate,
            config=self._config,
        )
        self.graph = KnowledgeGraph(self._dim, initial_capacity=initial_capacity, config=self._config)
        self._lock = threading.Lock()
        self._column_head: dict[int, int] = {}  # column -> newest entity in it
        self._documents: list[tuple[int, ...]] = []
        # The batch of the calling thread's last ``process_chunks``, for
        # ``update_knowledge_graph(allocations)`` without explicit chunks.
        self._last_batch = threading.local()

    # ------------------------------------------------------------ properties

    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def n_documents(self) -> int:
        return len(self._documents)

    def document_entities(self, document_id: int) -> tuple[int, ...]:
        """Entity ids of one ``update_knowledge_graph`` batch, in chunk order."""
        with self._lock:
            if not 0 <= document_id < len(self._documents):
                raise KeyError(
                    f"unknown document id {document_id}: {len(self._documents)} documents so far"
                )
            return self._documents[document_id]

    # ------------------------------------------------------------ stages

    def ingest_document(self, text: str) -> list[Chunk]:
        """Stage 1: split a document into chunks (see ``engine.text.chunk_text``)."""
        return chunk_text(text, max_chars=self._max_chars, overlap=self._overlap)

    def process_chunks(self, chunks: Sequence[Chunk]) -> np.ndarray:
        """Stage 2: embed chunks, shape ``(len(chunks), dim)``.

        The chunks and embeddings are also remembered for the calling thread, so
        ``update_knowledge_graph(allocations)`` can be called without them.
        """
        if isinstance(chunks, Chunk):
            raise TypeError("chunks must be a sequence of Chunk; wrap a single chunk in a list")
        chunks = list(chunks)
        for i, c in enumerate(chunks):
            if not isinstance(c, Chunk):
                raise TypeError(f"chunks[{i}] must be a Chunk, got {type(c).__name__}")
        emb = embed_texts([c.text for c in chunks], dim=self._dim, ngram=self._ngram, config=self._config)
        self._last_batch.value = (chunks, emb)
        return emb

    def _check_matrix(self, embeddings: object, what: str) -> np.ndarray:
        emb = as_dtype_array(embeddings, what, self._config.np_dtype)
        if emb.ndim != 2 or emb.shape[1] != self._dim:
            raise ValueError(
                f"{what} must have shape (n, {self._dim}), got {emb.shape}"
            )
        if not np.isfinite(emb).all():
            raise ValueError(f"{what} contains NaN or inf")
        zero = ~(emb != 0).any(axis=1)
        if zero.any():
            raise ValueError(
                f"{what} row {int(np.flatnonzero(zero)[0])} is the zero vector; "
                "drop such rows first (process_document does)"
            )
        return emb

    def allocate_embeddings(self, embeddings: np.ndarray) -> list[Allocation]:
        """Stage 3: allocate a column for each embedding row, in row order."""
        emb = self._check_matrix(embeddings, "embeddings")
        return [self.allocator.allocate(row) for row in emb]

    def update_knowledge_graph(
        self,
        allocations: Sequence[Allocation],
        chunks: Sequence[Chunk] | None = None,
        embeddings: np.ndarray | None = None,
    ) -> list[int]:
        """Stage 4: add one entity per chunk, with ``next`` and ``column`` edges.

        ``allocations[i]`` belongs to ``chunks[i]`` and ``embeddings[i]``. Without
        ``chunks`` and ``embeddings``, the calling thread's last
        ``process_chunks`` batch is used. Returns the new entity ids; the batch
        is recorded as one document.
        """
        if (chunks is None) != (embeddings is None):
            raise ValueError("pass both chunks and embeddings, or neither (to use the last process_chunks batch)")
        if chunks is None:
            last = getattr(self._last_batch, "value", None)
            if last is None:
                raise ValueError(
                    "no chunks to attach: call process_chunks first in this thread, "
                    "or pass chunks= and embeddings="
                )
            chunks, embeddings = last
        chunks = list(chunks)
        allocations = list(allocations)
        emb = self._check_matrix(embeddings, "embeddings")
        if not (len(allocations) == len(chunks) == emb.shape[0]):
            raise ValueError(
                f"got {len(allocations)} allocations, {len(chunks)} chunks and "
                f"{emb.shape[0]} embeddings; they must correspond one to one"
            )
        for i, a in enumerate(allocations):
            if not isinstance(a, Allocation):
                raise TypeError(f"allocations[{i}] must be an Allocation, got {type(a).__name__}")
        for i, c in enumerate(chunks):
            if not isinstance(c, Chunk):
                raise TypeError(f"chunks[{i}] must be a Chunk, got {type(c).__name__}")
        return self._attach(allocations, chunks, emb)[1]

    def _attach(
        self, allocations: list[Allocation], chunks: list[Chunk], emb: np.ndarray
    ) -> tuple[int, list[int]]:
        """Add one validated batch as a document; return (document id, entity ids)."""
        with self._lock:
            ids = [int(i) for i in self.graph.add_entities(emb, [c.text for c in chunks])]
            for a, b in zip(ids, ids[1:]):
                self.graph.add_edge(a, b, NEXT_EDGE)
            for eid, alloc in zip(ids, allocations):
                previous = self._column_head.get(alloc.column)
                if previous is not None:
                    self.graph.add_edge(eid, previous, COLUMN_EDGE)
                self._column_head[alloc.column] = eid
            self._documents.append(tuple(ids))
            return len(self._documents) - 1, ids

    def query_similar_entities(self, entity_id: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` entities most similar to ``entity_id`` (itself excluded)."""
        vec = self.graph.embedding(entity_id)
        check_int("k", k)
        ids, scores = self.graph.query_similar(vec, int(k) + 1)
        keep = ids != int(entity_id)
        return ids[keep][:k], scores[keep][:k]

    # ------------------------------------------------------------ whole requests

    def process_document(self, text: str) -> DocumentResult:
        """All four stages for one document."""
        chunks = self.ingest_document(text)
        emb = self.process_chunks(chunks)
        nonzero = (emb != 0).any(axis=1)
        if not nonzero.all():
            chunks = [c for c, keep in zip(chunks, nonzero) if keep]
            emb = emb[nonzero]
        allocations = self.allocate_embeddings(emb)
        document_id, ids = self._attach(allocations, chunks, emb)
        return DocumentResult(
            document_id=document_id,
            chunks=tuple(chunks),
            entity_ids=tuple(ids),
            allocations=tuple(allocations),
        )

    def process_allocation_request(self, x: Sequence[float] | np.ndarray) -> Allocation:
        """Allocate one embedding vector of length ``dim``."""
        arr = as_real_array(x, "embedding")
        if arr.ndim != 1:
            raise ValueError(
                f"embedding must be one 1-D vector of length {self._dim}, got shape {arr.shape}"
            )
        vec = self._check_matrix(arr[None, :], "embedding")
        return self.allocator.allocate(vec[0])

    def execute_query(self, text: str, k: int) -> QueryResult:
        """Embed ``text`` and return the ``k`` most similar entities."""
        if not isinstance(text, str):
            raise TypeError(f"query text must be a str, got {type(text).__name__}")
        q = embed_texts([text], dim=self._dim, ngram=self._ngram, config=self._config)[0]
        if not q.any():
            raise ValueError(
                "query text has no n-gram features to search with (it is empty or its features cancel)"
            )
        ids, scores = self.graph.query_similar(q, k)
        return QueryResult(ids=ids, scores=scores, labels=tuple(self.graph.labels(ids)))
