"""Fixture: a module that fails at import, on line 4."""


import no_such_module_for_benchwatch_tests  # noqa: F401
