"""Each lab's default run shows its lesson.

Every lab states what it teaches with ``labs.lesson(claim, holds, evidence, run)``, which prints
"lesson shown: ..." when the run's figures show it and a line starting with ``labs.LESSON_MISSED``
when they do not. Here each lab runs at its DEFAULT size, as attendees run it (papermill sets only
the device and the seed), and the test fails when a cell errors, when a lesson is missed, when a
cell that calls ``labs.lesson(`` printed no verdict, or when no lesson was shown at all.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_labs import kernel_env  # noqa: F401 - the fixture: a kernel that is this Python

from dllab import labs

ROOT = Path(__file__).resolve().parents[1]
LABS = ["lab1_logreg", "lab2_mlp", "lab3_cnn", "lab4_lstm", "lab5_transfer"]
DEFAULT_PARAMETERS = {"device": "cpu", "seed": 0}
# labs whose lesson calls are still being written: reported, not failed
LESSONS_PENDING = {"lab1_logreg", "lab2_mlp"}


def _cases():
    for lab in LABS:
        marks = [pytest.mark.slow]
        if lab in LESSONS_PENDING:
            marks.append(pytest.mark.xfail(strict=False, reason=f"{lab} has no labs.lesson( call yet"))
        yield pytest.param(lab, marks=marks, id=lab)


def lesson_lines(cell):
    """The lines a code cell printed that start with a lesson verdict."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")
    return [line for line in text.splitlines() if line.startswith((labs.LESSON_SHOWN, labs.LESSON_MISSED))]


@pytest.mark.parametrize("lab", _cases())
def test_default_run_shows_the_lesson(lab, tmp_path, kernel_env):  # noqa: F811
    import papermill

    source = ROOT / "grading" / "source" / lab / f"{lab}.ipynb"  # written from the script by conftest.py
    out = tmp_path / source.name
    papermill.execute_notebook(str(source), str(out), parameters=DEFAULT_PARAMETERS, kernel_name="python3",
                               cwd=str(tmp_path), progress_bar=False, log_output=False, execution_timeout=300)
    cells = [c for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]
    for cell in cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{lab}, cell {cell.id}: {errors[0].ename}: {errors[0].evalue}"

    missed = [line for cell in cells for line in lesson_lines(cell) if line.startswith(labs.LESSON_MISSED)]
    assert not missed, f"{lab} at its default size does not show its lesson:\n" + "\n".join(missed)
    calling = [cell for cell in cells if "labs.lesson(" in cell.source]
    assert calling, f"{lab} states no lesson: no cell calls labs.lesson(claim, holds, evidence, run)"
    silent = [cell.id for cell in calling if not lesson_lines(cell)]
    assert not silent, f"{lab}: the cells {silent} call labs.lesson( but printed no verdict"
    shown = [line for cell in calling for line in lesson_lines(cell) if line.startswith(labs.LESSON_SHOWN)]
    assert shown, f"{lab}: no labs.lesson( call printed {labs.LESSON_SHOWN!r}"


# --- lab 5's shipped source network -----------------------------------------------------------

WEIGHTS = ROOT / "assets" / "data" / "lenet-digits-0-4" / "lenet_digits_0-4.npz"


def test_lab5_source_weights_match_their_checksum():
    """The SHA-256 that lab 5 checks before loading is the file's, and SOURCE.md quotes the same."""
    import re

    from dllab.data.files import sha256_file

    lab = (ROOT / "grading" / "source" / "lab5_transfer" / "lab5_transfer.py").read_text()
    quoted = re.findall(r'SOURCE_SHA256 = "([0-9a-f]{64})"', lab)
    assert len(quoted) == 1, "lab 5 should set SOURCE_SHA256 once"
    assert sha256_file(WEIGHTS) == quoted[0], f"{WEIGHTS.name} is not the file lab 5 expects"
    assert quoted[0] in (WEIGHTS.parent / "SOURCE.md").read_text(), "SOURCE.md quotes another SHA-256"


def test_lab5_source_weights_are_a_trained_lenet_for_digits_0_to_4():
    import numpy as np

    import dllab as dl
    from dllab.models import lenet

    model = lenet(classes=5).load(WEIGHTS)
    _, test = dl.data.mnist()
    keep = test.y <= 4
    accuracy = dl.Trainer(model).evaluate((test.x[keep], test.y[keep]))["accuracy"]
    assert accuracy >= 0.99, f"the shipped source network scores {accuracy:.2%} on the test digits 0-4"
    assert np.isclose(accuracy, 0.9979, atol=5e-4), f"SOURCE.md says 99.79 %, the file scores {accuracy:.2%}"
