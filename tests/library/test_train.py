"""The Trainer: learning for real on MNIST, history, early stopping, checkpoints and its safety nets."""

import warnings

import numpy as np
import pytest

import dllab as dl
from dllab.data import Batches, Dataset


@pytest.fixture(scope="module")
def mnist():
    return dl.data.mnist()


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.5]])
    x = (centres[y] + rng.standard_normal((n, 2)) * 0.5).astype(np.float32)
    return x, y.astype(np.int64)


def test_logistic_regression_learns_mnist_subset(mnist):
    train, test = mnist
    model = dl.Flatten() >> dl.Dense(10)
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.05, momentum=0.9), metrics=("accuracy", "error"))
    history = trainer.fit(train.subset(6000), epochs=3, batch_size=64, validation=test[:2000], verbose=False)
    assert history.epochs == 3
    assert history["loss"][2] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.85  # measured on held-out images (87 % seen)
    assert history["val_error"][-1] == pytest.approx(1 - history["val_accuracy"][-1])
    result = trainer.evaluate(test[:2000])
    assert result["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    scores = trainer.predict(test.x[:10])
    assert scores.shape == (10, 10) and scores.dtype == np.float32


def test_history_and_metrics_per_epoch():
    x, y = blobs()
    trainer = dl.Trainer(dl.Dense(3), optimizer=dl.optim.Adam(lr=0.05))
    h = trainer.fit((x, y), epochs=4, batch_size=32, validation=(x[:50], y[:50]), verbose=False)
    assert set(h) >= {"loss", "accuracy", "val_loss", "val_accuracy", "time", "samples_per_s", "lr"}
    assert all(len(v) == 4 for v in h.values())
    assert len(h.step_loss) == 4 * int(np.ceil(300 / 32))
    assert h["accuracy"][-1] > 0.9
    assert "4 epochs" in repr(h)


def test_early_stopping_restores_best_and_checkpoint(tmp_path):
    x, y = blobs()
    model = dl.Dense(3)
    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.05))
    calls = []

    class Spy(dl.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(epoch)
            # make validation get worse after epoch 2, so early stopping triggers
            if epoch >= 1:
                trainer.model.W.data[:, 0] += 5.0

    ckpt = tmp_path / "best.npz"
    h = trainer.fit((x, y), epochs=20, batch_size=50, validation=(x, y), callbacks=[Spy()],
                    early_stopping=dl.EarlyStopping(patience=2), checkpoint=ckpt, verbose=False)
    assert h.epochs < 20 and "early stopping" in h.stop_reason and "restored" in h.stop_reason
    assert h.best_epoch == int(np.argmin(h["val_loss"])) + 1
    best_loss = min(h["val_loss"])
    assert trainer.evaluate((x, y))["loss"] == pytest.approx(best_loss, rel=1e-5)
    reloaded = dl.Dense(3).load(ckpt)
    assert dl.Trainer(reloaded).evaluate((x, y))["loss"] == pytest.approx(best_loss, rel=1e-5)


def test_nan_loss_stops_with_a_helpful_message_and_keeps_good_weights():
    x, _ = blobs()
    t = x[:, :1] * 3.0
    model = dl.Dense(1, in_features=2)
    trainer = dl.Trainer(model, loss=dl.mse, optimizer=dl.optim.SGD(lr=5.0), metrics=())  # far too high
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(dl.NonFiniteLossError, match=r"epoch \d+, step \d+.*learning rate \(5\).*lower"):
            trainer.fit((x, t), epochs=50, batch_size=10, verbose=False)
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    assert np.isfinite(dl.mse(model(x), t).item())


def test_nan_in_the_inputs_is_reported():
    x, y = blobs()
    x = x.copy()
    x[5, 0] = np.nan
    with pytest.raises(dl.NonFiniteLossError, match="epoch 1, step 1.*NaN/inf values"):
        dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, batch_size=10, shuffle=False, verbose=False)


def test_ctrl_c_keeps_weights_reached_so_far(capsys):
    x, y = blobs()
    model = dl.Dense(3, in_features=2)
    start = model.W.data.copy()

    class Interrupt(dl.Callback):
        def on_step_end(self, trainer, epoch, step, logs):
            if epoch == 1 and step == 2:
                raise KeyboardInterrupt

    trainer = dl.Trainer(model, optimizer=dl.optim.SGD(lr=0.1))
    h = trainer.fit((x, y), epochs=5, batch_size=30, callbacks=[Interrupt()], verbose=True)
    assert h.interrupted and "interrupted" in h.stop_reason and h.epochs == 1
    assert not np.array_equal(model.W.data, start)
    assert "keeps the weights" in capsys.readouterr().err


def test_interrupt_inside_the_update_rolls_the_step_back():
    x, y = blobs()
    model = dl.Dense(3, in_features=2)

    class Boom(dl.optim.SGD):
        def update(self, w, g, state, lr):
            if self.steps == 3:
                w -= 1000.0  # half-done update, then Ctrl-C
                raise KeyboardInterrupt
            super().update(w, g, state, lr)

    trainer = dl.Trainer(model, optimizer=Boom(lr=0.1))
    h = trainer.fit((x, y), epochs=1, batch_size=30, verbose=False)
    assert h.interrupted
    assert np.abs(model.W.data).max() < 100


def test_progress_is_quiet_under_ci(monkeypatch, capsys):
    x, y = blobs(64)
    monkeypatch.setenv("CI", "true")
    dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, batch_size=32)
    out = capsys.readouterr()
    assert "epoch 1/1" in out.out and "it/s" not in out.err and "step/s" not in out.err


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


def test_trainer_accepts_batches_and_datasets(mnist):
    train, _ = mnist
    small = train[:512]
    assert isinstance(small, Dataset)
    trainer = dl.Trainer(dl.Flatten() >> dl.Dense(10))
    h = trainer.fit(Batches(small, batch_size=128, seed=1, transform=dl.data.invert), epochs=1, verbose=False)
    assert len(h.step_loss) == 4


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


def _diverging_regression():
    x, _ = blobs()
    return x, x[:, :1] * 3.0


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


# --- the loop's bookkeeping, checked value by value (each of these caught a surviving mutant) -------


class Recorder(dl.Callback):
    """Every hook call with its epoch and the inputs each step trained on."""

    def __init__(self):
        self.calls, self.inputs, self.step_logs = [], [], []

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(("begin", epoch, trainer.optimizer.epoch))

    def on_loss(self, trainer, value, inputs, targets):
        self.inputs.append(inputs.data.copy())

    def on_step_end(self, trainer, epoch, step, logs):
        self.step_logs.append(dict(logs))

    def on_epoch_end(self, trainer, epoch, logs):
        self.calls.append(("end", epoch, trainer.optimizer.epoch))


def test_fit_defaults_one_epoch_of_shuffled_batches_of_64_with_seed_0():
    x, y = blobs(130)
    seen = Recorder()
    trainer = dl.Trainer(dl.Dense(3))
    h = trainer.fit((x, y), callbacks=[seen], verbose=False)
    expected = [xb for xb, _ in Batches(Dataset(x, y), batch_size=64, shuffle=True, seed=0)]
    assert h.epochs == 1 and [len(b) for b in seen.inputs] == [64, 64, 2]
    assert all(np.array_equal(a, b) for a, b in zip(seen.inputs, expected))
    assert not np.array_equal(seen.inputs[0], x[:64])  # shuffled
    again = Recorder()
    dl.Trainer(dl.Dense(3)).fit((x, y), batch_size=50, shuffle=False, transform=lambda xb, rng: -xb, seed=3,
                                callbacks=[again], verbose=False)
    assert np.array_equal(again.inputs[0], -x[:50]) and len(again.inputs) == 3
    seeded = Recorder()
    dl.Trainer(dl.Dense(3)).fit((x, y), batch_size=50, seed=3, callbacks=[seeded], verbose=False)
    expected = [xb for xb, _ in Batches(Dataset(x, y), batch_size=50, shuffle=True, seed=3)]
    assert all(np.array_equal(a, b) for a, b in zip(seeded.inputs, expected))
    assert not np.array_equal(seeded.inputs[0], seen.inputs[0][:50])  # not seed 0's order


def test_the_step_logs_and_the_epoch_logs_are_consistent():
    x, y = blobs(130)
    seen = Recorder()
    h = dl.Trainer(dl.Dense(3)).fit((x, y), epochs=2, batch_size=50, callbacks=[seen], verbose=False)
    assert len(h.step_loss) == 6 and all(isinstance(v, float) for v in h.step_loss)
    assert [log["loss"] for log in seen.step_logs] == h.step_loss
    done = [50, 100, 130] * 2
    for n, log in zip(done, seen.step_logs):
        assert set(log) == {"loss", "time", "samples_per_s"}
        assert 0 < log["time"] < 60 and log["samples_per_s"] == pytest.approx(n / log["time"], rel=1e-9)
    assert h["loss"][0] == pytest.approx(np.average(h.step_loss[:3], weights=[50, 50, 30]), rel=1e-6)
    for e in range(2):
        assert 0 < h["time"][e] < 60 and h["samples_per_s"][e] == pytest.approx(130 / h["time"][e], rel=1e-9)


def test_a_single_sample_epoch_reports_that_samples_loss_and_metrics():
    def one(scores, labels):
        return 1.0

    x, y = blobs(1)
    h = dl.Trainer(dl.Dense(3), metrics=(one,)).fit((x, y), epochs=1, batch_size=1, verbose=False)
    assert h["loss"][0] == pytest.approx(h.step_loss[0], rel=1e-6) and h["one"] == [1.0]


def test_epochs_count_across_fits_and_the_schedule_restarts_in_each():
    x, y = blobs(60)
    seen = Recorder()
    trainer = dl.Trainer(dl.Dense(3), optimizer=dl.optim.SGD(lr=0.4, schedule=dl.optim.StepLR(1, 0.5)))
    h = trainer.fit((x, y), epochs=2, batch_size=30, callbacks=[seen], verbose=False)
    assert trainer.epoch == 2 and h["lr"] == [0.4, 0.2] and trainer.updating is False
    h = trainer.fit((x, y), epochs=3, batch_size=30, callbacks=[seen], verbose=False)
    assert trainer.epoch == 5 and h.epochs == 3 and h["lr"] == [0.4, 0.2, 0.1]
    assert seen.calls == [("begin", 0, 0), ("end", 0, 0), ("begin", 1, 1), ("end", 1, 1),
                          ("begin", 2, 0), ("end", 2, 0), ("begin", 3, 1), ("end", 3, 1),
                          ("begin", 4, 2), ("end", 4, 2)]

    class CtrlC(dl.Callback):
        def on_step_end(self, trainer, epoch, step, logs):
            if epoch == 6:
                raise KeyboardInterrupt

    h = trainer.fit((x, y), epochs=3, batch_size=30, callbacks=[CtrlC()], verbose=False)
    assert h.stop_reason == "interrupted by the user in epoch 2; the model keeps the weights reached so far"
    assert trainer.epoch == 6


def test_a_callback_can_stop_training():
    x, y = blobs(60)

    class Stop(dl.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.stop_training = True

    trainer = dl.Trainer(dl.Dense(3))
    h = trainer.fit((x, y), epochs=5, callbacks=[Stop()], verbose=False)
    assert h.epochs == 1 and h.stop_reason == "stopped by a callback"
    h = trainer.fit((x, y), epochs=2, verbose=False)  # the next fit starts afresh
    assert h.epochs == 2 and h.stop_reason is None


def test_validation_runs_in_batches_of_eval_batch_size():
    sizes = []

    class Sizes(dl.Module):
        def __init__(self):
            super().__init__()
            self.dense = dl.Dense(3, in_features=2)

        def forward(self, x):
            if not self.training:
                sizes.append(len(x.data))
            return self.dense(x)

    x, y = blobs(1500)
    dl.Trainer(Sizes()).fit((x[:10], y[:10]), validation=(x, y), verbose=False)
    assert sizes == [1000, 500]
    sizes.clear()
    dl.Trainer(Sizes()).fit((x[:10], y[:10]), validation=(x[:20], y[:20]), eval_batch_size=7, verbose=False)
    assert sizes == [7, 7, 6]


def test_the_best_epoch_follows_the_validation_loss_or_else_the_training_loss():
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3), optimizer=dl.optim.SGD(lr=0.05))
    h = trainer.fit((x, y), epochs=3, verbose=False)  # the training loss falls by less than 1 each epoch
    assert h["loss"][0] - h["loss"][2] < 1 and h.best_epoch == 3

    class WorseAfterTheFirstEpoch(dl.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            trainer.model.W.data[:, 0] += 3.0  # validation gets worse; training recovers within the epoch

    h = dl.Trainer(dl.Dense(3), optimizer=dl.optim.SGD(lr=0.05)).fit(
        (x, y), epochs=3, validation=(x[:20], y[:20]), callbacks=[WorseAfterTheFirstEpoch()], verbose=False)
    assert h.best_epoch == int(np.argmin(h["val_loss"])) + 1


def test_a_plain_object_callback_does_not_hide_the_progress(capsys):
    x, y = blobs(60)

    class OnlyEpochs:
        def on_epoch_end(self, trainer, epoch, logs):
            pass

    dl.Trainer(dl.Dense(3)).fit((x, y), epochs=1, callbacks=[OnlyEpochs()])
    assert "epoch 1/1" in capsys.readouterr().out


def test_padded_sequences_reach_the_model_with_their_lengths():
    seen = []

    class FirstStep(dl.Module):
        def __init__(self):
            super().__init__()
            self.dense = dl.Dense(2, in_features=3)

        def forward(self, inputs):
            x, lengths = inputs
            seen.append((type(x), x.data.copy(), lengths.copy()))
            return self.dense(x[:, 0, :])

    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4, 3)).astype(np.float32)
    lengths, y = np.array([4, 2, 3, 1, 4, 2]), np.array([0, 1, 0, 1, 0, 1])
    trainer = dl.Trainer(FirstStep())
    trainer.fit(((x, lengths), y), epochs=1, batch_size=4, shuffle=False, verbose=False)
    assert [s[0] for s in seen] == [dl.Tensor, dl.Tensor]
    assert np.array_equal(seen[0][1], x[:4]) and np.array_equal(seen[0][2], lengths[:4])
    assert np.array_equal(seen[1][2], lengths[4:])
    assert trainer.predict((x, lengths)).shape == (6, 2)


def test_a_model_with_a_single_parameter_trains():
    x, y = blobs(40)
    model = dl.Dense(3, in_features=2, bias=False)
    assert len(model.parameters()) == 1
    h = dl.Trainer(model).fit((x, y), epochs=1, verbose=False)
    assert h.epochs == 1


def test_history_starts_empty_and_reads_back():
    h = dl.History()
    assert (h.step_loss, h.best_epoch, h.stop_reason, h.interrupted, h.epochs) == ([], None, None, False, 0)
    h.append({"loss": 0.5, "accuracy": 0.25})
    h.append({"loss": 0.25, "accuracy": 0.5})
    h.append({"loss": 0.125, "accuracy": 0.75})
    assert h.epochs == 3 and h.last() == {"loss": 0.125, "accuracy": 0.75}
    assert repr(h) == "History(3 epochs: loss=0.125, accuracy=0.75)"


def test_trainer_arguments_word_for_word(tmp_path):
    x, y = blobs(60)
    trainer = dl.Trainer(dl.Dense(3), optimizer="adam", lr=0.5)
    assert isinstance(trainer.optimizer, dl.optim.Adam) and trainer.optimizer.base_lr == 0.5
    assert isinstance(dl.Trainer(dl.Dense(3)).optimizer, dl.optim.SGD)
    assert trainer.history.epochs == 0 and trainer.stop_training is False and trainer.updating is False
    with pytest.raises(ValueError) as info:
        dl.Trainer(dl.Dense(3), optimizer=dl.optim.Adam(lr=0.1), lr=0.5)
    assert str(info.value) == ("Trainer: lr=0.5 was given beside an optimizer object that has its own (lr=0.1); set "
                               "it in one place: Adam(lr=0.5, ...) or optimizer='sgd', lr=0.5")
    with pytest.raises(ValueError) as info:
        dl.Trainer(dl.Dense(3), loss="hinge")
    assert str(info.value) == ("unknown loss 'hinge': use one of cross_entropy, mse, binary_cross_entropy or pass a "
                               "function")
    with pytest.raises(ValueError) as info:
        trainer.fit(None)
    assert str(info.value) == "fit: no data given"
    with pytest.raises(ValueError) as info:
        trainer.evaluate(None)
    assert str(info.value) == "evaluate: no data given"
    with pytest.raises(TypeError, match=r"^fit got a tuple of 3 items"):
        trainer.fit((x, y, y), verbose=False)
    with pytest.raises(TypeError, match=r"^evaluate got a tuple of 3 items"):
        trainer.evaluate((x, y, y))
    with pytest.raises(TypeError) as info:
        trainer.fit(x, y)
    assert str(info.value) == ("fit: the second argument is epochs, but it got an array of shape (60,) (labels?): "
                               "pass inputs and targets together, trainer.fit((x, y), epochs=...), or a Dataset")
    for epochs in (0, True, 2.0, np.array(2), "3"):
        with pytest.raises(ValueError) as info:
            trainer.fit((x, y), epochs=epochs, verbose=False)
        assert str(info.value) == f"fit: epochs must be a positive integer, got {epochs!r}"
    assert trainer.fit((x, y), epochs=np.int64(2), verbose=False).epochs == 2
    with pytest.raises(ValueError) as info:
        trainer.fit(Batches((x, y), batch_size=64, drop_last=True), verbose=False)
    assert str(info.value) == ("fit: the training data gives no batches: 60 samples, batch_size=64, drop_last=True "
                               "(which drops the last, incomplete batch); use a batch_size of at most 60, or "
                               "drop_last=False")
    from dllab.train import save_checkpoint

    model = dl.Dense(3, in_features=2)
    path = save_checkpoint(model, tmp_path / "w.npz")
    assert path == tmp_path / "w.npz"
    np.testing.assert_array_equal(dl.Dense(3).load(path).W.data, model.W.data)


def test_evaluate_names_what_is_not_finite_word_for_word():
    x, y = blobs(20)
    bad_x = x.copy()
    bad_x[3, 0] = bad_x[5, 1] = np.nan
    with pytest.raises(ValueError) as info:
        dl.Trainer(dl.Dense(3)).evaluate((bad_x, y))
    assert str(info.value) == ("evaluate: the inputs hold 2 NaN/inf values (first in sample 3), so the loss is nan: "
                               "clean them (np.nan_to_num, or drop those samples) first")
    t = x[:, :1].copy()
    t[7] = np.inf
    with pytest.raises(ValueError) as info:
        dl.Trainer(dl.Dense(1), loss="mse").evaluate((x, t))
    assert str(info.value) == ("evaluate: the targets hold 1 NaN/inf value (first in sample 7), so the loss is inf: "
                               "clean them (np.nan_to_num, or drop those samples) first")
    model = dl.Dense(3, in_features=2)
    model.W.data[0, 0] = np.inf
    with pytest.raises(ValueError) as info, np.errstate(over="ignore", invalid="ignore"):
        dl.Trainer(model).evaluate((x, y))
    assert str(info.value).startswith("evaluate: the model's weights hold 1 NaN/inf values (left by a training run "
                                      "that diverged?), so the loss is ")
    with pytest.raises(ValueError) as info, np.errstate(over="ignore", invalid="ignore"):
        dl.Trainer(dl.Dense(1, in_features=2), loss="mse").evaluate((x * 1e30, x[:, :1] * 1e30))
    assert str(info.value) == ("evaluate: the loss is inf although the inputs, targets and weights are finite: the "
                               "model's outputs overflowed; check the scale of the inputs")


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
