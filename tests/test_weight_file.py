"""The network weight file: round trips, and every corruption raises WeightFileError."""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np
import pytest

from engine.config import EngineConfig
from engine.neural import FORMAT_VERSION, ModelType, WeightFileError, build_network, load_network
from engine.neural._format import HEADER, MAGIC

F64 = EngineConfig(parallel=False, dtype="float64")
F32 = EngineConfig(parallel=False, dtype="float32")


@pytest.mark.parametrize("cfg", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("mt", list(ModelType))
def test_round_trip_is_exact(tmp_path, mt, cfg):
    net = build_network(mt, 17, seed=5, config=cfg)
    path = tmp_path / "net.bwn"
    net.save(path)
    assert path.stat().st_size == HEADER.size + net.nbytes
    back = load_network(path, config=cfg)
    assert back.model_type is mt and back.dims == net.dims and back.dtype == net.dtype
    np.testing.assert_array_equal(back.params, net.params)
    x = np.random.default_rng(0).normal(size=17)
    np.testing.assert_array_equal(back.infer(x), net.infer(x))


def test_float32_file_widens_exactly_under_float64_config(tmp_path):
    net = build_network("mlp", 4, config=F32)
    net.save(tmp_path / "n")
    back = load_network(tmp_path / "n", config=F64)
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back.params, net.params.astype(np.float64))


def test_header_layout_is_as_documented(tmp_path):
    net = build_network("cnn1d", 9, config=F32)
    net.save(tmp_path / "n")
    raw = (tmp_path / "n").read_bytes()
    assert raw[:8] == b"\x89BWNET\r\n"
    assert struct.unpack_from("<H", raw, 8)[0] == FORMAT_VERSION == 1
    assert raw[10] == ModelType.CNN1D.value and raw[11] == 1  # float32
    assert struct.unpack_from("<4q", raw, 12) == net.dims
    assert struct.unpack_from("<Q", raw, 44)[0] == net.params.size
    assert struct.unpack_from("<I", raw, 52)[0] == zlib.crc32(raw[64:])
    assert struct.unpack_from("<I", raw, 56)[0] == zlib.crc32(raw[:56])
    assert raw[64:] == net.params.astype("<f4").tobytes()


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "n"
    build_network("mlp", 3, seed=1, config=F64).save(path)
    build_network("mlp", 3, seed=2, config=F64).save(path)
    assert sorted(os.listdir(tmp_path)) == ["n"]
    np.testing.assert_array_equal(load_network(path, config=F64).params,
                                  build_network("mlp", 3, seed=2, config=F64).params)


def _saved(tmp_path) -> bytes:
    build_network("mlp", 6, seed=0, config=F64).save(tmp_path / "good")
    return (tmp_path / "good").read_bytes()


def _reheader(raw: bytes, **fields) -> bytes:
    """Rewrite header fields and recompute the header checksum (a well-formed lie)."""
    names = ["magic", "version", "mtype", "dtype", "d0", "d1", "d2", "d3", "count", "pcrc", "hcrc"]
    vals = dict(zip(names, HEADER.unpack(raw[:64])))
    vals.update(fields)
    vals["hcrc"] = 0
    head = HEADER.pack(*[vals[n] for n in names])
    vals["hcrc"] = zlib.crc32(head[:56])
    return HEADER.pack(*[vals[n] for n in names]) + raw[64:]


CORRUPTIONS = {
    "empty": (lambda raw: b"", "empty file"),
    "short header": (lambda raw: raw[:30], "truncated header: 30 of 64 bytes"),
    "bad magic": (lambda raw: b"PK\x03\x04" + raw[4:], "not a network file (bad magic)"),
    "text file": (lambda raw: b"hello", "not a network file (bad magic)"),
    "truncated payload": (lambda raw: raw[:-9], "truncated payload"),
    "payload bit flip": (lambda raw: raw[:100] + bytes([raw[100] ^ 1]) + raw[101:], "payload checksum mismatch"),
    "header bit flip": (lambda raw: raw[:20] + bytes([raw[20] ^ 4]) + raw[21:], "header checksum mismatch"),
    "trailing bytes": (lambda raw: raw + b"\0\0\0", "3 unexpected bytes after the payload"),
    "future version": (lambda raw: raw[:8] + struct.pack("<H", 2) + raw[10:], "unsupported format version 2"),
    "unknown model": (lambda raw: _reheader(raw, mtype=9), "unknown model type code 9"),
    "unknown dtype": (lambda raw: _reheader(raw, dtype=7), "unknown dtype code 7"),
    "bad dims": (lambda raw: _reheader(raw, d1=0), "bad shapes in header: hidden_1 must be between"),
    "count disagrees": (lambda raw: _reheader(raw, count=5), "header says 5 parameters"),
    "huge dims": (lambda raw: _reheader(raw, d0=1 << 40), "bad shapes in header"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupt_files_raise_weight_file_error(tmp_path, case):
    mutate, fragment = CORRUPTIONS[case]
    bad = tmp_path / "bad.bwn"
    bad.write_bytes(mutate(_saved(tmp_path)))
    with pytest.raises(WeightFileError) as info:
        load_network(bad, config=F64)
    assert fragment in str(info.value)
    assert str(bad) in str(info.value)
    assert info.value.path == str(bad)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(WeightFileError, match="no such file"):
        load_network(tmp_path / "nope", config=F64)
    with pytest.raises(WeightFileError, match="is a directory"):
        load_network(tmp_path, config=F64)


def test_weight_file_error_is_a_value_error():
    assert issubclass(WeightFileError, ValueError)
    assert MAGIC.startswith(b"\x89")
