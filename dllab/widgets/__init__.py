"""Live widgets for the labs: a training dashboard, an optimizer explorer, a digit pad, a layer inspector.

    from dllab.widgets import TrainingDashboard, LossSurfaceExplorer, DigitPad, LayerInspector
    trainer.fit(train, epochs=5, validation=test, callbacks=[TrainingDashboard()])
    LossSurfaceExplorer()                      # sliders: learning rate, momentum, steps, start point
    DigitPad(model)                            # draw a digit with the mouse, see the class probabilities
    LayerInspector(model, test.x[:50])         # pick an image and a layer, see its feature maps

Each one is an ipywidgets widget in Jupyter (it shows itself when it is the last value of a
cell). Outside Jupyter (:func:`in_notebook` is False) nothing is drawn: the dashboard only
records values, since the Trainer already prints a line per epoch, and ``figure()`` still
gives the current picture as a matplotlib Figure.

Figures are rendered to PNG and put in an ``ipywidgets.Image``: the picture is replaced in
place (no flicker, no growing output) and needs no matplotlib backend in the kernel.

The digit pad is the one widget that needs the browser's mouse: it is an ``anywidget`` view
(a small JavaScript module, digit_pad.js in this package, shipped with the Python package, so it
works offline). It sends each finished stroke to Python, which turns the strokes into an
MNIST-like 28x28 image and classifies it.
"""

from ..notebook import in_notebook
from .dashboard import TrainingDashboard
from .digit_pad import DigitPad, strokes_to_mnist
from .explorer import SURFACES, LossSurfaceExplorer, optimizer_path
from .inspector import LayerInspector

__all__ = [
    "SURFACES",
    "DigitPad",
    "LayerInspector",
    "LossSurfaceExplorer",
    "TrainingDashboard",
    "in_notebook",
    "optimizer_path",
    "strokes_to_mnist",
]
