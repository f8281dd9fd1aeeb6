"""The two kinds of case of the wrong-answer corpus."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jupytext

SOURCE = Path(__file__).resolve().parents[2] / "grading" / "source"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass
class Wrong:
    function: str  # the grade_id of the answer cell
    why: str  # the mistake, for the test id
    source: str  # the whole answer cell, with the mistake
    message: tuple  # phrases the failure message must contain
    visible: bool = True  # must fail in the visible test cell (not only in the hidden one)


@dataclass
class Noisy:
    """A right answer that warns, writes to stderr or changes NumPy's error state: it must pass."""

    function: str
    why: str
    source: str


def right_answer(lab, grade_id):
    """The answer cell ``grade_id`` of ``lab`` as the instructor's script holds it, markers removed."""
    for cell in jupytext.read(SOURCE / lab / f"{lab}.py").cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "\n" + "\n".join(line for line in cell.source.splitlines() if line.strip() not in MARKERS) + "\n"
    raise LookupError(f"{lab} has no answer cell {grade_id!r}")


def mistake(right, *edits):
    """The right answer with each (old, new) edit made once: one mistake, shown as what changed."""
    for old, new in edits:
        assert right.count(old) == 1, f"the right answer no longer holds {old!r} exactly once"
        right = right.replace(old, new)
    return right
