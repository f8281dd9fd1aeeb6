"""dllab.train.callbacks, monitor and nonfinite: the safety nets the Trainer adds itself, checked by what they decide.

The monitored values are scripted (a loss or a metric that returns a given number in each
epoch's validation), so each test knows the epoch training must stop at, the best epoch and the
weights the model must end with.
"""

import os
import signal
import types
from pathlib import Path

import numpy as np
import pytest
from train_helpers import blobs

import dllab as dl
from dllab.train.callbacks import ProgressLog
from dllab.train.monitor import BestEpoch, EarlyStopping, higher_is_better
from dllab.train.nonfinite import NaNGuard


def scripted_val_loss(trainer, values):
    """A loss whose validation value in epoch e (0-based) is values[e]; training uses cross-entropy."""

    def loss(scores, labels):
        ce = dl.cross_entropy(scores, labels)
        if trainer.model.training:
            return ce
        return ce * 0.0 + values[trainer.epoch]

    return loss


class WeightsPerEpoch(dl.Callback):
    """A copy of the weights at the end of every epoch (after the epoch's validation)."""

    def __init__(self):
        self.weights = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.weights.append([p.data.copy() for p in trainer.model.parameters()])


def fit_scripted(values, epochs=None, **early):
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    trainer.loss_fn = scripted_val_loss(trainer, values)
    seen = WeightsPerEpoch()
    h = trainer.fit((x, y), epochs=epochs or len(values), batch_size=20, validation=(x, y),
                    early_stopping=dl.EarlyStopping(**early), callbacks=[seen], verbose=False)
    return trainer, h, seen


def same(weights_a, weights_b):
    return all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))


# --- which values are better ----------------------------------------------------------------------


@pytest.mark.parametrize("name, higher", [("accuracy", True), ("val_accuracy", True), ("loss", False),
                                          ("val_loss", False), ("val_error", False), ("val_mae", False)])
def test_accuracies_are_better_higher_losses_and_errors_lower(name, higher):
    assert higher_is_better(name) is higher
    assert BestEpoch(name).higher is higher


# --- early stopping: the epoch it stops at, min_delta, the monitor, restore_best -------------------


def test_early_stopping_stops_exactly_patience_epochs_after_the_best():
    # best at epoch 2; epochs 3 and 4 do not improve: patience 2 stops after epoch 4, not later
    trainer, h, seen = fit_scripted([1.0, 0.8, 0.85, 0.9, 0.5, 0.4], patience=2)
    assert h.epochs == 4 and h.best_epoch == 2
    assert h["val_loss"] == pytest.approx([1.0, 0.8, 0.85, 0.9])
    assert h.stop_reason.startswith("early stopping: val_loss did not improve for 2 epochs (best 0.8 at epoch 2)")
    assert "best weights (epoch 2) restored" in h.stop_reason
    assert same([p.data for p in trainer.model.parameters()], seen.weights[1])


def test_patience_one_stops_at_the_first_epoch_without_improvement():
    _, h, _ = fit_scripted([1.0, 0.9, 0.95, 0.1], patience=1)
    assert h.epochs == 3 and h.best_epoch == 2


def test_an_improvement_smaller_than_min_delta_does_not_count():
    # each epoch improves by 0.02-0.05 < min_delta 0.1: epoch 1 stays the best, training stops after epoch 3
    _, h, _ = fit_scripted([1.0, 0.95, 0.93, 0.91, 0.8], patience=2, min_delta=0.1)
    assert h.epochs == 3 and h.best_epoch == 1
    # an improvement larger than min_delta does count
    _, h, _ = fit_scripted([1.0, 0.95, 0.85, 0.84, 0.83, 0.82], patience=2, min_delta=0.1)
    assert h.epochs == 5 and h.best_epoch == 3
    # the same values without min_delta: every epoch improves, all epochs run
    _, h, _ = fit_scripted([1.0, 0.95, 0.93, 0.91, 0.8], patience=2)
    assert h.epochs == 5 and h.best_epoch == 5


def test_early_stopping_on_val_accuracy_keeps_the_highest():
    x, y = blobs(60)
    values = [0.5, 0.7, 0.6, 0.65, 0.9]
    model = dl.Dense(3, in_features=2)

    def accuracy(scores, labels):  # scripted; its name makes the logs' "val_accuracy"
        return 0.0 if model.training else values[trainer.epoch]

    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.1), metrics=(accuracy,))
    seen = WeightsPerEpoch()
    h = trainer.fit((x, y), epochs=5, batch_size=20, validation=(x, y), callbacks=[seen], verbose=False,
                    early_stopping=dl.EarlyStopping(patience=2, monitor="val_accuracy"))
    assert h["val_accuracy"] == pytest.approx([0.5, 0.7, 0.6, 0.65])
    assert h.epochs == 4 and h.best_epoch == 2
    assert "val_accuracy did not improve for 2 epochs (best 0.7 at epoch 2)" in h.stop_reason
    assert same([p.data for p in trainer.model.parameters()], seen.weights[1])


def test_restore_best_false_keeps_the_last_epochs_weights():
    trainer, h, seen = fit_scripted([1.0, 0.8, 0.85, 0.9], patience=2, restore_best=False)
    assert h.epochs == 4 and h.best_epoch == 2 and "restored" not in h.stop_reason
    assert same([p.data for p in trainer.model.parameters()], seen.weights[-1])
    assert not same(seen.weights[-1], seen.weights[1])  # the test can tell the two apart


def test_an_unknown_monitor_is_named_with_the_known_values():
    with pytest.raises(ValueError, match=r"cannot monitor 'val_acc'; known values: loss, accuracy.*val_loss"):
        fit_scripted([1.0, 0.9], patience=1, monitor="val_acc")


def test_early_stopping_repr_and_an_int_patience():
    assert repr(EarlyStopping(patience=4, monitor="val_accuracy")) == \
        "EarlyStopping(patience=4, monitor='val_accuracy', mode='auto')"
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    trainer.loss_fn = scripted_val_loss(trainer, [1.0, 0.9, 0.95, 0.96, 0.97])
    h = trainer.fit((x, y), epochs=5, batch_size=20, validation=(x, y), early_stopping=2, verbose=False)
    assert h.epochs == 4 and h.best_epoch == 2


# --- the NaN guard: the last healthy weights, not the first ones -----------------------------------


def test_nan_guard_restores_the_latest_healthy_copy_not_the_initial_weights():
    x, y = blobs(300)
    model = dl.Dense(3, in_features=2)
    initial = [p.data.copy() for p in model.parameters()]
    after_step = []  # the weights after each update (1-based: after_step[k-1] is after update k)

    class Record(dl.Callback):
        def on_step_end(self, trainer, epoch, step, logs):
            after_step.append([p.data.copy() for p in trainer.model.parameters()])

    calls = []

    def loss(scores, labels):  # healthy and decreasing, then NaN at the 41st step's loss
        calls.append(1)
        value = dl.cross_entropy(scores, labels)
        return value * float("nan") if len(calls) == 41 else value

    trainer = dl.Trainer(model, loss=loss, optimizer=dl.optim.SGD(lr=0.1), metrics=())
    with pytest.raises(dl.NonFiniteLossError, match=r"epoch 2, step 41.*weights from before update 33 of this run"):
        trainer.fit((x, y), epochs=3, batch_size=10, shuffle=False, callbacks=[Record()], verbose=False)
    assert len(after_step) == 40
    restored = [p.data for p in model.parameters()]
    # a copy every NaNGuard.every = 16 updates (before updates 1, 17 and 33): the one before update 33
    assert NaNGuard.every == 16
    assert same(restored, after_step[31])
    assert not same(restored, initial) and not same(restored, after_step[39])


def test_nan_guard_keeps_no_copy_of_a_loss_on_its_way_to_a_nan():
    """A copy is due, but the loss is far above the best seen: the older copy is kept."""
    guard = NaNGuard()

    class Model:
        def __init__(self):
            self.w = dl.Parameter(np.zeros(2))

        def parameters(self):
            return [self.w]

        def modules(self):
            return [self]

    class Trainer:
        model = Model()

    trainer = Trainer()
    guard.on_train_begin(trainer)
    for update in range(40):
        trainer.model.w.data[:] = update
        guard.on_before_update(trainer, 1.0 if update < 20 else 1e6)  # diverging from update 20
    assert guard.taken_at == 16  # due again at 32, but the loss was 1e6 > 10 x the best
    assert guard.restore() == 16
    np.testing.assert_array_equal(trainer.model.w.data, [16, 16])


class OneWeight:
    """What NaNGuard reads of a model: its parameters and modules (one weight vector, no buffers)."""

    def __init__(self, n=2):
        self.w = dl.Parameter(np.zeros(n))

    def parameters(self):
        return [self.w]

    def modules(self):
        return [self]


def test_nan_guard_counts_a_loss_of_exactly_factor_times_the_best_as_healthy():
    """A loss within ``factor`` of the best includes the factor itself: 10 x the best still gets its copy."""
    assert NaNGuard.factor == 10.0
    for loss, copied_before in [(5.0, 16), (5.000001, 0)]:  # the best (smoothed) loss is 0.5
        guard = NaNGuard()
        trainer = types.SimpleNamespace(model=OneWeight())
        guard.on_train_begin(trainer)
        for update in range(17):
            trainer.model.w.data[:] = update
            guard.on_before_update(trainer, 0.5 if update < 16 else loss)  # a copy is due after 16 updates
        trainer.model.w.data[:] = np.nan
        assert guard.restore() == copied_before
        np.testing.assert_array_equal(trainer.model.w.data, [copied_before] * 2)


def test_nan_guard_copies_the_new_weights_after_a_layer_changed_shape_during_the_run():
    """A callback widens the layer mid-run: the next copy holds the new, wider weights, and restores them."""
    guard = NaNGuard()
    trainer = types.SimpleNamespace(model=OneWeight(2))
    guard.on_train_begin(trainer)
    guard.on_before_update(trainer, 1.0)  # the copy before the first update: two weights
    trainer.model.w = dl.Parameter(np.full(3, 7.0))
    for _ in range(16):
        guard.on_before_update(trainer, 1.0)  # the next copy, after 16 updates: three weights
    trainer.model.w.data[:] = np.nan
    assert guard.restore() == 16
    np.testing.assert_array_equal(trainer.model.w.data, [7.0, 7.0, 7.0])


# --- Ctrl-C: the handler installed before fit is the one restored after it -------------------------


def test_fit_restores_the_sigint_handler_that_was_installed_before_it():
    x, y = blobs(60)

    def own_handler(signum, frame):  # e.g. Jupyter's, or a background job's SIG_IGN
        raise AssertionError("dllab's handler should have caught this")

    previous = signal.signal(signal.SIGINT, own_handler)
    try:
        class SendSigint(dl.Callback):
            def on_step_end(self, trainer, epoch, step, logs):
                if step == 0:
                    os.kill(os.getpid(), signal.SIGINT)

        h = dl.Trainer(dl.Dense(3)).fit((x, y), epochs=2, batch_size=20, callbacks=[SendSigint()],
                                         verbose=False)
        assert h.interrupted and len(h.step_loss) == 1
        assert signal.getsignal(signal.SIGINT) is own_handler
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, verbose=False)  # and after a fit that ran to its end
        assert signal.getsignal(signal.SIGINT) is own_handler
    finally:
        signal.signal(signal.SIGINT, previous)


# --- the monitored value: strictly better, by more than min_delta ----------------------------------


def test_best_epoch_counts_only_strict_improvements_beyond_min_delta():
    class Trainer:
        class history:
            epochs, best_epoch = 0, None

    def feed(tracker, values):
        trainer = Trainer()
        trainer.history.epochs, trainer.history.best_epoch = 0, None
        tracker.on_train_begin(trainer)
        assert tracker.improved is False and tracker.best is None
        seen = []
        for value in values:
            trainer.history.epochs += 1
            tracker.on_epoch_end(trainer, trainer.history.epochs - 1, {"val_loss": value, "val_accuracy": value})
            seen.append(tracker.improved)
        return seen, trainer.history.best_epoch

    assert BestEpoch("val_loss").min_delta == 0.0
    assert feed(BestEpoch("val_loss"), [1.0, 1.0, 0.5, 0.5, 0.75]) == ([True, False, True, False, False], 3)
    assert feed(BestEpoch("val_accuracy"), [0.5, 0.5, 0.75, 0.75, 0.25]) == ([True, False, True, False, False], 3)
    assert feed(BestEpoch("val_loss", 0.25), [1.0, 0.75, 0.5, 0.25]) == ([True, False, True, False], 3)
    assert feed(BestEpoch("val_accuracy", 0.25), [0.0, 0.25, 0.5, 0.625]) == ([True, False, True, False], 3)


def test_early_stopping_defaults():
    stop = EarlyStopping()
    assert (stop.patience, stop.monitor, stop.min_delta, stop.restore_best, stop.best) == \
        (3, "val_loss", 0.0, True, None)


def test_all_epochs_run_with_the_best_weights_restored_says_so():
    trainer, h, seen = fit_scripted([1.0, 0.5, 0.75], patience=5)
    assert h.stop_reason == "ran all 3 epochs; best weights (epoch 2) restored"
    assert same([p.data for p in trainer.model.parameters()], seen.weights[1])
    trainer, h, seen = fit_scripted([1.0, 0.75, 0.5], patience=5)  # the last epoch is the best: nothing to do
    assert h.stop_reason is None and same([p.data for p in trainer.model.parameters()], seen.weights[2])


def test_ctrl_c_keeps_the_weights_reached_even_with_early_stopping():
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    trainer.loss_fn = scripted_val_loss(trainer, [1.0, 0.5, 0.75, 0.8])

    class CtrlC(dl.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                raise KeyboardInterrupt

    seen = WeightsPerEpoch()
    h = trainer.fit((x, y), epochs=4, batch_size=20, validation=(x, y), early_stopping=5,
                    callbacks=[seen, CtrlC()], verbose=False)
    assert h.interrupted and h.best_epoch == 2 and "restored" not in h.stop_reason
    assert same([p.data for p in trainer.model.parameters()], seen.weights[2])  # not epoch 2's


# --- the NaN guard: smoothing, and what it says ---------------------------------------------------


def test_nan_guard_smooths_the_loss_and_keeps_the_best_smoothed_value():
    guard = NaNGuard()

    class Trainer:
        class model:
            parameters = staticmethod(lambda: [])
            modules = staticmethod(lambda: [])

    guard.on_train_begin(Trainer)
    assert guard.smooth == guard.best == float("inf") and guard.updates == 0
    guard.on_before_update(Trainer, 2.0)
    assert guard.smooth == 2.0 and guard.best == 2.0
    guard.on_before_update(Trainer, 1.0)
    assert guard.smooth == pytest.approx(0.9 * 2.0 + 0.1 * 1.0) and guard.best == pytest.approx(1.9)
    guard.on_before_update(Trainer, 10.0)
    assert guard.smooth == pytest.approx(0.9 * 1.9 + 0.1 * 10.0) and guard.best == pytest.approx(1.9)
    assert guard.updates == 3


class Guarded:
    """What NaNGuard reads of a Trainer: its model, optimizer and history."""

    def __init__(self, weights=(1.0, 2.0)):
        self.model = dl.Dense(2, in_features=1)
        self.model.W.data[...] = np.array([weights], dtype=np.float32)
        self.optimizer = dl.optim.SGD(self.model, lr=0.5, momentum=0.9)
        self.history = dl.History()


def nan_message(guard, trainer, inputs, targets):
    with pytest.raises(dl.NonFiniteLossError) as info:
        guard.on_loss(trainer, float("nan"), inputs, targets)
    return str(info.value)


def test_nan_guard_names_the_cause_word_for_word():
    guard = NaNGuard()
    trainer = Guarded()
    guard.on_train_begin(trainer)
    finite = dl.Tensor(np.ones((2, 1), np.float32))
    where = "the loss became nan in epoch 1, step 1. "
    assert nan_message(guard, trainer, dl.Tensor(np.array([[np.nan], [1]], np.float32)), np.zeros(2)) == where + (
        "The batch's inputs hold 1 NaN/inf values: clean the data (e.g. np.nan_to_num, or drop those samples) "
        "before training. No update was applied.")
    padded = (dl.Tensor(np.array([[[np.inf]], [[1.0]]], np.float32)), np.array([1, 1]))  # (x, lengths)
    assert "The batch's inputs hold 1 NaN/inf values" in nan_message(guard, trainer, padded, np.zeros(2))
    assert nan_message(guard, trainer, finite, np.array([np.nan, np.inf])) == where + (
        "The batch's targets hold 2 NaN/inf values: clean them (or drop those samples) before training; the "
        "learning rate is not the cause. No update was applied.")
    assert nan_message(guard, trainer, finite, np.zeros(2)) == where + (
        "It happened before any update of this run, with finite inputs, targets and weights: the first forward "
        "pass overflowed; check the scale of the inputs (e.g. pixels divided by 255) and the loss function. "
        "No update was applied.")
    trainer.model.W.data[0, 1] = np.nan
    assert nan_message(guard, trainer, finite, np.zeros(2)) == where + (
        "It happened before any update of this run: the model's weights already hold 1 NaN/inf values (left by an "
        "earlier run that diverged?); build the model again. No update was applied.")


def test_nan_guard_after_updates_blames_the_learning_rate_and_says_what_it_kept():
    guard = NaNGuard()
    trainer = Guarded()
    guard.on_train_begin(trainer)
    guard.on_before_update(trainer, 0.25)  # a copy before update 1
    trainer.model.W.data[...] = 7.0
    trainer.history.step_loss[:] = [0.25, 0.3]
    trainer.history.append({"loss": 0.3})
    message = nan_message(guard, trainer, dl.Tensor(np.ones((2, 1), np.float32)), np.zeros(2))
    assert message == (
        "the loss became nan in epoch 2, step 3. The learning rate (0.5) is probably too high: lower it, e.g. "
        "trainer.optimizer.lr = 0.05, and fit again. The model keeps its weights from before update 1 of this run "
        "(loss 0.25), batch-norm statistics included, and the optimizer's state (momentum, averages) was reset.")
    np.testing.assert_array_equal(trainer.model.W.data, [[1.0, 2.0]])


def test_count_nonfinite():
    from dllab.train.nonfinite import count_nonfinite

    assert count_nonfinite(np.array([1.0, np.nan, np.inf, -np.inf])) == 3
    assert count_nonfinite(np.array([1 + 1j, complex(np.nan, 0)])) == 1
    assert count_nonfinite(np.array([1, 2], np.int64)) == 0 and count_nonfinite(np.array([True])) == 0
    assert count_nonfinite([1.0, float("nan")]) == 0  # not an array: nothing is counted
    assert count_nonfinite(np.array(["nan"])) == 0


# --- checkpoints: checked before training, errors named -----------------------------------------


def test_a_disk_without_room_for_the_checkpoint_is_named_before_training(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from dllab.train.monitor import Checkpoint, check_checkpoint_path

    model = dl.Dense(1000, in_features=250)  # 250,000 float32 weights + 1000 biases: 1.004 MB
    model(np.zeros((1, 250), np.float32))
    need = 1_004_000
    usage = namedtuple("usage", "total used free")
    free = {"bytes": 2 * need + (1 << 20)}
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(0, 0, free["bytes"]))
    check_checkpoint_path(tmp_path / "best.npz", model)  # exactly enough: fine
    check_checkpoint_path(tmp_path / "best.npz", None)
    free["bytes"] -= 1
    with pytest.raises(OSError) as info:
        check_checkpoint_path(tmp_path / "best.npz", model)
    assert info.value.errno == 28
    assert info.value.strerror == (f"fit: not enough free space for checkpoint='{tmp_path / 'best.npz'}': the weights "
                                   "take 1.0 MB, the folder's disk has 3.1 MB free; free some space or save elsewhere")
    check_checkpoint_path(tmp_path / "best.npz", dl.Dense(3))  # an unbuilt model has no weights to weigh

    # the disk asked about is the checkpoint's folder's, and both sizes are in MB of 10**6 bytes, rounded:
    # 100.05004 MB prints "100.1", where 1.000001e6 bytes per MB would give "100.0"
    def disk_of(folder):
        assert Path(folder) == tmp_path, f"asked for the free space of {folder!r}, not of the checkpoint's folder"
        return usage(0, 0, 100_050_040)

    class Weighed:  # a built model of 100.05004 MB of weights
        built = True

        def parameters(self):
            return [types.SimpleNamespace(data=types.SimpleNamespace(nbytes=100_050_040))]

    monkeypatch.setattr(shutil, "disk_usage", disk_of)
    with pytest.raises(OSError, match=r"the weights take 100\.1 MB, the folder's disk has 100\.1 MB free;"):
        check_checkpoint_path(tmp_path / "best.npz", Weighed())

    class Trainer:
        pass

    trainer = Trainer()
    trainer.model = model
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(0, 0, free["bytes"]))  # one byte short
    with pytest.raises(OSError, match="not enough free space"):  # the callback checks with the model
        Checkpoint(tmp_path / "best.npz", BestEpoch("loss")).on_train_begin(trainer)
    assert not list(tmp_path.iterdir())  # the write test left nothing behind


def test_checkpoint_path_messages_word_for_word(tmp_path, monkeypatch):
    import tempfile

    from dllab.train.monitor import check_checkpoint_path

    with pytest.raises(IsADirectoryError) as info:
        check_checkpoint_path(tmp_path)
    assert str(info.value) == (f"fit: checkpoint='{tmp_path}' is a folder; give a file name in it, e.g. "
                               f"checkpoint='{tmp_path / 'best.npz'}'")
    with pytest.raises(FileNotFoundError) as info:
        check_checkpoint_path(tmp_path / "no" / "best.npz")
    assert str(info.value) == (f"fit: the folder of checkpoint='{tmp_path / 'no' / 'best.npz'}' does not exist; "
                               f"create it first (os.makedirs('{tmp_path / 'no'}', exist_ok=True))")
    probes = []
    real_mkstemp = tempfile.mkstemp

    def spy(*args, **kwargs):
        probes.append(kwargs)
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    monkeypatch.chdir(tmp_path)
    check_checkpoint_path("best.npz")  # a bare file name: the current folder is checked
    assert probes == [{"prefix": ".dllab-write-test.", "dir": Path(".")}]
    assert not list(tmp_path.iterdir())

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        check_checkpoint_path(tmp_path / "best.npz")
    assert info.value.errno == 13 and info.value.strerror == (
        f"fit: cannot write checkpoint='{tmp_path / 'best.npz'}': the folder '{tmp_path}' is not writable "
        "(Permission denied); give a path in a folder you can write to, e.g. checkpoint='best.npz' "
        "(the current folder)")


def test_a_checkpoint_write_that_fails_keeps_its_errno_and_says_what_to_do(tmp_path, monkeypatch):
    x, y = blobs(60)

    def disk_full(self, path, info=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dl.Module, "save", disk_full)
    with pytest.raises(OSError) as info:
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, checkpoint=tmp_path / "best.npz", verbose=False)
    assert info.value.errno == 28 and info.value.strerror == (
        f"fit: could not write checkpoint='{tmp_path / 'best.npz'}' after epoch 1: No space left on device. Free "
        "some space or give another path; the model keeps the weights it has now (trainer.model.save(path) "
        "saves them)")


# --- Ctrl-C: the handler is put back whatever happens --------------------------------------------


def test_the_sigint_handler_is_left_alone_when_fit_fails_before_installing_it_and_restored_once():
    from dllab.train.callbacks import SafeInterrupt

    x, y = blobs(60)
    before = signal.getsignal(signal.SIGINT)

    class Broken(dl.Callback):
        def on_train_begin(self, trainer):
            raise ValueError("broken callback")

    with pytest.raises(ValueError, match="broken callback"):  # SafeInterrupt never installed its handler
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, callbacks=[Broken()], verbose=False)
    assert signal.getsignal(signal.SIGINT) is before
    guard = SafeInterrupt()
    assert guard.requested is False
    guard.close()  # nothing installed: nothing to restore
    guard.on_train_begin(None)
    assert signal.getsignal(signal.SIGINT) == guard._handler
    guard.close()
    guard.close()  # a second close is harmless
    assert signal.getsignal(signal.SIGINT) is before


# --- progress: the bar over all steps and one line per epoch ---------------------------------------


def test_progress_bar_counts_every_step_and_each_epoch_has_one_line(monkeypatch, capsys):
    import re

    monkeypatch.delenv("CI", raising=False)
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    h = trainer.fit((x, y), epochs=2, batch_size=20, validation=(x, y), early_stopping=dl.EarlyStopping(1),
                    verbose=True)
    out, err = capsys.readouterr()
    bar = err.replace("\r", "\n")
    assert re.search(r"epoch 2/2: 100%.*\| 6/6 \[", bar), bar  # 2 epochs x 3 steps, the last epoch named
    assert "step/s" in bar and "/6 [" in bar and " 7/6 " not in bar
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  loss ")
    for line in lines:  # the values, not the time, speed or learning rate
        assert re.fullmatch(r"epoch \d/2  loss \d\.\d{4}  accuracy \d\.\d{4}  val_loss \d\.\d{4}  "
                            r"val_accuracy \d\.\d{4}  \(\d+\.\ds, [\d,]+ samples/s\)", line), line
    assert len(h.step_loss) == 6


class RecordedBar:
    """Stands in for tqdm (``tqdm.auto.tqdm``: a terminal's bar, or a widget in a notebook): it records what
    the progress log gives it. The defaults are tqdm's."""

    def __init__(self, total=None, disable=False, unit="it", leave=True, dynamic_ncols=False, mininterval=0.1):
        self.total, self.disable, self.unit, self.leave = total, disable, unit, leave
        self.dynamic_ncols, self.mininterval = dynamic_ncols, mininterval
        self.n, self.descriptions, self.postfix, self.lines, self.closed = 0, [], None, [], 0

    def update(self, n=1):
        self.n += n

    def set_description(self, desc=None, refresh=True):
        self.descriptions.append(desc)

    def set_postfix_str(self, s="", refresh=True):
        self.postfix = str(s)

    def write(self, line):
        self.lines.append(line)

    def close(self):
        self.closed += 1


def progress_of(trainer):
    [log] = [cb for cb in trainer.callbacks if isinstance(cb, ProgressLog)]
    return log


def test_the_bar_is_given_every_step_of_the_fit_kept_full_width_at_the_end_and_closed(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("tqdm.auto.tqdm", RecordedBar)
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    trainer.fit((x, y), epochs=2, batch_size=20, verbose=True)
    bar = progress_of(trainer).bar
    assert (bar.total, bar.n, bar.unit, bar.disable) == (6, 6, "step", False)  # 2 epochs x 3 steps
    assert bar.descriptions == ["epoch 1/2", "epoch 2/2"]
    # kept once training ends (leave=None would remove a notebook's bar), as wide as the cell or terminal
    assert bar.leave is True and bar.dynamic_ncols is True
    # redrawn at most ten times a second (each redraw in a notebook is a widget message), at least twice
    assert 0.1 <= bar.mininterval <= 0.5
    assert bar.closed >= 1
    assert [line.split("  ")[0] for line in bar.lines] == ["epoch 1/2", "epoch 2/2"]  # written above the bar
    assert "epoch 1/2" not in capsys.readouterr().out


def test_the_bar_shows_the_latest_loss_every_half_second_in_every_epoch(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("tqdm.auto.tqdm", RecordedBar)
    trainer = types.SimpleNamespace(fit_epochs=2, steps_per_epoch=6, history=dl.History())
    log = ProgressLog()
    log.on_train_begin(trainer)
    shown = []
    for epoch, losses in enumerate([[2.0, 1.5, 1.25, 1.0, 0.875, 0.75], [0.7, 0.65, 0.6, 0.55, 0.5, 0.45]]):
        log.on_epoch_begin(trainer, epoch)
        for step, loss in enumerate(losses):
            seconds = 0.25 * (step + 1)  # since the epoch began, as the Trainer's step logs count it
            log.on_step_end(trainer, epoch, step, {"loss": loss, "time": seconds, "samples_per_s": 10 / seconds})
            shown.append(log.bar.postfix)
    # a new loss once more than half a second has passed since the last one shown: 0.75 s, 1.5 s, in each epoch
    assert shown == [None, None, "loss 1.2500", "loss 1.2500", "loss 1.2500", "loss 0.7500",
                     "loss 0.7500", "loss 0.7500", "loss 0.6000", "loss 0.6000", "loss 0.6000", "loss 0.4500"]


def test_without_the_bar_each_epochs_line_is_flushed_at_once_and_the_stop_reason_goes_to_stdout(monkeypatch,
                                                                                                     capsys):
    import io
    import sys

    class Piped(io.StringIO):
        """stdout sent to a pipe or a log file: a reader sees what has been flushed."""

        flushed = ""

        def flush(self):
            self.flushed = self.getvalue()

    monkeypatch.setenv("CI", "true")  # the bar is off, as in a CI job's log
    stdout = Piped()
    monkeypatch.setattr(sys, "stdout", stdout)
    seen = []

    class Reader(dl.Callback):  # runs after the progress log in each epoch
        def on_epoch_end(self, trainer, epoch, logs):
            seen.append(stdout.flushed.splitlines()[-1].split("  ")[0])

    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    trainer.loss_fn = scripted_val_loss(trainer, [1.0, 0.5, 0.75, 0.8])
    h = trainer.fit((x, y), epochs=4, batch_size=20, validation=(x, y), early_stopping=1, callbacks=[Reader()])
    assert seen == ["epoch 1/4", "epoch 2/4", "epoch 3/4"]
    assert h.stop_reason == ("early stopping: val_loss did not improve for 1 epoch (best 0.5 at epoch 2); "
                             "best weights (epoch 2) restored")
    assert stdout.getvalue().splitlines()[-1] == h.stop_reason  # not an error: on stdout, after the last epoch
    assert capsys.readouterr().err == ""


def test_a_ctrl_c_before_the_bar_is_made_ends_the_fit_as_any_ctrl_c(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)

    class CtrlCAtTheStart(dl.EarlyStopping):  # the safety nets start before the progress log makes its bar
        def on_train_begin(self, trainer):
            super().on_train_begin(trainer)
            raise KeyboardInterrupt

    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2))
    h = trainer.fit((x, y), epochs=2, early_stopping=CtrlCAtTheStart(monitor="loss"), verbose=True)
    assert h.interrupted and h.epochs == 0 and progress_of(trainer).bar is None
    assert capsys.readouterr().err == h.stop_reason + "\n"


def test_a_ctrl_c_before_early_stopping_starts_ends_the_fit_as_any_ctrl_c(monkeypatch):
    def ctrl_c(self, trainer):  # the NaN guard starts before early stopping
        raise KeyboardInterrupt

    monkeypatch.setattr(NaNGuard, "on_train_begin", ctrl_c)
    x, y = blobs(60)
    model = dl.Dense(3, in_features=2)
    before = [p.numpy().copy() for p in model.parameters()]
    h = dl.Trainer(model).fit((x, y), epochs=2, validation=(x, y), early_stopping=1, verbose=False)
    assert h.interrupted and h.epochs == 0
    assert all(np.array_equal(p.numpy(), b) for p, b in zip(model.parameters(), before))


# --- issue 29: round two of the safety nets ------------------------------------------------------


def test_patience_zero_stops_at_the_first_epoch_that_does_not_improve_not_after_epoch_one():
    trainer, h, seen = fit_scripted([1.0, 0.9, 0.8, 0.85, 0.7], patience=0)
    assert h.epochs == 4 and h.best_epoch == 3 and h["val_loss"] == pytest.approx([1.0, 0.9, 0.8, 0.85])
    assert h.stop_reason == ("early stopping: val_loss did not improve for 1 epoch (best 0.8 at epoch 3); "
                             "best weights (epoch 3) restored")
    assert same([p.data for p in trainer.model.parameters()], seen.weights[2])
    # early_stopping=0 is the same patience
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    trainer.loss_fn = scripted_val_loss(trainer, [1.0, 0.9, 0.95, 0.5])
    h = trainer.fit((x, y), epochs=4, batch_size=20, validation=(x, y), early_stopping=0, verbose=False)
    assert h.epochs == 3 and h.best_epoch == 2


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True])
def test_a_patience_that_is_not_a_count_of_epochs_is_named(bad):
    with pytest.raises(ValueError) as info:
        EarlyStopping(patience=bad)
    assert str(info.value) == (f"EarlyStopping: patience must be a whole number of epochs >= 0, got {bad!r}; "
                               "e.g. patience=3 (stop after 3 epochs without improvement)")


@pytest.mark.parametrize("name", ["val_f1", "f1_score", "val_auc", "roc_auc", "val_r2", "r2_score", "val_precision",
                                  "recall", "balanced_accuracy", "val_acc"])
def test_f1_auc_r2_precision_and_recall_are_better_higher(name):
    assert higher_is_better(name) is True
    assert BestEpoch(name).higher is True and BestEpoch(name).mode == "max"
    assert BestEpoch(name, mode="min").higher is False


def fit_scripted_metric(name, values, **early):
    """Early stopping on a scripted validation metric called ``name`` (0.0 while training)."""
    x, y = blobs(60)
    model = dl.Dense(3, in_features=2)

    def metric(scores, labels):
        return 0.0 if model.training else values[trainer.epoch]

    metric.__name__ = name
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.1), metrics=(metric,))
    seen = WeightsPerEpoch()
    h = trainer.fit((x, y), epochs=len(values), batch_size=20, validation=(x, y), callbacks=[seen], verbose=False,
                    early_stopping=dl.EarlyStopping(monitor="val_" + name, **early))
    return trainer, h, seen


def test_val_f1_is_maximised_and_the_restored_model_is_the_highest_f1():
    trainer, h, seen = fit_scripted_metric("f1", [0.2, 0.406, 0.312, 0.3, 0.5], patience=2)
    assert h.epochs == 4 and h.best_epoch == 2
    assert h.stop_reason == ("early stopping: val_f1 did not improve for 2 epochs (best 0.406 at epoch 2); "
                             "best weights (epoch 2) restored")
    assert same([p.data for p in trainer.model.parameters()], seen.weights[1])


def test_mode_max_and_min_override_the_name():
    # a name the auto mode cannot know: "score" would be minimised without mode="max"
    trainer, h, seen = fit_scripted_metric("score", [0.2, 0.9, 0.5, 0.4], patience=2, mode="max")
    assert h.best_epoch == 2 and "best 0.9 at epoch 2" in h.stop_reason
    assert same([p.data for p in trainer.model.parameters()], seen.weights[1])
    _, h, _ = fit_scripted_metric("score", [0.2, 0.9, 0.5, 0.4], patience=2)
    assert h.best_epoch == 1  # auto: lower is better for an unknown name, as for losses
    _, h, _ = fit_scripted_metric("accuracy", [0.5, 0.4, 0.6, 0.7], patience=2, mode="min")
    assert h.best_epoch == 2 and h.epochs == 4


def test_early_stopping_mode_is_checked_and_shown():
    stop = EarlyStopping(monitor="val_f1")
    assert stop.mode == "auto" and repr(stop) == "EarlyStopping(patience=3, monitor='val_f1', mode='auto')"
    assert repr(EarlyStopping(mode="max")) == "EarlyStopping(patience=3, monitor='val_loss', mode='max')"
    for bad in ("maximum", "MAX", None, 1):
        with pytest.raises(ValueError) as info:
            EarlyStopping(monitor="val_score", mode=bad)
        assert str(info.value) == (f"EarlyStopping: mode must be 'min', 'max' or 'auto', got {bad!r}; e.g. "
                                   "mode='max' when a higher val_score is better, as for accuracy or F1")


def fit_scripted_flag(values, early_stopping):
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2), optimizer=dl.optim.SGD(lr=0.1))
    trainer.loss_fn = scripted_val_loss(trainer, values)
    seen = WeightsPerEpoch()
    h = trainer.fit((x, y), epochs=len(values), batch_size=20, validation=(x, y), early_stopping=early_stopping,
                    callbacks=[seen], verbose=False)
    return trainer, h, seen


def test_early_stopping_true_is_the_default_early_stopping_and_false_is_none():
    values = [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.1]
    trainer, h, seen = fit_scripted_flag(values, True)  # patience 3, val_loss
    assert h.epochs == 5 and h.best_epoch == 2
    assert h.stop_reason == ("early stopping: val_loss did not improve for 3 epochs (best 0.5 at epoch 2); "
                             "best weights (epoch 2) restored")
    assert same([p.data for p in trainer.model.parameters()], seen.weights[1])
    trainer, h, seen = fit_scripted_flag(values, False)
    assert h.epochs == 7 and h.stop_reason is None
    assert same([p.data for p in trainer.model.parameters()], seen.weights[-1])


@pytest.mark.parametrize("bad", ["val_loss", 2.5, {"patience": 2}])
def test_an_early_stopping_that_is_not_a_flag_a_patience_or_an_early_stopping_is_named(bad):
    x, y = blobs(60)
    model = dl.Dense(3, in_features=2)
    before = model.W.data.copy()
    trainer = dl.Trainer(model)
    with pytest.raises(TypeError) as info:
        trainer.fit((x, y), epochs=2, validation=(x, y), early_stopping=bad, verbose=False)
    assert str(info.value) == (f"fit: early_stopping must be True (patience 3), a patience such as 5, or "
                               f"dl.EarlyStopping(patience=..., monitor=..., mode=...), got {bad!r}")
    assert np.array_equal(model.W.data, before) and trainer.optimizer.steps == 0


# --- a second fit with the same checkpoint path: compared with the file's recorded best -----------


def fit_checkpoint(path, values, model=None, **early):
    """A fit whose validation loss (or, with monitor=, accuracy) in each epoch is scripted."""
    x, y = blobs(60)
    model = model or dl.Dense(3, in_features=2)
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.1))
    trainer.loss_fn = scripted_val_loss(trainer, values)
    seen = WeightsPerEpoch()
    h = trainer.fit((x, y), epochs=len(values), batch_size=20, validation=(x, y), checkpoint=path, callbacks=[seen],
                    early_stopping=dl.EarlyStopping(patience=len(values), restore_best=False, **early), verbose=False)
    return trainer, h, seen


def saved_weights(path):
    return [p.data for p in dl.Dense(3).load(path).parameters()]


def test_the_checkpoint_records_its_monitored_value_and_mode_and_still_loads(tmp_path):
    from dllab.layers.checkpoint import checkpoint_info

    path = tmp_path / "best.npz"
    _, h, seen = fit_checkpoint(path, [1.5, 1.151, 1.3])
    assert checkpoint_info(path) == {"monitor": "val_loss", "mode": "min", "best": pytest.approx(1.151)}
    assert same(saved_weights(path), seen.weights[1])  # model.load reads the weights, not the record
    model = dl.Dense(3, in_features=2)
    model.save(tmp_path / "plain.npz")
    assert checkpoint_info(tmp_path / "plain.npz") is None and checkpoint_info(tmp_path / "none.npz") is None


def test_a_second_fit_does_not_overwrite_a_better_checkpoint(tmp_path):
    from dllab.layers.checkpoint import checkpoint_info

    path = tmp_path / "best.npz"
    trainer, _, first = fit_checkpoint(path, [1.151, 1.3])
    # the same model trained on: worse than the file in every epoch, so the file stays
    _, h, _ = fit_checkpoint(path, [2.288, 1.5], model=trainer.model)
    assert checkpoint_info(path)["best"] == pytest.approx(1.151) and same(saved_weights(path), first.weights[0])
    assert h.best_epoch == 2 and h.stop_reason == (
        f"ran all 2 epochs; checkpoint={str(path)!r} kept from an earlier fit: its val_loss 1.151 was not beaten "
        "(best of this fit 1.5)")
    # a fit that does better replaces it, at the first epoch that beats the file
    _, h, third = fit_checkpoint(path, [2.0, 1.2, 1.0, 1.1], model=trainer.model)
    assert checkpoint_info(path)["best"] == pytest.approx(1.0) and same(saved_weights(path), third.weights[2])
    assert h.stop_reason is None


def test_a_checkpoint_that_cannot_be_compared_is_replaced_with_a_warning_that_says_so(tmp_path):
    from dllab.layers.checkpoint import checkpoint_info

    path = tmp_path / "best.npz"
    dl.Dense(3, in_features=2).save(path)  # weights alone, as model.save (or an older dllab) writes them
    with pytest.warns(UserWarning) as record:
        _, _, seen = fit_checkpoint(path, [2.288, 2.5])
    assert str(record[0].message) == (
        f"fit: checkpoint={str(path)!r} already exists but records no best value (written by model.save, or by an "
        "older dllab), so this fit cannot compare with it: it starts a new best and replaces the file after its "
        "first epoch. Give another path to keep that file.")
    assert record[0].filename == __file__
    assert checkpoint_info(path)["best"] == pytest.approx(2.288) and same(saved_weights(path), seen.weights[0])
    # a file that records another monitor (or mode) cannot be compared either
    with pytest.warns(UserWarning) as record:
        _, _, seen = fit_checkpoint(path, [3.0, 2.9], mode="max")
    assert str(record[0].message) == (
        f"fit: checkpoint={str(path)!r} already exists but records the best val_loss (min) 2.288, while this fit "
        "monitors val_loss (max), so this fit cannot compare with it: it starts a new best and replaces the file "
        "after its first epoch. Give another path to keep that file.")
    assert checkpoint_info(path) == {"monitor": "val_loss", "mode": "max", "best": pytest.approx(3.0)}
    assert same(saved_weights(path), seen.weights[0])
