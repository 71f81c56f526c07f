"""Fixture: a subpackage module, named sub.nested as asv does."""


def mem_nested():
    return []
