"""IntegrityCsvExport (export): nbgrader's CSV export, with the integrity report's verdict on every row."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nbgrader.plugins.export import CsvExportPlugin

from ..events import course_root


class IntegrityCsvExport(CsvExportPlugin):
    """nbgrader's CSV export, with the integrity report's verdict on every row.

    ``integrity`` is ``ok``, ``check`` (graded, but look at the notes before trusting the score),
    ``not graded`` (grading failed; rerun ``python -m grading autograde``) or ``no report`` (graded
    without ``python -m grading``); ``integrity_notes`` says why.
    """

    def export(self, gradebook):
        super().export(gradebook)
        dest = self.to or "grades.csv"
        with open(dest, newline="") as f:
            rows = list(csv.DictReader(f))
        reports = {}
        root = Path(dest).resolve().parent
        for row in rows:
            lab = row["assignment"]
            if lab not in reports:
                path = (course_root(self) or root) / "reports" / lab / "report.json"
                reports[lab] = json.loads(path.read_text())["students"] if path and path.exists() else None
            report = reports[lab]
            entry = (report or {}).get(row["student_id"])
            if report is None:
                row["integrity"], row["integrity_notes"] = "no report", f"run `python -m grading report {lab}`"
            elif entry is None:
                row["integrity"], row["integrity_notes"] = ("no hand-in", "") if not row["timestamp"] else \
                    ("no report", "not in the last grading run")
            else:
                row["integrity"] = entry["verdict"]
                row["integrity_notes"] = "; ".join(entry["notes"])
        fields = list(rows[0].keys()) if rows else []
        with open(dest, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields or ["assignment"])
            writer.writeheader()
            writer.writerows(rows)

