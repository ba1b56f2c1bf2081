"""Reader for the IDX format of (Fashion-)MNIST, plain or gzipped, with every header checked.

Format: two zero bytes, a type code, the number of dimensions, one big-endian uint32 per
dimension, then the data in C order.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from kerasexp.errors import UserError

_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | Path, expect_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (`.gz` or plain) into a numpy array; raise UserError on any defect."""
    path = Path(path)
    try:
        raw = _read_bytes(path)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, EOFError, zlib.error) as err:
        raise UserError(
            f"{path}: cannot decompress ({err}); the file is corrupt, download it again"
        ) from None
    return parse_idx(raw, name=str(path), expect_ndim=expect_ndim)


def parse_idx(raw: bytes, name: str = "<bytes>", expect_ndim: int | None = None) -> np.ndarray:
    if len(raw) < 4:
        raise UserError(f"{name}: too short for an IDX header ({len(raw)} bytes); the file is truncated")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _DTYPES or ndim == 0:
        raise UserError(
            f"{name}: bad IDX magic number 0x{raw[:4].hex()}; not an IDX file "
            "(expected 0x00000801 labels or 0x00000803 images)"
        )
    if expect_ndim is not None and ndim != expect_ndim:
        raise UserError(f"{name}: IDX file has {ndim} dimensions, expected {expect_ndim}; wrong file?")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{name}: IDX header truncated; download the file again")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "longer than its header says"
        raise UserError(
            f"{name}: IDX data is {what} ({got} bytes for shape {shape}, expected {expected}); "
            "download the file again"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write an array as an IDX file (gzipped if the name ends in .gz); used by tests and tools."""
    path = Path(path)
    array = np.asarray(array)
    code = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}[array.dtype.newbyteorder("=")]
    be = array.astype(_DTYPES[code], copy=False)
    raw = (
        struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + be.tobytes()
    )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(raw)
    return path


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(2)
    if head == b"\x1f\x8b":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()
