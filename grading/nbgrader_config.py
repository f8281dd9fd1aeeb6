"""nbgrader configuration of the dllab course (nbgrader 0.9.6). Run nbgrader from this folder.

Layout (relative to this folder, the course root):
    source/<lab>/<lab>.ipynb        instructor notebooks, with solutions and hidden tests
    ../labs/<lab>/<lab>.ipynb       the release: what attendees open (`python release.py`)
    downloaded/<lab>/archive/       what attendees handed in, before `nbgrader zip_collect`
    submitted/, autograded/, feedback/, gradebook.db    nbgrader's own (not committed)

See README.md in this folder for the instructor's commands.
"""

import os
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    OverwriteCells,
    OverwriteKernelspec,
)

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "dllab"
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.source_directory = "source"
# The release goes straight into the repository's labs/ folder, next to this one.
c.CourseDirectory.release_directory = os.path.relpath(HERE.parent / "labs", HERE)
# A lab's source is its jupytext script <lab>.py, with the solutions: never copy it into the release
# (nbgrader copies every other file of a source folder), nor the jupytext settings.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.py", "jupytext.toml"]

# Per-cell time limit while autograding. Graded cells test small functions in well under a
# second, and nbgrader runs the training cells shortened (dllab.labs.setup sees
# NBGRADER_EXECUTION), so a cell that hits this limit is stuck: it is interrupted and the
# rest of the notebook is still graded.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Collecting hand-ins without a JupyterHub exchange: put each attendee's notebook (or a zip of
# it) in downloaded/<lab>/archive/<attendee>/, or name a zip <attendee>.zip; the first folder
# under extracted/ is the attendee's id.
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.zipcollect.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = (
    r".*[/\\]extracted[/\\](?P<student_id>[^/\\]+)[/\\](?:.*[/\\])?(?P<file_id>[^/\\]+\.ipynb)$"
)


def _without_hidden_tests(source):
    """A cell's source as released: the ### BEGIN/END HIDDEN TESTS region cut out."""
    kept, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


class ReportEditedCells(OverwriteCells):
    """OverwriteCells that names the attendee when it restores an edited read-only cell.

    nbgrader always puts back the original source of a locked cell (tests, given code) before
    grading, so an edited test cannot earn points; this makes the log line say who did it. A
    test cell that differs from the gradebook only by its hidden tests (cut from the release) is
    not an edit.
    """

    def preprocess(self, nb, resources):
        self._student = resources.get("nbgrader", {}).get("student", "?")
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        self._as_released = False
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            try:
                original = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                pass
            else:
                self._as_released = cell.source == _without_hidden_tests(original.source)
        return super().preprocess_cell(cell, resources, index)

    def report_change(self, name, attr, old, new):
        if attr != "checksum":
            super().report_change(name, attr, old, new)
        elif not self._as_released:
            self.log.warning("EDITED READ-ONLY CELL: student %r, notebook %r, cell %r: the original was "
                             "restored before grading", self._student, self.notebook_id, name)


c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, ReportEditedCells, CheckCellMetadata,
]


class HideHiddenTests(ClearHiddenTests):
    """Keep hidden tests out of the feedback: drop their source, and shorten their errors.

    A failing hidden test keeps only its message (``LabCheckError: ...``), which says what was
    wrong; the traceback would quote the test's code.
    """

    def preprocess_cell(self, cell, resources, index):
        had_hidden = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, index)
        if had_hidden and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
