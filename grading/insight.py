"""What the class got wrong: the instructor's debrief page of a graded lab.

    python -m grading insight lab1_logreg   # after autograde (and report): reports/<lab>/class.html, class.json

Reads what grading already wrote: the scores in nbgrader's gradebook, the judge's outputs in each
autograded notebook (a failed test cell holds one error output: the exception type and the
teaching message; ``NotRun`` for a cell that never ran), and ``reports/<lab>/report.json``
(verdicts, integrity notes, rejected archives). Writes

* ``reports/<lab>/class.json``: per graded test, in the lab's order, the points distribution, the
  pass rate and the failure messages grouped by mistake (most common first, with the count and the
  attendees); the score distribution; the integrity flags by reason; the hand-ins not graded; the
  written answers' manual grades;
* ``reports/<lab>/class.html``: the same as one self-contained page (figures embedded as PNG, no
  script, nothing fetched), with a figure of the pass rate per test and one of the scores.

Messages are grouped after :func:`normalise`: numbers, array excerpts and shapes are taken out, so
the same teaching message with different numbers counts once. Attendees' names are on the page
(folded away under each mistake): it is for the instructor, not for projecting as it is.
"""

from __future__ import annotations

import collections
import json
import re
import time
from pathlib import Path

from grading.course import load_config, read_json
from grading.insight_page import _pct, figure_pass_rates, figure_scores, png_uri, render

NO_MESSAGE = ("no message", "the test cell failed but holds no error output")
NO_NOTEBOOK = ("no notebook", "the autograded notebook is missing (autograded/<attendee>/<lab>/)")
HIDDEN_MARK = "BEGIN HIDDEN TESTS"

# ---- normalising messages ------------------------------------------------------------------------------
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ARRAY_CALL = re.compile(r"\b(?:array|tensor|Tensor)\(")
# a bracketed run of numbers (a NumPy or list excerpt, possibly nested or across lines)
_BRACKETS = re.compile(r"\[[\s\d.,eE+\-…]*(?:\.\.\.|nan|inf|True|False|\[|\]|[\s\d.,eE+\-…])*\]")
_TUPLE = re.compile(r"\((?:\s*" + _NUMBER + r"\s*,)+\s*(?:" + _NUMBER + r")?\s*\)")
_NUM = re.compile(r"(?<![\w.])" + _NUMBER + r"(?![\w])")
_WORD_VALUES = re.compile(r"(?<![\w.])[-+]?(?:nan|inf)(?![\w])")


def _strip_calls(text):
    """``array(...)`` (any depth of brackets inside, across lines) -> ``array(…)``."""
    out, i = [], 0
    for match in _ARRAY_CALL.finditer(text):
        if match.start() < i:
            continue
        depth, j = 1, match.end()
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        out.append(text[i:match.end()] + "…)")
        i = j
    out.append(text[i:])
    return "".join(out)


def normalise(message):
    """The teaching message with what varies between attendees taken out: array excerpts, shapes and
    numbers become ``…``, ``(…)`` and ``#``; names that hold digits (``W1``, ``float32``) are kept."""
    text = _strip_calls(message)
    text = _BRACKETS.sub("[…]", text)
    text = _TUPLE.sub("(…)", text)
    text = _WORD_VALUES.sub("#", text)
    text = _NUM.sub("#", text)
    return re.sub(r"\s+", " ", text).strip()


# ---- reading the graded class ------------------------------------------------------------------------
def _meta(cell):
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _text(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def failures(nb):
    """grade id -> (ename, evalue) of each graded test cell that failed, from the judge's error output
    (the last error output of the cell). Cells without an error output are not listed."""
    out = {}
    for cell in nb.get("cells", []):
        meta = _meta(cell)
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            out[meta.get("grade_id")] = (errors[-1].get("ename") or "Error", _text(errors[-1].get("evalue")))
    return out


def group_mistakes(failed):
    """``failed``: attendee -> (ename, evalue). The mistakes, most common first: each a dict with the
    exception type, the message (the most common wording), the normalised key, the count and the
    attendees (sorted)."""
    groups = collections.defaultdict(list)
    for student, (ename, evalue) in failed.items():
        groups[(ename, normalise(evalue))].append((student, evalue))
    out = []
    for (ename, key), members in groups.items():
        wordings = collections.Counter(evalue for _, evalue in members)
        out.append({"ename": ename, "message": wordings.most_common(1)[0][0], "key": key, "count": len(members),
                    "wordings": len(wordings), "attendees": sorted(s for s, _ in members)})
    out.sort(key=lambda g: (-g["count"], g["ename"] == "NotRun", g["key"]))
    return out


def lab_order(lab, course):
    """The lab's graded cells in order: (notebook, grade id, cell type, hidden) from the instructor's
    notebooks in source/ (None if they are not there)."""
    folder = course / "source" / lab
    notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    order = []
    for path in notebooks:
        nb = read_json(path) or {}
        for cell in nb.get("cells", []):
            meta = _meta(cell)
            if meta.get("grade"):
                order.append((path.stem, meta.get("grade_id"), cell.get("cell_type"),
                              HIDDEN_MARK in _text(cell.get("source"))))
    return order or None


def course_id(course):
    """The course id of nbgrader_config.py, as the autograde's gradebook uses it."""
    if not (course / "nbgrader_config.py").exists():
        return "default_course"
    value = load_config(course).CourseDirectory.course_id
    return value if isinstance(value, str) else "default_course"


def gradebook_scores(lab, course):
    """From nbgrader's gradebook: the lab's grade cells in the gradebook's order, and per attendee
    the total score and each cell's score (None where a written answer awaits a person)."""
    from nbgrader.api import Gradebook, MissingEntry

    cells, students = [], {}
    if not (course / "gradebook.db").exists():
        raise SystemExit(f"no gradebook.db in {course}: release, then grade {lab} first")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=course_id(course)) as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            raise SystemExit(f"{lab} is not in the gradebook: release it and grade it first") from None
        max_score = assignment.max_score
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                cells.append((notebook.name, cell.name, cell.cell_type, cell.max_score))
        for submission in assignment.submissions:
            grades = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    pending = grade.needs_manual_grade or (grade.cell_type == "markdown" and grade.manual_score is None
                                                           and grade.auto_score is None)
                    grades[(notebook.name, grade.name)] = {
                        "score": grade.score, "pending": bool(pending),
                        "by_hand": grade.manual_score is not None}
            students[submission.student_id] = {"score": submission.score, "grades": grades}
    return cells, max_score, students


def reason_kind(note):
    """The kind of an integrity note: the text before its first ':'."""
    return note.split(":", 1)[0].strip()


def collect(lab, course):
    """Everything the page shows, as data (what class.json holds)."""
    course = Path(course)
    out = course / "reports" / lab
    report = read_json(out / "report.json")
    cells, max_score, gradebook = gradebook_scores(lab, course)
    order = lab_order(lab, course)
    points = {(nb, cid): p for nb, cid, _, p in cells}
    if order is None:  # no source notebooks: the gradebook's order, hidden tests not known
        order = [(nb, cid, kind, False) for nb, cid, kind, _ in cells]
    order = [entry for entry in order if (entry[0], entry[1]) in points]
    notebooks = sorted({nb for nb, *_ in order})
    single = len(notebooks) == 1

    def label(nb, cid):
        return cid if single else f"{nb}/{cid}"

    # who counts: graded in the gradebook and (when there is a report) not "not graded"
    verdicts = {s: e.get("verdict") for s, e in (report or {}).get("students", {}).items()}
    attendees = sorted(s for s in gradebook if verdicts.get(s, "ok") != "not graded")
    read = {}
    for student in attendees:
        read[student] = {}
        for nb in notebooks:
            data = read_json(course / "autograded" / student / lab / f"{nb}.ipynb")
            read[student][nb] = failures(data) if data is not None else None

    tests, written = [], []
    for nb, cid, kind, hidden in order:
        full = points[(nb, cid)]
        grades = {s: gradebook[s]["grades"].get((nb, cid), {"score": None, "pending": True, "by_hand": False})
                  for s in attendees}
        if kind == "code":
            dist = collections.Counter(f"{(g['score'] or 0):g}" for g in grades.values())
            passed = [s for s, g in grades.items() if g["score"] is not None and g["score"] >= full]
            failed = {}
            for student in attendees:
                if student in passed:
                    continue
                found = read[student][nb]
                failed[student] = NO_NOTEBOOK if found is None else found.get(cid, NO_MESSAGE)
            tests.append({"id": label(nb, cid), "points": full, "hidden": hidden, "graded": len(attendees),
                          "passed": len(passed), "pass_rate": len(passed) / len(attendees) if attendees else 0.0,
                          "points_distribution": dict(sorted(dist.items(), key=lambda kv: float(kv[0]))),
                          "mistakes": group_mistakes(failed)})
        else:
            marked = {s: g["score"] for s, g in grades.items() if not g["pending"]}
            by_hand = [s for s, g in grades.items() if g["by_hand"] and not g["pending"]]
            dist = collections.Counter(f"{v or 0:g}" for v in marked.values())
            written.append({"id": label(nb, cid), "points": full, "graded_by_hand": len(by_hand),
                            "marked": len(marked), "pending": sorted(s for s in attendees if s not in marked),
                            "points_distribution": dict(sorted(dist.items(), key=lambda kv: float(kv[0]))),
                            "mean": (sum(v or 0 for v in marked.values()) / len(marked)) if marked else None})

    integrity = {"report": report is not None, "verdicts": {}, "check_reasons": {}}
    not_graded = {"attendees": {}, "rejected_archives": {}}
    if report is not None:
        integrity["verdicts"] = dict(collections.Counter(verdicts.values()))
        reasons = collections.defaultdict(set)
        for student, entry in report.get("students", {}).items():
            if entry.get("verdict") == "check":
                for note in entry.get("notes", []):
                    reasons[reason_kind(note)].add(student)
            elif entry.get("verdict") == "not graded":
                problem = next((n for n in entry.get("notes", []) if n.startswith("NOT GRADED")),
                               "; ".join(entry.get("notes", [])) or "not graded")
                not_graded["attendees"][student] = problem
        integrity["check_reasons"] = {
            reason: {"count": len(names), "attendees": sorted(names)}
            for reason, names in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))}
        not_graded["rejected_archives"] = dict(report.get("rejected_archives", {}))
    for student in sorted(set(verdicts) - set(gradebook)):
        if verdicts[student] != "not graded":
            not_graded["attendees"].setdefault(student, "no submission in the gradebook")

    scores = {s: gradebook[s]["score"] for s in attendees}
    auto_max = sum(t["points"] for t in tests)
    return {"lab": lab, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "attendees": attendees,
            "max_score": max_score, "autograded_points": auto_max, "scores": scores,
            "tests": tests, "written": written, "integrity": integrity, "not_graded": not_graded}


def write_insight(lab, course):
    """class.json and class.html in reports/<lab>/; returns 0."""
    course = Path(course)
    start = time.monotonic()
    data = collect(lab, course)
    out = course / "reports" / lab
    out.mkdir(parents=True, exist_ok=True)
    figures = {"pass_rates": png_uri(figure_pass_rates([(t["id"], t["pass_rate"], t["hidden"])
                                                        for t in data["tests"]])),
               "scores": png_uri(figure_scores(list(data["scores"].values()), data["max_score"]))}
    (out / "class.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    (out / "class.html").write_text(render(data, figures), encoding="utf-8")
    n = len(data["attendees"])
    stuck = sorted(data["tests"], key=lambda t: t["pass_rate"])[:3]
    print(f"{lab}: {n} graded hand-ins, {len(data['tests'])} tests"
          + (": lowest pass rates " + ", ".join(f"{t['id']} {_pct(t['pass_rate'])}" for t in stuck) if stuck else ""))
    print(f"insight: {(out / 'class.html').relative_to(course)} and class.json "
          f"({time.monotonic() - start:.1f} s)")
    return 0
