"""Run settings of a lab: the parameters cell resolved into a Run, the device, the seeds, and
how a notebook shows warnings and figures."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..notebook import in_notebook


def grading() -> str | None:
    """``"autograde"`` or ``"validate"`` while nbgrader runs the notebook, else None."""
    return os.environ.get("NBGRADER_EXECUTION") or None


@dataclass
class Run:
    """What a notebook trains on: resolved from the parameters cell by :func:`setup`."""

    full: bool
    epochs: int  # epochs of the main training run
    subset: int | None  # training images of the main run (None: all of them)
    quick_epochs: int  # epochs of the short comparison runs
    quick_subset: int | None  # training images of the comparison runs (None: all of them)
    device: str
    seed: int
    graded: bool = False
    unit: str = "images"  # what subset counts: training images, days, ...

    def __str__(self):
        size = f"all training {self.unit}" if self.subset is None else f"{self.subset} training {self.unit}"
        quick = f"all {self.unit}" if self.quick_subset is None else f"{self.quick_subset} {self.unit}"
        text = (f"{'full' if self.full else 'small'} run on {self.device}: {size}, {self.epochs} epochs; "
                f"comparisons: {quick}, {self.quick_epochs} epochs; seed {self.seed}")
        if self.graded:
            text += "\n(graded by nbgrader: training is shortened, only the small functions are graded)"
        elif not self.full:
            text += "\n(set full = True in the parameters cell and run all cells for the full-size result)"
        return text

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def setup(full=False, epochs=None, subset=None, device="auto", seed=0, *, full_epochs=20,
          small_epochs=5, small_subset=6000, grading_subset=1000, unit="images") -> Run:
    """Resolve the parameters cell, pick the device and seed every generator.

    full: True trains the main model on all training images for ``full_epochs``.
    epochs, subset: override the sizes (CI passes small ones); comparisons never get
        bigger than ``small_epochs`` / ``small_subset`` (``small_subset=None``: small runs
        and comparisons use all the data too, for labs whose data set is small).
    unit: what ``subset`` counts, for the printed summary ("images", "days").
    While nbgrader grades the notebook (see :func:`grading`) the training is cut to
    ``grading_subset`` images and one epoch, whatever the cell says: grades come from
    the small functions, and a batch of notebooks must grade in minutes.
    """
    graded = grading() is not None
    if graded:
        full, epochs = False, 1
        subset = min(subset or grading_subset, grading_subset)
    main_epochs = int(epochs) if epochs else (full_epochs if full else small_epochs)
    main_subset = (None if full else small_subset) if subset is None else int(subset)
    if small_subset is None or main_subset is None:
        quick_subset = small_subset if main_subset is None else main_subset
    else:
        quick_subset = min(main_subset, small_subset)
    run = Run(full=bool(full), epochs=main_epochs, subset=main_subset,
              quick_epochs=min(main_epochs, small_epochs), quick_subset=quick_subset,
              device=backend.set_device(device), seed=int(seed), graded=graded, unit=unit)
    np.random.seed(run.seed)
    backend.seed(run.seed)
    _show_figures_inline()
    _warnings_on_stdout()
    return run


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"note: {category.__name__}: {message} ({os.path.basename(filename)}, line {lineno})")


def _warnings_on_stdout():
    """Show warnings on stdout for the rest of the notebook.

    nbgrader scores a test cell 0 when anything reaches stderr, even a harmless RuntimeWarning
    from a correct answer or a progress bar: only a failed check should cost points.
    """
    warnings.showwarning = _show_warning


def _show_figures_inline():
    """Let Jupyter draw Figures built without pyplot (``dllab.viz``, the helpers below) at once.

    matplotlib's inline backend registers its figure formatter only when pyplot first loads
    it (the first ``plt.subplots``); before that such a Figure shows as ``<Figure size ...>``.
    Importing the backend registers it now; under another backend the import does nothing.
    """
    if in_notebook():
        try:
            import matplotlib_inline.backend_inline  # noqa: F401
        except ImportError:
            pass
