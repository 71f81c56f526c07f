"""The public names benchmarks and outside checks import must exist, with these signatures."""

import inspect

import engine
from engine.neural import FORMAT_VERSION, ModelType, WeightFileError, build_network, load_network


def test_top_level_names():
    for name in ["AllocationEngine", "Allocation", "EngineConfig", "KnowledgeGraph",
                 "NeuromorphicSystem", "Chunk", "build_network", "load_network", "ModelType",
                 "Network", "WeightFileError", "kernels"]:
        assert hasattr(engine, name), name
    assert callable(engine.kernels.dot_scalar) and callable(engine.kernels.dot_simd)
    assert [m.name for m in ModelType] == ["MLP", "CNN1D", "LSTM", "SPIKING"]
    assert FORMAT_VERSION == 1 and issubclass(WeightFileError, ValueError)
    assert engine.config.EngineConfig is engine.EngineConfig


def test_signatures():
    sig = inspect.signature(engine.AllocationEngine)
    assert list(sig.parameters)[:5] == ["n_columns", "dim", "vigilance", "learning_rate", "config"]
    assert sig.parameters["vigilance"].default == 0.75
    assert sig.parameters["learning_rate"].default == 0.1
    sig = inspect.signature(build_network)
    assert list(sig.parameters)[:2] == ["model_type", "input_size"]
    assert sig.parameters["seed"].kind is inspect.Parameter.KEYWORD_ONLY
    assert sig.parameters["seed"].default == 0
    assert "config" in inspect.signature(load_network).parameters
    assert list(inspect.signature(engine.NeuromorphicSystem).parameters)[0] == "config"
    for method in ["ingest_document", "process_chunks", "allocate_embeddings", "update_knowledge_graph",
                   "query_similar_entities", "process_document", "process_allocation_request",
                   "execute_query"]:
        assert callable(getattr(engine.NeuromorphicSystem, method)), method
    for method in ["add_entity", "add_edge", "neighbors", "query_similar"]:
        assert callable(getattr(engine.KnowledgeGraph, method)), method
