"""Freed memory stays with the process: glibc's allocator told not to hand big arrays back at once.

A training step makes the same arrays every time: activations, gradients, im2col columns, a few
hundred KB to a few MB each. glibc's ``malloc`` serves blocks over its mmap threshold with fresh
pages from the kernel and returns them on ``free``; the next step's array of the same size gets
fresh pages again, and each 4 KB page costs a page fault when it is first written (zeroed by the
kernel). Measured on LeNet's step at one thread (``benchmarks/profile_step.py lenet``): about 2,500
faults per step, a sixth of its CPU time. Two settings make glibc keep freed blocks for reuse:

* ``M_MMAP_THRESHOLD`` 32 MB: blocks up to 32 MB come from the heap, not from fresh mappings;
* ``M_TRIM_THRESHOLD`` 128 MB: up to 128 MB of free heap is kept rather than given back.

The price is memory: a kernel may hold up to about 128 MB more than it uses at a given moment.
``import dllab`` applies them on Linux with glibc, unless ``DLLAB_KEEP_FREED_MEMORY=0``; elsewhere
(macOS, Windows, musl) nothing changes. ``dllab doctor`` says what was done.
"""

from __future__ import annotations

import ctypes
import os
import sys

ENV_VARIABLE = "DLLAB_KEEP_FREED_MEMORY"
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20

_state = {"applied": False, "reason": "not applied yet"}


def keep_freed_memory(environ=None, libc=None) -> bool:
    """Apply the two settings above (``import dllab`` does, once); True when glibc took them. Records
    why or why not for :func:`info`."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VARIABLE, "").strip().lower() in ("0", "no", "false", "off"):
        _state.update(applied=False, reason=f"{ENV_VARIABLE}={environ[ENV_VARIABLE]}: glibc's defaults kept")
        return False
    if libc is None:
        if not sys.platform.startswith("linux"):
            _state.update(applied=False, reason=f"not Linux ({sys.platform}): the system allocator's defaults")
            return False
        try:
            libc = ctypes.CDLL("libc.so.6")  # glibc's name; mallopt is glibc's (no ldconfig run at import)
        except OSError:
            libc = None
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        _state.update(applied=False, reason="no glibc mallopt (another C library): its defaults kept")
        return False
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    _state.update(applied=ok, reason=(f"glibc keeps freed blocks up to {MMAP_THRESHOLD >> 20} MB and up to "
                                      f"{TRIM_THRESHOLD >> 20} MB of free heap ({ENV_VARIABLE}=0 turns this off)")
                  if ok else "glibc refused mallopt: its defaults kept")
    return ok


def info() -> dict:
    """What :func:`keep_freed_memory` did, for ``dllab doctor``."""
    return dict(_state)
