"""The notebooks attendees get carry the expected values of their visible tests as data, and nothing else.

``dllab/labs/stored_answers.npz`` is written by ``python grading/answer_keys.py`` from the visible
tests of each lab. Here every lab's visible tests run on its solutions with no answer key at hand,
as in an attendee's kernel: each value a test asks for is in the store (a lab whose tests changed
without ``answer_keys.py`` being run again fails here). Like the judge, the test runs only the
cells the tests need: the setup cells (tagged ``parameters`` or ``judge``), the answers, the tests.
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

ROOT = Path(__file__).resolve().parents[2]
from grading import judge  # noqa: E402

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


def _needed_cells(cells):
    """Indexes of the code cells the visible tests need: the setup cells (tagged ``parameters`` or
    ``judge``), the answers, the tests, and every given cell that defines a name an answer reads (a
    helper an answer calls, such as lab 3's resize), followed back to the cells it reads in turn."""
    import ast

    from handins import _read, _stored  # the names a statement reads from, or binds in, the notebook

    def names(text, ctx):
        body = ast.parse(text).body
        return set().union(*[(_read if ctx is ast.Load else _stored)(st) for st in body]) if body else set()

    code = {i: c for i, c in enumerate(cells) if c.cell_type == "code"}
    needed = {i for i, c in code.items() if judge.is_graded_test(c) or judge.is_answer(c)
              or {"parameters", "judge"} & set(c.metadata.get("tags", []))}
    readers = {i for i in needed if judge.is_answer(code[i])}  # the tests need no more than the judge runs
    while True:
        wanted = set().union(*(names(code[i].source, ast.Load) for i in readers))
        more = {i for i in code if i not in needed and names(code[i].source, ast.Store) & wanted}
        if not more:
            return needed
        needed |= more
        readers = more


@pytest.mark.parametrize("lab", LABS)
def test_visible_tests_pass_with_the_stored_answers_only(lab, no_answer_keys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["kernel"])
    source = nbformat.read(ROOT / "grading" / "source" / lab / f"{lab}.ipynb", as_version=4)
    ns = {"__name__": "__main__"}
    needed = _needed_cells(source.cells)
    for index, cell in enumerate(source.cells):
        if index not in needed or (judge.is_graded_test(cell) and "BEGIN HIDDEN TESTS" in cell.source):
            continue  # the training and the figures are left out: the tests do not read them
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


def test_the_course_keys_are_found_by_import_never_by_path(monkeypatch, tmp_path):
    """The instructor's notebooks get the grader's keys: named by DLLAB_ANSWER_KEYS (a module), or the
    grading package's own when the notebook runs in its course folder; anywhere else, none."""
    from grading import answer_keys

    monkeypatch.setenv("DLLAB_ANSWER_KEYS", "grading.answer_keys")
    assert answers._course_keys() is answer_keys
    monkeypatch.setenv("DLLAB_ANSWER_KEYS", "grading/answer_keys.py")
    with pytest.raises(ValueError, match="names a module to import, e.g. DLLAB_ANSWER_KEYS=grading.answer_keys"):
        answers._course_keys()
    monkeypatch.delenv("DLLAB_ANSWER_KEYS")
    monkeypatch.chdir(ROOT / "grading" / "source" / "lab1_logreg")
    assert answers._course_keys() is answer_keys
    (tmp_path / "nbgrader_config.py").write_text("")  # another folder that looks like a course
    (tmp_path / "answer_keys.py").write_text("raise SystemExit('never imported')\n")
    monkeypatch.chdir(tmp_path)
    assert answers._course_keys() is None
