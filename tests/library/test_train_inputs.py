"""The Trainer's bad input and argument mistakes: each named, with what it got and what it expects, before
training."""

import warnings

import numpy as np
import pytest
from train_helpers import _diverging_regression, blobs

import dllab as dl

# --- bad input --------------------------------------------------------------------


def test_label_out_of_range_is_named():
    x, y = blobs()
    y = y.copy()
    y[7] = 3
    with pytest.raises(ValueError, match=r"label 3 at position \d+ is out of range for 3 classes.*0..2"):
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, batch_size=300, shuffle=False, verbose=False)


def test_float_labels_for_cross_entropy_are_rejected():
    x, y = blobs()
    with pytest.raises(TypeError, match="integer class labels expected, got dtype float32"):
        dl.cross_entropy(dl.Tensor(np.zeros((3, 3), np.float32)), y[:3].astype(np.float32))


def test_empty_dataset_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        dl.Trainer(dl.Dense(3)).fit((np.zeros((0, 2), np.float32), np.zeros(0, np.int64)), verbose=False)


def test_float64_inputs_are_rejected_with_the_fix():
    x, y = blobs()
    model = dl.Dense(3, in_features=2)
    with pytest.raises(TypeError, match=r"float32 weights but got an input of shape \(\d+, 2\) float64.*astype"):
        dl.Trainer(model).fit((x.astype(np.float64), y), epochs=1, verbose=False)


def test_bad_fit_arguments():
    x, y = blobs()
    trainer = dl.Trainer(dl.Dense(3))
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        trainer.fit((x, y), epochs=0)
    with pytest.raises(ValueError, match="no validation data"):
        trainer.fit((x, y), early_stopping=2, verbose=False)
    with pytest.raises(ValueError, match="unknown loss"):
        dl.Trainer(dl.Dense(3), loss="hinge")
    with pytest.raises(ValueError, match="unknown metric"):
        dl.Trainer(dl.Dense(3), metrics=("f1",))


def test_sigint_stops_at_a_step_boundary():
    """A real SIGINT (Ctrl-C, Jupyter's interrupt) ends training after the current step."""
    import os
    import signal

    x, y = blobs()
    model = dl.Dense(3, in_features=2)
    seen = []

    class SendSigint(dl.Callback):
        def on_step_end(self, trainer, epoch, step, logs):
            seen.append(step)
            if step == 1:
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a background job
    h = dl.Trainer(model).fit((x, y), epochs=3, batch_size=30, callbacks=[SendSigint()], verbose=False)
    assert h.interrupted and seen == [0, 1]
    assert signal.getsignal(signal.SIGINT) is before  # the handler from before fit is back


def test_an_optimizer_left_from_an_earlier_model_moves_to_the_new_one_with_a_warning():
    """Re-running a model cell but not the optimizer cell must not leave the new model untrained."""
    x, y = blobs()
    opt = dl.optim.SGD(lr=0.5, momentum=0.9)
    dl.Trainer(dl.Dense(3), optimizer=opt).fit((x, y), epochs=1, verbose=False)
    fresh = dl.Dense(3)
    with pytest.warns(UserWarning, match="made for other parameters") as record:
        history = dl.Trainer(fresh, optimizer=opt).fit((x, y), epochs=3, verbose=False)
    assert record[0].filename == __file__  # the warning points at the user's line
    assert history["loss"][-1] < 0.5 * history["loss"][0]


def test_an_optimizer_for_part_of_the_model_keeps_that_part():
    x, y = blobs()
    base, head = dl.Dense(8, activation=dl.relu), dl.Dense(3)
    model = base >> head
    model(dl.Tensor(x[:1]))
    before = [p.data.copy() for p in base.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dl.Trainer(model, optimizer=dl.optim.SGD(head, lr=0.1)).fit((x, y), epochs=1, verbose=False)
    assert all(np.array_equal(b, p.data) for b, p in zip(before, base.parameters()))


def test_fit_argument_mistakes_are_named_before_training(tmp_path):
    x, y = blobs()
    trainer = dl.Trainer(dl.Dense(3))
    with pytest.raises(TypeError, match=r"pass inputs and targets together, trainer.fit\(\(x, y\)"):
        trainer.fit(x, y)
    with pytest.raises(IsADirectoryError, match="is a folder; give a file name in it"):
        trainer.fit((x, y), checkpoint=tmp_path, verbose=False)
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        trainer.fit((x, y), checkpoint=tmp_path / "no" / "best.npz", verbose=False)
    with pytest.raises(ValueError, match="set it in one place"):
        dl.Trainer(dl.Dense(3), optimizer=dl.optim.SGD(lr=0.1), lr=0.5)
    with pytest.raises(TypeError, match=r"an \(x, y\) pair\? pass x alone"):
        trainer.predict((x, y))


def test_a_callback_that_shows_progress_replaces_the_trainers_lines(capsys):
    x, y = blobs()

    class Display(dl.Callback):
        shows_progress = True

    dl.Trainer(dl.Dense(3)).fit((x, y), epochs=2, callbacks=[Display()])
    assert "epoch 1/2" not in capsys.readouterr().out
    dl.Trainer(dl.Dense(3)).fit((x, y), epochs=2, callbacks=[dl.Callback()])
    assert "epoch 2/2" in capsys.readouterr().out
    from dllab.widgets import TrainingDashboard

    assert TrainingDashboard().shows_progress is False  # outside Jupyter: the text lines stay


def test_softmax_before_cross_entropy_is_pointed_out_at_the_users_line():
    from dllab.functional.losses import ProbabilitiesAsScoresWarning

    x, y = blobs()
    model = dl.Dense(3) >> dl.Activation("softmax")  # softmax here, and again inside cross_entropy
    with pytest.warns(ProbabilitiesAsScoresWarning, match="applied twice") as record:
        dl.Trainer(model).fit((x, y), epochs=1, verbose=False)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, verbose=False)  # raw scores: no warning


# --- messages that name the argument, what it got and what it expects -------------------------


def test_labels_in_a_column_are_named_with_the_fix():
    x, y = blobs()
    with pytest.raises(ValueError, match=r"targets of shape \(300, 1\) are class labels in a column.*"
                                         r"shape \(300,\): pass y.reshape\(-1\)"):
        dl.Trainer(dl.Dense(3)).fit((x, y.reshape(-1, 1)), epochs=1, batch_size=300, verbose=False)


def test_mse_on_class_scores_suggests_cross_entropy_not_a_failing_reshape():
    x, y = blobs()
    with pytest.raises(ValueError, match=r"predictions \(300, 3\) and targets \(300,\).*class labels.*3 outputs.*"
                                         r"loss='cross_entropy'.*np.eye\(3\)\[t\]") as info:
        dl.Trainer(dl.Dense(3), loss="mse").fit((x, y), epochs=1, batch_size=300, verbose=False)
    assert "reshape(-1, 1)" not in str(info.value)
    with pytest.raises(ValueError, match=r"t.reshape\(-1, 1\)"):
        dl.mse(dl.Tensor(np.zeros((4, 1), np.float32)), np.zeros(4, np.float32))


def test_nan_in_the_targets_is_not_blamed_on_the_learning_rate():
    x, t = _diverging_regression()
    t = t.copy()
    t[4] = np.nan
    with pytest.raises(dl.NonFiniteLossError, match=r"targets hold 1 NaN/inf values.*not the cause") as info:
        dl.Trainer(dl.Dense(1), loss="mse").fit((x, t), epochs=1, batch_size=10, shuffle=False, verbose=False)
    assert "learning rate (" not in str(info.value)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(dl.NonFiniteLossError, match=r"before any update.*scale of the inputs"):
            dl.Trainer(dl.Dense(1), loss="mse").fit((x * 1e30, t[10:20].repeat(30, 0)), epochs=1, verbose=False)


def test_an_unwritable_checkpoint_folder_is_named_before_training(tmp_path, monkeypatch):
    import os
    import tempfile

    x, y = blobs()
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes anyway: let the folder answer as it would to anyone else
        def refuse(*args, dir=None, **kwargs):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    steps = []

    class Count(dl.Callback):
        def on_step_end(self, trainer, epoch, step, logs):
            steps.append(step)

    with pytest.raises(PermissionError, match=r"cannot write checkpoint='.*read-only/best.npz'.*not writable "
                                              r"\(Permission denied\)"):
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=2, checkpoint=folder / "best.npz", callbacks=[Count()],
                                    verbose=False)
    assert steps == []  # before any training


def test_a_checkpoint_that_cannot_be_written_during_training_is_named(tmp_path, monkeypatch):
    x, y = blobs()

    def disk_full(self, path, info=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dl.Module, "save", disk_full)
    with pytest.raises(OSError, match=r"could not write checkpoint='.*best.npz' after epoch 1: No space left"):
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=2, checkpoint=tmp_path / "best.npz", verbose=False)


def test_callbacks_may_be_plain_objects_with_some_hooks_but_not_anything():
    x, y = blobs()
    seen = []

    class OnlyEpochs:  # no dllab.Callback base: the hooks it has are called
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(epoch)

    dl.Trainer(dl.Dense(3)).fit((x, y), epochs=2, callbacks=[OnlyEpochs()], verbose=False)
    assert seen == [0, 1]
    with pytest.raises(TypeError, match="callbacks must be objects with hooks such as on_epoch_end"):
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, callbacks=[print], verbose=False)
