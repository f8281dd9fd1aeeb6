"""What the class got wrong: the instructor's debrief page of a graded lab.

    python grade.py insight lab1_logreg     # after autograde (and report): reports/<lab>/class.html, class.json

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

import base64
import collections
import html
import io
import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

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


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def lab_order(lab, course):
    """The lab's graded cells in order: (notebook, grade id, cell type, hidden) from the instructor's
    notebooks in source/ (None if they are not there)."""
    folder = course / "source" / lab
    notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    order = []
    for path in notebooks:
        nb = _read_json(path) or {}
        for cell in nb.get("cells", []):
            meta = _meta(cell)
            if meta.get("grade"):
                order.append((path.stem, meta.get("grade_id"), cell.get("cell_type"),
                              HIDDEN_MARK in _text(cell.get("source"))))
    return order or None


def course_id(course):
    """The course id of nbgrader_config.py, as grade.py's gradebook uses it."""
    if not (course / "nbgrader_config.py").exists():
        return "default_course"
    from traitlets.config import PyFileConfigLoader

    value = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config().CourseDirectory.course_id
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


def collect(lab, course=HERE):
    """Everything the page shows, as data (what class.json holds)."""
    course = Path(course)
    out = course / "reports" / lab
    report = _read_json(out / "report.json")
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
            data = _read_json(course / "autograded" / student / lab / f"{nb}.ipynb")
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


# ---- figures -------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figure_pass_rates(rates):
    """``rates``: (test, pass rate, hidden) in the lab's order -> the figure (first test at the top)."""
    plt = _pyplot()
    height = max(2.4, 0.32 * len(rates) + 1.0)
    fig, ax = plt.subplots(figsize=(7.5, height), dpi=90)
    names = [f"{name} (hidden)" if hidden else name for name, _, hidden in rates]
    values = [100 * rate for _, rate, _ in rates]
    colours = [plt.cm.RdYlGn(min(max(v / 100, 0), 1) * 0.85 + 0.075) for v in values]
    y = list(range(len(rates)))
    ax.barh(y, values, color=colours, edgecolor="#444", linewidth=0.5)
    for yi, v in zip(y, values):
        inside = v > 90
        ax.text(v - 1.5 if inside else v + 1.5, yi, f"{v:.0f}%", va="center", ha="right" if inside else "left",
                fontsize=8, color="white" if inside else "black")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("attendees who passed (%)")
    ax.set_title("Pass rate per test, in the lab's order")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def figure_scores(scores, max_score):
    """Histogram of the total scores (None: not scored)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 2.8), dpi=90)
    values = [s for s in scores if s is not None]
    top = max(max_score or 0, max(values, default=0), 1)
    bins = [i - 0.5 for i in range(int(top) + 2)]
    ax.hist(values, bins=bins, color="#4c72b0", edgecolor="white")
    if values:
        mean = sum(values) / len(values)
        ax.axvline(mean, color="#c44e52", linestyle="--", linewidth=1, label=f"mean {mean:.1f}")
        ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(-0.5, top + 0.5)
    ax.set_xlabel(f"score (of {max_score:g})" if max_score else "score")
    ax.set_ylabel("attendees")
    ax.set_title("Score distribution")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return fig


def png_uri(fig):
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ---- the page ------------------------------------------------------------------------------------------
CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 62em; color: #222; line-height: 1.4 }
h1 { font-size: 1.5em } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc }
table { border-collapse: collapse; margin: .5em 0 } td, th { padding: .2em .6em; border-bottom: 1px solid #eee;
  text-align: left; vertical-align: top } th { background: #f4f4f4 }
.num { text-align: right; font-variant-numeric: tabular-nums } .nowrap { white-space: nowrap }
.bar { display: inline-block; height: .8em; background: #4c72b0; vertical-align: middle }
.test { margin: 1em 0; padding: .4em .8em; border-left: 4px solid #ddd }
.test.low { border-color: #c44e52 } .test.mid { border-color: #dd8452 } .test.high { border-color: #55a868 }
pre { white-space: pre-wrap; background: #f7f7f7; padding: .4em; margin: .2em 0; font-size: .85em }
.muted { color: #777 } img.figure { max-width: 100%; display: block; margin: .5em 0 }
details { margin: .2em 0 .6em } summary { cursor: pointer; color: #555 }
"""
MESSAGE_CHARS = 1200  # of a mistake's message shown on the page


def _e(value):
    return html.escape(str(value))


def _pct(rate):
    return f"{100 * rate:.0f}%"


def render(data, figures):
    """The page, from :func:`collect`'s data and the figures' data URIs."""
    n = len(data["attendees"])
    tests = data["tests"]
    parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(data['lab'])}: what the "
             f"class got wrong</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(data['lab'])}: what the class got wrong</h1>",
             f"<p class='muted'>{n} graded hand-ins; written {_e(data['time'])} by <code>grade.py insight</code>. "
             "Attendees' names are folded under each mistake: this page is the instructor's.</p>"]
    scores = [s for s in data["scores"].values() if s is not None]
    if scores:
        ordered = sorted(scores)
        median = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1]
                                                                       + ordered[len(ordered) // 2]) / 2
        parts.append(f"<p>Score: mean {sum(scores) / len(scores):.1f}, median {median:g}, of {data['max_score']:g} "
                     f"({data['autograded_points']:g} autograded).</p>")
    hardest = sorted((t for t in tests if t["graded"]), key=lambda t: (t["pass_rate"], tests.index(t)))[:3]
    if hardest:
        parts.append("<p>Hardest tests: " + ", ".join(f"<a href='#{_e(t['id'])}'>{_e(t['id'])}</a> "
                                                       f"({_pct(t['pass_rate'])} passed)" for t in hardest) + ".</p>")
    parts += [f"<img class='figure' alt='pass rate per test' src='{figures['pass_rates']}'>",
              f"<img class='figure' alt='score distribution' src='{figures['scores']}'>"]

    parts.append("<h2>Tests</h2><table><tr><th>test</th><th class='num'>points</th><th>passed</th>"
                 "<th>points distribution</th><th>most common mistake</th></tr>")
    for t in tests:
        dist = ", ".join(f"{k}: {v}" for k, v in t["points_distribution"].items())
        top = t["mistakes"][0] if t["mistakes"] else None
        first = (top["message"].strip().splitlines() or [""])[0] if top else ""
        top_text = (f"{top['count']}× {_e(first[:110])}{'…' if len(first) > 110 else ''}") if top else ""
        hidden = " <span class='muted'>(hidden)</span>" if t["hidden"] else ""
        parts.append(f"<tr><td><a href='#{_e(t['id'])}'>{_e(t['id'])}</a>{hidden}</td>"
                     f"<td class='num'>{t['points']:g}</td><td class='nowrap'><span class='bar' style='width:"
                     f"{4 * t['pass_rate']:.2f}em'></span> {t['passed']}/{t['graded']} ({_pct(t['pass_rate'])})</td>"
                     f"<td>{_e(dist)}</td><td>{top_text}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Mistakes, test by test</h2>")
    for t in tests:
        level = "low" if t["pass_rate"] < 0.5 else "mid" if t["pass_rate"] < 0.8 else "high"
        parts.append(f"<div class='test {level}' id='{_e(t['id'])}'><h3>{_e(t['id'])}"
                     f"{' (hidden)' if t['hidden'] else ''}: {t['passed']}/{t['graded']} passed "
                     f"({_pct(t['pass_rate'])}), {t['points']:g} points</h3>")
        if not t["mistakes"]:
            parts.append("<p class='muted'>Everyone passed.</p>")
        for g in t["mistakes"]:
            message = g["message"].strip()
            shown = message[:MESSAGE_CHARS] + ("…" if len(message) > MESSAGE_CHARS else "")
            variants = f", {g['wordings']} wordings" if g["wordings"] > 1 else ""
            parts.append(f"<p><b>{g['count']}</b> of {t['graded']} ({_pct(g['count'] / max(t['graded'], 1))}): "
                         f"<code>{_e(g['ename'])}</code>{variants}</p><pre>{_e(shown)}</pre>"
                         f"<details><summary>attendees ({g['count']})</summary>{_e(', '.join(g['attendees']))}"
                         "</details>")
        parts.append("</div>")

    parts.append("<h2>Written answers</h2>")
    if not data["written"]:
        parts.append("<p class='muted'>This lab has no written answers.</p>")
    elif not any(w["graded_by_hand"] for w in data["written"]):
        parts.append("<p class='muted'>No written answer has been graded by hand yet (step 4).</p>")
    if data["written"]:
        parts.append("<table><tr><th>answer</th><th class='num'>points</th><th>graded</th><th>by hand</th>"
                     "<th>mean</th><th>points distribution</th></tr>")
        for w in data["written"]:
            mean = "-" if w["mean"] is None else f"{w['mean']:.2f}"
            dist = ", ".join(f"{k}: {v}" for k, v in w["points_distribution"].items())
            parts.append(f"<tr><td>{_e(w['id'])}</td><td class='num'>{w['points']:g}</td><td>{w['marked']}/{n}</td>"
                         f"<td>{w['graded_by_hand']}</td><td>{mean}</td><td>{_e(dist)}</td></tr>")
        parts.append("</table>")

    integrity, not_graded = data["integrity"], data["not_graded"]
    parts.append("<h2>Integrity and hand-ins not graded</h2>")
    if not integrity["report"]:
        parts.append("<p class='muted'>No reports/&lt;lab&gt;/report.json: run <code>python grade.py report "
                     f"{_e(data['lab'])}</code> for the integrity flags.</p>")
    else:
        verdicts = ", ".join(f"{_e(k)}: {v}" for k, v in sorted(integrity["verdicts"].items()))
        parts.append(f"<p>Verdicts: {verdicts or 'none'} (details in <code>report.md</code>).</p>")
        if integrity["check_reasons"]:
            parts.append("<table><tr><th>reason for <code>check</code></th><th class='num'>hand-ins</th>"
                         "<th>attendees</th></tr>")
            for reason, entry in integrity["check_reasons"].items():
                parts.append(f"<tr><td>{_e(reason)}</td><td class='num'>{entry['count']}</td><td><details><summary>"
                             f"names</summary>{_e(', '.join(entry['attendees']))}</details></td></tr>")
            parts.append("</table>")
    if not_graded["attendees"] or not_graded["rejected_archives"]:
        parts.append("<table><tr><th>not graded</th><th>why</th></tr>")
        for name, why in sorted(not_graded["attendees"].items()):
            parts.append(f"<tr><td>{_e(name)}</td><td>{_e(why)}</td></tr>")
        for name, why in sorted(not_graded["rejected_archives"].items()):
            parts.append(f"<tr><td>archive {_e(name)}</td><td>{_e(why)}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p class='muted'>Every hand-in was graded.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_insight(lab, course=HERE):
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


if __name__ == "__main__":
    sys.exit(write_insight(sys.argv[1], Path.cwd()))
