"""Weights family: ``load_network`` speed and memory per model type."""

import os
import tempfile
import time

from engine import ModelType, build_network, load_network

from ._measure import TIME_ROUNDS

MODEL_TYPES = [m.name for m in ModelType]
# Large enough (several MB) that a load measures reading, not Python overhead.
INPUT_SIZE = 1024
# (CNN1D's weights are per channel, so it needs many channels to reach MBs.)
HIDDEN = {"MLP": 1024, "CNN1D": 131072, "LSTM": 256, "SPIKING": 2048}


class LoadNetwork:
    rounds = TIME_ROUNDS
    params = MODEL_TYPES
    param_names = ["model_type"]
    timeout = 300

    def setup(self, model_type):
        self.dir = tempfile.mkdtemp(prefix="bw-weights-")
        self.path = os.path.join(self.dir, f"{model_type}.bwn")
        net = build_network(model_type, INPUT_SIZE, hidden_size=HIDDEN[model_type], seed=0)
        net.save(self.path)
        self.mb = os.path.getsize(self.path) / 1e6
        load_network(self.path)  # warm the page cache and the kernels

    def teardown(self, model_type):
        os.unlink(self.path)
        os.rmdir(self.dir)

    def time_load(self, model_type):
        load_network(self.path)

    def track_load_mb_s(self, model_type):
        """Median of 5 loads, in MB/s of file size (page cache warm)."""
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            load_network(self.path)
            times.append(time.perf_counter() - t0)
        times.sort()
        return self.mb / times[2]

    track_load_mb_s.unit = "MB/s"

    def track_file_mb(self, model_type):
        return self.mb

    track_file_mb.unit = "MB"

    def peakmem_load(self, model_type):
        load_network(self.path)
