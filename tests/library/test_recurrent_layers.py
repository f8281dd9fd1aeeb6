"""Recurrent layers: LSTM, GRU and RNN built lazily, saved and loaded, stacked with lengths; bad input named;
scratch buffers never shared with outputs; Last, pad_sequences and the forecast figure."""

import numpy as np
import pytest
from recurrent_helpers import lengths_to_mask, make

import dllab as dl
from dllab.autograd import Tensor
from dllab.functional import recurrent as R
from dllab.layers import Dense, Dropout, ShapeError
from dllab.layers.recurrent import GRU, LSTM, RNN, Last

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
