"""dllab.viz: every figure renders to a PNG file."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

import dllab as dl
from dllab import viz
from dllab.models import lenet

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _render(fig, path):
    assert isinstance(fig, Figure)
    fig.savefig(path, dpi=50)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000
    return fig


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_image_grid_with_predictions_and_probabilities(tmp_path, rng):
    images = rng.random((10, 1, 28, 28), dtype=np.float32)
    labels = np.arange(10) % 10
    scores = rng.random((10, 10))
    probs = scores / scores.sum(axis=1, keepdims=True)
    fig = _render(viz.image_grid(images, labels=labels, predictions=probs, ncols=5), tmp_path / "grid.png")
    titles = _titles(fig)
    pred = probs.argmax(axis=1)
    assert titles[0] == f"pred {pred[0]} ({100 * probs[0, pred[0]]:.0f}%)\ntrue 0"
    wrong = next(k for k in range(10) if pred[k] != labels[k])
    assert fig.axes[wrong].title.get_color() == "tab:red"


def test_image_grid_variants(tmp_path, rng):
    _render(viz.image_grid(rng.random((3, 28, 28))), tmp_path / "plain.png")
    fig = viz.image_grid(rng.random((4, 3, 8, 8)), labels=[0, 1, 0, 1], predictions=[0, 1, 1, 1],
                         probabilities=[0.9, 0.8, 0.6, 0.99], class_names=["cat", "dog"])
    _render(fig, tmp_path / "colour.png")
    assert _titles(fig)[2] == "pred dog (60%)\ntrue cat"
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        viz.image_grid(rng.random((3, 28, 28)), labels=[1, 2])


def test_image_grid_takes_flattened_images_and_a_single_image(tmp_path, rng):
    flat = rng.random((6, 784))  # lab 1 keeps MNIST as (N, 784) rows
    fig = _render(viz.image_grid(flat, labels=np.arange(6), ncols=3), tmp_path / "flat.png")
    shown = [ax.images[0].get_array().shape for ax in fig.axes if ax.images]
    assert shown == [(28, 28)] * 6
    one = viz.image_grid(rng.random((28, 28)))
    assert [ax.images[0].get_array().shape for ax in one.axes if ax.images] == [(28, 28)]


def test_learning_curves(tmp_path):
    history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.45], "accuracy": [0.7, 0.85, 0.9],
               "val_accuracy": [0.68, 0.8, 0.86], "lr": [0.1, 0.1, 0.01]}
    fig = _render(viz.learning_curves(history), tmp_path / "curves.png")
    assert _titles(fig) == ["loss", "accuracy"]
    lines = fig.axes[0].get_lines()
    assert [ln.get_label() for ln in lines] == ["train", "validation"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2, 3])
    only_train = viz.learning_curves({"loss": [0.5, 0.2]})
    _render(only_train, tmp_path / "train_only.png")
    with pytest.raises(ValueError, match="no values"):
        viz.learning_curves({"loss": []})


def test_confusion_matrix_plot(tmp_path, rng):
    cm = rng.integers(0, 50, (10, 10)) + np.eye(10, dtype=int) * 900
    fig = _render(viz.confusion_matrix_plot(cm), tmp_path / "cm.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 100 and texts[0] == str(cm[0, 0])
    assert "accuracy" in fig.axes[0].get_title()
    _render(viz.confusion_matrix_plot(cm[:3, :3], class_names=["a", "b", "c"], normalize=True),
            tmp_path / "cm_norm.png")
    with pytest.raises(ValueError, match="square"):
        viz.confusion_matrix_plot(np.zeros((2, 3)))


def test_filters_and_feature_maps(tmp_path, rng):
    model = lenet(filters=(6, 8), hidden=16)
    image = rng.random((1, 28, 28), dtype=np.float32)
    model(image[None])
    fig = _render(viz.filters_plot(model[0]), tmp_path / "filters.png")
    assert len([ax for ax in fig.axes if ax.images]) == 6
    _render(viz.filters_plot(model[2].W, channel=3), tmp_path / "filters2.png")
    model.train()
    fig = _render(viz.feature_maps_plot(model, image, 0), tmp_path / "maps.png")
    assert len([ax for ax in fig.axes if ax.images]) == 6
    assert fig.axes[0].images[0].get_array().shape == (24, 24)
    assert model.training  # the model's mode is restored
    fig = _render(viz.feature_maps_plot(model, image[0], -5, max_maps=4), tmp_path / "maps2.png")
    assert len([ax for ax in fig.axes if ax.images]) == 4
    with pytest.raises(ValueError, match="not feature maps"):
        viz.feature_maps_plot(model, image, 5)
    with pytest.raises(IndexError, match="out of range"):
        viz.feature_maps_plot(model, image, 20)
    with pytest.raises(ValueError, match="no weights yet"):
        viz.filters_plot(lenet()[0])
    # a model gives its first conv layer; a layer is found by its name or itself
    fig = _render(viz.filters_plot(model), tmp_path / "filters3.png")
    assert len([ax for ax in fig.axes if ax.images]) == 6
    fig = viz.feature_maps_plot(model, image, "conv2")
    assert len([ax for ax in fig.axes if ax.images]) == 8
    assert len([ax for ax in viz.feature_maps_plot(model, image, model[0]).axes if ax.images]) == 6
    with pytest.raises(ValueError, match=r"no layer 'convX' in the model; give an index or a name from \['0: conv1'"):
        viz.feature_maps_plot(model, image, "convX")
    with pytest.raises(ValueError, match="has no Conv2D layer"):
        viz.filters_plot(dl.Dense(3) >> dl.Dense(2))


def test_lstm_cell_diagram(tmp_path):
    fig = _render(viz.lstm_cell_diagram(), tmp_path / "lstm_cell.png")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for label in ("$c_{t-1}$", "$h_t$", "$x_t$", "tanh"):
        assert label in texts, label
    assert sum(t.startswith(("$f_t$:", "$i_t$:", "$g_t$:", "$o_t$:")) for t in texts) == 4  # the gate legend
