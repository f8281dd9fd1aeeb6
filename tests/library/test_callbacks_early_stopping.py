"""dllab.train.monitor: early stopping and the monitored value, checked by what they decide on scripted validation
values: which values are better, the epoch it stops at, patience, min_delta, the monitor, its mode and
restore_best."""

import numpy as np
import pytest
from callbacks_helpers import WeightsPerEpoch, fit_scripted, same, scripted_val_loss
from train_helpers import blobs

import dllab as dl
from dllab.train.monitor import BestEpoch, EarlyStopping, higher_is_better

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
