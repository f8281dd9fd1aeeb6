"""dllab.train.nonfinite: the NaN guard keeps the last healthy weights, not the first ones, smooths the loss and
names the cause."""

import types

import numpy as np
import pytest
from callbacks_helpers import same
from train_helpers import blobs

import dllab as dl
from dllab.train.nonfinite import NaNGuard

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
