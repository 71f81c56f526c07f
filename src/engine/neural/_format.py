"""The network weight file: a versioned binary format that loads at disk speed.

Layout (all little-endian), version 1::

    offset  size  field
    0       8     magic  b"\\x89BWNET\\r\\n"  (the high byte and CR LF catch text-mode
                  and 7-bit transfers, as PNG's magic does)
    8       2     format version, uint16 (1)
    10      1     model type, uint8 (1 MLP, 2 CNN1D, 3 LSTM, 4 SPIKING)
    11      1     dtype, uint8 (1 float32, 2 float64)
    12      32    dims, 4 x int64 (see _layout.py)
    44      8     parameter count, uint64
    52      4     CRC-32 of the payload bytes
    56      4     CRC-32 of header bytes 0..55
    60      4     reserved, zero
    64      ...   payload: parameter count x itemsize bytes, the flat parameter
                  buffer in _layout.weight_shapes order

The payload is read straight into the array's memory (no parse, no copy), and
CRC-32 (zlib) runs faster than a page-cache read, so loading costs about one
read of the file. A network is only built after every check passes: a bad file
raises ``WeightFileError`` and never yields a half-loaded network.

Writes go to a temporary file in the same directory and are renamed into
place, so a crash never leaves a truncated file under the final name.
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from ._layout import ModelType, check_dims, param_count

MAGIC = b"\x89BWNET\r\n"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sHBB4qQII4x")
assert HEADER.size == 64

_DTYPE_CODES = {np.dtype(np.float32): 1, np.dtype(np.float64): 2}
_CODE_DTYPES = {v: k for k, v in _DTYPE_CODES.items()}


class WeightFileError(ValueError):
    """A network file that cannot be loaded: the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _header_bytes(model_type: ModelType, dtype: np.dtype, dims, count: int, payload_crc: int) -> bytes:
    partial = HEADER.pack(MAGIC, FORMAT_VERSION, model_type.value, _DTYPE_CODES[dtype], *dims, count, payload_crc, 0)
    header_crc = zlib.crc32(partial[:56])
    return HEADER.pack(MAGIC, FORMAT_VERSION, model_type.value, _DTYPE_CODES[dtype], *dims, count, payload_crc, header_crc)


def write(path: str | os.PathLike[str], model_type: ModelType, dims, params: np.ndarray) -> None:
    """Atomically write a network file."""
    dtype = np.dtype(params.dtype)
    little = np.ascontiguousarray(params, dtype=dtype.newbyteorder("<"))
    payload = memoryview(little).cast("B")
    header = _header_bytes(model_type, dtype, dims, little.size, zlib.crc32(payload))
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(header)
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read(path: str | os.PathLike[str]) -> tuple[ModelType, tuple[int, int, int, int], np.ndarray]:
    """Read and verify a network file; return (model type, dims, native-order params)."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        raise WeightFileError(path, "no such file") from None
    except IsADirectoryError:
        raise WeightFileError(path, "is a directory, not a network file") from None
    except PermissionError:
        raise WeightFileError(path, "permission denied") from None
    with fh:
        raw = fh.read(HEADER.size)
        if len(raw) < HEADER.size:
            if raw[: len(MAGIC)] != MAGIC[: len(raw)] or not raw:
                reason = "empty file" if not raw else "not a network file (bad magic)"
                raise WeightFileError(path, reason)
            raise WeightFileError(path, f"truncated header: {len(raw)} of {HEADER.size} bytes")
        magic, version, type_code, dtype_code, d0, d1, d2, d3, count, payload_crc, header_crc = HEADER.unpack(raw)
        if magic != MAGIC:
            raise WeightFileError(path, "not a network file (bad magic)")
        if version != FORMAT_VERSION:
            raise WeightFileError(
                path, f"unsupported format version {version}; this engine reads version {FORMAT_VERSION}"
            )
        if zlib.crc32(raw[:56]) != header_crc:
            raise WeightFileError(path, "header checksum mismatch (corrupt file)")
        try:
            model_type = ModelType(type_code)
        except ValueError:
            raise WeightFileError(path, f"unknown model type code {type_code}") from None
        dtype = _CODE_DTYPES.get(dtype_code)
        if dtype is None:
            raise WeightFileError(path, f"unknown dtype code {dtype_code}")
        dims = (d0, d1, d2, d3)
        problem = check_dims(model_type, dims)
        if problem:
            raise WeightFileError(path, f"bad shapes in header: {problem}")
        expected = param_count(model_type, dims)
        if count != expected:
            raise WeightFileError(
                path, f"header says {count} parameters but {model_type.name} {dims} needs {expected}"
            )
        nbytes = expected * dtype.itemsize
        size = os.fstat(fh.fileno()).st_size
        if size < HEADER.size + nbytes:
            raise WeightFileError(
                path, f"truncated payload: {size - HEADER.size} of {nbytes} bytes"
            )
        if size > HEADER.size + nbytes:
            raise WeightFileError(
                path, f"{size - HEADER.size - nbytes} unexpected bytes after the payload"
            )
        params = np.empty(expected, dtype=dtype.newbyteorder("<"))
        view = memoryview(params).cast("B")
        got = fh.readinto(view)
        if got != nbytes:  # the file shrank while we read it
            raise WeightFileError(path, f"truncated payload: {got} of {nbytes} bytes")
        if zlib.crc32(view) != payload_crc:
            raise WeightFileError(path, "payload checksum mismatch (corrupt file)")
    if sys.byteorder != "little":  # pragma: no cover - no big-endian CI
        params = params.astype(dtype)
    return model_type, dims, params
