"""Reference implementations: each op written line by line from its formula, for reading.

The ops that training runs (``dllab.functional.conv2d``, ``lstm``, ``batch_norm``,
``max_pool2d``) are the fast twins of these, under the same names: they compute the same
values in another order (im2col in (C, H, W, N) memory, transposed states and reused
buffers, masks instead of an argmax, closed-form gradients, CUDA kernels). Each fast twin is
tested against its reference, values and gradients on random shapes in float64
(``tests/library/test_reference.py``), as the CUDA kernels are tested against NumPy. A reference
takes and returns the same things as its twin, so either can be used in a model::

    >>> import numpy as np
    >>> import dllab.functional as F
    >>> from dllab import Tensor
    >>> from dllab.functional import reference
    >>> x, w = Tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 6))), Tensor(np.ones((4, 3, 3, 3)))
    >>> np.allclose(reference.conv2d(x, w, padding=1).data, F.conv2d(x, w, padding=1).data)
    True

One module per family, beside its fast twin's module in ``dllab.functional``:

=================  =====================================================  ==========================
reference          how it is written                                      fast twin
=================  =====================================================  ==========================
conv.conv2d        a loop over output positions, one sum per position     functional/conv.py
pool.max_pool2d    every window on a last axis, argmax, scatter           functional/pool.py
recurrent.lstm     lstm_step_forward / lstm_step_backward, (N, H) states  functional/recurrent/
batchnorm          forward in small steps, the chain rule through each    functional/batchnorm.py
=================  =====================================================  ==========================

The other families (activations, losses, dropout, linear, average pooling) are written
from their formula in ``dllab.functional`` itself and have no separate reference.
"""

from .batchnorm import BatchNormReference, batch_norm
from .conv import Conv2dReference, conv2d
from .pool import MaxPool2dReference, max_pool2d, windows
from .recurrent import LSTMReference, lstm, lstm_step_backward, lstm_step_forward

__all__ = [
    "BatchNormReference", "Conv2dReference", "LSTMReference", "MaxPool2dReference",
    "batch_norm", "conv2d", "lstm", "lstm_step_backward", "lstm_step_forward", "max_pool2d", "windows",
]
