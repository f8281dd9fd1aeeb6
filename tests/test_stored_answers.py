"""The notebooks attendees get carry the expected values of their visible tests as data, and nothing else.

``dllab/labs/stored_answers.npz`` is written by ``python grading/answer_keys.py`` from the visible
tests of each lab. Here every lab's released notebook, with the solutions filled in, runs its
visible tests with no answer key at hand, as in an attendee's kernel: each value a test asks for is
in the store (a lab whose tests changed without ``answer_keys.py`` being run again fails here).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dllab import labs
from dllab.labs import answers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "grading"))

import judge  # noqa: E402

LABS = ("lab1_logreg", "lab2_mlp", "lab3_cnn", "lab4_lstm", "lab5_transfer")


@pytest.fixture
def no_answer_keys(monkeypatch):
    monkeypatch.setattr(answers, "_keys", None)
    monkeypatch.setattr(answers, "_looked", True)  # no course folder to find keys in either
    monkeypatch.delenv("DLLAB_ANSWER_KEYS", raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("CI", "true")


def test_a_reference_answers_only_the_visible_tests_inputs(no_answer_keys):
    with pytest.raises(labs.NoStoredAnswer, match="cannot compute an answer"):
        labs.conv2d_reference(np.random.default_rng(1).normal(size=(4, 4)), np.ones((2, 2)))
    x = np.array([[1.0, 2.0, 0.0, 1.0], [0.0, 1.0, 3.0, 1.0], [2.0, 1.0, 0.0, 0.0], [1.0, 0.0, 1.0, 2.0]])
    with pytest.raises(labs.NoStoredAnswer):
        labs.max_pool_reference(x + 1e-3, 2)


def test_digests_ignore_last_bit_differences():
    a = np.random.default_rng(0).normal(size=(5, 5))
    assert answers.digest((a,)) == answers.digest((a * (1 + 1e-15),))
    assert answers.digest((a,)) != answers.digest((a * (1 + 1e-6),))
    assert answers.digest((np.float64(0.1), [1, "x"])) == answers.digest((0.1, [1, "x"]))


@pytest.mark.parametrize("lab", LABS)
def test_visible_tests_pass_with_the_stored_answers_only(lab, no_answer_keys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["kernel"])
    source = nbformat.read(ROOT / "grading" / "source" / lab / f"{lab}.ipynb", as_version=4)
    ns = {"__name__": "__main__"}
    for index, cell in enumerate(source.cells):
        if cell.cell_type != "code" or (judge.is_graded_test(cell) and "BEGIN HIDDEN TESTS" in cell.source):
            continue
        text = cell.source
        if "parameters" in cell.metadata.get("tags", []):
            text += "\nsubset, epochs, device = 2000, 1, 'cpu'\n"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                exec(compile(text, f"<{lab} cell {index}>", "exec"), ns)  # noqa: S102 - the lab itself
            except labs.NoStoredAnswer as err:
                pytest.fail(f"{lab} cell {index}: {err} (run `python grading/answer_keys.py` after changing a "
                            "visible test)")
        import matplotlib.pyplot as plt

        plt.close("all")
