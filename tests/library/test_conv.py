"""conv2d, im2col/col2im and the Conv2D layer.

The fast im2col version is checked against the reference written straight from the
formula (dllab.functional.reference.conv2d; random shapes in tests/library/test_reference.py),
by central differences, and against PyTorch.
"""

import numpy as np
import pytest

import dllab as dl
from dllab.autograd import Tensor
from dllab.functional import reference
from dllab.functional.conv import col2im, conv2d, im2col
from dllab.gradcheck import gradcheck
from dllab.layers import Dense, Flatten, ShapeError
from dllab.layers.conv import Conv2D
from dllab.models import lenet

# shapes: (N, C, H, W, C_out, kH, kW, stride, padding, dilation), all awkward on purpose
CASES = [
    (1, 1, 5, 5, 1, 3, 3, 1, 0, 1),
    (2, 3, 7, 9, 4, 3, 2, 1, 0, 1),  # non-square kernel, odd sizes
    (1, 2, 9, 9, 3, 3, 3, 2, 1, 1),  # stride 2 with padding
    (3, 2, 11, 10, 2, 3, 3, 1, 2, 2),  # dilation
    (2, 1, 8, 8, 5, 1, 1, 1, 0, 1),  # 1x1 convolution
    (2, 2, 6, 8, 3, 2, 4, 2, 1, 1),  # wide kernel, stride 2
    (1, 3, 10, 8, 2, 3, 1, 3, 1, 1),  # stride 3, 3x1 kernel
    (2, 2, 5, 5, 2, 5, 5, 1, 0, 1),  # kernel as large as the image
    (1, 2, 7, 7, 3, 3, 3, 1, 1, 3),  # dilation 3
]


def _run(x, w, b, stride, padding, dilation, g):
    X, Wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    B = Tensor(b, requires_grad=True)
    out = conv2d(X, Wt, B, stride=stride, padding=padding, dilation=dilation)
    out.backward(g)
    return out.numpy(), X.grad, Wt.grad, B.grad


@pytest.mark.parametrize("case", CASES)
def test_fast_conv_matches_the_reference_forward_and_backward(case, rng):
    """The awkward cases above, fast im2col against the reference (one sum per output position);
    tests/library/test_reference.py does the same on random shapes."""
    N, C, H, W, O, kh, kw, s, p, d = case
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C, kh, kw))
    b = rng.standard_normal(O)
    X, Wt, B = (Tensor(a, requires_grad=True) for a in (x, w, b))
    ref = reference.conv2d(X, Wt, B, stride=s, padding=p, dilation=d)
    g = rng.standard_normal(ref.shape)
    ref.backward(g)
    out, gx, gw, gb = _run(x, w, b, s, p, d, g)
    np.testing.assert_allclose(out, ref.data, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gx, X.grad, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gw, Wt.grad, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gb, B.grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES[:6])
def test_conv2d_gradcheck(case, rng):
    N, C, H, W, O, kh, kw, s, p, d = case
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C, kh, kw))
    b = rng.standard_normal(O)
    gradcheck(lambda x, w, b: conv2d(x, w, b, stride=s, padding=p, dilation=d), [x, w, b],
              names=["x", "weight", "bias"])


def test_im2col_and_col2im_are_adjoint(rng):
    # <im2col(x), c> == <x, col2im(c)>: col2im is exactly the transpose of im2col
    x = rng.standard_normal((2, 3, 7, 6))
    for kernel, stride, padding, dilation in [((3, 2), 1, 1, 1), (3, (2, 1), 0, (1, 2)), ((3, 2), 2, 0, 1)]:
        cols = im2col(x, kernel, stride, padding, dilation)
        c = rng.standard_normal(cols.shape)
        lhs = (cols * c).sum()
        rhs = (x * col2im(c, x.shape, kernel, stride, padding, dilation)).sum()
        assert lhs == pytest.approx(rhs, rel=1e-12)


def test_im2col_layout_is_documented_order(rng):
    x = rng.standard_normal((2, 2, 4, 4))
    cols = im2col(x, 3)  # rows (c, i, j), columns (y, x, n)
    assert cols.shape == (2 * 9, 2 * 2 * 2)
    c, i, j, y, xx, n = 1, 2, 0, 1, 0, 1
    assert cols[c * 9 + i * 3 + j, (y * 2 + xx) * 2 + n] == x[n, c, y + i, xx + j]


def test_result_does_not_depend_on_memory_layout(rng):
    x = rng.standard_normal((3, 2, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    chwn_view = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    fortran = np.asfortranarray(x)
    ref = conv2d(x, w).numpy()
    for variant in (chwn_view, fortran, x[:, :, ::-1, :][:, :, ::-1, :]):
        np.testing.assert_array_equal(conv2d(variant, w).numpy(), ref)


def test_float32_stays_float32(rng):
    x = Tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    b = Tensor(np.zeros(4, np.float32), requires_grad=True)
    out = conv2d(x, w, b, padding=1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_no_input_gradient_work_when_not_needed(rng):
    x = rng.standard_normal((2, 1, 6, 6))  # a plain array: the input batch
    w = Tensor(rng.standard_normal((3, 1, 3, 3)), requires_grad=True)
    conv2d(x, w).sum().backward()
    assert w.grad.shape == (3, 1, 3, 3)


def test_inference_on_big_batches_builds_columns_in_slices(rng, monkeypatch):
    import dllab.functional.conv as conv_module

    x = rng.standard_normal((7, 2, 6, 6)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    ref = conv2d(x, w, b, padding=1).numpy()
    monkeypatch.setattr(conv_module, "INFERENCE_COLUMNS", 2 * 18 * 36)  # two images per slice
    with dl.no_grad():
        sliced = conv2d(x, w, b, padding=1).numpy()
    np.testing.assert_allclose(sliced, ref, rtol=1e-6, atol=1e-6)
    W = Tensor(w, requires_grad=True)
    conv2d(x, W, b, padding=1).sum().backward()  # with gradients: one im2col, as usual
    assert W.grad.shape == w.shape


def test_reused_column_buffers_give_fresh_results(rng):
    """Backward writes dcols over the columns and hands them to the next forward pass of the same
    shape: steps in a row, a 1x1 convolution (whose columns could have been a view of x) and mixed
    dtypes must give what a first call gives, and leave the inputs untouched."""
    import dllab.functional.conv as conv_module

    def step(x, w, b, g, padding=1):
        conv_module._spare_columns.clear()
        first = _run(x, w, b, 1, padding, 1, g)
        x_before = x.copy()
        for _ in range(3):  # the same shapes again: these steps get the previous step's buffer
            again = _run(x, w, b, 1, padding, 1, g)
            np.testing.assert_array_equal(x, x_before)
            for a, c in zip(again, first):
                np.testing.assert_array_equal(a, c)
        assert conv_module._spare_columns  # the buffer was handed on

    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    step(x, w, b, rng.standard_normal((2, 4, 6, 5)))
    x32 = np.ascontiguousarray(x.astype(np.float32).transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    step(x32, w[:, :, :1, :1].astype(np.float32), b.astype(np.float32),
         rng.standard_normal((2, 4, 6, 5)).astype(np.float32), padding=0)  # 1x1, (C, H, W, N) memory
    # float32 images, float64 weights: dcols is float64 and does not fit the float32 columns
    step(x32, w, b, rng.standard_normal((2, 4, 6, 5)))


def test_im2col_into_a_given_buffer(rng):
    x = rng.standard_normal((2, 3, 7, 6))
    expected = im2col(x, (3, 2), 2, 1, 1)
    out = np.full(expected.shape, np.nan)
    assert im2col(x, (3, 2), 2, 1, 1, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_same_and_valid_padding(rng):
    x = rng.standard_normal((1, 2, 7, 6))
    w = rng.standard_normal((3, 2, 3, 5))
    assert conv2d(x, w, padding="same").shape == (1, 3, 7, 6)
    assert conv2d(x, w, padding="valid").shape == (1, 3, 5, 2)
    ref = reference.conv2d(x, w).data
    np.testing.assert_allclose(conv2d(x, w, padding="valid").numpy(), ref, atol=1e-12)


# --- PyTorch as the oracle ------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_conv2d_matches_pytorch(case, rng):
    torch = pytest.importorskip("torch")
    N, C, H, W, O, kh, kw, s, p, d = case
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C, kh, kw))
    b = rng.standard_normal(O)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    out, gx, gw, gb = _run(x, w, b, s, p, d, g)
    np.testing.assert_allclose(out, ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(gx, tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gw, tw.grad.numpy(), atol=1e-11)
    np.testing.assert_allclose(gb, tb.grad.numpy(), atol=1e-12)


# --- errors -----------------------------------------------------------------------------------


def test_kernel_larger_than_padded_input():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(ValueError, match=r"larger than the padded input.*4 \+ 2\*0"):
        conv2d(x, np.zeros((1, 1, 5, 5), np.float32))
    layer = Conv2D(8, 5, name="c1")
    with pytest.raises(ShapeError, match=r"Conv2D\(8.*name='c1'\).*larger than the padded input.*\(1, 1, 4, 4\)"):
        layer(x)
    assert not layer.built  # nothing was built from the bad input


def test_windows_that_do_not_tile_the_input_are_floored_like_pytorch(rng):
    """k3 s2 p1 on 28x28 (the last padded row is read by no window) and k3 s3 on 8x8, by hand:
    floor((28 + 2 - 3) / 2) + 1 = 14 and floor((8 - 3) / 3) + 1 = 2."""
    from dllab.functional.conv import dropped

    assert Conv2D(4, 3, stride=2, padding=1)(np.zeros((1, 1, 28, 28), np.float32)).shape == (1, 4, 14, 14)
    assert Conv2D(4, 3, stride=3)(np.zeros((1, 1, 8, 8), np.float32)).shape == (1, 4, 2, 2)
    assert Conv2D(4, (1, 3), stride=2)(np.zeros((1, 1, 7, 8), np.float32)).shape == (1, 4, 4, 3)
    assert dropped(28, 3, 2, 1) == 1 and dropped(8, 3, 3, 0) == 2 and dropped(27, 3, 2, 1) == 0
    torch = pytest.importorskip("torch")
    x, w, b = rng.standard_normal((2, 3, 28, 28)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    for stride, padding in ((2, 1), (3, 0), (2, 0)):
        X, Wt, B = (Tensor(a, requires_grad=True) for a in (x, w, b))
        out = conv2d(X, Wt, B, stride=stride, padding=padding)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        tout = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding)
        g = rng.standard_normal(tuple(tout.shape))
        (out * Tensor(g)).sum().backward()
        tout.backward(torch.tensor(g))
        assert out.shape == tuple(tout.shape)
        np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-10)
        for mine, theirs in ((X, tx), (Wt, tw), (B, tb)):
            np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), atol=1e-10)


def test_wrong_channel_count_names_layer_and_shapes(rng):
    layer = Conv2D(4, 3)
    layer(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    with pytest.raises(ShapeError, match=r"expects 3 input channels.*\(2, 1, 8, 8\) with 1 channels"):
        layer(np.zeros((2, 1, 8, 8), np.float32))


def test_nhwc_input_is_recognised(rng):
    layer = Conv2D(4, 3)
    with pytest.raises(ShapeError, match=r"channels-last \(NHWC\).*transpose\(0, 3, 1, 2\)"):
        layer(np.zeros((2, 28, 28, 1), np.float32))
    layer(np.zeros((2, 3, 10, 10), np.float32))
    with pytest.raises(ShapeError, match=r"NHWC.*transpose\(0, 3, 1, 2\)"):
        layer(np.zeros((2, 10, 10, 3), np.float32))
    with pytest.raises(ValueError, match=r"NHWC"):
        conv2d(np.zeros((2, 10, 10, 3)), np.zeros((4, 3, 3, 3)))


def test_wrong_rank_hints():
    with pytest.raises(ShapeError, match=r"x\[:, None\]"):
        Conv2D(4, 3)(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ShapeError, match=r"reshape\(-1, 1, 28, 28\)"):
        Conv2D(4, 3)(np.zeros((2, 784), np.float32))
    with pytest.raises(TypeError, match=r"floating-point"):
        Conv2D(4, 3)(np.zeros((2, 1, 8, 8), np.uint8))


def test_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match="'same' needs stride 1"):
        Conv2D(4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="odd kernel"):
        Conv2D(4, 2, padding="same")
    with pytest.raises(TypeError, match="kernel_size"):
        Conv2D(4, 2.5)
    with pytest.raises(ValueError, match="bias must have shape"):
        conv2d(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), np.zeros(3))


# --- the layer ----------------------------------------------------------------------------------


def test_conv2d_layer_builds_lazily_and_inits(rng):
    layer = Conv2D(6, (3, 5), padding=(1, 2), activation=dl.relu)
    assert not layer.built and layer.init == "he"
    y = layer(rng.standard_normal((2, 3, 9, 9)).astype(np.float32))
    assert y.shape == (2, 6, 9, 9) and layer.built and layer.in_channels == 3
    assert layer.W.shape == (6, 3, 3, 5) and layer.b.shape == (6,) and layer.W.dtype == np.float32
    assert (y.numpy() >= 0).all()
    big = Conv2D(64, 3, activation=dl.relu, in_channels=32)
    assert np.std(big.W.data) == pytest.approx(np.sqrt(2 / (32 * 9)), rel=0.03)
    assert Conv2D(4, 3).init == "glorot"
    assert "Conv2D(6, kernel_size=(3, 5), padding=(1, 2), activation=relu, in_channels=3)" == repr(layer)


def test_conv_layer_without_bias(rng):
    layer = Conv2D(2, 3, bias=False)
    layer(np.ones((1, 1, 5, 5), np.float32))
    assert layer.b is None and [n for n, _ in layer.named_parameters()] == ["W"]


def test_cnn_save_load_roundtrip(tmp_path, rng):
    model = lenet(filters=(4, 6), hidden=16)
    x = rng.random((3, 1, 28, 28), dtype=np.float32)
    before = model.eval()(x).numpy()
    path = model.save(tmp_path / "lenet.npz")
    fresh = lenet(filters=(4, 6), hidden=16)  # unbuilt: built from the file
    fresh.load(path)
    assert fresh[0].in_channels == 1 and fresh[2].in_channels == 4
    np.testing.assert_array_equal(fresh.eval()(x).numpy(), before)
    wrong = lenet(filters=(5, 6), hidden=16)
    with pytest.raises(ValueError, match="shape"):
        wrong(x[:1])
        wrong.load(path)


def test_lenet_shapes_and_parameter_count(rng):
    model = lenet()
    out = model(rng.random((2, 1, 28, 28), dtype=np.float32))
    assert out.shape == (2, 10)
    assert model.num_parameters() == 20 * 25 + 20 + 50 * 500 + 50 + 800 * 500 + 500 + 500 * 10 + 10
    modified = lenet(filters=(75, 100), relu_after_pool1=True)
    modified(rng.random((1, 1, 28, 28), dtype=np.float32))
    assert [type(m).__name__ for m in modified] == [
        "Conv2D", "MaxPool2D", "Activation", "Conv2D", "MaxPool2D", "Flatten", "Dense", "Dense"]
    assert modified[3].W.shape == (100, 75, 5, 5)


def test_small_cnn_learns(rng):
    # two classes: a bright vertical or horizontal bar; a few SGD steps must separate them
    n = 64
    x = np.zeros((n, 1, 8, 8), np.float32)
    y = np.arange(n) % 2
    pos = rng.integers(1, 7, n)
    for k in range(n):
        if y[k]:
            x[k, 0, :, pos[k]] = 1
        else:
            x[k, 0, pos[k], :] = 1
    model = Conv2D(4, 3, activation=dl.relu) >> Flatten() >> Dense(2)
    model(x[:1])
    params = model.parameters()
    first = None
    for _ in range(60):
        loss = dl.cross_entropy(model(x), y)
        first = first if first is not None else loss.item()
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= 0.3 * p.grad
    assert loss.item() < 0.2 * first

