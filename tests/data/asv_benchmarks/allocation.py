"""Fixture: allocation family (names only; nothing here is ever run)."""


class AllocateLatency:
    params = [10, 100]  # noqa: RUF012 - asv's own convention

    def setup(self, n):
        raise AssertionError("discovery must not run setup")

    def track_latency_p99_ns(self, n):
        return 0

    def time_allocate(self, n):
        pass

    def helper(self, n):
        pass


class _Private:
    def time_hidden(self):
        pass


def time_module_level():
    pass


def not_a_benchmark():
    pass


class BatchThroughput:
    def track_throughput_ops_s(self):
        return 0
