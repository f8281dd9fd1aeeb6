"""GPU kernels against their NumPy twins, and whole models on GPU vs CPU.

Skipped, with the reason, where CuPy or a usable GPU is missing (CI has none).
"""

import numpy as np
import pytest

import dllab as dl
from dllab import backend
from dllab.kernels import selftest

pytestmark = pytest.mark.gpu
if not backend.gpu_available():
    pytest.skip(f"no usable GPU: {backend.gpu_unavailable_reason()}", allow_module_level=True)

import cupy as cp  # noqa: E402

DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True)
def _cpu_default():
    backend.set_device("cpu")
    yield
    backend.set_device("cpu")


def tol(dtype):
    return selftest.TOL[dtype]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shape", [(1,), (3, 7), (1, 1, 5, 5), (257, 33)])
def test_activations(kind, shape, dtype, rng):
    assert selftest.check_activation(cp, rng, kind, shape, dtype) <= tol(dtype)


@pytest.mark.parametrize("shape", [(1, 1), (64, 33), (7, 3, 5, 5)])
def test_dropout(shape, rng):
    assert selftest.check_dropout(cp, rng, shape) <= tol(np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,classes", [(1, 2), (5, 10), (64, 10), (3, 1000), (17, 129)])
def test_softmax_xent(n, classes, dtype, rng):
    assert selftest.check_softmax_xent(cp, rng, n, classes, dtype) <= tol(dtype)


POOL_CASES = [
    ((1, 1, 4, 4), (2, 2), (2, 2), (0, 0)),
    ((2, 3, 7, 6), (3, 2), (2, 2), (1, 0)),
    ((3, 2, 9, 9), (3, 3), (1, 1), (1, 1)),  # overlapping windows
    ((5, 4, 24, 24), (2, 2), (2, 2), (0, 0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kernel,stride,padding", POOL_CASES)
def test_max_pool(shape, kernel, stride, padding, dtype, rng):
    assert selftest.check_max_pool(cp, rng, shape, kernel, stride, padding, dtype) <= tol(dtype)


IM2COL_CASES = [
    ((1, 1, 4, 4), (3, 3), (1, 1), (0, 0), (1, 1)),
    ((3, 2, 7, 5), (3, 2), (2, 1), (1, 1), (1, 2)),
    ((2, 3, 28, 28), (5, 5), (1, 1), (0, 0), (1, 1)),
    ((5, 1, 10, 9), (1, 3), (3, 2), (0, 1), (1, 1)),  # output 4 x 5
    ((5, 1, 9, 8), (1, 3), (3, 2), (0, 1), (1, 1)),  # floored: (9-1)/3+1 = 3.67 -> 3 rows, (8+2-3)/2+1 = 4.5 -> 4
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation", IM2COL_CASES)
def test_im2col_col2im(shape, kernel, stride, padding, dilation, dtype, rng):
    assert selftest.check_im2col(cp, rng, shape, kernel, stride, padding, dilation, dtype) <= tol(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("H,N,masked", [(1, 1, False), (5, 3, True), (15, 64, False), (32, 7, True)])
def test_lstm_step(H, N, masked, dtype, rng):
    assert selftest.check_lstm_step(cp, rng, H, N, masked, dtype) <= tol(dtype)


def test_self_test_passes():
    results = dl.kernels.self_test()
    assert all(ok for _, ok, _ in results), results


# --- whole models: one training step on CPU and GPU from the same weights --------------------


def one_step(device, build, x, y, loss_fn, state=None):
    backend.set_device(device)
    dl.seed(0)
    model = build()
    model(dl.Tensor(backend.to_device(x[:1])))  # build lazily-sized layers
    if state is not None:
        model.load_state_dict(state)
    model.eval()  # no dropout: both devices see the same function
    loss = loss_fn(model(dl.Tensor(backend.to_device(x))), backend.to_device(y))
    loss.backward()
    grads = {n: backend.to_numpy(p.grad) for n, p in model.named_parameters()}
    return float(loss.data), grads, model.state_dict()


@pytest.mark.parametrize("build", [dl.lenet, lambda: dl.lenet(filters=(75, 100), relu_after_pool1=True)])
def test_lenet_step_matches_cpu(build, rng):
    x = rng.random((16, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    loss_c, grads_c, state = one_step("cpu", build, x, y, dl.cross_entropy)
    loss_g, grads_g, _ = one_step("gpu", build, x, y, dl.cross_entropy, state)
    assert loss_g == pytest.approx(loss_c, rel=1e-5)
    for name in grads_c:
        np.testing.assert_allclose(grads_g[name], grads_c[name], rtol=2e-3, atol=2e-5, err_msg=name)


def test_lstm_step_matches_cpu(rng):
    from dllab.layers.recurrent import LSTM

    def build():
        return LSTM(16) >> dl.Dense(1)

    x = rng.standard_normal((8, 14, 2)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32)
    loss_c, grads_c, state = one_step("cpu", build, x, y, dl.mse)
    loss_g, grads_g, _ = one_step("gpu", build, x, y, dl.mse, state)
    assert loss_g == pytest.approx(loss_c, rel=1e-5)
    for name in grads_c:
        np.testing.assert_allclose(grads_g[name], grads_c[name], rtol=2e-3, atol=2e-5, err_msg=name)


def test_trainer_runs_on_gpu():
    backend.set_device("gpu")
    train, test = dl.data.mnist(subset=1000)
    model = dl.lenet()
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.02, momentum=0.9))
    history = trainer.fit(train, epochs=2, batch_size=64, validation=test[:500], verbose=False)
    assert history["val_accuracy"][-1] > 0.7
    assert isinstance(model.parameters()[0].data, cp.ndarray)


def test_a_model_trained_on_the_cpu_continues_on_the_gpu_and_back(rng):
    """set_device("gpu") between two fit() calls: weights and momentum follow; then back to the CPU."""
    x = rng.random((64, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    backend.set_device("cpu")
    model = dl.lenet()
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.01, momentum=0.9))
    trainer.fit((x, y), epochs=1, batch_size=16, verbose=False)
    backend.set_device("gpu")
    trainer.fit((x, y), epochs=1, batch_size=16, verbose=False)
    assert isinstance(model.parameters()[0].data, cp.ndarray)
    assert all(isinstance(s["v"], cp.ndarray) for s in trainer.optimizer.state)
    assert np.isfinite(trainer.evaluate((x, y))["loss"])
    state = model.state_dict()  # NumPy copies
    backend.set_device("cpu")
    trainer.fit((x, y), epochs=1, batch_size=16, verbose=False)
    assert isinstance(model.parameters()[0].data, np.ndarray)
    backend.set_device("gpu")
    model.load_state_dict(state)  # the model is on the CPU: the weights go there, not to the GPU
    assert isinstance(model.parameters()[0].data, np.ndarray)


def test_backward_with_a_host_gradient_on_a_gpu_tensor(rng):
    backend.set_device("gpu")
    w = dl.Tensor(backend.to_device(rng.standard_normal((3, 4)).astype(np.float32)), requires_grad=True)
    out = dl.relu(w)
    out.backward(np.ones((3, 4), np.float32))
    assert isinstance(w.grad, cp.ndarray)
    np.testing.assert_allclose(w.grad.get(), (w.data.get() > 0).astype(np.float32))
