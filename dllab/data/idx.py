"""Reader and writer for the IDX format of the MNIST files.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension,
then the values in C order::

    bytes 0-1   always 0
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4 .. 4+4d   the d sizes, big-endian uint32
    rest        prod(sizes) values, big-endian

So MNIST's images start with 0x00000803 (uint8, 3 dims) and its labels with
0x00000801 (uint8, 1 dim). The shipped files are gzip-compressed; the reader
recognises gzip by its first two bytes, not by the file name.
"""

import gzip
import zlib

import numpy as np

from .errors import DataError

# IDX type code -> big-endian NumPy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path):
    """The file's bytes, decompressed if it is gzip; DataError if the gzip is damaged."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    # a truncated stream raises EOFError, a garbled one BadGzipFile or zlib.error
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataError(f"{path}: corrupt or truncated gzip data ({err})") from None


def parse_idx(data, source="<bytes>"):
    """Parse the bytes of an (uncompressed) IDX file into an array.

    Args:
        data: the file content, ``bytes``.
        source: the name to put in error messages.

    Returns:
        An array of shape ``(d1, ..., dk)`` in native byte order.

    Raises:
        DataError: bad magic number, unknown type code, zero dimensions, or a
            payload whose size does not match the header.
    """
    if len(data) < 4:
        raise DataError(f"{source}: too short for an IDX file ({len(data)} bytes)")
    zero, code, ndim = int.from_bytes(data[0:2], "big"), data[2], data[3]
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise DataError(f"{source}: bad IDX magic number 0x{data[:4].hex()} (expected "
                        f"0x0000TTDD with type code TT in "
                        f"{[hex(c) for c in IDX_DTYPES]} and DD >= 1 dimensions)")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(f"{source}: truncated IDX header ({len(data)} bytes, "
                        f"{ndim} dimensions need {header_size})")
    shape = tuple(np.frombuffer(data, dtype=">u4", count=ndim, offset=4).tolist())
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(data) - header_size
    if payload != expected:
        raise DataError(f"{source}: IDX payload is {payload} bytes but the header "
                        f"says shape {shape} of {dtype.name} = {expected} bytes "
                        f"(the file is truncated or not an IDX file)")
    values = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    # astype copies into a writeable array in the machine's byte order
    return values.astype(dtype.newbyteorder("="))


def read_idx(path):
    """Read an IDX file, gzip-compressed or raw.

    Args:
        path: a ``str`` or ``Path``.

    Returns:
        ``np.ndarray`` with the shape and dtype the header declares, e.g.
        ``(60000, 28, 28) uint8`` for MNIST training images.

    Raises:
        DataError: missing file, corrupt gzip, or malformed IDX (see parse_idx).
    """
    return parse_idx(_read_bytes(path), source=str(path))


def write_idx(path, array, compress=None):
    """Write an array as an IDX file (gzip if ``compress`` or the name ends in .gz).

    Used by the tests to build small, deliberately broken files.

    Args:
        path: destination.
        array: any shape with 1 to 255 dimensions; its dtype must be one of
            uint8, int8, int16, int32, float32, float64.
    """
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    if array.dtype not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of "
                         f"{[dt.name for dt in codes]}")
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress is None:
        compress = str(path).endswith(".gz")
    with open(path, "wb") as f:
        f.write(gzip.compress(data) if compress else data)
