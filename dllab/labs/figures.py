"""The labs' figures, drawn by dllab.viz (the only figure code): digits, weight templates, mistakes."""

from __future__ import annotations

from .. import viz


def show_digits(images, labels=None, predictions=None, ncols=10, size=1.1):
    """A grid of digits as the model sees them (0 = no ink, drawn dark; 1 = full ink, drawn light),
    titled with the label and the prediction (red when wrong)."""
    return viz.image_grid(images, labels, predictions, ncols=ncols, size=size)


def show_templates(W, title="the weights of each class, as images"):
    """The columns of a (784, C) weight matrix as C 28x28 images (red positive, blue negative)."""
    return viz.weight_templates(W, title=title)


def show_confusion(cm, title="confusion matrix (rows: true digit, columns: predicted)"):
    """A confusion matrix whose diagonal (the right answers) is hidden, so that the mistakes stand out."""
    return viz.confusion_matrix_plot(cm, title=title, mistakes_only=True)
