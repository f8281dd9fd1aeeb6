"""nbgrader configuration of the dllab course (nbgrader 0.9.6). Run nbgrader from this folder.

Layout (relative to this folder, the course root):
    source/<lab>/<lab>.ipynb        instructor notebooks, with solutions and hidden tests
    ../labs/<lab>/<lab>.ipynb       the release: what attendees open (`python -m grading release`)
    downloaded/<lab>/archive/       what attendees handed in, before `nbgrader zip_collect`
    submitted/, autograded/, feedback/, gradebook.db    nbgrader's own (not committed)

See README.md in this folder for the instructor's commands. The hooks named here come from the
``grading`` package (installed with dllab: ``pip install -e .``), one per file in
``grading/preprocessors/`` and ``grading/plugins/``.
"""

import os
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    GetGrades,
    IgnorePattern,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from grading.plugins import IntegrityCsvExport, NotebooksOnlyExtractor
from grading.preprocessors import (
    HideHiddenTests,
    LimitOutputChars,
    ReportEditedCells,
    RestoreMetadata,
    SandboxedExecute,
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
# rest of the notebook is still graded. A kernel that ignores the interrupt is stopped.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Every hand-in runs in a throwaway bubblewrap sandbox (grading/sandbox.py): no course files, no
# gradebook, no network, its own user id and limits. Without bwrap, grading refuses to run
# (python -m grading autograde --unsafe-no-sandbox turns this off, for notebooks you trust).
c.SandboxedExecute.notebook_timeout = 600       # seconds for a whole notebook
c.SandboxedExecute.memory_limit_mb = 4096       # address space per sandboxed process
c.SandboxedExecute.max_processes = 256          # processes + threads of the sandbox's user (root only)
c.SandboxedExecute.max_output_chars = 100_000   # per cell, as the output arrives
c.LimitOutput.max_lines = 1000
c.LimitOutputChars.max_chars = 100_000

# Sanitising (before execution): nbgrader metadata rebuilt from the gradebook (edited flags and ids
# restored, duplicates repaired: the first copy is the original), read-only cells restored and
# missing graded cells put back. Then execution in the sandbox, and nbgrader's own scoring.
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput, RestoreMetadata, OverwriteKernelspec, ReportEditedCells, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutputChars, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]

# Collecting hand-ins without a JupyterHub exchange: put each attendee's notebook (or a zip of
# it) in downloaded/<lab>/archive/<attendee>/, or name a zip <attendee>.zip; the first folder
# under extracted/ is the attendee's id. Only notebooks are unpacked: anything handed in beside one
# (a shadow dllab/ package, a script) never reaches the course folder.
c.ZipCollectApp.extractor_plugin = NotebooksOnlyExtractor
c.ZipCollectApp.collector_plugin = "nbgrader.plugins.zipcollect.FileNameCollectorPlugin"
c.FileNameCollectorPlugin.named_regexp = (
    r".*[/\\]extracted[/\\](?P<student_id>[^/\\]+)[/\\](?:.*[/\\])?(?P<file_id>[^/\\]+\.ipynb)$"
)


# Feedback: hidden tests are cut from the cells and scrubbed from every output.
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]

# Export: grades.csv gets the integrity report's verdict on every row (python -m grading report).
c.ExportApp.plugin_class = IntegrityCsvExport
