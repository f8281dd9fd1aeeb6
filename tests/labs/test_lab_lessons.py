"""Each lab's default run shows its lesson, and every visible and hidden test passes on its solutions.

Every lab states what it teaches with ``labs.lesson(claim, holds, evidence, run)``, which prints
"lesson shown: ..." when the run's figures show it and a line starting with ``labs.LESSON_MISSED``
when they do not. Here each lab runs at its DEFAULT size, as attendees run it (papermill sets only
the device and the seed), and the test fails when a cell errors, when a lesson is missed, when a
cell that calls ``labs.lesson(`` printed no verdict, or when no lesson was shown at all.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest
from labs_helpers import nbgrader_meta, use_this_python_as_kernel

from dllab import labs

pytestmark = pytest.mark.slow  # every lab at its default size

ROOT = Path(__file__).resolve().parents[2]
LABS = ["lab1_logreg", "lab2_mlp", "lab3_cnn", "lab4_lstm", "lab5_transfer"]
DEFAULT_PARAMETERS = {"device": "cpu", "seed": 0}
LONGEST_FIRST = ["lab5_transfer", "lab2_mlp", "lab3_cnn", "lab4_lstm", "lab1_logreg"]  # measured, for packing


def lesson_lines(cell):
    """The lines a code cell printed that start with a lesson verdict."""
    text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")
    return [line for line in text.splitlines() if line.startswith((labs.LESSON_SHOWN, labs.LESSON_MISSED))]


def run_default(lab, folder, env):
    """Run one lab at its default size with papermill (in a worker process); returns the executed notebook's path.

    A cell error leaves its traceback in the notebook, which lesson_problems reports.
    """
    import papermill

    os.environ.update(env)
    os.environ.pop("NBGRADER_EXECUTION", None)
    source = ROOT / "grading" / "source" / lab / f"{lab}.ipynb"  # written from the script by conftest.py
    out = Path(folder) / source.name
    try:
        papermill.execute_notebook(str(source), str(out), parameters=DEFAULT_PARAMETERS, kernel_name="python3",
                                   cwd=folder, progress_bar=False, log_output=False, execution_timeout=300)
    except papermill.PapermillExecutionError:
        pass
    return str(out)


@pytest.fixture(scope="module")
def default_runs(request, tmp_path_factory):
    """The selected labs run at their default size, as many at once as there are CPUs (each kernel
    uses one thread); lab -> the executed notebook's path, or the exception that stopped the run."""
    from dllab.cpus import available_cpus

    wanted = {item.callspec.params["lab"] for item in request.session.items
              if getattr(item, "originalname", None) == "test_default_run_shows_the_lesson"}
    folder = tmp_path_factory.mktemp("lessons")
    env = use_this_python_as_kernel(folder / "jupyter")
    workers = max(1, min(len(wanted), available_cpus()))
    runs = {}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {lab: pool.submit(run_default, lab, str(folder), env) for lab in LONGEST_FIRST if lab in wanted}
        for lab, future in futures.items():
            try:
                runs[lab] = future.result()
            except Exception as exc:  # a timeout or a kernel that died: reported by that lab's test
                runs[lab] = exc
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS)
def test_default_run_shows_the_lesson(lab, default_runs):
    run = default_runs[lab]
    assert not isinstance(run, Exception), f"{lab} did not run to the end: {run!r}"
    cells = nbformat.read(run, as_version=4).cells
    problems = lesson_problems(lab, cells)
    assert not problems, "\n".join(problems)
    # papermill put the parameters in, and every visible test passed on the solutions (the hidden
    # ones too: a failing one would be a cell error above)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in cells)
    for cell in cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and "BEGIN HIDDEN TESTS" not in cell.source:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "all visible tests passed" in text, f"{lab}: {meta['grade_id']} did not report success"


def lesson_problems(lab, cells):
    """What is wrong with an executed notebook's lessons: errors, missed lessons, silent or absent calls."""
    cells = [c for c in cells if c.cell_type == "code"]
    for cell in cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if errors:
            return [f"{lab}, cell {cell.id}: {errors[0].ename}: {errors[0].evalue}"]
    missed = [line for cell in cells for line in lesson_lines(cell) if line.startswith(labs.LESSON_MISSED)]
    if missed:
        return [f"{lab} at its default size does not show its lesson:", *missed]
    calling = [cell for cell in cells if "labs.lesson(" in cell.source]
    if not calling:
        return [f"{lab} states no lesson: no cell calls labs.lesson(claim, holds, evidence, run)"]
    silent = [cell.id for cell in calling if not lesson_lines(cell)]
    if silent:
        return [f"{lab}: the cells {silent} call labs.lesson( but printed no verdict"]
    if not any(line.startswith(labs.LESSON_SHOWN) for cell in calling for line in lesson_lines(cell)):
        return [f"{lab}: no labs.lesson( call printed {labs.LESSON_SHOWN!r}"]
    return []


def _executed(source, text="", error=None):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []
    if error:
        cell.outputs.append(nbformat.v4.new_output("error", ename=error, evalue="boom", traceback=[]))
    return cell


def test_lesson_problems_are_found(capsys):
    """The checks above can fail: each kind of problem is reported, and a good notebook passes."""
    labs.lesson("A beats B", True, "A 90 %, B 80 %")
    shown = capsys.readouterr().out
    labs.lesson("A beats B", False, "A 80 %, B 90 %")
    missed = capsys.readouterr().out
    call = 'labs.lesson("A beats B", a > b, f"A {a}, B {b}", run)'
    assert lesson_problems("lab", [_executed("x = 1"), _executed(call, "A 90 %\n" + shown)]) == []
    assert "does not show its lesson" in lesson_problems("lab", [_executed(call, missed)])[0]
    assert "states no lesson" in lesson_problems("lab", [_executed("print('lesson shown: by hand')", shown)])[0]
    assert "printed no verdict" in lesson_problems("lab", [_executed("if False:\n    " + call)])[0]
    assert "ZeroDivisionError" in lesson_problems("lab", [_executed(call, shown, error="ZeroDivisionError")])[0]

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
