"""Memory family: peak memory of constructing the engine's objects and of the
largest workloads."""

import numpy as np

from engine import AllocationEngine, KnowledgeGraph, NeuromorphicSystem, build_network


class Construction:
    def peakmem_allocation_engine_1024x1000(self):
        AllocationEngine(1024, 1000)

    def peakmem_neuromorphic_system(self):
        NeuromorphicSystem()

    def peakmem_mlp_1024(self):
        build_network("mlp", 1024, hidden_size=1024)


class LargestWorkloads:
    timeout = 600

    def setup(self):
        rng = np.random.default_rng(0)
        self.M = rng.normal(size=(100_000, 128)).astype(np.float32)
        self.X = rng.normal(size=(20_000, 1000)).astype(np.float32)

    def peakmem_graph_100k_x_128(self):
        g = KnowledgeGraph(128, initial_capacity=1024)
        g.add_entities(self.M, [str(i) for i in range(self.M.shape[0])])
        g.query_similar(self.M[0], 10)

    def peakmem_allocate_batch_20k_x_1000(self):
        AllocationEngine(1024, 1000).allocate_batch(self.X)
