"""dllab.train.callbacks: the safety nets the Trainer adds itself, checked by what they decide.

The monitored values are scripted (a loss or a metric that returns a given number in each
epoch's validation), so each test knows the epoch training must stop at, the best epoch and the
weights the model must end with.
"""

import os
import signal

import numpy as np
import pytest

import dllab as dl
from dllab.train.callbacks import BestEpoch, EarlyStopping, NaNGuard, higher_is_better


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    x = (centres[y] + rng.standard_normal((n, 2)) * 0.5).astype(np.float32)
    return x, y.astype(np.int64)


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
        "EarlyStopping(patience=4, monitor='val_accuracy')"
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
