"""dllab.train.callbacks: progress, the bar over all steps and one line per epoch, and a Ctrl-C before the bar or
early stopping starts."""

import types

import numpy as np
from callbacks_helpers import scripted_val_loss
from train_helpers import blobs

import dllab as dl
from dllab.train.callbacks import ProgressLog
from dllab.train.nonfinite import NaNGuard

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
