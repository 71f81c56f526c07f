"""Fixture: memory family."""


class Construction:
    def peakmem_build(self):
        pass
