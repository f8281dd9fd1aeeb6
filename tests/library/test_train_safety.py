"""The Trainer's safety nets: optimizers left from earlier models, NaN stops and rollbacks, Ctrl-C during updates
and validation, thread policy, models with nothing to train."""

import warnings

import numpy as np
import pytest
from train_helpers import Recorder, _diverging_regression, blobs

import dllab as dl
from dllab.data import Batches

# --- safety nets that hold (each of these failed before its fix) --------------------------------


def test_adam_left_from_an_earlier_model_carries_on_after_the_warning():
    """The re-bind reset the step counter after it had been incremented: 1 - beta1**0 = 0."""
    x, y = blobs()
    opt = dl.optim.Adam(lr=0.05)
    dl.Trainer(dl.Dense(3), optimizer=opt).fit((x, y), epochs=1, verbose=False)
    with pytest.warns(UserWarning, match="made for other parameters"):
        h = dl.Trainer(dl.Dense(3), optimizer=opt).fit((x, y), epochs=2, verbose=False)
    assert np.isfinite(h["loss"]).all() and h["loss"][-1] < h["loss"][0]


def test_early_stopping_restores_the_best_weights_when_training_reaches_the_last_epoch():
    x, y = blobs()
    model = dl.Dense(3)

    class WorseInTheLastEpoch(dl.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:  # after epoch 3 was recorded as the best: epoch 4 starts from bad weights
                trainer.model.W.data *= -3.0

    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.01))
    h = trainer.fit((x, y), epochs=4, batch_size=50, validation=(x, y), early_stopping=10,
                    callbacks=[WorseInTheLastEpoch()], verbose=False)
    assert h.epochs == 4 and h.best_epoch == 3 and h["val_loss"][3] > h["val_loss"][2]
    assert "best weights (epoch 3) restored" in h.stop_reason
    assert trainer.evaluate((x, y))["loss"] == pytest.approx(h["val_loss"][2], rel=1e-5)


def test_after_a_nan_stop_a_lower_learning_rate_trains_again():
    """The optimizer's momentum is reset with the weights: a refit at a lower lr does not diverge."""
    x, t = _diverging_regression()
    model = dl.Dense(1, in_features=2)
    trainer = dl.Trainer(model, loss="mse", optimizer=dl.optim.SGD(lr=0.5, momentum=0.9))
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(dl.NonFiniteLossError, match=r"trainer\.optimizer\.lr = 0\.05"):
            trainer.fit((x, t), epochs=50, batch_size=10, verbose=False)
    assert all(np.abs(s["v"]).max() == 0 for s in trainer.optimizer.state)
    trainer.optimizer.lr = 0.05  # as the message suggests
    h = trainer.fit((x, t), epochs=5, batch_size=10, verbose=False)
    assert h["loss"][-1] < 0.05


def test_after_a_nan_stop_batchnorm_running_statistics_are_rolled_back():
    x, y = blobs()
    x = x.copy()
    x[25, 1] = np.nan  # in the third batch
    model = dl.Dense(4) >> dl.BatchNorm() >> dl.Dense(3)
    with pytest.raises(dl.NonFiniteLossError, match="NaN/inf values"):
        dl.Trainer(model).fit((x, y), epochs=1, batch_size=10, shuffle=False, verbose=False)
    bn = model[1]
    assert np.isfinite(bn.running_mean).all() and np.isfinite(bn.running_var).all()
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_regression_does_not_report_accuracy():
    x, t = _diverging_regression()
    h = dl.Trainer(dl.Dense(1), loss="mse", optimizer=dl.optim.SGD(lr=0.05)).fit(
        (x, t), epochs=2, validation=(x, t), verbose=False)
    assert "accuracy" not in h and "val_accuracy" not in h
    assert "accuracy" in dl.Trainer(dl.Dense(3)).evaluate(blobs())  # integer labels: classification
    with pytest.raises(ValueError, match=r"accuracy needs one score per class.*\(10, 1\).*metrics=\('mae',\)"):
        dl.Trainer(dl.Dense(1), loss="mse", metrics=("accuracy",)).evaluate((x[:10], t[:10]))


def test_ctrl_c_records_every_update_that_was_applied():
    import os
    import signal

    x, y = blobs()
    calls = []

    def loss_with_ctrl_c(scores, labels):  # Ctrl-C arrives during a step's forward pass
        calls.append(1)
        if len(calls) == 6:
            os.kill(os.getpid(), signal.SIGINT)
        return dl.cross_entropy(scores, labels)

    trainer = dl.Trainer(dl.Dense(3), loss=loss_with_ctrl_c)
    h = trainer.fit((x, y), epochs=3, batch_size=30, verbose=False)
    assert h.interrupted
    assert trainer.optimizer.steps == len(h.step_loss) == 6


def test_ctrl_c_during_the_last_validation_is_not_ignored():
    import os
    import signal

    x, y = blobs()
    trainer = dl.Trainer(dl.Dense(3))

    def loss(scores, labels):
        if not trainer.model.training and trainer.epoch == 1:  # validating after the last epoch
            os.kill(os.getpid(), signal.SIGINT)
        return dl.cross_entropy(scores, labels)

    trainer.loss_fn = loss
    h = trainer.fit((x, y), epochs=2, validation=(x[:50], y[:50]), verbose=False)
    assert h.interrupted and "interrupted" in h.stop_reason and h.epochs == 2


def test_evaluate_on_inputs_with_nan_raises():
    x, y = blobs()
    x = x.copy()
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"evaluate: the inputs hold 1 NaN/inf value.*sample 3"):
        dl.Trainer(dl.Dense(3)).evaluate((x, y))


def test_a_fit_with_no_batches_raises_naming_drop_last_and_the_sizes():
    x, y = blobs(50)
    with pytest.raises(ValueError, match=r"no batches.*50 samples.*batch_size=64.*drop_last=True"):
        dl.Trainer(dl.Dense(3)).fit(Batches((x, y), batch_size=64, drop_last=True), epochs=1, verbose=False)


# --- issue 29: round two of the safety nets ------------------------------------------------------


def test_predict_names_a_batch_size_that_is_not_a_positive_int():
    x, _ = blobs(20)
    model = dl.Dense(3, in_features=2)
    before = model.W.data.copy()
    trainer = dl.Trainer(model)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError) as info:
            trainer.predict(x, batch_size=bad)
        assert str(info.value) == (f"predict: batch_size must be a positive integer, got {bad!r}; e.g. "
                                   "batch_size=1000 (the default)")
    assert model.training and np.array_equal(model.W.data, before)  # nothing ran
    assert trainer.predict(x, batch_size=np.int64(7)).shape == (20, 3)


def test_validation_smaller_than_one_batch_is_named_not_reported_as_zero():
    x, y = blobs(60)
    small = Batches((x[:5], y[:5]), batch_size=64, drop_last=True)
    model = dl.Dense(3, in_features=2)
    before = model.W.data.copy()
    trainer = dl.Trainer(model)
    with pytest.raises(ValueError) as info:
        trainer.evaluate(small)
    assert str(info.value) == ("evaluate: the data gives no batches: 5 samples, batch_size=64, drop_last=True (which "
                               "drops the last, incomplete batch); use a batch_size of at most 5, or drop_last=False")
    with pytest.raises(ValueError) as info:  # before any training, not as a fake val_loss of 0.0 after it
        trainer.fit((x, y), epochs=2, validation=small, verbose=False)
    assert str(info.value) == ("fit: the validation data gives no batches: 5 samples, batch_size=64, drop_last=True "
                               "(which drops the last, incomplete batch); use a batch_size of at most 5, or "
                               "drop_last=False")
    assert np.array_equal(model.W.data, before) and trainer.history.epochs == 0 and trainer.epoch == 0
    assert trainer.optimizer.steps == 0
    # the same samples without drop_last are evaluated, partial batch included
    result = trainer.evaluate(Batches((x[:5], y[:5]), batch_size=64))
    assert result["loss"] > 0 and result == trainer.evaluate((x[:5], y[:5]))


def test_a_ctrl_c_during_the_last_validation_counts_the_epoch_it_completed():
    import os
    import signal

    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3, in_features=2))
    seen = Recorder()

    def loss(scores, labels):
        if not trainer.model.training and trainer.epoch == 2:  # validating after the last of 3 epochs
            os.kill(os.getpid(), signal.SIGINT)
        return dl.cross_entropy(scores, labels)

    trainer.loss_fn = loss
    h = trainer.fit((x, y), epochs=3, batch_size=30, validation=(x[:20], y[:20]), verbose=False)
    assert h.interrupted and h.epochs == 3 and len(h["val_loss"]) == 3 and trainer.optimizer.steps == 6
    assert h.stop_reason == "interrupted by the user in epoch 3; the model keeps the weights reached so far"
    assert trainer.epoch == 3  # 3 epochs completed and recorded, not 2
    trainer.loss_fn = dl.cross_entropy
    trainer.fit((x, y), epochs=1, batch_size=30, callbacks=[seen], verbose=False)
    assert seen.calls == [("begin", 3, 0), ("end", 3, 0)] and trainer.epoch == 4  # the next fit goes on from 3


def test_a_frozen_body_keeps_no_stale_gradient_for_the_next_optimizer():
    """Lab 5's workflow: fine-tune the head with the body frozen, then train everything."""
    x, y = blobs()
    body, head = dl.Dense(8, activation=dl.relu), dl.Dense(3)
    model = body >> head
    model(dl.Tensor(x[:1]))
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(head, lr=0.1))
    trainer.fit((x, y), epochs=1, batch_size=30, verbose=False)  # 10 steps, the body frozen
    assert trainer.optimizer.steps == 10
    assert all(p.grad is None for p in model.parameters())  # the body's gradients did not pile up
    # the gradient of one batch, on a copy of the model
    copy = dl.Dense(8, activation=dl.relu) >> dl.Dense(3)
    copy.load_state_dict(model.state_dict())
    dl.cross_entropy(copy(dl.Tensor(x[:30])), y[:30]).backward()
    body_w = body.W.data.copy()
    body.W.grad = np.ones_like(body_w)  # left by a hand-written loop that did not zero it
    dl.Trainer(model, optimizer=dl.optim.SGD(model, lr=0.1)).fit((x[:30], y[:30]), epochs=1, batch_size=30,
                                                                  verbose=False)
    np.testing.assert_allclose(body.W.data - body_w, -0.1 * copy[0].W.grad, rtol=1e-5, atol=1e-7)


def test_a_second_ctrl_c_inside_the_update_lets_it_finish_and_keeps_the_weights_reached():
    """Two Ctrl-C during update 30 of 30: the update completes and stays; nothing is rolled back to
    the NaN guard's copy (taken before update 17), so the weights, the optimizer's momentum, the
    history and the message agree."""
    import os
    import signal

    x, y = blobs()
    start = dl.Dense(3, in_features=2).state_dict()

    class CtrlCTwice(dl.optim.SGD):
        def update(self, w, g, state, lr):
            if self.steps == 30 and w.ndim == 2:
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(3):  # the handler runs between the two
                    pass
                os.kill(os.getpid(), signal.SIGINT)
            super().update(w, g, state, lr)

    def run(optimizer):
        model = dl.Dense(3, in_features=2)
        model.load_state_dict(start)
        trainer = dl.Trainer(model, optimizer=optimizer)
        return trainer, trainer.fit((x, y), epochs=3, batch_size=30, verbose=False)

    reference, _ = run(dl.optim.SGD(lr=0.1, momentum=0.9))
    trainer, h = run(CtrlCTwice(lr=0.1, momentum=0.9))
    assert h.interrupted and h.epochs == 2  # the third epoch's line is not recorded: it was interrupted
    assert h.stop_reason == "interrupted by the user in epoch 3; the model keeps the weights reached so far"
    assert trainer.optimizer.steps == len(h.step_loss) == 30
    for mine, theirs in zip(trainer.model.parameters(), reference.model.parameters()):
        np.testing.assert_array_equal(mine.data, theirs.data)  # after update 30, not 16
    for mine, theirs in zip(trainer.optimizer.state, reference.optimizer.state):
        np.testing.assert_array_equal(mine["v"], theirs["v"])  # the momentum is kept, not reset


def test_an_interrupt_raised_inside_the_update_says_which_updates_are_undone():
    """A KeyboardInterrupt not from Ctrl-C's handler, inside update 20: the half-applied update can
    only be undone by going back to the NaN guard's copy (taken before update 17), and the message
    says so instead of "keeps the weights reached so far"."""
    x, y = blobs()
    start = dl.Dense(3, in_features=2).state_dict()

    class Boom(dl.optim.SGD):
        def update(self, w, g, state, lr):
            if self.steps == 20:
                w -= 1000.0  # half-done update, then the interrupt
                raise KeyboardInterrupt
            super().update(w, g, state, lr)

    class After16(dl.Callback):  # the weights after update 16 of an uninterrupted run
        def on_step_end(self, trainer, epoch, step, logs):
            if len(trainer.history.step_loss) == 16:
                self.weights = [p.data.copy() for p in trainer.model.parameters()]

    def run(optimizer, callbacks=()):
        model = dl.Dense(3, in_features=2)
        model.load_state_dict(start)
        trainer = dl.Trainer(model, optimizer=optimizer)
        return trainer, trainer.fit((x, y), epochs=2, batch_size=30, callbacks=callbacks, verbose=False)

    after_16 = After16()
    run(dl.optim.SGD(lr=0.1, momentum=0.9), [after_16])
    trainer, h = run(Boom(lr=0.1, momentum=0.9))
    assert h.interrupted and len(h.step_loss) == 19 and h.epochs == 1
    assert h.stop_reason == ("interrupted in epoch 2 during update 20 of this run, which was left half applied: the "
                             "model went back to its weights from before update 17 (the latest healthy copy: updates "
                             "17-20 are undone, while history.step_loss keeps the losses of those that completed) and "
                             "the optimizer's state (momentum, averages) was reset")
    for mine, theirs in zip(trainer.model.parameters(), after_16.weights):
        np.testing.assert_array_equal(mine.data, theirs)
    assert trainer.optimizer.steps == 0 and all(not s["v"].any() for s in trainer.optimizer.state)


def test_fit_consults_the_thread_policy_at_start_and_each_epoch(monkeypatch):
    """The adaptive BLAS thread policy (dllab/threads.py) reads the load at fit start and before each
    later epoch, and switches the count in between: a fake load, idle then busy then idle."""
    from threadpoolctl import threadpool_limits

    from dllab import threads

    readings = []
    load = iter([0.0, 1.5, 1.5, 0.0, 0.0, 0.0])

    def fake_load():
        readings.append(trainer.epoch)
        return next(load)

    monkeypatch.setattr(threads, "_state", {**threads._state, "mode": "adaptive", "num_threads": 1})
    monkeypatch.setattr(threads, "available_cpus", lambda *a: 2)
    monkeypatch.setattr(threads, "adaptive", threads.AdaptivePolicy(load=fake_load))
    monkeypatch.setattr(threads, "CHECK_EVERY", 3600.0)  # no look within these short epochs
    counts = []

    class Record(dl.Callback):
        def on_epoch_begin(self, trainer, epoch):
            counts.append(threads.info()["num_threads"])

    x, y = blobs()
    trainer = dl.Trainer(dl.Dense(3), optimizer="sgd")
    with threadpool_limits(limits=None):  # the BLAS pool's count comes back afterwards
        trainer.fit((x, y), epochs=4, batch_size=100, callbacks=[Record()], verbose=False)
    assert readings == [0, 1, 2, 3]       # fit start (before epoch 1), then before epochs 2, 3 and 4
    assert counts == [2, 1, 1, 1]          # up when idle, down when busy, then two quiet readings needed
    whens = [d["when"] for d in threads.adaptive.decisions]
    assert whens == ["fit start", "epoch 2", "epoch 3", "epoch 4"]
    # a second fit goes on with the same policy: the second quiet reading in a row switches up
    readings.clear()
    with threadpool_limits(limits=None):
        trainer.fit((x, y), epochs=1, batch_size=100, verbose=False)
    assert readings == [4] and threads._state["num_threads"] == 2


def test_predict_warns_when_nan_inputs_make_nan_outputs_naming_how_many_rows():
    # NaN inputs used to give NaN scores without a word
    x, y = blobs(40)
    trainer = dl.Trainer(dl.Dense(3), optimizer=dl.optim.SGD(lr=0.1))
    trainer.fit((x, y), epochs=1, verbose=False)
    dirty = x.copy()
    dirty[[3, 17], 1] = np.nan
    dirty[30, 0] = np.inf
    with pytest.warns(UserWarning) as record:
        scores = trainer.predict(dirty, batch_size=16)
    assert len(record) == 1 and record[0].filename == __file__  # at the user's line
    assert str(record[0].message) == (
        "predict: 3 of the 40 outputs are NaN or inf because the inputs contain NaN or inf: 3 of the 40 input rows "
        "hold NaN/inf values (rows 3, 17, 30), so their results are NaN/inf too. Clean them first (np.nan_to_num, "
        "or drop those rows: x[np.isfinite(x).reshape(len(x), -1).all(axis=1)])")
    assert np.isnan(scores[[3, 17]]).all() and not np.isfinite(scores[30]).any()
    assert np.isfinite(np.delete(scores, [3, 17, 30], axis=0)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer.predict(x)  # clean inputs: no warning
    trainer.model.W.data[0, 0] = np.nan
    with pytest.warns(UserWarning, match=r"^predict: 40 of the 40 outputs are NaN or inf because the model's weights "
                                         r"hold 1 NaN/inf values"):
        trainer.predict(x)


@pytest.mark.parametrize("model", [dl.Flatten(), dl.Flatten() >> dl.relu])
def test_fit_of_a_model_without_parameters_says_there_is_nothing_to_train(model):
    # used to fail inside backward() with autograd's "does not require grad"
    x, y = blobs(20)
    y = y % 2  # two outputs: two classes
    trainer = dl.Trainer(model, optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError) as info:
        trainer.fit((x, y), epochs=2, verbose=False)
    assert str(info.value).startswith(f"fit: this model has no parameters to train: {model!r} has no layer with "
                                      "weights (such as dl.Dense or dl.Conv2D)")
    assert "backward" not in str(info.value)
    assert trainer.evaluate((x, y))["loss"] > 0 and trainer.predict(x).shape == (20, 2)  # still usable there


def test_fit_whose_loss_ignores_the_parameters_says_so():
    x, y = blobs(20)
    detached = lambda scores, targets: dl.cross_entropy(dl.Tensor(scores.data), targets)  # noqa: E731
    trainer = dl.Trainer(dl.Dense(3), loss=detached, optimizer="sgd", lr=0.1)
    with pytest.raises(ValueError, match=r"^fit: the loss does not depend on the model's parameters.*\.data"):
        trainer.fit((x, y), epochs=1, verbose=False)
