"""The widgets without a browser: state, figures, the digit pad's preprocessing and classification."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import dllab as dl
from dllab.layers import Conv2D, MaxPool2D
from dllab.widgets import (
    SURFACES,
    DigitPad,
    LayerInspector,
    LossSurfaceExplorer,
    TrainingDashboard,
    in_notebook,
    optimizer_path,
    strokes_to_mnist,
)


def _center_of_mass(img):
    rows, cols = np.indices(img.shape)
    return (rows * img).sum() / img.sum(), (cols * img).sum() / img.sum()


def _ink_box(img, level=0.05):
    rows, cols = np.where(img > level)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


@pytest.fixture(scope="module")
def mnist_small():
    train, test = dl.data.mnist()
    return (train.x[:3000], train.y[:3000]), (test.x[:500], test.y[:500])


@pytest.fixture(scope="module")
def logreg(mnist_small):
    dl.seed(0)
    model = dl.Flatten() >> dl.Dense(10)
    dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.1, momentum=0.5)).fit(
        mnist_small[0], epochs=2, batch_size=64, verbose=False)
    return model


def test_not_in_a_notebook_here():
    assert in_notebook() is False


# --- training dashboard ------------------------------------------------------------------------------


def test_dashboard_follows_a_fit(mnist_small):
    (x, y), val = mnist_small
    dash = TrainingDashboard(title="tiny")
    model = dl.Flatten() >> dl.Dense(10)
    dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.1)).fit((x[:256], y[:256]), epochs=2, batch_size=64,
                                                          validation=val, callbacks=[dash], verbose=False)
    assert (dash.planned_epochs, dash.steps_per_epoch) == (2, 4)
    assert len(dash.steps) == 8 and len(dash.epochs) == 2
    assert dash.steps[-1][0] == pytest.approx(2.0)  # the x axis is in epochs
    assert "val_accuracy" in dash.epochs[-1][1]
    assert dash.done and dash.eta == 0
    text = dash.status_text()
    assert "epoch 2/2" in text and "step 4/4" in text and "samples/s" in text and "done in" in text
    fig = dash.figure()
    assert isinstance(fig, Figure)
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 3 and len(acc_ax.lines) == 2  # steps, train, val | train, val


def test_dashboard_widget_updates_in_place(mnist_small):
    (x, y), _ = mnist_small
    dash = TrainingDashboard(status_every=0.0, plot_every=60.0)  # figures at epoch ends only
    widget = dash.widget
    dash._shown = True  # as if Jupyter had displayed it
    model = dl.Flatten() >> dl.Dense(10)
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.1))
    trainer.fit((x[:192], y[:192]), epochs=3, batch_size=64, callbacks=[dash], verbose=False)
    assert dash.widget is widget
    assert (dash._bar.value, dash._bar.max) == (9, 9)
    assert dash._bar.bar_style == "success"
    assert "epoch 3/3" in dash._status.value
    assert dash._image.value[:4] == b"\x89PNG"
    # a second fit continues the epochs but starts new curves in the same widget
    trainer.fit((x[:128], y[:128]), epochs=1, batch_size=64, callbacks=[dash], verbose=False)
    assert dash.widget is widget and len(dash.epochs) == 1 and "epoch 1/1" in dash.status_text()


def test_dashboard_fed_by_hand_learns_the_epoch_size():
    class FakeTrainer:
        epoch = 0

    dash, t = TrainingDashboard(), FakeTrainer()
    dash.on_train_begin(t)
    dash.on_epoch_begin(t, 0)
    for step in range(5):
        dash.on_step_end(t, 0, step, {"loss": 1.0 / (step + 1), "samples_per_s": 1000.0})
    assert "step 5/?" in dash.status_text()
    dash.on_epoch_end(t, 0, {"loss": 0.5, "accuracy": 0.8, "time": 0.1, "samples_per_s": 1000.0})
    assert dash.steps_per_epoch == 5


# --- loss-surface explorer -------------------------------------------------------------------------------


def test_sgd_and_momentum_take_different_paths_down():
    sgd, sgd_loss = optimizer_path("valley", "SGD", lr=0.3, steps=40)
    mom, mom_loss = optimizer_path("valley", "momentum", lr=0.3, momentum=0.9, steps=40)
    assert sgd.shape == mom.shape == (41, 2)
    np.testing.assert_allclose(sgd[0], SURFACES["valley"].start)
    assert np.abs(sgd - mom).max() > 0.5
    assert sgd_loss[-1] < 0.2 * sgd_loss[0] and mom_loss[-1] < 0.2 * mom_loss[0]
    assert mom_loss[-1] < sgd_loss[-1]  # the narrow valley is where momentum pays


def test_plain_sgd_on_the_valley_never_climbs():
    _, losses = optimizer_path("valley", "SGD", lr=0.1, steps=50)
    assert np.all(np.diff(losses) <= 1e-12)


def test_a_too_large_learning_rate_stops_the_path():
    path, losses = optimizer_path("banana", "SGD", lr=0.2, steps=100)
    assert len(path) < 101 and losses[-1] > losses[0]


def test_gradient_noise_changes_the_path_reproducibly():
    a, _ = optimizer_path("valley", "SGD", lr=0.1, steps=20, noise=1.0, seed=1)
    b, _ = optimizer_path("valley", "SGD", lr=0.1, steps=20, noise=1.0, seed=1)
    c, _ = optimizer_path("valley", "SGD", lr=0.1, steps=20)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.01


def test_adam_on_two_wells_and_the_explorer_widget():
    ex = LossSurfaceExplorer("two wells", optimizers=("SGD", "Adam"), steps=30)
    paths = ex.paths()
    assert set(paths) == {"SGD", "Adam"}
    assert all(losses[-1] < losses[0] for _, losses in paths.values())
    box = ex.widget
    first = ex._image.value
    assert first[:4] == b"\x89PNG"
    ex._controls["lr"].value = 0.02
    assert ex.lr == 0.02 and ex._image.value != first
    ex._controls["surface"].value = "banana"
    assert ex.surface.name == "banana" and ex.start == SURFACES["banana"].start
    assert ex._controls["y0"].max == SURFACES["banana"].ylim[1] and ex.lr == SURFACES["banana"].lr
    ex._checks["Adam"].value = False
    assert ex.optimizers == ("SGD",)
    assert box.children


# --- digit pad ------------------------------------------------------------------------------------------


def test_preprocessing_scales_into_20x20_and_centres_by_mass():
    t = np.linspace(0, 2 * np.pi, 40)
    small_in_a_corner = [np.c_[3 + 2 * np.cos(t), 3 + 3 * np.sin(t)]]  # a small "0" in the top-left corner
    img = strokes_to_mnist(small_in_a_corner)
    assert img.shape == (28, 28) and img.dtype == np.float32
    assert 0 <= img.min() and img.max() == pytest.approx(1.0)
    row, col = _center_of_mass(img)
    assert abs(row - 14) < 0.2 and abs(col - 14) < 0.2
    h, w = _ink_box(img)
    assert 18 <= h <= 22 and w < h  # like MNIST: the longer side fills the 20x20 box
    assert not img[:3].any() and not img[-3:].any()


def test_a_lopsided_digit_is_not_pushed_off_the_image():
    seven = [[(1, 1), (4, 1), (2, 5)]]  # the heavy bar pulls the centre of mass up
    img = strokes_to_mnist(seven)
    row, col = _center_of_mass(img)
    assert abs(row - 14) < 0.5 and abs(col - 14) < 0.3
    assert img[-1].max() < 0.5  # at most the soft edge of the stem touches the bottom row


def test_preprocessing_keeps_the_aspect_ratio_and_stroke_width():
    tall = strokes_to_mnist([[(14, 2), (14, 26)]])  # a "1"
    h, w = _ink_box(tall)
    assert h >= 18 and w <= 5
    big, small = strokes_to_mnist([[(2, 2), (26, 26)]]), strokes_to_mnist([[(10, 10), (13, 13)]])
    np.testing.assert_allclose(big, small, atol=1e-5)  # drawn big or small, the model gets the same image


def test_an_empty_drawing_is_blank():
    assert not strokes_to_mnist([]).any()


def test_pad_classifies_a_stroke(logreg):
    pad = DigitPad(logreg)
    assert pad.prediction is None
    probs = pad.add_stroke([(14, 3), (14, 25)])  # a vertical line: a 1
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0) and np.all(probs >= 0)
    assert pad.prediction == "1"
    assert pad.image.sum() > 0
    pad.clear()
    assert pad.probabilities is None and not pad.image.any()


def test_pad_with_a_predict_fn_and_inverted_ink():
    seen = {}

    def predict(x):
        seen["x"] = x
        return np.arange(10.0)[None]  # scores, not probabilities: the pad applies softmax

    pad = DigitPad(predict_fn=predict, invert=True)
    probs = pad.add_stroke([(5, 5), (20, 20)])
    assert seen["x"].shape == (1, 1, 28, 28) and seen["x"][0, 0, 0, 0] == 1.0  # dark ink on white
    assert probs.sum() == pytest.approx(1.0) and pad.prediction == "9"
    already = DigitPad(predict_fn=lambda x: np.full(10, 0.1))
    np.testing.assert_allclose(already.add_stroke([(3, 3)]), np.full(10, 0.1))


def test_pad_needs_exactly_one_of_model_and_predict_fn():
    with pytest.raises(ValueError, match="model"):
        DigitPad()
    with pytest.raises(ValueError, match="outputs"):
        DigitPad(predict_fn=lambda x: np.ones(3)).add_stroke([(1, 1), (5, 5)])


def test_pad_view_receives_strokes_from_the_browser(logreg):
    pytest.importorskip("anywidget")
    pad = DigitPad(logreg)
    view = pad.widget
    view.strokes = [[[5, 5], [20, 5], [12, 24]]]  # what the browser sends after a stroke
    assert len(pad.strokes) == 1 and pad.probabilities is not None
    assert len(view.probabilities) == 10 and sum(view.probabilities) == pytest.approx(1.0)
    assert len(view.preview) == 784 and max(view.preview) == pytest.approx(1.0)
    pad.add_stroke([(1, 1), (2, 2)])  # and Python's strokes go back to the canvas
    assert len(view.strokes) == 2
    view.strokes = []  # the Clear button
    assert pad.probabilities is None and view.probabilities == [] and view.preview == []


def test_pad_view_shows_errors_instead_of_raising():
    pytest.importorskip("anywidget")
    pad = DigitPad(predict_fn=lambda x: 1 / 0)
    view = pad.widget
    view.strokes = [[[5, 5], [9, 9]]]
    assert "ZeroDivisionError" in view.message and view.probabilities == []


# --- layer inspector ----------------------------------------------------------------------------------


def test_layer_inspector_shows_feature_maps_and_dense_outputs(mnist_small):
    (x, y), _ = mnist_small
    dl.seed(0)
    model = Conv2D(6, 3, activation=dl.relu) >> MaxPool2D(2) >> dl.Flatten() >> dl.Dense(10)
    inspector = LayerInspector(model, x[:5], y[:5])
    assert inspector.layer == 0  # the first layer with feature maps
    assert inspector.layer_labels[0].endswith("6×26×26") and inspector.layer_labels[-1].endswith("→ 10")
    maps = inspector.figure(index=2, layer=1)
    assert len(maps.axes) == 1 + 6  # the image and one panel per channel
    bars = inspector.figure(index=2, layer=3)
    assert len(bars.axes) == 2
    assert model.training  # the inspector ran it in eval mode and put the mode back
    widget = inspector.widget
    first = inspector._image.value
    inspector._index.value = 4
    assert inspector.index == 4 and inspector._image.value != first and widget.children
    with pytest.raises(ValueError, match="images"):
        LayerInspector(model, np.zeros((0, 1, 28, 28), np.float32))
