"""Compiling the ``.cu`` files and launching their kernels: what every wrapper module here shares.

Each source is compiled on its first use (CuPy caches the binaries on disk, so only the very
first use on a machine pays for NVRTC), with every kernel template instantiated for float and
double. ``kernel(name, dtype)`` looks a compiled kernel up once; ``_launch`` runs it with one
thread per element (grid-stride loops, ``FOR_EACH`` in common.cuh, cover the rest).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np

from .. import backend

HERE = Path(__file__).resolve().parent

# source file -> kernel templates it defines (each instantiated for float and double)
KERNELS = {
    "activations": ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward",
                    "tanh_forward", "tanh_backward", "dropout_forward"],
    "softmax_xent": ["softmax_xent_forward", "softmax_xent_backward"],
    "pool": ["max_pool_forward", "max_pool_backward"],
    "im2col": ["im2col_chwn", "col2im_chwn"],
    "lstm": ["lstm_step_forward", "lstm_step_backward"],
}
C_TYPES = {"float32": "float", "float64": "double"}
_SOURCE_OF = {name: src for src, names in KERNELS.items() for name in names}
THREADS = 256


def source_code(source: str) -> str:
    """The full CUDA source of one file, with the shared header inlined."""
    common = (HERE / "common.cuh").read_text()
    return (HERE / f"{source}.cu").read_text().replace('#include "common.cuh"', common)


@functools.cache
def _module(source: str):
    cp = _cupy()
    names = [f"{k}<{t}>" for k in KERNELS[source] for t in C_TYPES.values()]
    return cp.RawModule(code=source_code(source), options=("-std=c++14",), name_expressions=names)


def _cupy():
    if not backend.gpu_available():
        raise backend.DeviceError(f"the GPU kernels need CuPy and a GPU: {backend.gpu_unavailable_reason()}")
    import cupy  # noqa: PLC0415 - only reached when CuPy works

    return cupy


_FUNCTIONS: dict = {}  # (name, dtype) -> compiled function: looked up once, not at every launch


def kernel(name: str, dtype):
    """The compiled kernel ``name`` for ``dtype`` (float32 or float64)."""
    dtype = np.dtype(dtype)
    found = _FUNCTIONS.get((name, dtype.name))
    if found is None:
        if dtype.name not in C_TYPES:
            raise TypeError(f"GPU kernel {name}: float32 or float64 arrays expected, got {dtype}")
        found = _FUNCTIONS[name, dtype.name] = _module(_SOURCE_OF[name]).get_function(
            f"{name}<{C_TYPES[dtype.name]}>")
    return found


def _launch(name, dtype, n, args, shared_mem=0, blocks=None):
    if blocks is None:
        blocks = max(1, min(math.ceil(n / THREADS), 65535 * 4))
    kernel(name, dtype)((blocks,), (THREADS,), args, shared_mem=shared_mem)


def _c(x):
    return _cupy().ascontiguousarray(x)


def _i32(*values):
    return tuple(np.int32(v) for v in values)
