"""Fixture: neural family."""


class SingleInference:
    def time_infer(self):
        pass


class BatchInference:
    def track_throughput_ops_s(self):
        return 0
