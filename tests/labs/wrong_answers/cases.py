"""The two kinds of case of the wrong-answer corpus."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import jupytext

SOURCE = Path(__file__).resolve().parents[3] / "grading" / "source"


@dataclass
class Wrong:
    function: str  # the grade_id of the answer cell
    why: str  # the mistake, for the test id
    source: str  # the whole answer cell, with the mistake
    message: tuple  # phrases the failure message must contain
    # Every wrong answer must fail a VISIBLE test cell, so that the attendee learns it before grading.
    # The one exception: an answer that hard-codes the visible tests' own answers, which only the hidden
    # tests (other inputs) can catch. Nothing else may be marked.
    hard_coding: bool = False


@dataclass
class Noisy:
    """A right answer that must pass every test, visible and hidden, with nothing on stderr: one that
    warns, writes to stderr or changes NumPy's error state, or one written in an unusual way (another
    formula, another layer order that computes the same function, extra calls that change nothing)."""

    function: str
    why: str
    source: str


@functools.cache
def _answer_cells(lab):
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source
            for cell in jupytext.read(SOURCE / lab / f"{lab}.py").cells
            if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"}


def right_answer(lab, grade_id):
    """The code of answer cell ``grade_id`` of ``lab`` as the instructor's script holds it: without the
    solution markers, the docstrings and the comment-only lines, as an attendee's answer would be typed."""
    cells = _answer_cells(lab)
    if grade_id not in cells:
        raise LookupError(f"{lab} has no answer cell {grade_id!r}")
    source = cells[grade_id]
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    code = [line for number, line in enumerate(source.splitlines(), 1)
            if number not in docstrings and not line.strip().startswith("#")]
    return "\n" + "\n".join(code).strip() + "\n"


def mistake(right, *edits):
    """The right answer with each (old, new) edit made once: one mistake, shown as what changed."""
    for old, new in edits:
        assert right.count(old) == 1, f"the right answer no longer holds {old!r} exactly once"
        right = right.replace(old, new)
    return right


def Edited(lab, function, why, edits, message, hard_coding=False):  # noqa: N802 - builds a Wrong, reads like one
    """A Wrong whose answer is the lab's right answer with ``edits`` made: the case shows only the mistake."""
    return Wrong(function, why, mistake(right_answer(lab, function), *edits), message, hard_coding)


def Unusual(lab, function, why, edits):  # noqa: N802 - builds a Noisy, reads like one
    """A right answer written another way, as edits of the lab's own: it must pass every test."""
    return Noisy(function, why, mistake(right_answer(lab, function), *edits))
