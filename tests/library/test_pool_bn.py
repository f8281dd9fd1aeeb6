"""Pooling and batch normalisation: naive loop references, gradient checks, PyTorch, layers."""

import warnings

import numpy as np
import pytest

import dllab as dl
from dllab.autograd import Tensor, no_grad
from dllab.functional.batchnorm import batch_norm
from dllab.functional.pool import avg_pool2d, global_avg_pool, max_pool2d
from dllab.gradcheck import gradcheck
from dllab.layers import Dense, Flatten, ShapeError
from dllab.layers.conv import AvgPool2D, BatchNorm, Conv2D, GlobalAvgPool, MaxPool2D

# --- naive references ------------------------------------------------------------------------


def naive_pool(x, k, s, p, mode):
    """Loops over every output pixel; max pads with -inf, avg with 0 and divides by kH*kW.

    Returns the output and the gradient of sum(out * g) for a given g via a closure.
    """
    kh, kw = k
    sh, sw = s
    N, C, H, W = x.shape
    fill = -np.inf if mode == "max" else 0.0
    xpad = np.full((N, C, H + 2 * p[0], W + 2 * p[1]), fill)
    xpad[:, :, p[0] : p[0] + H, p[1] : p[1] + W] = x
    Ho, Wo = (H + 2 * p[0] - kh) // sh + 1, (W + 2 * p[1] - kw) // sw + 1
    out = np.zeros((N, C, Ho, Wo))
    where = {}
    for n in range(N):
        for c in range(C):
            for y in range(Ho):
                for xx in range(Wo):
                    win = xpad[n, c, y * sh : y * sh + kh, xx * sw : xx * sw + kw]
                    if mode == "max":
                        i, j = np.unravel_index(np.argmax(win), win.shape)  # first maximum
                        out[n, c, y, xx] = win[i, j]
                        where[n, c, y, xx] = (y * sh + i, xx * sw + j)
                    else:
                        out[n, c, y, xx] = win.sum() / (kh * kw)

    def backward(g):
        gpad = np.zeros_like(xpad)
        for n in range(N):
            for c in range(C):
                for y in range(Ho):
                    for xx in range(Wo):
                        if mode == "max":
                            gpad[(n, c) + where[n, c, y, xx]] += g[n, c, y, xx]
                        else:
                            gpad[n, c, y * sh : y * sh + kh, xx * sw : xx * sw + kw] += g[n, c, y, xx] / (kh * kw)
        return gpad[:, :, p[0] : p[0] + H, p[1] : p[1] + W]

    return out, backward


def naive_batch_norm(x, gamma, beta, eps=1e-5):
    """Per channel: loop over channels, normalise all the values of that channel."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        v = x[:, c]
        out[:, c] = gamma[c] * (v - v.mean()) / np.sqrt(v.var() + eps) + beta[c]
    return out


POOL_CASES = [
    # (shape, kernel, stride, padding)
    ((2, 3, 8, 8), (2, 2), None, (0, 0)),  # the common non-overlapping case
    ((1, 1, 6, 9), (2, 3), None, (0, 0)),  # non-square, batch 1
    ((2, 2, 7, 7), (3, 3), (2, 2), (1, 1)),  # overlapping, padded
    ((1, 2, 5, 6), (3, 2), (1, 2), (1, 0)),  # stride 1 rows, mixed
    ((3, 1, 9, 9), (3, 3), (3, 3), (0, 0)),  # 3x3 non-overlapping
    ((1, 2, 9, 5), (3, 3), (4, 2), (1, 0)),  # stride larger than the window: gaps
    ((2, 2, 7, 7), (2, 2), None, (0, 0)),  # windows that do not tile: the last row and column dropped
    ((1, 2, 8, 6), (3, 3), (2, 2), (1, 0)),  # overlapping and not tiling
]


def _call(fn, x, k, s, p):
    return fn(x, kernel_size=k, stride=s, padding=p)


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_matches_naive(case, mode, rng):
    shape, k, s, p = case
    x = rng.standard_normal(shape)
    ref, ref_backward = naive_pool(x, k, s or k, p, mode)
    X = Tensor(x, requires_grad=True)
    out = _call(max_pool2d if mode == "max" else avg_pool2d, X, k, s, p)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    g = rng.standard_normal(ref.shape)
    out.backward(g)
    np.testing.assert_allclose(X.grad, ref_backward(g), atol=1e-12)


@pytest.mark.parametrize("case", POOL_CASES[:4])
@pytest.mark.parametrize("fn", [max_pool2d, avg_pool2d])
def test_pool_gradcheck(case, fn, rng):
    shape, k, s, p = case
    x = rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape) * 0.1  # no ties
    gradcheck(lambda t: _call(fn, t, k, s, p), [x])


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[1, 0], [0, 0]])


def test_global_avg_pool(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    out = global_avg_pool(Tensor(x))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.numpy(), x.mean(axis=(2, 3)))
    gradcheck(global_avg_pool, [x[:, :, :3, :2].copy()])


def test_pool_keeps_float32_and_memory_order(rng):
    x = rng.standard_normal((4, 3, 6, 6)).astype(np.float32)
    chwn = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    for fn in (max_pool2d, avg_pool2d):
        a, b = fn(x, 2).numpy(), fn(chwn, 2).numpy()
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
        assert b.strides[0] < b.strides[1]  # the batch axis stayed innermost


@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_matches_pytorch(case, rng):
    torch = pytest.importorskip("torch")
    shape, k, s, p = case
    x = rng.standard_normal(shape)
    for fn, tfn in ((max_pool2d, torch.nn.functional.max_pool2d), (avg_pool2d, torch.nn.functional.avg_pool2d)):
        X, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, tout = _call(fn, X, k, s, p), tfn(tx, k, s or k, p)
        g = rng.standard_normal(tuple(tout.shape))
        out.backward(g)
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(X.grad, tx.grad.numpy(), atol=1e-12)


def test_pool_windows_that_do_not_tile_are_floored_like_pytorch(rng):
    """MaxPool2D(2) on 7x7 gives 3x3 (row and column 7 dropped, zero gradient), as PyTorch does."""
    assert MaxPool2D(2)(np.zeros((1, 1, 7, 7), np.float32)).shape == (1, 1, 3, 3)
    assert AvgPool2D(3, stride=2)(np.zeros((1, 1, 8, 5), np.float32)).shape == (1, 1, 3, 2)
    x = rng.standard_normal((2, 3, 7, 7))
    for fn in (max_pool2d, avg_pool2d):
        X = Tensor(x, requires_grad=True)
        out = fn(X, 2)
        (out * Tensor(np.ones(out.shape))).sum().backward()
        assert out.shape == (2, 3, 3, 3)
        assert not X.grad[:, :, 6, :].any() and not X.grad[:, :, :, 6].any()  # read by no window
    torch = pytest.importorskip("torch")
    for shape, k, s, p in (((2, 3, 7, 7), 2, 2, 0), ((1, 2, 9, 6), 3, 2, 1), ((1, 1, 28, 28), 3, 2, 1)):
        x = rng.standard_normal(shape)
        for fn, tfn in ((max_pool2d, torch.nn.functional.max_pool2d), (avg_pool2d, torch.nn.functional.avg_pool2d)):
            X, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            out, tout = fn(X, k, s, p), tfn(tx, k, s, p)
            g = rng.standard_normal(tuple(tout.shape))
            (out * Tensor(g)).sum().backward()
            tout.backward(torch.tensor(g))
            np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-12)
            np.testing.assert_allclose(X.grad, tx.grad.numpy(), atol=1e-12)


def test_pool_errors():
    with pytest.raises(ShapeError, match=r"AvgPool2D\(pool_size=3, stride=1\).*larger than the padded input"):
        AvgPool2D(3, stride=1)(np.zeros((1, 1, 2, 2), np.float32))
    with pytest.raises(ShapeError, match=r"x\[:, None\]"):
        MaxPool2D(2)(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="at most half"):
        MaxPool2D(2, padding=2)


def test_pool_layers(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    assert MaxPool2D()(x).shape == (2, 3, 4, 4)
    assert AvgPool2D(3, stride=1, padding=1)(x).shape == (2, 3, 8, 8)
    assert GlobalAvgPool()(x).shape == (2, 3)
    assert repr(MaxPool2D(2)) == "MaxPool2D(pool_size=2)"
    assert repr(AvgPool2D((2, 3), stride=1)) == "AvgPool2D(pool_size=(2, 3), stride=1)"
    model = Conv2D(4, 3, padding="same") >> MaxPool2D(2) >> GlobalAvgPool() >> Dense(2)
    assert model(x).shape == (2, 2)


# --- batch norm ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5, 2), (1, 2, 3, 3)])
def test_batch_norm_matches_naive_and_gradcheck(shape, rng):
    x = rng.standard_normal(shape) * 3 + 1
    C = shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    out = batch_norm(Tensor(x), Tensor(gamma), Tensor(beta), training=True)
    np.testing.assert_allclose(out.numpy(), naive_batch_norm(x, gamma, beta), atol=1e-12)
    gradcheck(lambda x, g, b: batch_norm(x, g, b, training=True), [x, gamma, beta],
              names=["x", "gamma", "beta"])
    rm, rv = rng.standard_normal(C), rng.random(C) + 0.5
    gradcheck(lambda x, g, b: batch_norm(x, g, b, rm, rv, training=False), [x, gamma, beta])


def test_batch_norm_running_statistics(rng):
    x = rng.standard_normal((8, 2, 3, 3)) * 2 + 5
    rm, rv = np.zeros(2), np.ones(2)
    batch_norm(x, None, None, rm, rv, training=True, momentum=0.25)
    m = 9 * 8
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(rm, 0.25 * mean)
    np.testing.assert_allclose(rv, 0.75 + 0.25 * var * m / (m - 1))
    # evaluation uses the running statistics and leaves them alone
    before = rm.copy()
    out = batch_norm(x, None, None, rm, rv, training=False).numpy()
    np.testing.assert_allclose(out, (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5))
    np.testing.assert_array_equal(rm, before)


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 3, 2)])
def test_batch_norm_matches_pytorch(shape, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal(shape)
    C = shape[1]
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    rm, rv = np.zeros(C), np.ones(C)
    trm, trv = torch.zeros(C, dtype=torch.float64), torch.ones(C, dtype=torch.float64)
    X, G, B = (Tensor(a, requires_grad=True) for a in (x, gamma, beta))
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    for training in (True, False):
        out = batch_norm(X, G, B, rm, rv, training=training, momentum=0.1)
        tout = torch.nn.functional.batch_norm(tx, trm, trv, tg, tb, training=training, momentum=0.1)
        g = rng.standard_normal(shape)
        out.backward(g)
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=1e-10)
        for mine, theirs in ((X, tx), (G, tg), (B, tb)):
            np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), atol=1e-10)
            mine.grad, theirs.grad = None, None
        np.testing.assert_allclose(rm, trm.numpy(), atol=1e-12)
        np.testing.assert_allclose(rv, trv.numpy(), atol=1e-12)


def test_batchnorm_layer_train_eval_and_state(tmp_path, rng):
    layer = BatchNorm(momentum=0.5)
    x = (rng.standard_normal((16, 3, 4, 4)) * 2 + 3).astype(np.float32)
    y = layer(x).numpy()
    assert layer.num_features == 3 and y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert layer.running_mean.dtype == np.float32
    np.testing.assert_allclose(layer.running_mean, 0.5 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    state = layer.state_dict()
    assert list(state) == ["gamma", "beta", "running_mean", "running_var"]
    layer.eval()
    with no_grad():
        e1 = layer(x).numpy()
    np.testing.assert_array_equal(layer.running_mean, state["running_mean"])  # eval: no update
    saved = Conv2D(3, 1, in_channels=3) >> layer
    path = saved.save(tmp_path / "bn.npz")
    with no_grad():
        want = saved.eval()(x).numpy()  # what the saved model computes
    fresh = Conv2D(3, 1) >> BatchNorm()
    fresh.load(path)
    fresh.eval()
    assert fresh[1].num_features == 3
    np.testing.assert_array_equal(fresh[1].running_mean, layer.running_mean)
    np.testing.assert_array_equal(fresh[1].running_var, layer.running_var)
    with no_grad():
        np.testing.assert_array_equal(fresh(x).numpy(), want)  # the loaded model against the saved one
    assert np.abs(e1 - y).max() > 1e-3  # running statistics differ from the batch's


def test_batchnorm_layer_errors():
    layer = BatchNorm()
    layer(np.ones((4, 3), np.float32) * np.arange(4, dtype=np.float32)[:, None])
    with pytest.raises(ShapeError, match=r"BatchNorm\(num_features=3.*expects 3 channels"):
        layer(np.ones((4, 5), np.float32))
    bn4 = BatchNorm(num_features=3)
    with pytest.raises(ShapeError, match="NHWC"):
        bn4(np.ones((2, 5, 5, 3), np.float32))
    with pytest.raises(ShapeError, match=r"\(N, C\) features or \(N, C, H, W\)"):
        BatchNorm()(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        BatchNorm()(np.ones((1, 3), np.float32))


def test_batchnorm_in_a_cnn_trains(rng):
    x = rng.standard_normal((16, 1, 6, 6)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    model = Conv2D(4, 3) >> BatchNorm() >> dl.relu >> Flatten() >> Dense(2)
    model(x)
    losses = []
    for _ in range(30):
        loss = dl.cross_entropy(model(x), y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("momentum", [None, 0.2])
def test_batchnorm_layer_moves_its_running_statistics_by_momentum_the_weight_of_the_new_batch(momentum, rng):
    # PyTorch's convention, as the op's: running = (1 - momentum) * running + momentum * batch. The layer
    # test above uses momentum=0.5, where passing 1 - momentum to the op would go unnoticed; 0.1 and 0.2 do not
    layer = BatchNorm() if momentum is None else BatchNorm(momentum=momentum)
    m = 0.1 if momentum is None else momentum
    x = (rng.standard_normal((16, 3, 4, 4)) * 2 + 3).astype(np.float32)
    model = layer >> Flatten() >> Dense(2)
    y = (x.mean(axis=(1, 2, 3)) > 3).astype(np.int64)
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.01))
    trainer.fit((x, y), epochs=1, batch_size=16, shuffle=False, verbose=False)  # one training step
    n = 16 * 4 * 4
    mean, var = x.mean(axis=(0, 2, 3), dtype=np.float64), x.var(axis=(0, 2, 3), dtype=np.float64)
    np.testing.assert_allclose(layer.running_mean, m * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.running_var, (1 - m) * 1.0 + m * var * n / (n - 1), rtol=1e-5)


@pytest.mark.parametrize("momentum", [0.9, 0.99, 0.999])
def test_batchnorm_with_keras_momentum_warns_and_says_dllabs_convention(momentum):
    # Keras's BatchNormalization(momentum=0.99) weighs the old value; dllab's momentum weighs the new batch
    with pytest.warns(UserWarning) as record:
        layer = BatchNorm(momentum=momentum)
    message = str(record[0].message)
    assert message.startswith(f"BatchNorm(momentum={momentum}): in dllab, as in PyTorch, momentum is the weight "
                              "of the NEW batch in the running statistics, running = (1 - momentum) * running + "
                              "momentum * batch (default 0.1)")
    assert "looks like Keras's convention" in message
    assert message.endswith(f"Keras's momentum={momentum} is dllab's momentum={round(1 - momentum, 6)}")
    assert record[0].filename == __file__  # points at the user's line
    assert layer.momentum == momentum  # still what was asked: a warning, the result is meaningful
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BatchNorm(momentum=0.5), BatchNorm(momentum=0.01), BatchNorm()
