"""PyTorch (float64) as the oracle for values and gradients of the ops (skipped without PyTorch).

The checks that need no PyTorch (central differences, known values, errors) are in test_ops.py,
so that they run where PyTorch is not installed.
"""

import numpy as np
import pytest

import dllab as dl
import dllab.functional as F

torch = pytest.importorskip("torch")


def r(rng, *shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "cross_entropy", "bce_logits", "mlp"])
def test_against_pytorch(name, rng):
    """PyTorch (float64) is the oracle for values and gradients."""
    a = r(rng, 6, 5)
    w = r(rng, 5, 5)
    labels = rng.integers(0, 5, 6)
    ta = torch.tensor(a, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True)
    da = dl.Tensor(a, requires_grad=True)
    dw = dl.Tensor(w, requires_grad=True)
    if name == "softmax":
        t, d = torch.softmax(ta, 1)[:, 1].sum(), F.softmax(da)[:, 1].sum()
    elif name == "log_softmax":
        t, d = (torch.log_softmax(ta, 1) * ta).sum(), (F.log_softmax(da) * da).sum()
    elif name == "cross_entropy":
        t = torch.nn.functional.cross_entropy(ta, torch.tensor(labels))
        d = F.cross_entropy(da, labels)
    elif name == "bce_logits":
        y = (a > 0).astype(float)
        t = torch.nn.functional.binary_cross_entropy_with_logits(ta, torch.tensor(y))
        d = F.binary_cross_entropy_with_logits(da, y)
    else:
        t = torch.nn.functional.cross_entropy(torch.relu(ta @ tw).tanh() @ tw, torch.tensor(labels))
        d = F.cross_entropy((da @ dw).relu().tanh() @ dw, labels)
    t.backward()
    d.backward()
    np.testing.assert_allclose(d.item(), t.item(), rtol=1e-10)
    np.testing.assert_allclose(da.grad, ta.grad.numpy(), rtol=1e-8, atol=1e-12)
    if name == "mlp":
        np.testing.assert_allclose(dw.grad, tw.grad.numpy(), rtol=1e-8, atol=1e-12)
