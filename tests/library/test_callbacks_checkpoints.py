"""dllab.train.callbacks: checkpoints checked before training, their errors named and a second fit compared with
the file's recorded best; the Ctrl-C handler put back whatever happens."""

import os
import signal
import types
from pathlib import Path

import numpy as np
import pytest
from callbacks_helpers import WeightsPerEpoch, same, scripted_val_loss
from train_helpers import blobs

import dllab as dl
from dllab.train.monitor import BestEpoch

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
