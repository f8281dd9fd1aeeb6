"""CUDA kernels for the GPU path, compiled by CuPy on first use.

Each ``<op>.cu`` file holds the kernels of one op family and ``<op>.py`` beside it their
wrappers: small functions that take and return CuPy arrays (activations, softmax_xent, pool,
im2col, lstm; lstm.py also holds the LSTM's loops over the steps). ``compile.py`` compiles the
sources lazily and launches the kernels. The functional ops call the wrappers, imported from
here, when their inputs live on the GPU and use their own NumPy code otherwise: that NumPy code
is each kernel's twin, and ``tests/library/test_kernels.py`` checks one against the other.

Matrix products are not here: they go to cuBLAS through ``cupy.matmul``.
"""

from .activations import activation_backward, activation_forward, dropout_forward
from .compile import C_TYPES, KERNELS, THREADS, kernel, source_code
from .im2col import col2im_chwn, im2col_chwn
from .lstm import lstm_backward_loop, lstm_forward_loop, lstm_step_backward, lstm_step_forward
from .pool import max_pool_backward, max_pool_forward
from .softmax_xent import softmax_xent_backward, softmax_xent_forward


def self_test() -> list[tuple[str, bool, str]]:
    """Run every kernel once on small random inputs against NumPy; (name, ok, detail) per kernel."""
    from . import selftest  # noqa: PLC0415 - GPU only

    return selftest.run()


__all__ = [
    "C_TYPES", "KERNELS", "THREADS", "activation_backward", "activation_forward", "col2im_chwn", "dropout_forward",
    "im2col_chwn", "kernel", "lstm_backward_loop", "lstm_forward_loop", "lstm_step_backward", "lstm_step_forward",
    "max_pool_backward", "max_pool_forward", "self_test", "softmax_xent_backward", "softmax_xent_forward",
    "source_code",
]
