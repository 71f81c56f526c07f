"""NeuromorphicSystem: the document workflow, stage by stage and whole, and under threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.allocation import Allocation
from engine.config import EngineConfig
from engine.system import COLUMN_EDGE, NEXT_EDGE, DocumentResult, NeuromorphicSystem, QueryResult
from engine.text import Chunk, chunk_text, embed_texts
from naive import naive_embed, naive_gram_hash, naive_topk

CONFIG = EngineConfig(parallel=False)
WORDS = ["alpha", "beta", "gamma", "delta", "neuron", "column", "graph", "vector", "memory", "spike"]


def make_doc(seed: int, size: int = 1024) -> str:
    rng = np.random.default_rng(seed)
    words = []
    while sum(len(w) + 1 for w in words) < size + 2:
        words.append(str(rng.choice(WORDS)) + ("." if rng.random() < 0.1 else ""))
    return " ".join(words)[:size]


def small_system(**kwargs) -> NeuromorphicSystem:
    kwargs.setdefault("dim", 64)
    kwargs.setdefault("n_columns", 32)
    kwargs.setdefault("max_chars", 120)
    kwargs.setdefault("overlap", 20)
    return NeuromorphicSystem(CONFIG, **kwargs)


def check_document(system: NeuromorphicSystem, text: str, result: DocumentResult) -> None:
    """The graph holds exactly what the result says, wired as documented."""
    g = system.graph
    assert len(result.chunks) == len(result.entity_ids) == len(result.allocations)
    assert system.document_entities(result.document_id) == result.entity_ids
    for chunk, eid, alloc in zip(result.chunks, result.entity_ids, result.allocations):
        assert text[chunk.start : chunk.end] == chunk.text
        assert g.label(eid) == chunk.text
        np.testing.assert_allclose(
            g.embedding(eid), naive_embed(chunk.text, system.dim, 3), rtol=1e-6, atol=1e-7
        )
        assert isinstance(alloc, Allocation) and 0 <= alloc.column < system.allocator.n_used
    for a, b in zip(result.entity_ids, result.entity_ids[1:]):
        assert g.neighbors(a, NEXT_EDGE) == [b]
    if result.entity_ids:
        assert g.neighbors(result.entity_ids[-1], NEXT_EDGE) == []


def column_of(system: NeuromorphicSystem, results) -> dict[int, int]:
    return {e: a.column for r in results for e, a in zip(r.entity_ids, r.allocations)}


# ------------------------------------------------------------------ whole documents


def test_process_document_builds_entities_and_edges():
    system = small_system()
    text = make_doc(1)
    result = system.process_document(text)
    assert isinstance(result, DocumentResult)
    assert result.document_id == 0
    assert [(c.text, c.start, c.end) for c in result.chunks] == [
        (c.text, c.start, c.end) for c in chunk_text(text, max_chars=120, overlap=20)
    ]
    assert result.entity_ids == tuple(range(len(result.chunks)))
    check_document(system, text, result)
    with pytest.raises(AttributeError):
        result.entity_ids = ()
    second = system.process_document(make_doc(2))
    assert second.document_id == 1 and second.entity_ids[0] == len(result.chunks)
    check_document(system, make_doc(2), second)
    assert system.n_documents == 2
    # Column edges: each entity points to the previous entity of its column.
    columns = column_of(system, [result, second])
    newest: dict[int, int] = {}
    for eid in sorted(columns):
        expected = [newest[columns[eid]]] if columns[eid] in newest else []
        assert system.graph.neighbors(eid, COLUMN_EDGE) == expected
        newest[columns[eid]] = eid


def test_stages_compose_to_process_document():
    text = make_doc(3)
    whole = small_system().process_document(text)
    staged = small_system()
    chunks = staged.ingest_document(text)
    emb = staged.process_chunks(chunks)
    np.testing.assert_array_equal(emb, embed_texts([c.text for c in chunks], dim=64, config=CONFIG))
    allocations = staged.allocate_embeddings(emb)
    ids = staged.update_knowledge_graph(allocations)  # the thread's last batch
    assert tuple(chunks) == whole.chunks
    assert tuple(allocations) == whole.allocations
    assert tuple(ids) == whole.entity_ids
    assert staged.document_entities(0) == tuple(ids)


def test_explicit_chunks_and_embeddings():
    system = small_system()
    chunks = [Chunk("first piece", 0, 11, 0), Chunk("second piece", 12, 24, 1)]
    emb = embed_texts([c.text for c in chunks], dim=64, config=CONFIG)
    allocations = system.allocate_embeddings(emb)
    assert system.update_knowledge_graph(allocations, chunks, emb) == [0, 1]
    assert system.graph.labels([0, 1]) == ["first piece", "second piece"]
    assert system.graph.neighbors(0, NEXT_EDGE) == [1]


def test_empty_document():
    system = small_system()
    result = system.process_document("   \n ")
    assert result == DocumentResult(0, (), (), ())
    assert len(system.graph) == 0 and system.n_documents == 1


def test_zero_embedding_chunks_are_dropped():
    # With dim=1 every gram lands in bucket 0 with a hash-given sign, so a text
    # of two grams with opposite signs embeds to exactly zero.
    def sign(g):
        return -1 if naive_gram_hash(g) >> 63 else 1

    alphabet = "abcdefghij"
    cancel = next(
        a + b + c for a in alphabet for b in alphabet for c in alphabet
        if sign(a + b) != sign(b + c)
    )
    keep = next(a + a for a in alphabet)
    system = small_system(dim=1, ngram=2, max_chars=3, overlap=0)
    assert not embed_texts([cancel], dim=1, ngram=2, config=CONFIG).any()
    result = system.process_document(f"{keep} {cancel} {keep}")
    assert [c.text for c in result.chunks] == [keep, keep]
    assert len(system.graph) == 2
    with pytest.raises(ValueError, match="row 0 is the zero vector; drop such rows first"):
        system.allocate_embeddings(np.zeros((1, 1)))


# ------------------------------------------------------------------ queries


def test_execute_query_finds_the_matching_chunk():
    system = small_system()
    results = [system.process_document(make_doc(s)) for s in range(3)]
    target = results[1].chunks[2]
    eid = results[1].entity_ids[2]
    found = system.execute_query(target.text, 4)
    assert isinstance(found, QueryResult)
    assert found.ids[0] == eid or system.graph.label(int(found.ids[0])) == target.text
    np.testing.assert_allclose(found.scores[0], 1.0, atol=1e-6)
    assert found.labels == tuple(system.graph.label(int(i)) for i in found.ids)
    # Against the float64 reference over every stored chunk.
    texts = [c.text for r in results for c in r.chunks]
    matrix = np.array([naive_embed(t, 64, 3) for t in texts])
    ref_ids, ref_scores = naive_topk(matrix, naive_embed("gamma neuron spike", 64, 3), 5)
    got = system.execute_query("gamma neuron spike", 5)
    np.testing.assert_allclose(got.scores, ref_scores, atol=1e-5)
    assert len(got.ids) == 5


def test_query_similar_entities_excludes_itself():
    system = small_system()
    result = system.process_document(make_doc(5))
    n = len(system.graph)
    for eid in result.entity_ids[:3]:
        ids, scores = system.query_similar_entities(eid, n + 5)
        assert eid not in ids.tolist()
        assert sorted(ids.tolist()) == sorted(set(range(n)) - {eid})
        assert np.all(np.diff(scores) <= 0)
    ids, _ = system.query_similar_entities(result.entity_ids[0], 1)
    assert len(ids) == 1


def test_query_errors():
    system = small_system()
    assert system.execute_query("anything", 3).ids.shape == (0,)  # empty graph
    system.process_document(make_doc(6))
    with pytest.raises(ValueError, match="no n-gram features"):
        system.execute_query("", 3)
    with pytest.raises(TypeError, match="query text must be a str"):
        system.execute_query(b"bytes", 3)
    with pytest.raises(ValueError, match="k must be >= 1"):
        system.execute_query("alpha", 0)
    with pytest.raises(ValueError, match="k must be >= 1"):
        system.query_similar_entities(0, 0)
    with pytest.raises(KeyError, match="unknown entity id 999"):
        system.query_similar_entities(999, 2)


# ------------------------------------------------------------------ allocation requests and bad input


def test_process_allocation_request():
    system = small_system()
    first = system.process_allocation_request(np.ones(64))
    assert first == Allocation(0, 1.0, True)
    again = system.process_allocation_request([2.0] * 64)
    assert again.column == 0 and not again.novel
    with pytest.raises(ValueError, match=r"one 1-D vector of length 64, got shape \(2, 64\)"):
        system.process_allocation_request(np.ones((2, 64)))
    with pytest.raises(ValueError, match=r"shape \(n, 64\), got \(1, 3\)"):
        system.process_allocation_request([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN or inf"):
        system.process_allocation_request(np.full(64, np.nan))
    with pytest.raises(ValueError, match="zero vector"):
        system.process_allocation_request(np.zeros(64))


def test_bad_stage_input():
    system = small_system()
    with pytest.raises(TypeError, match="text must be a str"):
        system.process_document(None)
    with pytest.raises(TypeError, match="wrap a single chunk in a list"):
        system.process_chunks(Chunk("a", 0, 1, 0))
    with pytest.raises(TypeError, match=r"chunks\[0\] must be a Chunk, got str"):
        system.process_chunks(["text"])
    with pytest.raises(ValueError, match=r"shape \(n, 64\), got \(2, 3\)"):
        system.allocate_embeddings(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        system.allocate_embeddings(np.full((1, 64), np.inf))
    with pytest.raises(ValueError, match="call process_chunks first in this thread"):
        system.update_knowledge_graph([])
    chunks = system.ingest_document(make_doc(7))
    emb = system.process_chunks(chunks)
    allocations = system.allocate_embeddings(emb)
    with pytest.raises(ValueError, match="must correspond one to one"):
        system.update_knowledge_graph(allocations[:-1])
    with pytest.raises(ValueError, match="pass both chunks and embeddings, or neither"):
        system.update_knowledge_graph(allocations, chunks=chunks)
    with pytest.raises(TypeError, match=r"allocations\[0\] must be an Allocation"):
        system.update_knowledge_graph([(0, 1.0, True)] + allocations[1:])
    assert len(system.graph) == 0
    with pytest.raises(ValueError, match="overlap .* must be smaller than max_chars"):
        NeuromorphicSystem(CONFIG, max_chars=10, overlap=10)
    with pytest.raises(ValueError, match="dim must be >= 1"):
        NeuromorphicSystem(CONFIG, dim=0)


# ------------------------------------------------------------------ threads


@pytest.mark.parametrize("config", [CONFIG, EngineConfig(parallel=True)], ids=["serial", "parallel"])
def test_concurrent_documents_and_queries(config):
    system = NeuromorphicSystem(config, dim=64, n_columns=16, max_chars=120, overlap=20)
    n_threads, per_thread = 4, 6
    results: dict[int, list] = {t: [] for t in range(n_threads)}
    errors = []

    def work(t):
        try:
            for i in range(per_thread):
                doc = make_doc(100 * t + i)
                results[t].append((doc, system.process_document(doc)))
                system.execute_query("neuron column", 3)
                system.process_allocation_request(embed_texts([doc[:50]], dim=64, config=config)[0])
                # Stage by stage, relying on this thread's remembered batch.
                chunks = system.ingest_document(doc[::-1])
                allocations = system.allocate_embeddings(system.process_chunks(chunks))
                results[t].append((doc[::-1], (chunks, system.update_knowledge_graph(allocations))))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    whole = [r for t in results.values() for doc, r in t if isinstance(r, DocumentResult)]
    staged = [r for t in results.values() for doc, r in t if not isinstance(r, DocumentResult)]
    assert system.n_documents == 2 * n_threads * per_thread
    total = sum(len(r.entity_ids) for r in whole) + sum(len(ids) for _, ids in staged)
    assert len(system.graph) == total
    all_ids = [e for r in whole for e in r.entity_ids] + [e for _, ids in staged for e in ids]
    assert sorted(all_ids) == list(range(total))
    for t in results.values():
        for doc, r in t:
            if isinstance(r, DocumentResult):
                check_document(system, doc, r)
            else:
                chunks, ids = r
                assert system.graph.labels(ids) == [c.text for c in chunks]
    assert system.allocator.n_used <= 16
    # Every column chain only links entities allocated to the same column.
    columns = column_of(system, whole)
    for eid, col in columns.items():
        for prev in system.graph.neighbors(eid, COLUMN_EDGE):
            assert prev < eid
            if prev in columns:
                assert columns[prev] == col
