"""Optimizers and learning-rate schedules (``dl.optim.SGD``, ``dl.optim.StepLR``, ...).

optimizers  the Optimizer base class (parameters, learning rate, weight decay, L1, state) and the
            update rules SGD (momentum, Nesterov), AdaGrad, RMSProp and Adam; ``get`` by name
schedules   StepLR, ExponentialLR, CosineLR: the factor on the learning rate for each epoch

    opt = SGD(model, lr=0.1, momentum=0.9, schedule=CosineLR(epochs=20))
    loss.backward(); opt.step(); opt.zero_grad()
"""

from .optimizers import OPTIMIZERS, SGD, AdaGrad, Adam, Optimizer, RMSProp, arguments, get
from .schedules import CosineLR, ExponentialLR, StepLR

__all__ = ["Optimizer", "SGD", "AdaGrad", "RMSProp", "Adam", "StepLR", "ExponentialLR", "CosineLR", "OPTIMIZERS",
           "get", "arguments"]
