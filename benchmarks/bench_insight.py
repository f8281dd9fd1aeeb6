"""The instructor's debrief page (grading/insight.py): how long `python -m grading insight` takes on a class of 200.

Fabricates a graded class of lab 1 in a temporary course, without grading anything: the lab's
instructor notebook in ``source/``, a gradebook (nbgrader's API: the lab's grade cells, 200
attendees, each test's score), 200 autograded notebooks whose test cells hold what the judge
writes (a stdout stream; for a failed test one error output with a teaching message whose numbers,
array excerpts and shapes vary between attendees), each with ~0.5 MiB of figure output as an
executed lab has, and ``reports/<lab>/report.json`` (some ``check`` verdicts with reasons, some not
graded, rejected archives). Then times ``insight.write_insight`` (the fabrication is not counted).

    python benchmarks/bench_insight.py                    # 200 attendees
    python benchmarks/bench_insight.py --attendees 50 --json out.json

The target (issue 26): a class of 200 in seconds (under 10 s on 2 cores).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

from grading import insight, release

ROOT = Path(__file__).resolve().parents[1]

LAB = "lab1_logreg"
TARGET_S = 10
# per test: the mistakes attendees make, as teaching messages with numbers that vary between attendees
MISTAKES = [
    "{f}: rows must sum to 1, got [{a:.3f} {b:.3f} {c:.3f}] for row {i}: did you normalise over axis 1?",
    "{f} returned shape ({i}, {j}), expected ({j}, {i}): is something transposed?",
    "{f} is {k}× too large, exactly the batch size: divide by N once (got {a:.4f}, expected {b:.4f})",
    "{f} changed its input: after the call it holds array([[{a:.2f}, {b:.2f}],\n       [{c:.2f}, {a:.2f}]])",
]


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def source_notebook():
    path = ROOT / "grading" / "source" / LAB / f"{LAB}.ipynb"
    if not path.exists():  # written from the lab's script (tests and `python -m grading release` do this)
        release.write_notebooks([LAB])
    return json.loads(path.read_text())


def fabricate(course, count, seed=0):
    """A graded class of ``count`` attendees in ``course``; returns what was made."""
    from nbgrader.api import Gradebook

    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy's notes on nbgrader's add_submission
    warnings.filterwarnings("ignore", message=".*not in session.*")
    rng = random.Random(seed)
    src = source_notebook()
    (course / "source" / LAB).mkdir(parents=True)
    (course / "source" / LAB / f"{LAB}.ipynb").write_text(json.dumps(src))
    shutil.copy(ROOT / "grading" / "nbgrader_config.py", course)
    graded = [c for c in src["cells"] if _meta(c).get("grade")]
    tests = [c for c in graded if c["cell_type"] == "code"]
    # how hard each test is, and how many ways it is failed
    difficulty = {_meta(c)["grade_id"]: rng.uniform(0.02, 0.6) for c in tests}
    plot = base64.b64encode(os.urandom(384 * 1024)).decode()
    students = [f"attendee{i:03d}" for i in range(count)]
    not_graded = set(students[::50])
    flagged = set(students[7::20])
    gb_students = [s for s in students if s not in not_graded]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=insight.course_id(course)) as gb:
        gb.add_assignment(LAB)
        gb.add_notebook(LAB, LAB)
        for cell in graded:
            gb.add_grade_cell(_meta(cell)["grade_id"], LAB, LAB, max_score=float(_meta(cell)["points"]),
                              cell_type=cell["cell_type"])
        for student in gb_students:
            gb.add_student(student)
            gb.add_submission(LAB, student)
    outcomes = {}
    for student in gb_students:
        nb = json.loads(json.dumps(src))
        failed = {}
        for cell in nb["cells"]:
            meta = _meta(cell)
            if cell["cell_type"] != "code":
                continue
            cell["outputs"], cell["execution_count"] = [], 1
            if meta.get("grade") and not meta.get("solution"):
                gid = meta["grade_id"]
                cell["outputs"].append({"output_type": "stream", "name": "stdout", "text": f"{gid}: checking\n"})
                if rng.random() < difficulty[gid]:
                    k = min(int(rng.expovariate(1.2)), len(MISTAKES) - 1)
                    message = MISTAKES[k].format(f=gid.removeprefix("test_"), a=rng.random(), b=rng.random(),
                                                 c=rng.random(), i=rng.randint(2, 64), j=rng.randint(2, 64),
                                                 k=rng.randint(2, 64))
                    ename = "LabCheckError" if rng.random() > 0.05 else "NotRun"
                    cell["outputs"].append({"output_type": "error", "ename": ename, "evalue": message,
                                            "traceback": [f"{ename}: {message}"]})
                    failed[gid] = True
        nb["cells"].append({"cell_type": "code", "execution_count": 1, "id": "plot", "metadata": {},
                            "source": "plot()", "outputs": [{"output_type": "display_data", "metadata": {},
                                                             "data": {"image/png": plot, "text/plain": "<Figure>"}}]})
        folder = course / "autograded" / student / LAB
        folder.mkdir(parents=True)
        (folder / f"{LAB}.ipynb").write_text(json.dumps(nb, indent=1))
        outcomes[student] = failed
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=insight.course_id(course)) as gb:
        for student in gb_students:
            for grade in gb.find_submission_notebook(LAB, LAB, student).grades:
                if grade.cell.cell_type == "code":
                    grade.auto_score = 0.0 if outcomes[student].get(grade.name) else grade.max_score
                    grade.needs_manual_grade = False
                elif rng.random() < 0.7:
                    grade.manual_score = float(rng.randint(0, int(grade.max_score)))
                    grade.needs_manual_grade = False
        gb.db.commit()
    reasons = ["scan: subprocess in cell 12: import subprocess", "edited_read_only: test_softmax",
               "timeout: minibatches ran past its time limit", "judge_disagrees: test_softmax: visible tests passed"]
    report = {"lab": LAB, "students": {}, "rejected_archives": {"broken.zip": "not a zip archive",
                                                                "bomb.zip": "entries overlap (a zip bomb)"}}
    for i, student in enumerate(students):
        if student in not_graded:
            report["students"][student] = {"verdict": "not graded", "score": None,
                                           "notes": ["NOT GRADED: the hand-in could not be read"]}
        else:
            notes = [reasons[i % len(reasons)], reasons[(i // 3) % len(reasons)]] if student in flagged else []
            report["students"][student] = {"verdict": "check" if notes else "ok", "score": None, "notes": notes}
    (course / "reports" / LAB).mkdir(parents=True)
    (course / "reports" / LAB / "report.json").write_text(json.dumps(report, indent=1))
    return {"graded": len(gb_students), "not_graded": len(not_graded), "flagged": len(flagged), "tests": len(tests)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attendees", type=int, default=200, help="attendees in the class (default 200)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    # nbgrader's gradebook runs its migrations with the `alembic` command of this environment
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    with tempfile.TemporaryDirectory(prefix="bench-insight-") as tmp:
        course = Path(tmp) / "grading"
        course.mkdir()
        start = time.monotonic()
        made = fabricate(course, args.attendees)
        generated = time.monotonic() - start
        size = sum(p.stat().st_size for p in (course / "autograded").rglob("*.ipynb"))
        cpu, start = time.process_time(), time.monotonic()
        insight.write_insight(LAB, course)
        seconds, cpu = time.monotonic() - start, time.process_time() - cpu
        data = json.loads((course / "reports" / LAB / "class.json").read_text())
        page = (course / "reports" / LAB / "class.html").stat().st_size
    mistakes = sum(len(t["mistakes"]) for t in data["tests"])
    # each test's failures are at most its kinds of message, each as LabCheckError or NotRun
    widest = max(len(t["mistakes"]) for t in data["tests"])
    assert widest <= 2 * len(MISTAKES), f"the same message with other numbers was counted apart ({widest} groups)"
    result = {"attendees": args.attendees, **made, "autograded_bytes": size, "generated_s": round(generated, 1),
              "insight_s": round(seconds, 2), "insight_cpu_s": round(cpu, 2), "mistake_groups": mistakes,
              "most_groups_in_a_test": widest,
              "page_bytes": page, "cores": os.cpu_count(), "load_average": os.getloadavg(),
              "machine": platform.processor() or platform.machine(), "python": platform.python_version()}
    print(f"insight on {made['graded']} graded hand-ins ({size / 2**20:.0f} MiB of notebooks, {made['tests']} tests, "
          f"{mistakes} mistake groups) in {seconds:.2f} s ({cpu:.2f} s CPU; {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0 if seconds < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
