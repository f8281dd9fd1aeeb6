"""ReportEditedCells (autograde, sanitising): nbgrader's OverwriteCells, naming who edited a read-only cell."""

from __future__ import annotations

from nbgrader.api import MissingEntry
from nbgrader.preprocessors import OverwriteCells

from ..events import EventLog
from ..hidden import released


class ReportEditedCells(OverwriteCells):
    """OverwriteCells that names the attendee when it restores an edited read-only cell.

    nbgrader always puts back the original source of a locked cell (tests, given code) before
    grading, so an edited test cannot earn points; this makes the log line say who did it. A
    test cell that differs from the gradebook only by its hidden tests (cut from the release) is
    not an edit. Missing graded cells are added back (``add_missing_cells``).
    """

    def preprocess(self, nb, resources):
        self._student = resources.get("nbgrader", {}).get("student", "?")
        self.events = EventLog.for_resources(resources, self)
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
                self._as_released = cell.source == released(original.source)
        return super().preprocess_cell(cell, resources, index)

    def report_change(self, name, attr, old, new):
        if attr != "checksum":
            super().report_change(name, attr, old, new)
        elif not self._as_released:
            self.log.warning("EDITED READ-ONLY CELL: student %r, notebook %r, cell %r: the original was "
                             "restored before grading", self._student, self.notebook_id, name)
            self.events.add("edited_read_only", f"cell {name!r} was edited; the original was restored")
