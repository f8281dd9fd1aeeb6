"""The Trainer learning for real: MNIST, history, early stopping, checkpoints, NaN stops, Ctrl-C and its progress
lines."""

import numpy as np
import pytest
from train_helpers import blobs

import dllab as dl
from dllab.data import Batches, Dataset


@pytest.fixture(scope="module")
def mnist():
    return dl.data.mnist()


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


def test_trainer_accepts_batches_and_datasets(mnist):
    train, _ = mnist
    small = train[:512]
    assert isinstance(small, Dataset)
    trainer = dl.Trainer(dl.Flatten() >> dl.Dense(10))
    h = trainer.fit(Batches(small, batch_size=128, seed=1, transform=dl.data.invert), epochs=1, verbose=False)
    assert len(h.step_loss) == 4
