"""The one place that chooses NumPy or CuPy.

``DLLAB_DEVICE`` (or :func:`set_device`) picks the array module:

* ``cpu``  - NumPy, always available.
* ``gpu``  - CuPy on an NVIDIA GPU; a clear error if CuPy or a usable GPU is missing.
* ``auto`` - the default: the GPU if CuPy sees one, otherwise NumPy.

Everything else in dllab asks this module for the array module (``xp()`` for new
arrays, ``array_module(a)`` for the module an existing array lives in) and never
imports CuPy itself.
"""

from __future__ import annotations

import os

import numpy as np

_VALID = ("cpu", "gpu", "auto")
_device: str | None = None  # resolved device: "cpu" or "gpu"
_cupy = None  # the cupy module once it is known to work
_gpu_error: str | None = None  # why the GPU is not usable, for messages
_default_dtype = np.float32
_rng = np.random.default_rng(0)
_seed: int | None = None  # the last dl.seed(), applied to CuPy when it is first probed

GPU_INSTALL_HINT = (
    'install the GPU extra with  pip install "dllab[gpu]"  (CuPy for CUDA 12; see docs/gpu.md '
    "for other CUDA versions) on a machine with an NVIDIA GPU and driver, "
    "or use DLLAB_DEVICE=cpu"
)


class DeviceError(RuntimeError):
    """The requested device cannot be used."""


def _probe_cupy():
    """Return the cupy module if CuPy imports and sees a GPU, else None (reason kept)."""
    global _cupy, _gpu_error
    if _cupy is not None:
        return _cupy
    try:
        import cupy  # noqa: PLC0415 - optional dependency, imported only here
    except ImportError as exc:
        _gpu_error = f"CuPy is not installed ({exc})"
        return None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
        if count < 1:
            _gpu_error = "CuPy is installed but sees no CUDA GPU"
            return None
        cupy.zeros(1)  # an allocation proves the driver works, not just the count
    except Exception as exc:  # CUDARuntimeError without a driver, among others
        _gpu_error = f"CuPy is installed but cannot use a GPU ({type(exc).__name__}: {exc})"
        return None
    _cupy = cupy
    if _seed is not None:  # dl.seed() ran before the GPU was first asked for: seed it now
        cupy.random.seed(_seed)
    return cupy


def gpu_available() -> bool:
    """True if CuPy is installed and a CUDA GPU can be used."""
    return _probe_cupy() is not None


def gpu_unavailable_reason() -> str | None:
    """Why the GPU cannot be used, or None if it can."""
    return None if gpu_available() else _gpu_error


def set_device(name: str) -> str:
    """Select ``"cpu"``, ``"gpu"`` or ``"auto"``; returns the resolved device."""
    global _device
    name = str(name).strip().lower()
    if name not in _VALID:
        raise DeviceError(f"unknown device {name!r}: use one of {', '.join(_VALID)}")
    if name == "gpu" and not gpu_available():
        raise DeviceError(f"device 'gpu' was requested, but {_gpu_error}; {GPU_INSTALL_HINT}")
    if name == "auto":
        name = "gpu" if gpu_available() else "cpu"
    _device = name
    return name


def get_device() -> str:
    """The current device, ``"cpu"`` or ``"gpu"`` (resolved from DLLAB_DEVICE on first use)."""
    if _device is None:
        set_device(os.environ.get("DLLAB_DEVICE", "auto") or "auto")
    return _device


def xp():
    """The array module of the current device: ``numpy`` or ``cupy``."""
    return _cupy if get_device() == "gpu" else np


def array_module(a):
    """The module an existing array belongs to (numpy for anything that is not a CuPy array)."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy
    return np


def is_gpu_array(a) -> bool:
    return _cupy is not None and isinstance(a, _cupy.ndarray)


def to_device(a, dtype=None):
    """Move an array (NumPy, CuPy or list) to the current device."""
    mod = xp()
    if mod is np:
        if is_gpu_array(a):
            a = a.get()
        return np.asarray(a, dtype=dtype)
    return mod.asarray(a, dtype=dtype)


def to_numpy(a) -> np.ndarray:
    """A NumPy copy/view of an array that may live on the GPU."""
    if is_gpu_array(a):
        return a.get()
    return np.asarray(a)


def default_dtype():
    return _default_dtype


def seed(n: int) -> None:
    """Seed dllab's random generator (weight init, dropout masks)."""
    global _rng, _seed
    _rng = np.random.default_rng(n)
    _seed = n
    if _cupy is not None:
        _cupy.random.seed(n)


def rng() -> np.random.Generator:
    """dllab's NumPy random generator (weights are drawn here, then moved to the device)."""
    return _rng


def gpu_description() -> str:
    """Name, memory, CUDA and CuPy versions of the GPU in use (empty when there is none)."""
    cp = _probe_cupy()
    if cp is None:
        return ""
    dev = cp.cuda.Device()
    props = cp.cuda.runtime.getDeviceProperties(dev.id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    free, total = cp.cuda.runtime.memGetInfo()
    runtime = cp.cuda.runtime.runtimeGetVersion()
    return (
        f"{name}, {total / 2**30:.1f} GiB ({free / 2**30:.1f} GiB free), CUDA runtime "
        f"{runtime // 1000}.{runtime % 1000 // 10}, CuPy {cp.__version__}"
    )
