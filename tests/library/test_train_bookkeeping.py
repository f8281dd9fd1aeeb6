"""The Trainer's loop bookkeeping, checked value by value: epochs, steps, logs, validation batches, the best epoch
and the argument messages word for word."""

import numpy as np
import pytest
from train_helpers import Recorder, blobs

import dllab as dl
from dllab.data import Batches, Dataset

# --- the loop's bookkeeping, checked value by value (each of these caught a surviving mutant) -------


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
