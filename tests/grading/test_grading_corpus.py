"""A class of hostile and broken hand-ins, graded by grading/README.md's own commands, in sandboxes.

The corpus (tests/grading/handins) has one hand-in per class of attack or accident: input transformers,
patched helpers and NumPy, a replaced ``dllab.labs``, a silenced traceback, edited and deleted
tests, writes to the gradebook and the config, a detached process, signals to the grader, forks,
a leak of the hidden tests through ``In`` and ``linecache``; duplicated cells, edited metadata,
``exit()``, ``os._exit``, a segfault, a memory hog, a loop that ignores the interrupt, a 50 MB
output line, a misnamed notebook, a shadow ``dllab`` package, a corrupt zip and a zip slip. The
first twelve are a class of 6 honest and 6 hostile attendees; the report must name exactly the 6.
What each hand-in must earn is derived from the lab's points (``handins.Points``). The whole corpus
is graded once per test run (``grading_course.graded_class``), shared with tests/grading/test_grading.py.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import handins
import nbformat
import pytest
from grading_course import (
    GRADING,
    WORKERS,
    graded_class,
    instructor_files,
    make_course,
    readme_commands,
    release_and_source,
    run_readme,
    text_of,
)

pytestmark = [pytest.mark.slow,  # nbgrader autograde of hostile hand-ins
              pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap (bwrap) is not installed: `make test` installs it as root "
                                       "(apt-get install bubblewrap); grading refuses to run without it")]
LAB = handins.LAB


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return graded_class(tmp_path_factory)


def scores(course):
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dllab") as gb:
        for student in gb.students:
            try:
                nb = gb.find_submission_notebook(LAB, LAB, student.id)
            except Exception:
                continue
            out[student.id] = sum(g.auto_score or 0 for g in nb.grades if g.cell.cell_type == "code")
    return out


def test_no_handin_earns_what_it_should_not_and_honest_work_is_kept(graded):
    course, items = graded["course"], graded["items"]
    got = scores(course)
    report = json.loads((course / "reports" / LAB / "report.json").read_text())["students"]
    problems = []
    for name, h in items.items():
        if h.how == "raw_zip":
            continue
        if name not in got:
            problems.append(f"{name}: not graded ({report.get(name, {}).get('notes')})")
            continue
        if not h.min_points <= got[name] <= h.max_points:
            problems.append(f"{name}: {got[name]} points, expected {h.min_points}..{h.max_points}; "
                            f"report: {report.get(name, {}).get('notes')}")
        if h.flagged is not None and (report[name]["verdict"] != "ok") != h.flagged:
            problems.append(f"{name}: verdict {report[name]['verdict']!r}, notes {report[name]['notes']}")
    assert not problems, "\n".join(problems)


def test_the_batch_completes_and_bad_archives_are_reported(graded):
    course, items = graded["course"], graded["items"]
    report = json.loads((course / "reports" / LAB / "report.json").read_text())
    graded_names = {n for n, h in items.items() if h.how != "raw_zip"}
    assert set(report["students"]) == graded_names
    assert all(e["verdict"] != "not graded" for e in report["students"].values()), report["students"]
    assert set(report["rejected_archives"]) == {"broken_corrupt_zip.zip", "broken_zip_slip.zip"}
    assert not list(course.parent.rglob("zip_slip.txt"))


def test_no_handin_touches_the_instructors_files(graded):
    course = graded["course"]
    # a detached process of evil_config would strike 8 s after its cell ran, during autograde
    time.sleep(max(0.0, 10 - (time.monotonic() - graded["ended"]["autograde"])))
    assert not list(graded["tmp"].rglob("PWNED"))
    assert instructor_files(graded["tmp"]) == graded["before"]
    # collection unpacks nothing and keeps the notebook only: the shadow dllab/ package never reached the course
    assert sorted(p.name for p in (course / "downloaded" / LAB).iterdir()) == ["archive", "rejected"]
    assert not [p for p in (course / "submitted").rglob("*") if p.is_file() and p.suffix != ".ipynb"
                and p.name != "timestamp.txt"]
    report = json.loads((course / "reports" / LAB / "report.json").read_text())["students"]
    assert any("dllab/__init__.py" in n for n in report["broken_shadow_dllab"]["notes"]), report["broken_shadow_dllab"]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dllab") as gb:
        assert all((g.auto_score or 0) <= g.max_score for s in gb.assignments[0].submissions
                   for nb in s.notebooks for g in nb.grades)


def test_the_kernel_cannot_reach_the_grading_package(graded):
    """The grading package (the judge, the answer keys) is installed in the environment the kernel runs from,
    and the course folder is next to it: neither is in the sandbox."""
    nb = nbformat.read(graded["course"] / "autograded" / "evil_grading_code" / LAB / f"{LAB}.ipynb", as_version=4)
    said = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "grading out of reach" in said and "GRADING REACHED" not in said, said[-2000:]
    assert "no grading package: ModuleNotFoundError" in said, said[-2000:]


def test_no_hidden_test_in_any_feedback(graded):
    course = graded["course"]
    from grading_course import hidden_lines

    secrets = hidden_lines(graded["source"])
    assert len(secrets) > 10
    pages = list((course / "feedback").glob(f"*/{LAB}/{LAB}.html"))
    assert len(pages) == len([h for h in graded["items"].values() if h.how != "raw_zip"])
    for page in pages:
        text = text_of(page.read_text())
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{page.parts[-3]}: {leaked[:2]}"
    size = max(p.stat().st_size for p in course.glob(f"autograded/*/{LAB}/{LAB}.ipynb"))
    assert size < 5_000_000, f"an autograded notebook of {size} bytes: output caps failed"


def test_class_of_twelve_report_names_the_six(graded):
    report = json.loads((graded["course"] / "reports" / LAB / "report.json").read_text())["students"]
    flagged = {s for s in handins.CLASS_HONEST + handins.CLASS_HOSTILE if report[s]["verdict"] != "ok"}
    assert flagged == set(handins.CLASS_HOSTILE)
    with open(graded["course"] / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    for s in handins.CLASS_HOSTILE:
        assert rows[s]["integrity"] == "check" and rows[s]["integrity_notes"], rows[s]
    for s in handins.CLASS_HONEST:
        assert rows[s]["integrity"] == "ok", rows[s]
    seconds = graded["timings"]["autograde"]
    n = len(report)
    print(f"\ncorpus: {n} hand-ins graded in {seconds:.0f} s with {WORKERS} workers "
          f"({60 * n / seconds:.1f} notebooks/minute); steps: "
          + ", ".join(f"{k} {v:.0f} s" for k, v in graded["timings"].items()))


def test_refuses_to_grade_without_the_sandbox(tmp_path):
    import subprocess
    import sys

    course, env = make_course(tmp_path, [])
    env["PATH"] = str(Path(sys.executable).parent)  # no bwrap on this PATH
    result = subprocess.run([sys.executable, "-m", "grading", "autograde", LAB], cwd=course, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--unsafe-no-sandbox" in result.stderr, result.stderr


def test_lab3_transformer_scores_nothing_and_the_solution_everything(tmp_path):
    """Two lab-3 hand-ins: the blank release with a try/except input transformer earns no point; the
    lab's solution earns every autograded point through the judge (models, layers and datasets cross
    the sandbox's boundary as data)."""
    lab = "lab3_cnn"
    course, env = make_course(tmp_path, [lab])
    steps = readme_commands()
    run_readme(f"{steps['release']} {lab}", course, env)
    release, source = release_and_source(course, lab)
    nb = handins.insert_at(release, handins.import_index(release), handins.TRANSFORMER)
    for student, handin in (("evil", nb), ("honest", solved(release, source))):
        (course / "submitted" / student / lab).mkdir(parents=True)
        nbformat.write(handin, course / "submitted" / student / lab / f"{lab}.ipynb")
    run_readme(steps["autograde"].replace(LAB, lab), course, env, extra=["--cell-timeout", "60", "--workers", "2"])
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dllab") as gb:
        assert gb.find_submission(lab, "evil").score == 0
        assert gb.find_submission(lab, "honest").score == handins.Points(source).full
    students = json.loads((course / "reports" / lab / "report.json").read_text())["students"]
    report = students["evil"]
    assert report["verdict"] == "check" and any("transformer" in n for n in report["notes"]), report
    assert students["honest"]["verdict"] == "ok", students["honest"]


def solved(release, source):
    """The released notebook with the lab's solutions in its answer cells, as an attendee would hand it in."""
    answers = {handins.meta(c)["grade_id"]: handins.student_solution(c.source) for c in source.cells
               if handins.meta(c).get("solution") and c.cell_type == "code"}
    return handins.with_answers(release, answers)


def test_every_other_lab_grades_its_solution_at_full_marks(tmp_path):
    """Labs 2, 4 and 5 (1 and 3 are graded above): the solution earns every autograded point through the
    judge and is not flagged."""
    labs = ["lab2_mlp", "lab4_lstm", "lab5_transfer"]
    course, env = make_course(tmp_path, labs)
    steps = readme_commands()
    run_readme(steps["release"], course, env)
    from nbgrader.api import Gradebook

    for lab in labs:
        release, source = release_and_source(course, lab)
        (course / "submitted" / "honest" / lab).mkdir(parents=True)
        nbformat.write(solved(release, source), course / "submitted" / "honest" / lab / f"{lab}.ipynb")
        run_readme(steps["autograde"].replace(LAB, lab), course, env)
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dllab") as gb:
            assert gb.find_submission(lab, "honest").score == handins.Points(source).full, lab
        entry = json.loads((course / "reports" / lab / "report.json").read_text())["students"]["honest"]
        assert entry["verdict"] == "ok", (lab, entry["notes"])


def test_attendees_copy_has_no_solution(tmp_path):
    from grading import attendees_copy

    out = attendees_copy.build(tmp_path / "attendees")
    assert (out / "labs" / LAB / f"{LAB}.ipynb").exists() and (out / "dllab" / "__init__.py").exists()
    assert not (out / "grading").exists() and not (out / "tests").exists()
    found = attendees_copy.leaks(out) + attendees_copy.answer_key_leaks(out)
    assert not found, found[:10]
    assert attendees_copy.main(check=out) == 0
    # an answer key planted in the copy, or a stored answer replaced by a real implementation, is found
    keys = out / "dllab" / "labs" / "keys.py"
    keys.write_text((GRADING / "answer_keys.py").read_text())
    assert any("defines the answer key" in what for _, what in attendees_copy.answer_key_leaks(out))
    keys.unlink()
    init = out / "dllab" / "labs" / "__init__.py"
    init.write_text(init.read_text() + "\nconv2d_reference = lambda x, k, *a: x\n")
    assert ("dllab/labs", "labs.conv2d_reference computed an answer for new inputs") in \
        attendees_copy.answer_key_leaks(out)
    assert attendees_copy.main(check=out) == 1
    # the check itself finds a planted solution line and a marker
    planted = out / "labs" / "notes.py"
    secret = sorted(attendees_copy.secret_lines())[0]
    planted.write_text(f"# ### BEGIN SOLUTION\n{secret}\n")
    assert {f for f, _ in attendees_copy.leaks(out)} >= {"labs/notes.py"}
