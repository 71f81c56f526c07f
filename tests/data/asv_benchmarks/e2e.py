"""Fixture: e2e family."""


class ProcessDocument:
    def time_process(self):
        pass
