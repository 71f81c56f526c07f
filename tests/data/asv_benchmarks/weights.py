"""Fixture: weights family."""


class LoadNetwork:
    def time_load(self):
        pass
