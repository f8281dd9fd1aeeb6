"""The lab notebooks: every instructor notebook in grading/source runs with papermill at CI size, its own visible
and hidden tests passing on the solutions; each lab is one jupytext script (grading/source/<lab>/<lab>.py) that
round-trips as a notebook, and labs/ is what nbgrader makes of it; no committed notebook carries outputs; the
parameters cell and nbgrader metadata (and POINTS, each lab's points) are in order."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from labs_helpers import (
    GRADING,
    RELEASES,
    ROOT,
    SCRIPTS,
    SOURCES,
    answer_keys_installed,  # noqa: F401 - an autouse fixture
    lab_id,
    nbgrader_meta,
    read,
)

from dllab import labs

# autograded + written points per lab
POINTS = {"lab1_logreg": 28, "lab2_mlp": 33, "lab3_cnn": 36, "lab4_lstm": 28, "lab5_transfer": 32}


# --- the notebooks run ------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCRIPTS, ids=lab_id)
def test_lab_script_round_trips_as_a_notebook(path):
    """What JupyterLab saves back after opening the script as a notebook is the same text."""
    import jupytext

    assert jupytext.writes(jupytext.read(path), fmt="py:percent") == path.read_text()


@pytest.mark.slow
def test_source_notebooks_are_stable():
    """The same script always gives the same notebook, byte for byte (stable cell ids)."""
    from grading import release

    for lab in release.all_labs():
        assert nbformat.writes(release.notebook(lab)) == nbformat.writes(release.notebook(lab))
        ids = [cell.id for cell in release.notebook(lab).cells]
        assert len(ids) == len(set(ids))


def test_lab2_forward_literals_are_what_the_reference_computes():
    """Lab 2's forward test quotes P for the test network as literals; recompute them."""
    text = (GRADING / "source" / "lab2_mlp" / "lab2_mlp.py").read_text()
    X, _, params = labs.net_fixture()
    for act, name in [("relu", "P with relu"), ("sigmoid", "P with sigmoid")]:
        literal = text.split(f'"{name}"')[0].rsplit("[[", 1)[1]
        quoted = np.array(ast.literal_eval("[[" + literal.rsplit("]]", 1)[0] + "]]"))
        P, _ = labs.reference_forward(X, params, act)
        np.testing.assert_allclose(quoted, P, atol=1e-8, err_msg=f"lab 2's {name!r} literal is stale")


@pytest.mark.slow
def test_release_is_up_to_date_with_the_sources():
    result = subprocess.run([sys.executable, str(GRADING / "release.py"), "--check"], check=False,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.stem for p in RELEASES] == [p.stem for p in SOURCES]


# --- what is committed -------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOURCES + RELEASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_committed_notebooks_carry_no_outputs(path):
    nb = read(path)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {cell.id} has outputs"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", SOURCES + RELEASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_parameters_cell(path):
    cells = [c for c in read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds plain assignments only"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values == {"full": False, "epochs": None, "subset": None, "device": "auto", "seed": 0}


@pytest.mark.parametrize("path", SOURCES, ids=lab_id)
def test_nbgrader_metadata(path):
    nb = read(path)
    ids, points = [], 0
    kinds = {"answer": 0, "visible": 0, "hidden": 0, "written": 0}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta:
            assert "BEGIN SOLUTION" not in cell.source and "BEGIN HIDDEN TESTS" not in cell.source
            continue
        assert meta["schema_version"] == 3 and meta["task"] is False
        ids.append(meta["grade_id"])
        if meta["grade"]:
            assert meta["points"] > 0
            points += meta["points"]
        if cell.cell_type == "markdown":
            assert meta["solution"] and meta["grade"], "written answers are solution + grade cells"
            kinds["written"] += 1
        elif meta["solution"]:
            assert not meta["grade"] and "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            kinds["answer"] += 1
        else:
            assert meta["grade"] and meta["locked"]
            hidden = "### BEGIN HIDDEN TESTS" in cell.source
            kinds["hidden" if hidden else "visible"] += 1
            if hidden:
                assert cell.source.rstrip().endswith("### END HIDDEN TESTS")
            else:
                assert "raise AssertionError" not in cell.source and "assert " not in cell.source, \
                    "visible tests use dllab.labs checks, which explain a failure"
    assert len(ids) == len(set(ids)), "grade ids are unique"
    assert all(kinds.values()), kinds
    assert kinds["hidden"] >= 4 and kinds["written"] >= 2
    assert points == POINTS[path.stem], "grading/README.md and docs/labs.md quote the points"


@pytest.mark.parametrize("path", RELEASES, ids=lab_id)
def test_release_hides_solutions_and_hidden_tests(path):
    text = path.read_text()
    for secret in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "_rng = "):
        assert secret not in text
    nb = read(path)
    answers = [c for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert answers and all("raise NotImplementedError()" in c.source for c in answers)


def test_nbgrader_config():
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(GRADING)).load_config()
    assert config.CourseDirectory.course_id == "dllab"
    assert Path(config.CourseDirectory.root) == GRADING
    assert (GRADING / config.CourseDirectory.release_directory).resolve() == ROOT / "labs"
    assert 30 <= config.Execute.timeout <= 300
    assert config.FileNameCollectorPlugin.named_regexp


def test_labs_readme_lists_every_lab():
    text = (ROOT / "labs" / "README.md").read_text()
    for path in RELEASES:
        assert f"{path.parent.name}/{path.name}" in text
