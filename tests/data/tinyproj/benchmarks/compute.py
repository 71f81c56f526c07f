"""The tiny project's asv suite. tinyproj is imported in setup, not at module level, so
that benchwatch can discover these names without the project installed."""


class Work:
    rounds = 2
    sample_time = 0.005

    def setup(self):
        from tinyproj import work

        self.work = work

    def time_work(self):
        self.work(3000)

    def time_steady(self):
        sum(range(3000))
