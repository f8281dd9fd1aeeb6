"""dllab.labs' run settings (setup: the parameters, nbgrader's shorter training, the seeds) and its live curves,
summary table and figures."""

from __future__ import annotations

import numpy as np
from labs_helpers import answer_keys_installed  # noqa: F401 - an autouse fixture

import dllab as dl
from dllab import labs

# --- dllab.labs: run settings ---------------------------------------------------------------------


def test_setup_resolves_the_parameters(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    run = labs.setup(full=False, device="cpu", full_epochs=30, small_epochs=5, small_subset=6000)
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (5, 6000, 5, 6000)
    run = labs.setup(full=True, device="cpu", full_epochs=30, small_epochs=5, small_subset=6000)
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (30, None, 5, 6000)
    run = labs.setup(full=False, epochs=1, subset=2000, device="cpu")
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (1, 2000, 1, 2000)
    assert "set full = True" in str(run) and not run.graded
    # a lab with a small data set: small runs use all of it; subset counts days
    run = labs.setup(full=False, device="cpu", full_epochs=150, small_epochs=50, small_subset=None, unit="days")
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (50, None, 50, None)
    assert "all training days" in str(run) and "comparisons: all days" in str(run)
    run = labs.setup(full=False, epochs=1, subset=2000, device="cpu", small_subset=None, unit="days")
    assert (run.subset, run.quick_subset) == (2000, 2000) and "2000 training days" in str(run)


def test_setup_shortens_training_while_nbgrader_grades(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    run = labs.setup(full=True, epochs=30, device="cpu")
    assert run.graded and not run.full and run.epochs == 1 and run.subset <= 1000
    assert "graded by nbgrader" in str(run)


def test_setup_seeds_everything(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    labs.setup(seed=3, device="cpu")
    a = (np.random.rand(), dl.Dense(2)(dl.Tensor(np.ones((1, 2), np.float32))).numpy())
    labs.setup(seed=3, device="cpu")
    b = (np.random.rand(), dl.Dense(2)(dl.Tensor(np.ones((1, 2), np.float32))).numpy())
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


# --- dllab.labs: live curves and figures ----------------------------------------------------------


def test_live_curves_as_a_trainer_callback_outside_jupyter():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    live = labs.LiveCurves("test")
    trainers = {name: dl.Trainer(dl.Dense(2), optimizer=dl.optim.SGD(lr=lr)) for name, lr in [("a", 0.1), ("b", 0.5)]}
    for name, trainer in trainers.items():
        trainer.fit((x, y), epochs=2, batch_size=50, validation=(x, y), callbacks=[live.run(name, steps=8)],
                    verbose=False)
    assert set(live.runs) == {"a", "b"}
    assert len(live.runs["a"]["steps"]) == 8 and len(live.runs["a"]["epochs"]) == 2
    assert "val_accuracy" in live.runs["b"]["epochs"][-1][1]
    fig = live.figure()
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 4  # training and validation accuracy per run
    plain = labs.LiveCurves()
    trainers["a"].fit((x, y), epochs=1, batch_size=50, callbacks=[plain], verbose=False)
    assert list(plain.runs) == ["train"]


def test_live_curves_fed_by_hand():
    live = labs.LiveCurves()
    for epoch in range(2):
        for step in range(5):
            live.step(1.0 / (1 + step + 5 * epoch), epoch, step)
        live.epoch(epoch, accuracy=0.5 + epoch / 10, val_accuracy=0.4)
    live.close()
    x, losses = live._step_axis(live.runs["train"])
    assert np.allclose(x, np.arange(1, 11) / 5) and len(losses) == 10
    live.figure()


def test_summary_table_and_figures():
    h = dl.History()
    h.append({"loss": 1.0, "accuracy": 0.5, "val_loss": 0.9, "val_accuracy": 0.6})
    table = labs.summary_table({"a run with a long name": h})
    assert "a run with a long name" in table and "60.00%" in table
    images = np.random.default_rng(0).random((12, 784)).astype(np.float32)
    assert len(labs.show_digits(images, np.arange(12), np.arange(12)[::-1], ncols=5).axes) == 15
    assert len(labs.show_templates(np.random.default_rng(0).normal(size=(784, 10))).axes) == 10
    assert labs.show_confusion(np.arange(100).reshape(10, 10)).axes
    assert len(labs.progress(range(3))) == 3
