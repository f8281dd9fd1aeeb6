"""A corpus of typical wrong answers: each must fail its lab's tests with the teaching message.

For every graded function of every lab, the typical mistakes attendees make (an axis, a missing
keepdims, an in-place update, np.random instead of the given rng, a loop that stops one short, a
transpose, ...) are put in place of the solution, and the lab's own test cells for that function
are run. Each case asserts that a test fails with a LabCheckError (never a bare NumPy error) whose
message says what is wrong, and fails it in a VISIBLE test cell, so that the attendee learns it before
grading (only a case marked ``hard_coding``, an answer that memorises the visible tests' own answers,
may be caught by the hidden tests alone). The right answers of NOISY (ones that make noise, and ones
written in an unusual way) must pass every test, visible and hidden.

The lab runs in-process, its cells in order in one namespace, the way nbgrader runs it (training
shortened by NBGRADER_EXECUTION); each wrong answer is tried in a copy of the namespace taken just
before the function's answer cell.

Each lab keeps its cases in wrong_answers/<lab>.py (CASES, MUST_PASS); labs 3-5 write most as the lab's
own right answer with the mistake as an edit (wrong_answers.cases.Edited), so a changed solution shows up
as an edit that no longer applies rather than as a stale copy.
"""

from __future__ import annotations

import contextlib
import io
import os

import numpy as np
import pytest
from wrong_answers import lab1_logreg, lab2_mlp, lab3_cnn, lab4_lstm, lab5_transfer

from dllab.labs import LabCheckError
from grading import release

pytestmark = pytest.mark.slow  # runs the labs with wrong answers

LABS = (lab1_logreg, lab2_mlp, lab3_cnn, lab4_lstm, lab5_transfer)  # each lab's corpus, wrong_answers/<lab>.py
# Right answers that make noise or are written unusually. nbgrader scores a test cell 0 when anything reaches
# stderr, so every one of these must pass its tests (visible and hidden) with nothing on stderr.
NOISY = {_module.LAB: list(getattr(_module, "MUST_PASS", [])) for _module in LABS}
CORPUS = {_module.LAB: _module.CASES for _module in LABS}


# --- running a lab's cells ------------------------------------------------------------------


def _cells(lab):
    """(kind, grade_id, source) of each code cell: kind is answer, visible, hidden or code."""
    out = []
    for cell in release.notebook(lab).cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            kind = "answer"
        elif meta.get("grade"):
            kind = "hidden" if "BEGIN HIDDEN TESTS" in cell.source else "visible"
        else:
            kind = "code"
        out.append((kind, meta.get("grade_id"), cell.source))
    return out


def _run(source, ns, name, stderr=None):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr or io.StringIO()):
        exec(compile(source, name, "exec"), ns)  # noqa: S102 - the lab's own cells


def _failure(answer, tests, ns, lab):
    """Run an answer and its test cells in a copy of ``ns``.

    Returns (kind of the cell that failed or None, the error or None, what the test cells wrote to
    stderr). NumPy's error state is restored afterwards, whatever the answer set.
    """
    trial, stderr = dict(ns), io.StringIO()
    with np.errstate():
        _run(answer.source, trial, f"<{lab}: {answer.why}>")
        for kind, grade_id, source in tests:
            try:
                _run(source, trial, f"<{lab}: {grade_id}>", stderr)
            except Exception as error:  # noqa: BLE001 - which error it is, is what the test checks
                return kind, error, stderr.getvalue()
    return None, None, stderr.getvalue()


@pytest.fixture(scope="module")
def graded_env():
    """The environment nbgrader grades in: shortened training, CPU, no progress bars, no display."""
    saved = dict(os.environ)
    os.environ.update(NBGRADER_EXECUTION="autograde", DLLAB_DEVICE="cpu", CI="true", MPLBACKEND="Agg")
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True, scope="module")
def _answer_keys():
    """The tests here run hidden tests in this process: with the grader's answer keys, as the judge does."""
    from dllab import labs
    from grading import answer_keys

    labs.use_answer_keys(answer_keys)
    yield
    labs.use_answer_keys(None)


def _results(lab):
    """Run ``lab`` once, trying each of its corpus cases at its function's answer cell."""
    import matplotlib

    matplotlib.use("Agg")
    cells = _cells(lab)
    cases = CORPUS.get(lab, []) + NOISY.get(lab, [])
    ns = {"__name__": "__main__"}
    results = {}
    answers = [i for i, (kind, _, _) in enumerate(cells) if kind == "answer"]
    for position, (kind, grade_id, source) in enumerate(cells):
        if kind == "answer":
            # the test cells of this answer: the graded cells up to the next answer cell
            nxt = next((i for i in answers if i > position), len(cells))
            tests = [c for c in cells[position + 1:nxt] if c[0] in ("visible", "hidden")]
            for case in cases:
                if case.function == grade_id:
                    results[case.why] = _failure(case, tests, ns, lab)
            if all(case.why in results for case in cases):
                return results
        _run(source, ns, f"<{lab}: cell {position} {grade_id or ''}>")
        import matplotlib.pyplot as plt

        plt.close("all")
    return results


_CACHE = {}


@pytest.mark.parametrize("lab, case", [(lab, case) for lab, cases in CORPUS.items() for case in cases],
                         ids=lambda v: v if isinstance(v, str) else f"{v.function}: {v.why}")
def test_wrong_answer_fails_with_its_lesson(lab, case, graded_env):
    if lab not in _CACHE:
        _CACHE[lab] = _results(lab)
    assert case.why in _CACHE[lab], f"{lab} has no answer cell {case.function!r}"
    kind, error, _ = _CACHE[lab][case.why]
    assert error is not None, f"the wrong answer ({case.why}) passes every test of {case.function}"
    assert isinstance(error, LabCheckError), \
        f"the wrong answer ({case.why}) fails with a bare {type(error).__name__}: {error}"
    message = str(error)
    for phrase in case.message:
        assert phrase in message, f"the message for '{case.why}' does not say {phrase!r}:\n{message}"
    if not case.hard_coding:
        assert kind == "visible", f"'{case.why}' passes every visible test and is caught only by the hidden " \
            f"tests (the attendee is told all is well, then marked down):\n{message}"


@pytest.mark.parametrize("lab, case", [(lab, case) for lab, cases in NOISY.items() for case in cases],
                         ids=lambda v: v if isinstance(v, str) else f"{v.function}: {v.why}")
def test_right_answer_that_makes_noise_passes_with_nothing_on_stderr(lab, case, graded_env):
    if lab not in _CACHE:
        _CACHE[lab] = _results(lab)
    kind, error, stderr = _CACHE[lab][case.why]
    assert error is None, f"a right answer ({case.why}) fails in a {kind} test cell: {error}"
    assert stderr == "", f"a right answer ({case.why}) puts this on stderr (nbgrader would score 0):\n{stderr}"


def test_every_graded_function_has_a_wrong_answer_case():
    missing = []
    for lab in release.all_labs():
        functions = {grade_id for kind, grade_id, _ in _cells(lab) if kind == "answer"}
        covered = {case.function for case in CORPUS.get(lab, [])}
        missing += [f"{lab}: {f}" for f in sorted(functions - covered)]
    assert not missing, "graded functions without a wrong-answer case: " + ", ".join(missing)


def test_only_hard_coding_may_escape_the_visible_tests():
    """A wrong answer that only a hidden test catches costs the attendee points after "all visible tests
    passed": the visible tests must check every property the hidden ones do. The one exception is an
    answer that memorises the visible tests' own answers."""
    marked = [f"{lab}: {case.function}: {case.why}" for lab, cases in CORPUS.items() for case in cases
              if case.hard_coding and "hard-cod" not in case.why]
    assert not marked, "cases excused from failing a visible test that do not hard-code answers: " + \
        ", ".join(marked)


def test_every_graded_function_has_a_hidden_test():
    """Each function an attendee writes (in an answer cell's solution region) is called by a hidden test cell."""
    import ast
    import re

    missing = []
    for lab in release.all_labs():
        cells = _cells(lab)
        hidden = "\n".join(source for kind, _, source in cells if kind == "hidden")
        for kind, grade_id, source in cells:
            if kind != "answer":
                continue
            for node in ast.parse(source).body:
                written = isinstance(node, ast.FunctionDef) and \
                    "BEGIN SOLUTION" in (ast.get_source_segment(source, node) or "")  # not a given helper
                if written and not re.search(rf"\b{node.name}\b", hidden):
                    missing.append(f"{lab}: {node.name} ({grade_id})")
    assert not missing, "graded functions that no hidden test calls: " + ", ".join(missing)


def test_every_lab_has_right_but_unusual_answers_that_must_pass():
    few = {lab: len(NOISY.get(lab, [])) for lab in release.all_labs() if len(NOISY.get(lab, [])) < 2}
    assert not few, f"labs with fewer than 2 right answers in the must-pass corpus: {few}"
