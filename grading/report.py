"""The integrity report of a lab: per attendee the verdict, the score and every reason to look.

    python -m grading report lab1_logreg    # reports/<lab>/report.md and report.json (again after feedback)

Per attendee: ``ok``, ``check`` or ``not graded``, the score from the gradebook, and the notes: cells
not run, kernel deaths, time-outs, repaired metadata, edited read-only cells, the judge's flags, scan
flags, missing feedback pages (from the run records in ``reports/<lab>/runs/``, the integrity log in
``reports/<lab>/events/`` and the autograded notebooks). ``nbgrader export`` copies the verdict into
grades.csv (``grading.plugins.IntegrityCsvExport``).
"""

from __future__ import annotations

import json
import time

import nbformat

from grading.course import gradebook, notebook_names
from grading.events import EventLog

# events that do not by themselves make a result doubtful
INFO_EVENTS = {"output_capped", "left_out"}


def write_report(lab, course):
    from nbgrader.api import MissingEntry

    runs = course / "reports" / lab / "runs"
    records = {p.stem: json.loads(p.read_text()) for p in sorted(runs.glob("*.json"))} if runs.is_dir() else {}
    names = notebook_names(lab, course)
    collected = course / "reports" / lab / "collect.json"
    collect_record = json.loads(collected.read_text()) if collected.exists() else {}
    rejected = collect_record.get("rejected", {})
    skipped = collect_record.get("left_out", {})
    feedback_made = (course / "feedback").is_dir() and any((course / "feedback").glob(f"*/{lab}"))
    students = {}
    with gradebook(course) as gb:
        max_score = gb.find_assignment(lab).max_score
        for student, record in records.items():
            notes = list(record.get("notes", []))
            if skipped.get(student):
                notes.append("left_out: handed in beside the notebook and not collected: "
                             + ", ".join(skipped[student][:8]) + (" ..." if len(skipped[student]) > 8 else ""))
            score = None
            if record.get("status") == "graded":
                try:
                    score = gb.find_submission(lab, student).score
                except MissingEntry:
                    notes.append("no score in the gradebook")
            elif record.get("status") == "running":
                notes.append("grading did not finish (interrupted); run `python -m grading autograde` again")
            else:
                notes.append(f"NOT GRADED: {record.get('error', 'unknown error')}")
            for name in names:
                log = EventLog(course / "reports" / lab / "events" / student / f"{name}.jsonl")
                for event in log.read():
                    notes.append(f"{event['kind']}: {event['detail']}")
                graded = course / "autograded" / student / lab / f"{name}.ipynb"
                if record.get("status") == "graded" and graded.exists():
                    nb = nbformat.read(graded, as_version=4)
                    not_run = [c.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i + 1}"
                               for i, c in enumerate(nb.cells) if c.cell_type == "code"
                               and any(o.get("ename") == "NotRun" for o in c.get("outputs", []))]
                    if not_run:
                        notes.append(f"cells not run: {len(not_run)} ({', '.join(not_run[:6])}"
                                     + (", ..." if len(not_run) > 6 else "") + ")")
                page = course / "feedback" / student / lab / f"{name}.html"
                if feedback_made and record.get("status") == "graded" and not page.exists():
                    notes.append(f"missing feedback page feedback/{student}/{lab}/{name}.html")
            for where, what, line in record.get("scan", []):
                notes.append(f"scan: {what} in {where}: {line}")
            serious = [n for n in notes if n.split(":")[0] not in INFO_EVENTS]
            verdict = "not graded" if record.get("status") != "graded" else ("check" if serious else "ok")
            students[student] = {"verdict": verdict, "score": score, "max_score": max_score,
                                 "seconds": record.get("seconds"), "notes": notes}
    report = {"lab": lab, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "feedback_generated": feedback_made,
              "rejected_archives": rejected, "students": students}
    out = course / "reports" / lab
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    lines = [f"# Integrity report: {lab} ({report['time']})", ""]
    flagged = {s: e for s, e in students.items() if e["verdict"] != "ok"}
    lines.append(f"{len(students)} hand-ins: {len(students) - len(flagged)} ok, {len(flagged)} to look at"
                 + ("" if feedback_made else "; feedback not generated yet"))
    for name, problem in rejected.items():
        lines.append(f"- archive {name} REJECTED: {problem}")
    lines += ["", "| student | verdict | score | notes |", "| --- | --- | --- | --- |"]
    for student, entry in students.items():
        score = "-" if entry["score"] is None else f"{entry['score']:g} / {entry['max_score']:g}"
        notes = "<br>".join(n.replace("|", "\\|") for n in entry["notes"]) or ""
        lines.append(f"| {student} | {entry['verdict']} | {score} | {notes} |")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:3]))
    for student, entry in flagged.items():
        print(f"  {student}: {entry['verdict']}: " + "; ".join(entry["notes"])[:400])
    print(f"report: {(out / 'report.md').relative_to(course)}")
    return 0
