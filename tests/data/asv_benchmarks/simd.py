"""Fixture: simd family."""


class DotProduct:
    def track_speedup(self):
        pass
