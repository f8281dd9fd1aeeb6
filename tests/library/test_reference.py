"""The fast ops agree with their references (dllab.functional.reference), values and gradients.

Each fast op (what training runs) is run beside its reference on random shapes in float64;
the references themselves are checked by central differences and against PyTorch, so a bug
shared by both twins would still show.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dllab.autograd import Tensor
from dllab.functional import reference
from dllab.functional.batchnorm import batch_norm
from dllab.functional.conv import conv2d
from dllab.functional.pool import max_pool2d
from dllab.functional.recurrent import lstm
from dllab.gradcheck import gradcheck


def run_both(fast, ref, arrays, seed, **kwargs):
    """Forward and backward of both ops on the same float64 inputs (None stays None).

    Returns [(output, [gradient of each input]) for fast, for reference]; the output
    gradient is the same random array for both.
    """
    results = []
    for fn in (fast, ref):
        inputs = [None if a is None else Tensor(a.copy(), requires_grad=True) for a in arrays]
        out = fn(*inputs, **kwargs)
        out.backward(np.random.default_rng(seed + 1).standard_normal(out.shape))
        results.append((out.data, [None if t is None else t.grad for t in inputs]))
    return results


def assert_same(results, rtol=1e-10, atol=1e-12):
    (out_fast, grads_fast), (out_ref, grads_ref) = results
    np.testing.assert_allclose(out_fast, out_ref, rtol=rtol, atol=atol, err_msg="output")
    for k, (a, b) in enumerate(zip(grads_fast, grads_ref)):
        if a is None or b is None:
            assert a is None and b is None, f"input {k}: a gradient on one side only"
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient of input {k}")


# --- convolution ------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       ph=st.integers(0, 2), pw=st.integers(0, 2), dh=st.integers(1, 2), dw=st.integers(1, 2),
       bias=st.booleans(), seed=st.integers(0, 2**16))
def test_fast_conv2d_matches_the_reference(n, c, o, h, w, kh, kw, sh, sw, ph, pw, dh, dw, bias, seed):
    """im2col in (C, H, W, N) memory (fast) against one sum per output position (reference):
    non-square kernels, strides, padding, dilation, windows that do not tile the input."""
    assume(dh * (kh - 1) + 1 <= h + 2 * ph and dw * (kw - 1) + 1 <= w + 2 * pw)  # the window fits
    rng = np.random.default_rng(seed)
    x, W = rng.standard_normal((n, c, h, w)), rng.standard_normal((o, c, kh, kw))
    b = rng.standard_normal(o) if bias else None
    results = run_both(conv2d, reference.conv2d, [x, W, b], seed,
                       stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    assert_same(results)


# (N, C, H, W, C_out, kH, kW, stride, padding, dilation)
CONV_CASES = [
    (2, 3, 7, 9, 4, 3, 2, 1, 0, 1),
    (1, 2, 9, 9, 3, 3, 3, 2, 1, 1),
    (3, 2, 11, 10, 2, 3, 3, 1, 2, 2),
    (2, 2, 6, 8, 3, 2, 4, 2, 1, 1),
    (2, 3, 28, 28, 2, 3, 3, 2, 1, 1),  # the last padded row is read by no window
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_reference_conv2d_matches_pytorch(case, rng):
    torch = pytest.importorskip("torch")
    N, C, H, W, O, kh, kw, s, p, d = case
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((O, C, kh, kw)), rng.standard_normal(O)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tout = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d)
    g = rng.standard_normal(tuple(tout.shape))
    tout.backward(torch.tensor(g))
    X, Wt, B = (Tensor(a, requires_grad=True) for a in (x, w, b))
    out = reference.conv2d(X, Wt, B, stride=s, padding=p, dilation=d)
    out.backward(g)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-11)
    for mine, theirs in ((X, tx), (Wt, tw), (B, tb)):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), atol=1e-11)


def test_reference_conv2d_gradcheck_and_same_padding(rng):
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(3)
    gradcheck(lambda x, w, b: reference.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)), [x, w, b],
              names=["x", "weight", "bias"])
    assert reference.conv2d(x, rng.standard_normal((3, 2, 3, 3)), padding="same").shape == (2, 3, 5, 6)


def test_reference_conv2d_reads_the_formula_on_a_small_case():
    """out[0, 0, y, x] = sum of the 2x2 field at (2y, 2x) of 0..15 (kernel of ones, stride 2)."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = reference.conv2d(Tensor(x), Tensor(np.ones((1, 1, 2, 2))), Tensor(np.array([0.5])), stride=2)
    np.testing.assert_array_equal(out.data[0, 0], [[0 + 1 + 4 + 5 + 0.5, 2 + 3 + 6 + 7 + 0.5],
                                                   [8 + 9 + 12 + 13 + 0.5, 10 + 11 + 14 + 15 + 0.5]])


def test_reference_conv2d_gives_the_fast_ops_errors():
    with pytest.raises(ValueError, match=r"NHWC"):
        reference.conv2d(np.zeros((2, 10, 10, 3)), np.zeros((4, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"larger than the padded input"):
        reference.conv2d(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 5, 5)))


# --- max pooling ------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       pad=st.integers(0, 1), ties=st.booleans(), seed=st.integers(0, 2**16))
def test_fast_max_pool_matches_the_reference(n, c, h, w, kh, kw, sh, sw, pad, ties, seed):
    """Masks (fast) against the argmax scatter (reference): overlapping, padded, non-tiling, ties."""
    pad = min(pad, kh // 2, kw // 2)
    assume(kh <= h + 2 * pad and kw <= w + 2 * pad)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, c, h, w)).astype(np.float64) if ties else rng.standard_normal((n, c, h, w))
    results = run_both(max_pool2d, reference.max_pool2d, [x], seed, kernel_size=(kh, kw), stride=(sh, sw),
                       padding=pad)
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert_same(results, rtol=1e-12, atol=1e-12)


def test_the_reference_reads_windows_as_the_formula_says():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    win = reference.windows(x, (2, 2), (2, 2), (2, 2))
    np.testing.assert_array_equal(win[0, 0, 1, 0], [8, 9, 12, 13])  # xpad[2*1 + i, 2*0 + j]
    np.testing.assert_array_equal(reference.max_pool2d(Tensor(x), 2).data[0, 0], [[5, 7], [13, 15]])


# --- the LSTM ---------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3), t=st.integers(1, 5), f=st.integers(1, 3), H=st.integers(1, 4),
       return_sequences=st.booleans(), padded=st.sampled_from(["none", "lengths", "mask"]),
       h0=st.booleans(), c0=st.booleans(), seed=st.integers(0, 2**16))
def test_fast_lstm_matches_the_reference(n, t, f, H, return_sequences, padded, h0, c0, seed):
    """Transposed states, negated gate rows and reused buffers (fast) against the step functions
    of the formula (reference): every gradient, with and without padding and initial states."""
    rng = np.random.default_rng(seed)
    x, W_x, W_h, b = (rng.standard_normal(s) * 0.7 for s in ((n, t, f), (f, 4 * H), (H, 4 * H), (4 * H,)))
    states = [rng.standard_normal((n, H)) * 0.5 if wanted else None for wanted in (h0, c0)]
    kwargs = {"return_sequences": return_sequences}
    if padded == "lengths":
        kwargs["lengths"] = rng.integers(0, t + 1, n)
    elif padded == "mask":  # gaps anywhere, not only at the end
        kwargs["mask"] = rng.random((n, t)) < 0.7
    results = run_both(lstm, reference.lstm, [x, W_x, W_h, b, *states], seed, **kwargs)
    assert_same(results)


def test_fast_lstm_matches_the_reference_with_saturated_gates(rng):
    """Pre-activations far beyond +-88 (e^-z overflows in float32, the fast path relies on 1/inf = 0)."""
    x = rng.standard_normal((2, 4, 3)) * 100
    W_x, W_h, b = rng.standard_normal((3, 8)) * 5, rng.standard_normal((2, 8)), rng.standard_normal(8)
    results = run_both(lstm, reference.lstm, [x, W_x, W_h, b], 0, return_sequences=True)
    assert np.isfinite(results[1][0]).all()
    assert_same(results)


def test_reference_lstm_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    n, t, f, H = 3, 5, 2, 4
    torch.manual_seed(0)
    net = torch.nn.LSTM(f, H, batch_first=True).double()
    W_x = Tensor(net.weight_ih_l0.detach().numpy().T.copy(), requires_grad=True)
    W_h = Tensor(net.weight_hh_l0.detach().numpy().T.copy(), requires_grad=True)
    b = Tensor((net.bias_ih_l0 + net.bias_hh_l0).detach().numpy(), requires_grad=True)
    xs, h0, c0 = rng.standard_normal((n, t, f)), rng.standard_normal((n, H)), rng.standard_normal((n, H))
    X, H0, C0 = (Tensor(a, requires_grad=True) for a in (xs, h0, c0))
    out = reference.lstm(X, W_x, W_h, b, H0, C0, return_sequences=True)
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (xs, h0[None], c0[None]))
    tout, _ = net(tx, (th, tc))
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-12)
    for mine, theirs in ((X.grad, tx.grad[:]), (H0.grad, th.grad[0]), (C0.grad, tc.grad[0]),
                         (W_x.grad, net.weight_ih_l0.grad.T), (W_h.grad, net.weight_hh_l0.grad.T),
                         (b.grad, net.bias_ih_l0.grad)):
        np.testing.assert_allclose(mine, theirs.numpy(), atol=1e-11)


def test_reference_lstm_gradcheck_with_padding(rng):
    n, t, f, H = 2, 4, 2, 3
    args = [rng.standard_normal(s) * 0.6 for s in ((n, t, f), (f, 4 * H), (H, 4 * H), (4 * H,), (n, H), (n, H))]
    gradcheck(lambda *a: reference.lstm(*a, lengths=np.array([4, 2]), return_sequences=True), args,
              names=["x", "W_x", "W_h", "b", "h0", "c0"])


def test_reference_lstm_step_reads_the_formula():
    """One step with hand-picked pre-activations: z = [0, ln 3, 0, -ln 3] gives i = 1/2, f = 3/4, g = 0,
    o = 1/4, so c = 3/4 * c_prev and h = 1/4 * tanh(c)."""
    H = 1
    b = np.array([0.0, np.log(3), 0.0, -np.log(3)])
    h, c, _ = reference.lstm_step_forward(np.zeros((1, 1)), np.zeros((1, H)), np.array([[2.0]]),
                                          np.zeros((1, 4)), np.zeros((1, 4)), b)
    np.testing.assert_allclose(c, [[1.5]])
    np.testing.assert_allclose(h, [[0.25 * np.tanh(1.5)]])


# --- batch normalisation ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 3), spatial=st.sampled_from([None, (1, 1), (2, 3), (3, 3)]),
       training=st.booleans(), affine=st.booleans(), running=st.booleans(),
       momentum=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_fast_batch_norm_matches_the_reference(n, c, spatial, training, affine, running, momentum, seed):
    """The closed-form gradient (fast) against the chain rule step by step (reference), in training
    and evaluation, with and without gamma/beta and running statistics (updated alike)."""
    shape = (n, c) + (spatial or ())
    assume(not training or n * int(np.prod(spatial or (1,))) >= 2)  # a variance needs two values
    assume(training or running)  # evaluation needs the running statistics
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 3 + 1
    gamma, beta = (rng.standard_normal(c) if affine else None for _ in range(2))
    stats = [[rng.standard_normal(c), rng.random(c) + 0.5] for _ in range(2)]  # one copy per twin
    stats[1] = [a.copy() for a in stats[0]]
    results = []
    for fn, (rm, rv) in zip((batch_norm, reference.batch_norm), stats):
        inputs = [Tensor(x, requires_grad=True)] + [None if p is None else Tensor(p, requires_grad=True)
                                                    for p in (gamma, beta)]
        out = fn(*inputs, rm if running else None, rv if running else None, training=training,
                 momentum=momentum)
        out.backward(np.random.default_rng(seed + 1).standard_normal(shape))
        results.append((out.data, [None if t is None else t.grad for t in inputs]))
    assert_same(results, rtol=1e-9, atol=1e-11)
    for a, b in zip(*stats):
        np.testing.assert_allclose(a, b, rtol=1e-12, err_msg="running statistics")


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 3, 2)])
def test_reference_batch_norm_gradcheck(shape, rng):
    x, gamma, beta = rng.standard_normal(shape) * 2 + 1, rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    gradcheck(lambda x, g, b: reference.batch_norm(x, g, b), [x, gamma, beta], names=["x", "gamma", "beta"])
    rm, rv = rng.standard_normal(shape[1]), rng.random(shape[1]) + 0.5
    gradcheck(lambda x, g, b: reference.batch_norm(x, g, b, rm, rv, training=False), [x, gamma, beta],
              names=["x", "gamma", "beta"])
