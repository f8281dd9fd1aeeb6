"""Optimizers: their formulas, regularisers, schedules and messages (PyTorch as the oracle: test_optim_pytorch.py)."""

import re

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


# --- defaults, validation and messages, word for word ---------------------------------------------


def test_defaults_and_the_common_arguments_reach_every_optimizer():
    assert (optim.SGD().base_lr, optim.AdaGrad().base_lr, optim.RMSProp().base_lr, optim.Adam().base_lr) == \
        (0.01, 0.01, 1e-3, 1e-3)
    assert optim.AdaGrad().eps == optim.RMSProp().eps == optim.Adam().eps == 1e-8
    assert optim.RMSProp().rho == 0.9 and (optim.Adam().b1, optim.Adam().b2) == (0.9, 0.999)
    assert optim.SGD().momentum == 0.0 and optim.SGD().nesterov is False
    for cls in (optim.SGD, optim.AdaGrad, optim.RMSProp, optim.Adam):
        opt = cls(weight_decay=0.1, l1=0.2, schedule=optim.StepLR(1))
        assert (opt.weight_decay, opt.l1) == (0.1, 0.2) and isinstance(opt.schedule, optim.StepLR), cls
    assert optim.StepLR(2)(2) == pytest.approx(0.1)  # gamma 0.1
    assert optim.CosineLR(4)(4) == 0.0  # down to zero
    assert optim.CosineLR(1)(1) == 0.0 and optim.CosineLR(1)(0) == 1.0


@pytest.mark.parametrize("cls, name", [(optim.SGD, "lr"), (optim.SGD, "momentum"), (optim.SGD, "weight_decay"),
                                       (optim.SGD, "l1"), (optim.AdaGrad, "eps"), (optim.RMSProp, "rho"),
                                       (optim.RMSProp, "eps"), (optim.Adam, "eps")])
def test_each_number_argument_is_named_when_it_is_not_a_number(cls, name):
    with pytest.raises(TypeError) as info:
        cls(**{name: "fast"})
    assert str(info.value) == f"{cls.__name__}: {name} must be a number, got the str 'fast'"
    with pytest.raises(TypeError) as info:
        cls(**{name: [0.1]})
    assert str(info.value) == f"{cls.__name__}: {name} must be a number, got the list [0.1]"
    with pytest.raises(TypeError) as info:
        cls(**{name: True})
    assert str(info.value) == f"{cls.__name__}: {name} must be a number, got the bool True"


def test_adam_betas_are_checked_one_by_one():
    for betas, name in [(("0.9", 0.999), "betas[0]"), ((0.9, "0.999"), "betas[1]")]:
        with pytest.raises(TypeError, match=rf"^Adam: {re.escape(name)} must be a number, got the str"):
            optim.Adam(betas=betas)
    for betas in [(0.9,), (0.9, 0.99, 0.5), 0.9]:
        with pytest.raises(TypeError) as info:
            optim.Adam(betas=betas)
        assert str(info.value) == f"Adam: betas must be a pair (beta1, beta2) such as (0.9, 0.999), got {betas!r}"
    for betas in [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, -0.1), (1.5, 0.999), (0.9, 1.5)]:
        with pytest.raises(ValueError) as info:
            optim.Adam(betas=betas)
        assert str(info.value) == f"Adam: betas must be in [0, 1), got {betas!r}"
    adam = optim.Adam(betas=[0.0, 0.0])  # the ends that are allowed: plain sign-like steps
    assert (adam.b1, adam.b2) == (0.0, 0.0)


def test_bad_values_are_named_with_the_optimizer():
    cases = [(lambda: optim.Adam(lr=0), "Adam: the learning rate must be positive, got lr=0.0"),
             (lambda: optim.RMSProp(lr=-1), "RMSProp: the learning rate must be positive, got lr=-1.0"),
             (lambda: optim.SGD(l1=-1.0), "SGD: weight_decay and l1 must be >= 0, got weight_decay=0.0, l1=-1.0"),
             (lambda: optim.Adam(weight_decay=-1), "Adam: weight_decay and l1 must be >= 0, got weight_decay=-1.0, "
                                                   "l1=0.0"),
             (lambda: optim.SGD(momentum=1.0), "SGD: momentum must be in [0, 1), got 1.0"),
             (lambda: optim.SGD(momentum=1.5), "SGD: momentum must be in [0, 1), got 1.5"),
             (lambda: optim.SGD(momentum=-0.5), "SGD: momentum must be in [0, 1), got -0.5"),
             (lambda: optim.SGD(nesterov=True), "SGD: nesterov=True needs a momentum > 0")]
    for make, message in cases:
        with pytest.raises(ValueError) as info:
            make()
        assert str(info.value) == message
    assert optim.SGD(momentum=0.99, nesterov=True).nesterov


def test_unknown_arguments_are_listed_with_their_owners():
    with pytest.raises(TypeError) as info:
        optim.SGD(eps=1e-8, rho=0.9)
    assert str(info.value) == (
        "SGD got unknown arguments eps=1e-08 (an argument of AdaGrad and RMSProp and Adam, not of SGD), "
        "rho=0.9 (an argument of RMSProp, not of SGD); SGD takes: lr, momentum, nesterov, weight_decay, l1, schedule")
    with pytest.raises(ValueError) as info:
        optim.get("adamw")
    assert str(info.value) == ("unknown optimizer 'adamw': use one of sgd, adagrad, rmsprop, adam "
                               "or pass an optimizer object")
    assert isinstance(optim.get("SGD"), optim.SGD)
    opt = optim.RMSProp()
    assert optim.get(opt) is opt


def test_an_optimizer_without_parameters_says_how_to_give_them():
    with pytest.raises(RuntimeError) as info:
        optim.Adam().step()
    assert str(info.value) == ("Adam has no parameters: pass the model, e.g. Adam(model, lr=...), "
                               "or give it to a Trainer")
    with pytest.raises(RuntimeError) as info:
        optim.RMSProp(dl.Dense(2)).step()
    assert str(info.value) == ("RMSProp: the model has no parameters yet. Layers create their weights on the first "
                               "call: run the model once on a batch (model(x[:1])) before the first step")


def test_repr_lists_the_hyperparameters_that_are_set():
    assert repr(optim.SGD(lr=0.1)) == "SGD(lr=0.1)"
    assert repr(optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, l1=0.001)) == \
        "SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, l1=0.001)"
    assert repr(optim.SGD(lr=0.1, momentum=0.5)) == "SGD(lr=0.1, momentum=0.5)"
    assert repr(optim.Adam(lr=0.5, l1=0.2)) == "Adam(lr=0.5, l1=0.2)"
    assert repr(optim.StepLR(3, 0.5)) == "StepLR(step_size=3, gamma=0.5)"
    assert repr(optim.ExponentialLR(0.9)) == "ExponentialLR(gamma=0.9)"
    assert repr(optim.CosineLR(10, 0.1)) == "CosineLR(epochs=10, min_factor=0.1)"


def test_plain_sgd_keeps_no_state_and_l1_leaves_a_zero_weight_at_zero():
    w = dl.Parameter(np.array([[1.0, -2.0, 0.0]]))
    opt = optim.SGD([w], lr=0.1, l1=0.5)
    w.grad = np.zeros((1, 3))
    with np.errstate(all="raise"):
        opt.step()
    np.testing.assert_allclose(w.data, [[0.95, -1.95, 0.0]])  # the subgradient of |w| at 0 is taken as 0
    assert opt.state == [{}]


def test_reset_state_starts_adam_afresh():
    w0 = np.array([1.0, -1.0])
    w = dl.Parameter(w0.copy())
    opt = optim.Adam([w], lr=0.1)
    for g in ([0.5, -2.0], [3.0, 1.0]):
        w.grad = np.array(g)
        opt.step()
    opt.reset_state()
    assert opt.steps == 0 and all(not s["m"].any() and not s["v"].any() for s in opt.state)
    before = w.data.copy()
    w.grad = np.array([0.3, -0.7])
    opt.step()
    np.testing.assert_allclose(w.data - before, adam_by_the_formula(before, [w.grad], lr=0.1) - before)


def test_the_state_of_an_optimizer_for_part_of_a_model_survives_a_second_trainer():
    head = dl.Dense(3, in_features=4)
    model = dl.Dense(4, in_features=2) >> head
    opt = optim.SGD(head, lr=0.1, momentum=0.9)
    x = np.ones((5, 2), np.float32)
    dl.Trainer(model, optimizer=opt).fit((x, np.zeros(5, np.int64)), epochs=1, verbose=False)
    state = opt.state
    assert any(s["v"].any() for s in state)
    dl.Trainer(model, optimizer=opt)  # binds the same model again: the same parameters, the momentum kept
    assert opt.params == head.parameters() and opt.state is state


def test_an_optimizer_moved_to_a_new_model_starts_its_count_and_schedule_afresh():
    x = np.random.default_rng(0).standard_normal((40, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    opt = optim.SGD(lr=0.1, schedule=optim.StepLR(1, 0.5))
    dl.Trainer(dl.Dense(2), optimizer=opt).fit((x, y), epochs=3, batch_size=10, verbose=False)
    assert opt.steps == 12
    message = ("SGD was made for other parameters than this Trainer's model's (a model cell re-run without "
               "re-running the optimizer's?); it now updates this model, with its state (momentum, averages) and "
               "schedule started afresh")
    with pytest.warns(UserWarning, match=re.escape(message)):
        h = dl.Trainer(dl.Dense(2), optimizer=opt).fit((x, y), epochs=2, batch_size=10, verbose=False)
    assert opt.steps == 8 and h["lr"] == [0.1, 0.05]


class FakeGPU:
    """Stands in for CuPy: its arrays are another type, so state can be seen to move between them."""

    class ndarray:
        def __init__(self, a):
            self.host = np.asarray(a)
            self.shape = self.host.shape

    @staticmethod
    def asarray(a):
        return FakeGPU.ndarray(a)


def test_optimizer_state_follows_its_parameter_between_devices(monkeypatch):
    from dllab.optim.optimizers import _follow_device

    monkeypatch.setattr(dl.backend, "array_module", lambda a: FakeGPU if isinstance(a, FakeGPU.ndarray) else np)
    monkeypatch.setattr(dl.backend, "to_numpy", lambda a: a.host if isinstance(a, FakeGPU.ndarray) else a)
    state = {"v": np.array([1.0, 2.0]), "count": 3}
    _follow_device(state, FakeGPU.ndarray(np.zeros(2)))  # the parameter moved to the GPU
    assert isinstance(state["v"], FakeGPU.ndarray) and np.array_equal(state["v"].host, [1.0, 2.0])
    assert type(state["count"]) is int and state["count"] == 3
    on_gpu = state["v"]
    _follow_device(state, FakeGPU.ndarray(np.zeros(2)))  # already there: left as it is
    assert state["v"] is on_gpu
    _follow_device(state, np.zeros(2))  # and back
    assert type(state["v"]) is np.ndarray and np.array_equal(state["v"], [1.0, 2.0])
    on_cpu = state["v"]
    _follow_device(state, np.zeros(2))
    assert state["v"] is on_cpu and state["count"] == 3


def test_a_step_schedule_of_zero_epochs_is_named_where_it_is_made():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError) as info:
            optim.StepLR(bad)
        assert str(info.value) == (f"StepLR: step_size must be a positive integer (epochs between two drops of the "
                                   f"learning rate), got {bad!r}; e.g. StepLR(step_size=10, gamma=0.1)")
    opt = optim.SGD([dl.Parameter(np.zeros(1))], lr=1.0, schedule=optim.StepLR(np.int64(3), 0.5))
    opt.set_epoch(3)
    assert opt.lr == 0.5 and opt.schedule.step_size == 3


def test_exponential_and_step_decay_factors_of_zero_or_below_are_refused_naming_gamma():
    # ExponentialLR(-0.5) made the learning rate negative every other epoch, silently
    for make in (optim.ExponentialLR, lambda g: optim.StepLR(5, gamma=g)):
        for bad, why in ((-0.5, "would turn negative"), (0, "would be 0"), (float("nan"), "not be a finite")):
            with pytest.raises(ValueError, match=r"gamma, the factor on the learning rate, must be > 0") as info:
                make(bad)
            assert f"got gamma={bad!r}" in str(info.value) and why in str(info.value)
    with pytest.raises(ValueError, match=re.escape("e.g. ExponentialLR(gamma=0.95)")):
        optim.ExponentialLR(-0.5)
    with pytest.raises(TypeError, match=r"ExponentialLR: gamma must be a number, got the str '0\.9'"):
        optim.ExponentialLR("0.9")
    with pytest.warns(UserWarning, match=r"ExponentialLR: gamma=1\.5 is above 1, so the learning rate grows"):
        assert optim.ExponentialLR(1.5)(2) == pytest.approx(2.25)  # a warm-up is still possible
    assert optim.ExponentialLR(np.float32(0.5))(1) == 0.5 and optim.ExponentialLR(1)(7) == 1


def test_cosine_schedule_arguments_are_checked_where_it_is_made():
    # CosineLR(0) and CosineLR(-3) were accepted; CosineLR(2.5) ran as CosineLR(2)
    for bad in (0, -3, 2.5, True, "20"):
        with pytest.raises(ValueError) as info:
            optim.CosineLR(bad)
        assert str(info.value) == (f"CosineLR: epochs must be a positive whole number of epochs, got {bad!r}; "
                                   "e.g. CosineLR(epochs=20) (the length of the decay)")
    for bad in (-1, 2, 1.5):
        with pytest.raises(ValueError, match=rf"CosineLR: min_factor, the final learning rate as a fraction of lr, "
                                             rf"must be in \[0, 1\], got min_factor={bad!r}"):
            optim.CosineLR(10, min_factor=bad)
    with pytest.raises(TypeError, match="CosineLR: min_factor must be a number, got the NoneType None"):
        optim.CosineLR(10, min_factor=None)
    assert optim.CosineLR(np.int64(4), min_factor=1)(2) == 1.0 and optim.CosineLR(4, 0)(4) == 0.0


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam])
def test_a_schedule_that_is_not_a_function_is_named_when_the_optimizer_is_made(cls):
    # schedule=0.5 used to be accepted, and failed as "'float' object is not callable" at the first step
    with pytest.raises(TypeError, match=rf"{cls.__name__}: schedule must be a function of the epoch that returns "
                                        r"the factor on lr, .*got the float 0\.5; for a constant learning rate "
                                        r"leave schedule out and set lr, for a decay by 0\.5 per epoch write "
                                        r"schedule=ExponentialLR\(0\.5\)"):
        cls(lr=0.1, schedule=0.5)
    with pytest.raises(TypeError, match=r"schedule must be a function .* got the str 'cosine'$"):
        cls(lr=0.1, schedule="cosine")
    assert cls(lr=0.1, schedule=lambda epoch: 0.5).lr == 0.05
