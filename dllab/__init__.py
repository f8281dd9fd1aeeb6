"""dllab: a from-scratch deep-learning teaching library (NumPy on the CPU, CuPy on the GPU).

    import dllab as dl
    train, test = dl.data.mnist()
    model = dl.Flatten() >> dl.Dense(400, activation=dl.relu) >> dl.Dense(10)
    trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=dl.optim.SGD(lr=0.1, momentum=0.9))
    trainer.fit(train, epochs=5, batch_size=128, validation=test)
"""

from . import backend, data, functional, layers, memory, metrics, models, optim, threads
from .autograd import Function, Parameter, Tensor, as_tensor, is_grad_enabled, no_grad
from .backend import get_device, seed, set_device
from .functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    dropout,
    identity,
    leaky_relu,
    log_softmax,
    mse,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .gradcheck import gradcheck
from .layers import (
    GRU,
    LSTM,
    RNN,
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    MaxPool2D,
    Module,
    Sequential,
    ShapeError,
)
from .models import lenet
from .threads import set_num_threads
from .train import Callback, EarlyStopping, History, NonFiniteLossError, Trainer

memory.keep_freed_memory()  # a step's arrays reuse freed memory (dllab/memory.py; DLLAB_KEEP_FREED_MEMORY=0 off)
threads.apply()  # BLAS threads from the CPUs really available (dllab/threads.py; DLLAB_NUM_THREADS overrides)

__version__ = "0.1.0"


def __getattr__(name):
    # matplotlib and ipywidgets load only when figures or widgets are first asked for
    if name in ("viz", "widgets"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dllab' has no attribute {name!r}")
