"""Fixture: e2e family."""


class ProcessDocument:
    def time_process(self):
        pass

    def track_latency_p99_ns(self):
        return 0
