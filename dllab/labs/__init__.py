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
from .lab1_logreg import check_pieces, reference_sgd_epoch, sgd_epoch_mistakes
from .lab2_mlp import check_backprop, layer_plan, net_fixture, optimizer_mistakes, optimizer_steps, reference_forward
from .lab3_cnn import (
    area_resize_matrix,
    check_conv2d,
    check_conv2d_batch,
    check_max_pool,
    check_max_pool_backward,
    check_modified_lenet,
    check_prepared_photo,
    conv2d_reference,
    max_pool_reference,
    photo_fixture,
    prepare_photo_reference,
)
from .lab4_lstm import lstm_forward_mistakes, lstm_forward_reference, lstm_step_mistakes, lstm_step_reference
from .lab5_transfer import ProbeLayer, parameters_changed_by_a_step
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
    "ProbeLayer",
    "Run",
    "call",
    "run_model",
    "check",
    "check_backprop",
    "check_close",
    "check_conv2d",
    "check_conv2d_batch",
    "check_gradient",
    "check_max_pool",
    "check_max_pool_backward",
    "check_modified_lenet",
    "area_resize_matrix",
    "check_pieces",
    "check_prepared_photo",
    "check_shape",
    "check_target",
    "conv2d_reference",
    "lstm_forward_mistakes",
    "lstm_forward_reference",
    "lstm_step_mistakes",
    "lstm_step_reference",
    "grading",
    "layer_plan",
    "lesson",
    "max_pool_reference",
    "net_fixture",
    "photo_fixture",
    "prepare_photo_reference",
    "numerical_gradient",
    "optimizer_mistakes",
    "optimizer_steps",
    "parameters_changed_by_a_step",
    "progress",
    "reference_forward",
    "reference_sgd_epoch",
    "seeds_table",
    "setup",
    "sgd_epoch_mistakes",
    "show_confusion",
    "show_digits",
    "show_templates",
    "summary_table",
]
