"""Fixture: neural family."""


class SingleInference:
    def time_infer(self):
        pass
