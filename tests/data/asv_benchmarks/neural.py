"""Fixture: neural family."""


class SingleInference:
    def time_infer(self):
        pass

    def track_latency_p99_ns(self):
        return 0


class BatchInference:
    def track_throughput_ops_s(self):
        return 0
