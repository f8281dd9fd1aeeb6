"""Helpers for the lab notebooks: run settings, checks that teach, live learning curves, figures.

    from dllab import labs
    run = labs.setup(full=False, epochs=None, subset=None, device="auto", seed=0,
                     full_epochs=30, small_epochs=5, small_subset=6000)
    labs.check(rows_ok, "each row of softmax must sum to 1; ...")
    P = labs.call(softmax, Z, hint="...")                 # an error inside softmax becomes a lesson
    live = labs.LiveCurves("logistic regression")        # a Trainer callback, or fed by hand
    trainer.fit(train, epochs=run.epochs, callbacks=[live])

The generic checks (``call``, ``check*``, ``lesson``) are in ``checking.py``; each lab's own checks
and the answers its tests compare with are in the lab's module, named as the lab is
(``lab1_logreg.py`` ... ``lab5_transfer.py``: ``check_backprop`` is lab 2's, ``check_conv2d`` lab 3's,
``ProbeLayer`` lab 5's); this package re-exports them all. Figures for the labs come from
``dllab.viz``; the few kept here have no drop-in counterpart there.

Nothing here is needed by the library itself; the notebooks in ``labs/`` import it.
"""

from ..gradcheck import numerical_gradient
from . import lab1_logreg, lab2_mlp, lab3_cnn, lab4_lstm, lab5_transfer
from .answers import ANSWER_KEYS, NoStoredAnswer, use_answer_keys
from .checking import (
    LESSON_MISSED,
    LESSON_SHOWN,
    LabCheckError,
    call,
    check,
    check_close,
    check_gradient,
    check_shape,
    check_target,
    lesson,
    run_model,
)
from .figures import show_confusion, show_digits, show_templates
from .lab1_logreg import *  # noqa: F403 - each lab's module says what the notebook uses, in its __all__
from .lab2_mlp import *  # noqa: F403
from .lab3_cnn import *  # noqa: F403
from .lab4_lstm import *  # noqa: F403
from .lab5_transfer import *  # noqa: F403
from .live import LiveCurves, progress, seeds_table, summary_table
from .run import Run, grading, setup

__all__ = [
    "ANSWER_KEYS",
    "NoStoredAnswer",
    "use_answer_keys",
    "LESSON_MISSED",
    "LESSON_SHOWN",
    "LabCheckError",
    "LiveCurves",
    "Run",
    "call",
    "run_model",
    "check",
    "check_close",
    "check_gradient",
    "check_shape",
    "check_target",
    "grading",
    "lesson",
    "numerical_gradient",
    "progress",
    "seeds_table",
    "setup",
    "show_confusion",
    "show_digits",
    "show_templates",
    "summary_table",
] + lab1_logreg.__all__ + lab2_mlp.__all__ + lab3_cnn.__all__ + lab4_lstm.__all__ + lab5_transfer.__all__
