"""EngineConfig: environment parsing, validation, and one compiled variant per flag set."""

from __future__ import annotations

import dataclasses

import pytest

from engine import _jit
from engine.config import EngineConfig, resolve


def test_defaults_without_environment():
    assert EngineConfig.from_env({}) == EngineConfig(fastmath=False, parallel=True, num_threads=None,
                                                     dtype="float32")


def test_every_variable_is_read():
    env = {"ENGINE_FASTMATH": "yes", "ENGINE_PARALLEL": "0", "ENGINE_NUM_THREADS": "2",
           "ENGINE_DTYPE": "Float32"}
    assert EngineConfig.from_env(env) == EngineConfig(True, False, 2, "float32")


@pytest.mark.parametrize("raw, expected", [("1", True), ("TRUE", True), ("on", True), (" off ", False),
                                           ("no", False), ("0", False)])
def test_boolean_spellings(raw, expected):
    assert EngineConfig.from_env({"ENGINE_FASTMATH": raw}).fastmath is expected


@pytest.mark.parametrize("raw", ["auto", "none", "0", ""])
def test_thread_count_auto(raw):
    assert EngineConfig.from_env({"ENGINE_NUM_THREADS": raw}).num_threads is None


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"ENGINE_FASTMATH": "maybe"}, "ENGINE_FASTMATH='maybe' is not a boolean"),
        ({"ENGINE_PARALLEL": "2"}, "ENGINE_PARALLEL='2' is not a boolean"),
        ({"ENGINE_NUM_THREADS": "two"}, "ENGINE_NUM_THREADS='two' is not a thread count"),
        ({"ENGINE_NUM_THREADS": "-1"}, "ENGINE_NUM_THREADS='-1' must be a positive integer"),
        ({"ENGINE_DTYPE": "float16"}, "ENGINE_DTYPE='float16' must be 'float32' or 'float64'"),
    ],
)
def test_bad_values_name_the_variable(env, fragment):
    with pytest.raises(ValueError) as info:
        EngineConfig.from_env(env)
    assert fragment in str(info.value)


def test_process_environment_is_the_default_source(monkeypatch):
    monkeypatch.setenv("ENGINE_DTYPE", "float64")
    monkeypatch.delenv("ENGINE_FASTMATH", raising=False)
    assert EngineConfig.from_env().dtype == "float64"
    assert resolve(None).dtype == "float64"


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        (dict(fastmath=1), TypeError),
        (dict(parallel="yes"), TypeError),
        (dict(num_threads=0), ValueError),
        (dict(num_threads=True), TypeError),
        (dict(num_threads=1.5), TypeError),
        (dict(dtype="int32"), ValueError),
    ],
)
def test_constructor_validation(kwargs, exc):
    with pytest.raises(exc):
        EngineConfig(**kwargs)


def test_frozen_and_hashable():
    cfg = EngineConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.fastmath = True  # type: ignore[misc]
    assert len({cfg, EngineConfig()}) == 1
    assert cfg.np_dtype.name == "float32"


def _plus_one(a):
    return a + 1


def test_one_dispatcher_per_variant_with_its_own_cache_name():
    strict = _jit.specialise(_plus_one, fastmath=False, parallel=False)
    assert _jit.specialise(_plus_one, fastmath=False, parallel=False) is strict
    fast = _jit.for_config(_plus_one, EngineConfig(fastmath=True, parallel=False))
    assert fast is not strict
    assert strict.py_func.__qualname__.endswith("__fm0_par0")
    assert fast.py_func.__qualname__.endswith("__fm1_par0")
    assert strict(1) == fast(1) == 2
    assert fast.targetoptions["fastmath"] and not strict.targetoptions["fastmath"]
    assert strict.targetoptions["nogil"]
    # numba names cache files after the qualname: distinct names keep variants apart.
    assert strict._cache._cache_file._index_name != fast._cache._cache_file._index_name
    assert "__fm1_par0" in fast._cache._cache_file._index_name
