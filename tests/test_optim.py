"""Optimizers: their formulas, regularisers, schedules and messages (PyTorch as the oracle: test_optim_pytorch.py)."""

import numpy as np
import pytest

import dllab as dl
from dllab import optim


def run_dllab(opt_factory, w0, grads):
    w = dl.Parameter(w0.copy())
    opt = opt_factory([w])
    for g in grads:
        w.grad = g.copy()
        opt.step()
    return w.data


def test_l1_pushes_towards_zero_and_biases_are_not_regularised():
    w = dl.Parameter(np.array([[1.0, -2.0]]))
    b = dl.Parameter(np.array([1.0, -2.0]))
    opt = optim.SGD([w, b], lr=0.1, l1=0.5)
    w.grad, b.grad = np.zeros((1, 2)), np.zeros(2)
    opt.step()
    np.testing.assert_allclose(w.data, [[0.95, -1.95]])
    np.testing.assert_allclose(b.data, [1.0, -2.0])


def test_minimises_a_quadratic():
    target = np.array([3.0, -1.0])
    for make in (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p, lr=0.1),
                 lambda p: optim.RMSProp(p, lr=0.05), lambda p: optim.AdaGrad(p, lr=0.5)):
        w = dl.Parameter(np.zeros(2))
        opt = make([w])
        for _ in range(300):
            loss = ((w - target) ** 2).sum()
            loss.backward()
            opt.step()
            opt.zero_grad()
        np.testing.assert_allclose(w.data, target, atol=0.05)


def test_schedules():
    assert [optim.StepLR(2, 0.5)(e) for e in range(5)] == [1, 1, 0.5, 0.5, 0.25]
    assert optim.ExponentialLR(0.9)(2) == pytest.approx(0.81)
    cos = optim.CosineLR(10, min_factor=0.1)
    assert cos(0) == 1 and cos(10) == pytest.approx(0.1) and cos(5) == pytest.approx(0.55)
    opt = optim.SGD([dl.Parameter(np.zeros(1))], lr=1.0, schedule=optim.StepLR(1, 0.1))
    opt.set_epoch(2)
    assert opt.lr == pytest.approx(0.01)


def test_lazy_module_binding_and_errors(rng):
    model = dl.layers.Dense(2)
    opt = optim.SGD(model, lr=0.1)
    with pytest.raises(RuntimeError, match="no parameters yet.*model\\(x\\[:1\\]\\)"):
        opt.step()
    with pytest.raises(RuntimeError, match="has no parameters: pass the model"):
        optim.Adam(lr=0.1).step()
    with pytest.raises(ValueError, match="learning rate must be positive"):
        optim.SGD(lr=0)
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        optim.get("adamw")
    assert isinstance(optim.get("adam", lr=0.1), optim.Adam)



def adam_by_the_formula(w0, grads, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as its docstring writes it, with both bias corrections spelled out (no folding)."""
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


@pytest.mark.parametrize("scale", [1.0, 1e-9])
def test_adam_follows_its_formula_even_for_gradients_near_eps(scale, rng):
    """Folding both bias corrections into the step size must rescale eps by sqrt(1 - b2^t) too:
    with gradients near eps an unscaled eps changes the steps by a large factor."""
    w0 = rng.standard_normal((3, 4))
    grads = [scale * rng.standard_normal((3, 4)) for _ in range(5)]
    ours = run_dllab(lambda p: optim.Adam(p, lr=0.01), w0, grads)
    np.testing.assert_allclose(ours - w0, adam_by_the_formula(w0, grads, lr=0.01) - w0, rtol=1e-9)


# --- messages that name the argument, what it got and what it expects -------------------------


def test_a_learning_rate_given_as_a_string_is_named():
    with pytest.raises(TypeError, match=r"SGD: lr must be a number, got the str '0.01'; write lr=0.01"):
        optim.SGD(lr="0.01")
    with pytest.raises(TypeError, match=r"SGD: lr must be a number, got the str '0.01'"):
        dl.Trainer(dl.Dense(3), optimizer="sgd", lr="0.01")
    with pytest.raises(TypeError, match=r"SGD: momentum must be a number, got the str 'high'"):
        optim.SGD(lr=0.1, momentum="high")


def test_an_unknown_optimizer_argument_is_named_with_the_close_match_and_the_valid_ones():
    with pytest.raises(TypeError, match=r"SGD got unknown argument momemtum=0.9 \(did you mean momentum\?\); "
                                        r"SGD takes: lr, momentum, nesterov, weight_decay, l1, schedule"):
        optim.SGD(lr=0.1, momemtum=0.9)
    with pytest.raises(TypeError, match=r"betas=\(0.9, 0.99\) \(an argument of Adam, not of SGD\)"):
        optim.SGD(lr=0.1, betas=(0.9, 0.99))
    with pytest.raises(TypeError, match=r"Adam got unknown argument alpha=0.99; Adam takes: lr, betas, eps"):
        optim.Adam(alpha=0.99)


def test_the_learning_rate_can_be_set_as_the_nan_message_suggests():
    opt = optim.SGD(lr=0.1, schedule=optim.StepLR(1, gamma=0.5))
    opt.lr = 0.01
    assert opt.base_lr == 0.01 and opt.lr == 0.01
    opt.set_epoch(1)
    assert opt.lr == pytest.approx(0.005)
    with pytest.raises(ValueError, match="must be positive"):
        opt.lr = 0
