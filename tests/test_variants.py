"""The variants file of a configuration experiment: what loads, and every refusal with
its exact ``file:line: cause``."""

from pathlib import Path

import pytest

from benchwatch import variants
from benchwatch.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
# a comment
baseline: default
variants:
  default:
    description: the defaults
  fast:
    description: fastmath
    env:
      ENGINE_FASTMATH: "1"
      NUMBA_NUM_THREADS: 2
  f64:
    env:
      ENGINE_DTYPE: float64
"""


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "variants.yaml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def _error(tmp_path: Path, text: str | bytes) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(UserError) as info:
        variants.load(path)
    return str(info.value).replace(str(path), "F")


def test_loads_variants_in_file_order_with_lines_and_string_values(tmp_path):
    got = variants.load(_write(tmp_path, GOOD))
    assert got.baseline == "default"
    assert got.names == ("default", "fast", "f64")
    assert got.get("default") == variants.Variant("default", "the defaults", (), 4)
    # a bare integer is its digits, as asv's environment wants a string
    assert got.get("fast") == variants.Variant(
        "fast", "fastmath", (("ENGINE_FASTMATH", "1"), ("NUMBA_NUM_THREADS", "2")), 6)
    assert got.get("f64").env_dict() == {"ENGINE_DTYPE": "float64"}
    assert got.get("f64").line == 11
    with pytest.raises(KeyError):
        got.get("nope")


def test_shipped_variants_file_loads():
    got = variants.load(REPO_ROOT / "configs" / "variants.yaml")
    assert got.baseline == "default"
    assert got.names == ("default", "fastmath", "serial", "threads-1", "float64", "workqueue")
    assert got.get("default").env == ()
    assert got.get("serial").env_dict() == {"ENGINE_PARALLEL": "0"}
    assert got.get("workqueue").env_dict() == {"NUMBA_THREADING_LAYER": "workqueue"}


@pytest.mark.parametrize("text, message", [
    # unknown keys, at every level
    ("baseline: a\nvariants:\n  a: {}\n  b: {}\ncolour: red\n",
     "F:5: unknown top-level key 'colour'; expected 'baseline' and 'variants'"),
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    envs:\n      ENGINE_FASTMATH: '1'\n",
     "F:5: variant 'b': unknown key 'envs'; expected 'description' and 'env'"),
    # settings that are not the engine's or numba's
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    env:\n      OMP_NUM_THREADS: '1'\n",
     ("F:6: variant 'b': 'OMP_NUM_THREADS' is not an ENGINE_* or NUMBA_* setting "
     "(upper-case letters, digits and '_' after the prefix)")),
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    env:\n      engine_fastmath: '1'\n",
     ("F:6: variant 'b': 'engine_fastmath' is not an ENGINE_* or NUMBA_* setting "
     "(upper-case letters, digits and '_' after the prefix)")),
    # duplicate variant names, and a duplicate setting inside one variant
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    env: {ENGINE_DTYPE: float64}\n  a: {}\n",
     "F:6: 'variants': duplicate key 'a' (first on line 3)"),
    (("baseline: a\nvariants:\n  a: {}\n  b:\n    env:\n      ENGINE_DTYPE: float64\n"
     "      ENGINE_DTYPE: float32\n"),
     "F:7: variant 'b': 'env': duplicate key 'ENGINE_DTYPE' (first on line 6)"),
    # the baseline: missing, unknown, not a string
    ("variants:\n  a: {}\n  b: {}\n",
     "F:1: missing 'baseline' (the name of the variant the others are compared with)"),
    ("baseline: c\nvariants:\n  a: {}\n  b:\n    env: {ENGINE_PARALLEL: '0'}\n",
     "F:1: baseline 'c' is not a variant; define it under 'variants' (have: a, b)"),
    ("baseline: [a]\nvariants:\n  a: {}\n  b:\n    env: {ENGINE_PARALLEL: '0'}\n",
     "F:1: 'baseline' must be a string, got a list"),
    # shapes and values
    ("baseline: a\n", "F:1: missing 'variants' (a mapping of variant names)"),
    ("", "F:1: empty variants file; expected 'baseline' and 'variants'"),
    ("- a\n- b\n", "F:1: the top level must be a mapping, got a list"),
    ("baseline: a\nvariants:\n  a: {}\n",
     "F:3: 'variants' has 1 variant; an experiment needs the baseline and at least one other"),
    ("baseline: a\nvariants:\n  a:\n  b: {}\n",
     "F:3: variant 'a' must be a mapping, got nothing"),
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    env:\n",
     "F:5: variant 'b': 'env' must be a mapping, got nothing"),
    ("baseline: a\nvariants: 3\n", "F:2: 'variants' must be a mapping, got a number"),
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    env:\n      ENGINE_FASTMATH: true\n",
     ("F:6: variant 'b': ENGINE_FASTMATH must be a string, got a boolean; quote it, "
     "e.g. ENGINE_FASTMATH: \"1\"")),
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    env:\n      ENGINE_NUM_THREADS: 1.5\n",
     ("F:6: variant 'b': ENGINE_NUM_THREADS must be a string, got a number; quote it, "
     "e.g. ENGINE_NUM_THREADS: \"1\"")),
    ("baseline: a\nvariants:\n  a: {}\n  b:\n    description: 3\n",
     "F:5: variant 'b': 'description' must be a string, got a number"),
    ("baseline: a\nvariants:\n  a: {}\n  'b c': {}\n",
     ("F:4: variant name 'b c': use 1-64 letters, digits, '.', '_' or '-', starting with a "
     "letter or digit")),
    # two variants that would be one asv environment
    (("baseline: a\nvariants:\n  a:\n    env: {ENGINE_DTYPE: float64}\n  b:\n"
     "    env: {ENGINE_DTYPE: float64}\n"),
     ("F:5: variant 'b' sets exactly what 'a' (line 3) sets; they would be one asv "
     "environment")),
    ("baseline: a\nvariants:\n  a: {}\n  null: {}\n",
     "F:4: 'variants': key 'null' reads as nothing, not a name; quote it"),
    ("baseline: a\nvariants:\n  a: {}\n  [b]: {}\n",
     "F:4: 'variants': a key is a list, not a name; quote it"),
    # file-level faults
    ("baseline: a\nvariants:\n\ta: {}\n", "F:3: tab character; indent and separate with spaces"),
    ("baseline: a\nvariants: [\n", "F:3: YAML: expected the node content, but found '<stream end>'"),
])
def test_refusals_name_file_line_and_cause(tmp_path, text, message):
    assert _error(tmp_path, text) == message


def test_non_utf8_and_missing_file(tmp_path):
    assert _error(tmp_path, b"baseline: a\n# \xff\n") == \
        "F:2: file is not UTF-8 (byte 0xff); save it as UTF-8"
    with pytest.raises(UserError) as info:
        variants.load(tmp_path / "absent.yaml")
    assert str(info.value) == f"{tmp_path / 'absent.yaml'}: variants file not found"
