"""Recurrent ops and layers: lstm, gru, rnn over whole sequences.

Three independent checks of the fused backward-through-time code:
a naive step-by-step reference built from small autograd ops (values and all
gradients), central differences (gradcheck, float64), and PyTorch's nn.LSTM /
nn.GRU / nn.RNN with copied weights (float64, skipped without torch).
"""

import numpy as np
import pytest

import dllab as dl
from dllab import functional as F
from dllab.autograd import Tensor
from dllab.functional import recurrent as R
from dllab.gradcheck import gradcheck
from dllab.layers import Dense, Dropout, ShapeError
from dllab.layers.recurrent import GRU, LSTM, RNN, Last

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


# --- a naive reference: one small autograd op at a time ------------------------


def _keep(mask_t, new, old):
    """new where the step is real, old where it is padding (mask_t: (N, 1) 0/1)."""
    return new * mask_t + old * (1.0 - mask_t)


def naive(kind, x, W_x, W_h, b, b_h=None, h0=None, c0=None, mask=None, return_sequences=False):
    """The recurrence unrolled into matmul/sigmoid/tanh ops; mask (N, T) of 0/1 or None."""
    n, t_steps, _ = x.shape
    H = W_h.shape[0]
    zeros = Tensor(np.zeros((n, H), dtype=x.dtype))
    h = h0 if h0 is not None else zeros
    c = c0 if c0 is not None else zeros
    outs = []
    for t in range(t_steps):
        xt = x[:, t, :]
        if kind == "lstm":
            z = xt @ W_x + h @ W_h + b
            i, f = F.sigmoid(z[:, :H]), F.sigmoid(z[:, H : 2 * H])
            g, o = F.tanh(z[:, 2 * H : 3 * H]), F.sigmoid(z[:, 3 * H :])
            c_new = f * c + i * g
            h_new = o * F.tanh(c_new)
        elif kind == "gru":
            a, u = xt @ W_x + b, h @ W_h + b_h
            r = F.sigmoid(a[:, :H] + u[:, :H])
            zg = F.sigmoid(a[:, H : 2 * H] + u[:, H : 2 * H])
            nn = F.tanh(a[:, 2 * H :] + r * u[:, 2 * H :])
            h_new = (1.0 - zg) * nn + zg * h
        else:
            h_new = F.tanh(xt @ W_x + h @ W_h + b)
        if mask is None:
            h = h_new
            if kind == "lstm":
                c = c_new
            outs.append(h)
        else:
            m = Tensor(mask[:, t : t + 1].astype(x.dtype))
            h = _keep(m, h_new, h)
            if kind == "lstm":
                c = _keep(m, c_new, c)
            outs.append(h * m)
    if not return_sequences:
        return h
    return F.concat([o.reshape(n, 1, H) for o in outs], axis=1)


def make(kind, rng, n=3, t=5, f=2, H=4, dtype=np.float64, scale=0.6):
    """Random inputs and weights (as Tensors) for one op."""
    g = GATES[kind]

    def r(*shape):
        return Tensor((rng.standard_normal(shape) * scale).astype(dtype), requires_grad=True)

    args = {"x": r(n, t, f), "W_x": r(f, g * H), "W_h": r(H, g * H), "b": r(g * H)}
    if kind == "gru":
        args["b_h"] = r(g * H)
    return args


def run_op(kind, args, **kw):
    fn = {"lstm": R.lstm, "gru": R.gru, "rnn": R.rnn}[kind]
    return fn(*args.values(), **kw)


def grads(out, inputs, rng):
    for t in inputs:
        t.grad = None
    w = Tensor(rng.standard_normal(out.shape))
    (out * w).sum().backward()
    return [t.grad.copy() for t in inputs]


def lengths_to_mask(lengths, t):
    return (np.arange(t)[None, :] < np.asarray(lengths)[:, None]).astype(np.float64)


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


# --- layers ---------------------------------------------------------------------------


def test_lstm_layer_builds_lazily_with_documented_layout(rng):
    layer = LSTM(6)
    assert not layer.built
    y = layer(rng.standard_normal((5, 4, 3)).astype(np.float32))
    assert y.shape == (5, 6) and y.dtype == np.float32 and layer.built
    assert layer.W_x.shape == (3, 24) and layer.W_h.shape == (6, 24) and layer.b.shape == (24,)
    b = layer.b.numpy()
    assert np.all(b[6:12] == 1.0) and not b[:6].any() and not b[12:].any()  # forget gate starts at 1
    block = layer.W_h.numpy()[:, :6]
    np.testing.assert_allclose(block.T @ block, np.eye(6), atol=1e-5)  # orthogonal per gate
    assert [n for n, _ in layer.named_parameters()] == ["W_x", "W_h", "b"]
    assert repr(layer) == "LSTM(6, in_features=3)"
    assert LSTM(6, return_sequences=True)(y.numpy()[:, None, :]).shape == (5, 1, 6)


@pytest.mark.parametrize("cls", [LSTM, GRU, RNN])
def test_layer_save_load_round_trip(cls, rng, tmp_path):
    x = rng.standard_normal((4, 5, 2)).astype(np.float32)
    lengths = np.array([5, 3, 4, 2])
    model = cls(7) >> Dropout(0.3) >> Dense(1)
    model.eval()
    y = model((x, lengths)).numpy()
    path = model.save(tmp_path / "w.npz")
    fresh = (cls(7) >> Dropout(0.3) >> Dense(1)).eval()
    fresh.load(path)
    assert fresh[0].in_features == 2
    np.testing.assert_array_equal(fresh((x, lengths)).numpy(), y)
    with pytest.raises(ShapeError, match="hidden size"):
        (cls(8) >> Dropout(0.3) >> Dense(1)).load(path)


def test_stacked_layers_pass_lengths_along(rng):
    x = rng.standard_normal((3, 6, 2)).astype(np.float32)
    lengths = np.array([6, 2, 4])
    model = LSTM(5, return_sequences=True) >> GRU(4, return_sequences=True) >> Last() >> Dense(1)
    y = model((x, lengths))
    assert y.shape == (3, 1)
    # the same as the last layer returning its last state directly
    a, b_ = LSTM(5, return_sequences=True), GRU(4)
    b_.load_state_dict(model[1].state_dict())
    a.load_state_dict(model[0].state_dict())
    np.testing.assert_allclose(model[2](model[1](model[0]((x, lengths)))).numpy(), b_(a((x, lengths))).numpy(),
                               rtol=1e-6)  # fmt: skip
    loss = dl.mse(y, np.zeros((3, 1), np.float32))
    loss.backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_initial_state_and_keywords(rng):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    layer = LSTM(3)
    h0 = np.ones((2, 3), np.float32)
    a = layer(x, initial_state=(h0, np.zeros((2, 3), np.float32)))
    assert not np.allclose(a.numpy(), layer(x).numpy())
    np.testing.assert_array_equal(layer(x, lengths=np.array([3, 1])).numpy(), layer((x, np.array([3, 1]))).numpy())
    with pytest.raises(ValueError, match=r"pair \(h0, c0\)"):
        layer(x, initial_state=h0)
    with pytest.raises(ShapeError, match=r"h0 must have shape \(batch, hidden\) = \(2, 3\)"):
        layer(x, initial_state=(h0[:1], h0))
    g = GRU(3)
    assert g(x, initial_state=h0).shape == (2, 3)


# --- bad input -----------------------------------------------------------------------


def test_unequal_lengths_explain_padding():
    seqs = [np.zeros((14, 2), np.float32), np.zeros((9, 2), np.float32), np.zeros((8, 2), np.float32)]
    with pytest.raises(ShapeError,
                       match=r"LSTM\(15\) got 3 sequences of unequal length \(8 to 14 steps\).*pad_sequences"):
        LSTM(15)(seqs)
    x, lengths = R.pad_sequences(seqs)
    assert x.shape == (3, 14, 2) and list(lengths) == [14, 9, 8]
    assert LSTM(15)((x, lengths)).shape == (3, 15)


def test_wrong_feature_count_names_layer_shapes_and_fix(rng):
    layer = LSTM(15, name="encoder")
    layer(np.zeros((2, 14, 2), np.float32))
    with pytest.raises(ShapeError) as err:
        layer(np.zeros((2, 14, 3), np.float32))
    msg = str(err.value)
    assert "LSTM(15, in_features=2, name='encoder')" in msg
    assert "expects 2 features per step" in msg and "(2, 14, 3)" in msg and "feature columns" in msg


def test_other_bad_inputs(rng):
    with pytest.raises(ShapeError, match=r"x\[:, :, None\]"):
        GRU(4)(np.zeros((8, 14), np.float32))
    with pytest.raises(TypeError, match="floating-point"):
        RNN(4)(np.zeros((2, 3, 1), np.int64))
    with pytest.raises(ShapeError, match=r"lengths must lie in 0..5"):
        LSTM(4)((np.zeros((2, 5, 1), np.float32), np.array([6, 2])))
    with pytest.raises(ShapeError, match="lengths must be 2 integers"):
        LSTM(4)(np.zeros((2, 5, 1), np.float32), lengths=np.array([1.5, 2.0]))
    with pytest.raises(ShapeError, match=r"mask must have shape \(batch, time\) = \(2, 5\)"):
        LSTM(4)(np.zeros((2, 5, 1), np.float32), mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        LSTM(0)
    with pytest.raises(ValueError, match=r"lstm: W_x must have shape \(features, 4\*H\)"):
        R.lstm(np.zeros((1, 2, 3)), np.zeros((2, 8)), np.zeros((2, 8)), np.zeros(8))
    with pytest.raises(TypeError, match="use one dtype"):
        R.rnn(np.zeros((1, 2, 3)), np.zeros((3, 2), np.float32), np.zeros((2, 2)), np.zeros(2))


def test_the_op_checks_lengths_mask_and_states_once_for_itself_and_the_layers(rng):
    """The ops raise the ShapeError the layers raise (one class, one check, in functional/recurrent/common.py)."""
    x = np.zeros((2, 5, 1), np.float32)
    args = [np.zeros(s, np.float32) for s in ((1, 8), (2, 8), (8,))]
    assert dl.ShapeError is ShapeError
    with pytest.raises(ShapeError, match=r"lstm: lengths must lie in 0..5 \(x is padded to 5 steps\)"):
        R.lstm(x, *args, lengths=np.array([6, 2]))
    with pytest.raises(ShapeError, match=r"lengths must be 2 integers.*pad_sequences"):
        R.rnn(x, np.zeros((1, 2), np.float32), np.zeros((2, 2), np.float32), np.zeros(2, np.float32),
              lengths=np.array([3]))
    with pytest.raises(ShapeError, match=r"gru: mask must have shape \(batch, time\) = \(2, 5\)"):
        GRU(2)(x, mask=np.ones((5, 2), bool))
    with pytest.raises(ShapeError, match=r"the initial state c0 must have shape \(batch, hidden\) = \(2, 2\)"):
        LSTM(2)(x, initial_state=(np.zeros((2, 2), np.float32), np.zeros((2, 3), np.float32)))
    with pytest.raises(ShapeError, match=r"the initial state h0 must have shape \(batch, hidden\) = \(2, 3\)"):
        GRU(3)(x, initial_state=np.zeros((1, 3), np.float32))
    with pytest.raises(ShapeError, match=r"rnn: the sequences are empty"):
        RNN(3)(np.zeros((2, 0, 1), np.float32))


def test_float32_training_step_reduces_loss(rng):
    """A few plain gradient steps on a toy task: the layer trains end to end in float32."""
    x = rng.standard_normal((64, 8, 2)).astype(np.float32)
    y = x[:, :, 0].sum(axis=1, keepdims=True).astype(np.float32) / 4
    model = LSTM(8) >> Dense(1)
    losses = []
    for _ in range(60):
        loss = dl.mse(model(x), y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            assert p.grad.dtype == np.float32
            p.data -= 0.1 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# --- scratch-buffer reuse ---------------------------------------------------------------


def test_outputs_never_share_memory_with_reused_buffers(rng):
    """Batch of one: the (H, N) -> (N, H) transpose is contiguous, so it must still be copied."""
    args = make("lstm", rng, n=1, t=3, dtype=np.float32)
    first = R.lstm(*args.values())
    kept = first.data.copy()
    seq = R.lstm(*args.values(), return_sequences=True)
    kept_seq = seq.data.copy()
    first.sum().backward()
    for _ in range(3):
        with dl.no_grad():
            R.lstm(*[Tensor(a.data * 2) for a in args.values()], return_sequences=True)
    np.testing.assert_array_equal(first.data, kept)
    np.testing.assert_array_equal(seq.data, kept_seq)


def test_second_backward_through_one_forward_is_refused(rng):
    args = make("gru", rng)
    out = R.gru(*args.values()).sum()
    out.backward()
    with pytest.raises(RuntimeError, match=r"backward(\(\))? ran twice"):
        out.backward()


def test_no_grad_forward_gives_same_values(rng):
    args = make("rnn", rng)
    a = R.rnn(*args.values(), lengths=np.array([5, 1, 3])).data
    with dl.no_grad():
        b = R.rnn(*args.values(), lengths=np.array([5, 1, 3])).data
    np.testing.assert_array_equal(a, b)


# --- helpers and the forecast figure ------------------------------------------------------


def test_last_layer_reads_lengths_or_mask(rng):
    seq = Tensor(rng.standard_normal((3, 4, 2)))
    lengths = np.array([4, 1, 2])
    expect = seq.data[np.arange(3), lengths - 1]
    np.testing.assert_array_equal(Last()((seq, lengths)).data, expect)
    np.testing.assert_array_equal(Last()((seq, lengths_to_mask(lengths, 4) > 0)).data, expect)
    np.testing.assert_array_equal(Last()(seq).data, seq.data[:, -1])
    with pytest.raises(ValueError, match="lengths must be 3 integers in 1..4"):
        R.last(seq, np.array([0, 1, 2]))


def test_pad_sequences_accepts_one_feature_sequences():
    x, lengths = R.pad_sequences([np.arange(3.0), np.arange(5.0)], value=-1.0)
    assert x.shape == (2, 5, 1) and x.dtype == np.float32 and list(lengths) == [3, 5]
    assert x[0, 3:, 0].tolist() == [-1.0, -1.0]
    with pytest.raises(ValueError, match="shorter than the longest"):
        R.pad_sequences([np.zeros(4)], length=3)


def test_forecast_plot(tmp_path):
    from matplotlib.figure import Figure

    from dllab.viz.timeseries import forecast_plot

    dates = np.arange("2016-08-01", "2016-08-11", dtype="datetime64[D]")
    actual = np.linspace(1.0, 2.0, 10)
    fig = forecast_plot(dates, actual, actual[:, None] + 0.1, baselines={"mean": 1.5, "yesterday": np.roll(actual, 1)})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0] == "actual" and labels[1] == "model (MSE 0.01)" and labels[2].startswith("mean (MSE")
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert isinstance(forecast_plot(list(range(10)), actual, actual, show_mse=False), Figure)
    with pytest.raises(ValueError, match="predicted has 9 values but there are 10 points"):
        forecast_plot(dates, actual, actual[:9])
