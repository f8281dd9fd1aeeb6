"""Each nbgrader hook of the course (grading/preprocessors/, grading/plugins/) on a tiny notebook.

The grading round trips (test_grading.py, test_grading_corpus.py) run them all through nbgrader's own
steps; here each runs alone, on a notebook made with nbformat.v4 and, where it reads one, a gradebook
of one lab with one notebook, so that what it does is seen directly.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.api import Gradebook
from nbgrader.utils import compute_checksum

from grading import sandbox
from grading.events import EventLog
from grading.plugins import IntegrityCsvExport, NotebooksOnlyExtractor
from grading.preprocessors import HideHiddenTests, LimitOutputChars, ReportEditedCells, RestoreMetadata

LAB, NB, STUDENT = "lab0", "lab0", "ann"
VISIBLE = "assert f(2) == 4"
TEST = f"{VISIBLE}\n### BEGIN HIDDEN TESTS\nassert f(3) == 9, 'the square of three'\n### END HIDDEN TESTS"
ANSWER = "def f(x):\n    return x * x"


def meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    m = {"cell_type": "code", "grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
         "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def graded_cell(source=TEST, outputs=()):
    return new_code_cell(source, metadata=meta("test_f", grade=True, locked=True, points=1.0),
                         outputs=list(outputs))


def answer_cell(source=ANSWER):
    return new_code_cell(source, metadata=meta("f", solution=True))


@pytest.fixture(scope="module")
def gradebook_template(tmp_path_factory):
    """The gradebook file, made once (nbgrader's migrations take seconds); each test gets a copy."""
    url_path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])  # alembic
        with Gradebook(f"sqlite:///{url_path}") as gb:
            gb.add_assignment(LAB)
            gb.add_notebook(NB, LAB)
            gb.add_student(STUDENT)
            gb.add_grade_cell("test_f", NB, LAB, max_score=1, cell_type="code")
            gb.add_solution_cell("f", NB, LAB)
            for cell in (answer_cell(), graded_cell()):
                cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
                gb.add_source_cell(cell.metadata["nbgrader"]["grade_id"], NB, LAB, cell_type="code",
                                   source=cell.source, locked=cell.metadata["nbgrader"]["locked"],
                                   checksum=cell.metadata["nbgrader"]["checksum"])
    return url_path


@pytest.fixture
def gradebook(tmp_path, monkeypatch, gradebook_template):
    """A course folder with a gradebook of lab0: an answer cell ``f`` and a locked test cell ``test_f``
    (1 point, with a hidden test); returns nbgrader's ``resources`` for ann's notebook."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])  # alembic
    shutil.copyfile(gradebook_template, tmp_path / "gradebook.db")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    return {"nbgrader": {"db_url": url, "assignment": LAB, "notebook": NB, "student": STUDENT}}


def events(tmp_path):
    return [(e["kind"], e["detail"]) for e in EventLog(tmp_path / "reports" / LAB / "events" / STUDENT
                                                       / f"{NB}.jsonl").read()]


# ---- sanitising ------------------------------------------------------------------------------------------
def test_restore_metadata_puts_back_edited_points_and_unmarks_a_copied_test(tmp_path, gradebook):
    edited = graded_cell(VISIBLE)
    edited.metadata["nbgrader"]["points"] = 99.0  # the attendee gave the test 99 points
    copy = graded_cell(VISIBLE)  # and pasted it once more
    nb = new_notebook(cells=[answer_cell(), edited, copy])
    nb, _ = RestoreMetadata().preprocess(nb, gradebook)
    assert nb.cells[1].metadata["nbgrader"]["points"] == 1.0
    assert "nbgrader" not in nb.cells[2].metadata
    kinds = [kind for kind, _ in events(tmp_path)]
    assert kinds == ["metadata_restored", "duplicate_removed"], events(tmp_path)


def test_restore_metadata_finds_a_test_whose_id_was_removed_by_its_text(tmp_path, gradebook):
    lost = new_code_cell(VISIBLE)  # the released text, its metadata gone
    nb = new_notebook(cells=[answer_cell(), lost])
    nb, _ = RestoreMetadata().preprocess(nb, gradebook)
    assert nb.cells[1].metadata["nbgrader"]["grade_id"] == "test_f"
    assert ("metadata_restored", "cell 'test_f': lost id restored (same text)") in events(tmp_path)


def test_report_edited_cells_restores_an_edited_test_and_names_the_attendee(tmp_path, gradebook, caplog):
    edited = graded_cell("print('all tests passed')")
    edited.metadata["nbgrader"]["checksum"] = compute_checksum(graded_cell())
    nb = new_notebook(cells=[answer_cell(), edited])
    nb, _ = ReportEditedCells().preprocess(nb, gradebook)
    assert nb.cells[1].source == TEST  # the instructor's test, hidden part included, is back
    assert [kind for kind, _ in events(tmp_path)] == ["edited_read_only"]
    assert "EDITED READ-ONLY CELL: student 'ann'" in caplog.text


def test_report_edited_cells_does_not_flag_a_test_as_released(tmp_path, gradebook):
    released = graded_cell(VISIBLE)  # what attendees got: the hidden tests cut
    released.metadata["nbgrader"]["checksum"] = compute_checksum(graded_cell())
    nb, _ = ReportEditedCells().preprocess(new_notebook(cells=[answer_cell(), released]), gradebook)
    assert nb.cells[1].source == TEST and events(tmp_path) == []


# ---- autograde and feedback ------------------------------------------------------------------------------
def test_limit_output_chars_truncates_streams_and_drops_large_data():
    cell = new_code_cell("print('x' * 500)", outputs=[
        new_output("stream", name="stdout", text="x" * 500),
        new_output("display_data", data={"text/html": "<b>" + "y" * 500 + "</b>", "text/plain": "short"})])
    nb, _ = LimitOutputChars(max_chars=100).preprocess(new_notebook(cells=[cell]), {})
    stream, display = nb.cells[0].outputs
    assert stream.text.startswith("x" * 100) and "400 characters dropped" in stream.text and len(stream.text) < 160
    assert "text/html" not in display.data and "characters dropped" in display.data["text/plain"]


def test_hide_hidden_tests_cuts_the_hidden_block_and_scrubs_it_from_outputs():
    test = graded_cell(outputs=[new_output("error", ename="AssertionError", evalue="the square of three",
                                         traceback=["Traceback", "assert f(3) == 9, 'the square of three'"])])
    leaker = new_code_cell("print(In)", outputs=[new_output(
        "stream", name="stdout", text=f"['{TEST!r}']\nassert f(3) == 9, 'the square of three'\n")])
    nb = new_notebook(cells=[answer_cell(), test, leaker])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert nb.cells[1].source.strip() == VISIBLE
    assert nb.cells[1].outputs[0]["traceback"] == ["AssertionError: the square of three"]
    assert "f(3) == 9" not in nb.cells[2].outputs[0]["text"] and "[hidden test]" in nb.cells[2].outputs[0]["text"]


def test_the_sandbox_never_mounts_the_grading_package_or_the_course(tmp_path, monkeypatch):
    """The kernel's command line: neither the grading package (the judge, the answer keys) nor the course
    folder is bound into the sandbox; where a mounted folder holds the package (an install that is not
    editable puts it in the environment), an empty folder lies over it."""
    package = sandbox.module_dir("grading")
    course = tmp_path / "grading"
    course.mkdir()
    monkeypatch.chdir(course)
    limits = sandbox.Limits(memory_mb=512, file_mb=16, cpu_seconds=60, max_processes=64)
    cmd, _ = sandbox.command(["python", "-m", "ipykernel"], tmp_path / "work", limits)
    binds = [Path(cmd[i + 1]) for i, arg in enumerate(cmd) if arg in ("--bind", "--ro-bind")]
    for secret in (package, course):
        assert not [b for b in binds if b == secret or b in secret.parents], (secret, binds)
    cmd, _ = sandbox.command(["python"], tmp_path / "work", limits, read_only=[package.parent])
    mask = cmd.index(str(package))
    assert cmd[mask - 1] == "--tmpfs" and mask > cmd.index(str(package.parent)), cmd


# ---- collect and export ----------------------------------------------------------------------------------
def test_notebooks_only_extractor_writes_only_the_notebooks(tmp_path):
    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    (archive / "bob").mkdir(parents=True)
    (archive / "bob" / f"{LAB}.ipynb").write_text("{}")
    (archive / "bob" / "helper.py").write_text("x = 1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(f"work/{LAB}.ipynb", "{}")
        z.writestr("dllab/__init__.py", "evil = 1")
        z.writestr("../outside.ipynb", "{}")
    (archive / "ann.zip").write_bytes(buffer.getvalue())
    NotebooksOnlyExtractor().extract(archive, extracted)
    written = sorted(p.relative_to(extracted).as_posix() for p in extracted.rglob("*") if p.is_file())
    assert written == [f"ann/work/{LAB}.ipynb", f"bob/{LAB}.ipynb"]
    assert not (tmp_path / "outside.ipynb").exists()


def test_integrity_csv_export_adds_the_reports_verdict_to_each_row(tmp_path, gradebook, monkeypatch):
    with Gradebook(gradebook["nbgrader"]["db_url"]) as gb:
        gb.add_student("bob")
        gb.add_submission(LAB, STUDENT)
        gb.add_submission(LAB, "bob", timestamp=datetime.datetime(2026, 1, 1))  # handed in, graded by hand
    report = tmp_path / "reports" / LAB / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"students": {STUDENT: {"verdict": "check", "notes": ["scan: native code"]}}}))
    monkeypatch.chdir(tmp_path)
    with Gradebook(gradebook["nbgrader"]["db_url"]) as gb:
        IntegrityCsvExport(to=str(tmp_path / "grades.csv")).export(gb)
    with open(tmp_path / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert (rows[STUDENT]["integrity"], rows[STUDENT]["integrity_notes"]) == ("check", "scan: native code")
    assert (rows["bob"]["integrity"], rows["bob"]["integrity_notes"]) == ("no report", "not in the last grading run")


def test_nbgrader_config_names_the_plugins_without_path_tricks():
    """The course's configuration loads the hooks from the installed package, by name."""
    from traitlets.config import PyFileConfigLoader

    course = Path(sandbox.__file__).resolve().parent
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert config.GenerateFeedback.preprocessors[1] is HideHiddenTests
    assert config.ExportApp.plugin_class is IntegrityCsvExport
    assert "sys.path" not in (course / "nbgrader_config.py").read_text()
    assert nbformat.validate(new_notebook()) is None
