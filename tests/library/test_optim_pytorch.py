"""Optimizers match PyTorch's update rules step for step (skipped without PyTorch).

The checks that need no PyTorch (Adam against its own formula, L1, schedules, errors) are in
test_optim.py, so that they run where PyTorch is not installed.
"""

import numpy as np
import pytest
from test_optim import run_dllab

from dllab import optim

torch = pytest.importorskip("torch")


def run_torch(opt_factory, w0, grads):
    w = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt = opt_factory([w])
    for g in grads:
        w.grad = torch.tensor(g.copy())
        opt.step()
    return w.detach().numpy()


CASES = {
    "sgd": (lambda p: optim.SGD(p, lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "momentum": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "nesterov": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "weight_decay": (lambda p: optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.01),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5, weight_decay=0.01)),
    "adagrad": (lambda p: optim.AdaGrad(p, lr=0.1, eps=1e-10),
                lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10)),
    "rmsprop": (lambda p: optim.RMSProp(p, lr=0.01, rho=0.9, eps=1e-8),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    "adam": (lambda p: optim.Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "adam_wd": (lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
                lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name, rng):
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(6)]
    ours, theirs = CASES[name]
    np.testing.assert_allclose(run_dllab(ours, w0, grads), run_torch(theirs, w0, grads), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "adagrad"])
def test_matches_pytorch_for_gradients_near_eps(name, rng):
    """Where eps is as large as the gradients, a misplaced eps changes the step by about 2x."""
    w0 = rng.standard_normal((3, 4))
    grads = [1e-9 * rng.standard_normal((3, 4)) for _ in range(6)]
    ours, theirs = CASES[name]
    np.testing.assert_allclose(run_dllab(ours, w0, grads) - w0, run_torch(theirs, w0, grads) - w0, rtol=1e-6)
