import numpy as np
import pytest

import dllab as dl
from dllab.layers import Activation, Dense, Dropout, Flatten, Sequential, ShapeError


def x32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def test_dense_infers_input_size_and_inits(rng):
    layer = Dense(7)
    assert not layer.built and layer.parameters() == []
    y = layer(x32(rng, 5, 3))
    assert y.shape == (5, 7) and layer.built
    assert layer.W.shape == (3, 7) and layer.b.shape == (7,)
    assert layer.W.dtype == np.float32 and not layer.b.data.any()
    limit = np.sqrt(6 / 10)
    assert np.abs(layer.W.data).max() <= limit


@pytest.mark.parametrize("fan_in, fan_out", [(500, 2000), (784, 10)])
def test_glorot_init_has_the_glorot_scale(fan_in, fan_out):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out)): std l / sqrt(3), the extremes near +-l."""
    layer = Dense(fan_out, in_features=fan_in)
    assert layer.init == "glorot"
    w = layer.W.data
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.std(w) == pytest.approx(limit / np.sqrt(3), rel=0.03)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(np.mean(w)) < 0.05 * limit


def test_he_init_for_relu():
    layer = Dense(2000, activation=dl.relu, in_features=500)
    assert layer.init == "he"
    assert np.std(layer.W.data) == pytest.approx(np.sqrt(2 / 500), rel=0.02)


def test_composition_with_rshift_and_functions(rng):
    model = Flatten() >> Dense(8, activation=dl.relu) >> Dropout(0.5) >> Dense(3) >> dl.softmax
    assert isinstance(model, Sequential) and len(model) == 5
    assert isinstance(model[4], Activation)
    out = model.eval()(x32(rng, 4, 2, 3))
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1, rtol=1e-6)
    assert [n for n, _ in model.named_parameters()] == ["1.W", "1.b", "3.W", "3.b"]


def test_train_eval_switches_dropout(rng):
    model = Dense(50, in_features=10) >> Dropout(0.5)
    x = x32(rng, 20, 10)
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
    model.train()
    assert (model(x).numpy() == 0).mean() > 0.3


def test_state_dict_save_load_roundtrip(tmp_path, rng):
    model = Dense(6, activation=dl.tanh) >> Dense(2)
    x = x32(rng, 3, 4)
    before = model(x).numpy()
    path = model.save(tmp_path / "sub" / "w.npz")
    assert path.exists() and not list(path.parent.glob("*.tmp"))
    fresh = Dense(6, activation=dl.tanh) >> Dense(2)  # unbuilt: built from the file
    fresh.load(path)
    np.testing.assert_array_equal(fresh(x).numpy(), before)
    assert fresh[0].in_features == 4


def test_a_loaded_model_matches_the_saved_one_buffers_included(tmp_path, rng):
    """Compared with the model that was saved (not with another loaded copy): weights, batch-norm
    running statistics and outputs in evaluation mode."""
    model = Dense(5, in_features=3) >> dl.BatchNorm() >> Dense(2)
    for _ in range(3):  # training-mode passes move the running statistics away from (0, 1)
        model(x32(rng, 8, 3) * 3 + 1)
    model.eval()
    x = x32(rng, 4, 3)
    saved_out = model(x).numpy()
    path = model.save(tmp_path / "bn.npz")
    fresh = (Dense(5) >> dl.BatchNorm() >> Dense(2)).load(path).eval()
    for (name, a), (name_b, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert name == name_b
        np.testing.assert_array_equal(b, a, err_msg=name)
    assert not np.allclose(model[1].running_mean, 0) and not np.allclose(model[1].running_var, 1)
    np.testing.assert_array_equal(fresh(x).numpy(), saved_out)


def test_load_mismatch_names_the_parameter(tmp_path, rng):
    model = Dense(6, in_features=4) >> Dense(2)
    model(x32(rng, 1, 4))
    model.save(tmp_path / "w.npz")
    other = Dense(5, in_features=4) >> Dense(2, in_features=5)
    with pytest.raises(ShapeError, match=r"0\.W has shape \(4, 5\) in the model but \(4, 6\)"):
        other.load(tmp_path / "w.npz")
    with pytest.raises(KeyError, match="missing"):
        (Dense(6) >> Dense(2) >> Dense(2)).load(tmp_path / "w.npz")
    with pytest.raises(FileNotFoundError, match="no weights file"):
        model.load(tmp_path / "nope.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a dllab weights file"):
        model.load(tmp_path / "junk.npz")


def test_save_is_atomic_when_writing_fails(tmp_path, rng, monkeypatch):
    model = Dense(3, in_features=2)
    path = model.save(tmp_path / "w.npz")
    good = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == good  # the old checkpoint survives
    assert [p.name for p in tmp_path.iterdir()] == ["w.npz"]


def test_summary_and_repr():
    model = Dense(4, activation=dl.relu, in_features=3) >> Dense(2, in_features=4)
    text = model.summary()
    assert "Dense(4, activation=relu, in_features=3)" in text and "26" in text
    assert "Sequential(" in repr(model)


# --- bad input: clear errors that name the layer, what it got and what it expected ---------


def test_dense_wrong_feature_count(rng):
    layer = Dense(3, in_features=4)
    with pytest.raises(ShapeError, match=r"Dense\(3, in_features=4\) expects 4 input features.*\(2, 5\)"):
        layer(x32(rng, 2, 5))


def test_dense_on_images_suggests_flatten(rng):
    with pytest.raises(ShapeError, match=r"shape \(2, 1, 28, 28\).*Flatten\(\)"):
        Dense(10)(x32(rng, 2, 1, 28, 28))
    with pytest.raises(ShapeError, match="reshape a single example"):
        Dense(10)(x32(rng, 784))


def test_dense_dtype_errors(rng):
    layer = Dense(3, in_features=4)
    with pytest.raises(TypeError, match=r"float32 weights but got an input of shape \(2, 4\) float64.*astype"):
        layer(rng.standard_normal((2, 4)))
    with pytest.raises(TypeError, match="expects floating-point inputs.*uint8"):
        Dense(3)(np.zeros((2, 4), np.uint8))


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="units must be a positive integer"):
        Dense(0)
    with pytest.raises(ValueError, match="drop probability"):
        Dropout(1.0)
    with pytest.raises(ValueError, match="unknown init"):
        Dense(3, init="xavier-ish")
    with pytest.raises(TypeError, match="not a layer"):
        Sequential(Dense(2), 3)


def test_activation_by_name_and_model_summary_display(rng):
    layer = Dense(4, activation="relu")
    assert layer.activation is dl.relu and layer.init == "he"
    assert (layer(x32(rng, 3, 5)).data >= 0).all()
    assert Activation("tanh").fn is dl.tanh
    with pytest.raises(ValueError, match="Dense: unknown activation 'rleu': use one of relu"):
        Dense(4, activation="rleu")
    with pytest.raises(TypeError, match="activation must be a function or its name"):
        Dense(4, activation=3)
    model = Dense(4, activation="relu") >> Dense(2)
    model(x32(rng, 1, 3))
    summary = model.summary()
    assert repr(summary) == str(summary) and summary.count("\n") == 2  # a table, not one escaped line


def test_conv_checks_the_dtype_on_its_first_call(rng):
    with pytest.raises(TypeError, match=r"Conv2D\(20, kernel_size=5.*name='conv1'\) has float32 weights "
                                        r"but got an input of shape \(2, 1, 28, 28\) float64"):
        dl.lenet()(rng.random((2, 1, 28, 28)))


def test_saving_an_unbuilt_model_or_loading_a_foreign_file_says_why(tmp_path):
    with pytest.raises(ValueError, match=r"has no weights yet.*model\(x\[:1\]\)"):
        Dense(10).save(tmp_path / "w.npz")
    assert not (tmp_path / "w.npz").exists()
    np.savez(tmp_path / "objects.npz", a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="holds pickled Python objects") as info:
        Dense(10).load(tmp_path / "objects.npz")
    assert "allow_pickle" not in str(info.value)


def test_loading_weights_into_an_unbuilt_layer_of_another_width_is_refused(tmp_path, rng):
    path = Dense(32) >> Dense(3)
    path(rng.random((2, 5)).astype(np.float32))
    path.save(tmp_path / "w.npz")
    other = Dense(64) >> Dense(3)
    with pytest.raises(ShapeError, match=r"Dense\(64\).*loaded W of shape \(5, 32\).*32 units"):
        other.load(tmp_path / "w.npz")
    assert other[0].W is None and not other.built  # the refused weights were not kept


def test_a_file_that_is_not_an_npz_is_named_for_what_it_is(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("epoch 1: loss 0.3\n")
    with pytest.raises(ValueError, match="not a dllab weights file.*model.save.*not a zip archive") as info:
        Dense(10).load(text)
    assert "pickled" not in str(info.value)
    single = tmp_path / "single.npz"
    with open(single, "wb") as fh:
        np.save(fh, np.zeros(3))
    with pytest.raises(ValueError, match=r"one array saved with np.save"):
        Dense(10).load(single)


def test_sequential_takes_a_list_like_keras(rng):
    x = x32(rng, 4, 5)
    a, b = Dense(3, activation=dl.relu), Dense(2)
    listed = dl.Sequential([a, dl.tanh, b])
    assert len(listed) == 3 and listed[0] is a and listed[2] is b
    np.testing.assert_array_equal(listed(x).data, dl.Sequential(a, dl.tanh, b)(x).data)
    with pytest.raises(TypeError, match=r"Sequential\(\[a, b, c\]\)"):
        dl.Sequential([a], b)
