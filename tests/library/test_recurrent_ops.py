"""Recurrent ops over whole sequences: lstm, gru and rnn forward and backward against a naive step-by-step
reference (recurrent_helpers.py) in float64 over the full grid of options, the GPU loops run without a GPU,
central differences, and PyTorch's nn.LSTM / nn.GRU / nn.RNN with copied weights (float64, skipped without
torch)."""

import numpy as np
import pytest
from recurrent_helpers import grads, lengths_to_mask, make, naive, run_op

from dllab.autograd import Tensor
from dllab.functional import recurrent as R
from dllab.gradcheck import gradcheck
from dllab.layers.recurrent import LSTM

# --- forward and backward against the naive reference ---------------------------


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("lengths", [None, [5, 2, 4]])
def test_matches_naive_step_by_step_reference(kind, return_sequences, lengths, rng):
    args = make(kind, rng)
    h0 = Tensor(rng.standard_normal((3, 4)) * 0.5, requires_grad=True)
    c0 = Tensor(rng.standard_normal((3, 4)) * 0.5, requires_grad=True)
    states = {"h0": h0, "c0": c0} if kind == "lstm" else {"h0": h0}
    lens = None if lengths is None else np.array(lengths)
    fast = run_op(kind, args, **states, lengths=lens, return_sequences=return_sequences)
    mask = None if lengths is None else lengths_to_mask(lengths, 5)
    slow = naive(kind, *args.values(), **states, mask=mask, return_sequences=return_sequences)
    np.testing.assert_allclose(fast.data, slow.data, rtol=1e-12, atol=1e-12)
    inputs = list(args.values()) + list(states.values())
    wrng = np.random.default_rng(5)
    for a, b_, _t in zip(grads(fast, inputs, wrng), grads(slow, inputs, np.random.default_rng(5)), inputs):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-12)


def test_general_mask_equals_lengths_and_zeroes_padded_outputs(rng):
    args = make("lstm", rng, n=3, t=6)
    lengths = np.array([6, 1, 3])
    mask = lengths_to_mask(lengths, 6).astype(bool)
    a = R.lstm(*args.values(), lengths=lengths, return_sequences=True)
    b = R.lstm(*args.values(), mask=mask, return_sequences=True)
    np.testing.assert_array_equal(a.data, b.data)
    assert not a.data[1, 1:].any() and not a.data[2, 3:].any()
    # the last state is the state at each sequence's own last step
    last = R.lstm(*args.values(), lengths=lengths)
    np.testing.assert_allclose(last.data, a.data[np.arange(3), lengths - 1])
    np.testing.assert_allclose(last.data, R.last(a, lengths).data)
    # a mask with a gap in the middle is handled as well (state carried over the gap)
    gap = np.ones((3, 6), bool)
    gap[0, 2:4] = False
    out = R.lstm(*args.values(), mask=gap, return_sequences=True)
    ref = naive("lstm", *args.values(), mask=gap.astype(float), return_sequences=True)
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12)


def test_padding_values_do_not_matter(rng):
    args = make("gru", rng)
    lengths = np.array([5, 2, 4])
    out1 = R.gru(*args.values(), lengths=lengths).data
    x = args["x"].data.copy()
    x[1, 2:] = 99.0
    out2 = R.gru(x, *list(args.values())[1:], lengths=lengths).data
    np.testing.assert_array_equal(out1, out2)


# --- the GPU loops, run without a GPU ---------------------------------------------------


@pytest.mark.parametrize("return_sequences,lengths", [(False, None), (True, [5, 2, 4]), (False, [3, 5, 1])])
def test_the_gpu_loops_give_what_the_numpy_loops_give(return_sequences, lengths, rng, monkeypatch):
    """dllab/kernels/lstm.py's loops over the steps, with NumPy for CuPy and each step kernel's NumPy
    twin (kernels/selftest.py) for the kernel, against the NumPy loops: the Python around the CUDA
    kernels and the shared signature of the two pairs of loops are checked on any machine."""
    from dllab.functional.recurrent import lstm_sequence
    from dllab.kernels import lstm as gpu
    from dllab.kernels import selftest

    def step_forward(z, c_prev, h_prev, valid, acts, c, tanh_c, h):
        acts[...], c[...], tanh_c[...], h[...] = selftest.fused_lstm_step_numpy(z, c_prev, h_prev, valid)

    def step_backward(dh, dc, acts, c_prev, tanh_c, valid, dz, dc_prev, carry_h):
        dz[...], dc_prev[...], carry_h[...] = selftest.lstm_step_backward_reference(dh, dc, acts, c_prev, tanh_c,
                                                                                      valid)

    args = make("lstm", rng)
    state = [Tensor(rng.standard_normal((3, 4)), requires_grad=True) for _ in range(2)]
    inputs = list(args.values()) + state
    expected = run_op("lstm", args, h0=state[0], c0=state[1], lengths=lengths, return_sequences=return_sequences)
    expected_grads = grads(expected, inputs, np.random.default_rng(1))
    monkeypatch.setattr(gpu, "_cupy", lambda: np)
    monkeypatch.setattr(gpu, "lstm_step_forward", step_forward)
    monkeypatch.setattr(gpu, "lstm_step_backward", step_backward)
    monkeypatch.setattr(lstm_sequence, "is_gpu_array", lambda a: True)
    out = run_op("lstm", args, h0=state[0], c0=state[1], lengths=lengths, return_sequences=return_sequences)
    np.testing.assert_allclose(out.data, expected.data, rtol=1e-10, atol=1e-12)
    for got, want in zip(grads(out, inputs, np.random.default_rng(1)), expected_grads):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


# --- central differences ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_gradcheck(kind, rng):
    args = make(kind, rng, n=2, t=4, f=3, H=3)
    h0 = Tensor(rng.standard_normal((2, 3)) * 0.5)
    extra = [h0, Tensor(rng.standard_normal((2, 3)) * 0.5)] if kind == "lstm" else [h0]
    lengths = np.array([4, 2])
    fn = {"lstm": R.lstm, "gru": R.gru, "rnn": R.rnn}[kind]
    names = list(args) + ["h0", "c0"][: len(extra)]
    gradcheck(lambda *a: fn(*a, return_sequences=True), list(args.values()) + extra, names=names)
    gradcheck(lambda *a: fn(*a, lengths=lengths), list(args.values()) + extra, names=names)


# --- PyTorch as the oracle ---------------------------------------------------------


def _torch_module(torch, kind, f, H):
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    return cls(f, H, batch_first=True).double()


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_matches_pytorch(kind, rng):
    torch = pytest.importorskip("torch")
    n, t, f, H = 4, 6, 3, 5
    torch.manual_seed(0)
    ref = _torch_module(torch, kind, f, H)
    W_x = ref.weight_ih_l0.detach().numpy().T.copy()
    W_h = ref.weight_hh_l0.detach().numpy().T.copy()
    b_ih, b_hh = ref.bias_ih_l0.detach().numpy(), ref.bias_hh_l0.detach().numpy()
    params = [Tensor(W_x, requires_grad=True), Tensor(W_h, requires_grad=True)]
    if kind == "gru":  # the reset gate multiplies the recurrent part of n: two biases
        params += [Tensor(b_ih.copy(), requires_grad=True), Tensor(b_hh.copy(), requires_grad=True)]
    else:
        params += [Tensor(b_ih + b_hh, requires_grad=True)]
    xs = rng.standard_normal((n, t, f))
    h0 = rng.standard_normal((1, n, H)) * 0.5
    c0 = rng.standard_normal((1, n, H)) * 0.5
    x = Tensor(xs, requires_grad=True)
    state = [Tensor(h0[0], requires_grad=True)] + ([Tensor(c0[0], requires_grad=True)] if kind == "lstm" else [])
    fn = {"lstm": R.lstm, "gru": R.gru, "rnn": R.rnn}[kind]
    out = fn(x, *params, *state, return_sequences=True)

    xt = torch.tensor(xs, requires_grad=True)
    st = [torch.tensor(h0, requires_grad=True)] + ([torch.tensor(c0, requires_grad=True)] if kind == "lstm" else [])
    out_t, _ = ref(xt, tuple(st) if kind == "lstm" else st[0])
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=1e-10, atol=1e-12)

    w = rng.standard_normal(out.shape)
    (out * Tensor(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(params[0].grad, ref.weight_ih_l0.grad.numpy().T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(params[1].grad, ref.weight_hh_l0.grad.numpy().T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(params[2].grad, ref.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    if kind == "gru":
        np.testing.assert_allclose(params[3].grad, ref.bias_hh_l0.grad.numpy(), rtol=1e-9, atol=1e-12)
    for mine, theirs in zip(state, st):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy()[0], rtol=1e-9, atol=1e-12)


def test_lengths_match_pytorch_packed_sequences(rng):
    torch = pytest.importorskip("torch")
    n, t, f, H = 4, 7, 2, 3
    torch.manual_seed(1)
    ref = _torch_module(torch, "lstm", f, H)
    layer = LSTM(H, return_sequences=True)
    layer.load_state_dict({
        "W_x": ref.weight_ih_l0.detach().numpy().T.astype(np.float32),
        "W_h": ref.weight_hh_l0.detach().numpy().T.astype(np.float32),
        "b": (ref.bias_ih_l0 + ref.bias_hh_l0).detach().numpy().astype(np.float32),
    })  # fmt: skip
    xs = rng.standard_normal((n, t, f)).astype(np.float32)
    lengths = np.array([7, 3, 5, 1])
    seq, lens = layer((xs, lengths))
    assert lens is lengths
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(xs, dtype=torch.float64), torch.tensor(lengths), batch_first=True, enforce_sorted=False
    )
    out_p, (h_n, _) = ref(packed)
    out_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=t)
    np.testing.assert_allclose(seq.numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    last = LSTM(H)
    last.load_state_dict(layer.state_dict())
    np.testing.assert_allclose(last((xs, lengths)).numpy(), h_n[0].detach().numpy(), rtol=1e-5, atol=1e-6)
