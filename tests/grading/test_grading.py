"""The instructor's flow of grading/README.md, run end to end on lab 1 in a temporary course.

The commands are read from the README itself, so the guide cannot drift from what works
(``grading_course.graded_class`` runs them, in order, on the corpus of tests/grading/handins, once per
test run). Six of its attendees are the round trip's: a perfect one (the solutions), a blank one
(the release as handed out), a wrong one (handed in as a zip), one whose answer cell raises, one
whose answer cell loops forever, and one who edited a read-only test cell to make it pass. The
gradebook, the feedback and the CSV must say the right things about each, down to every test
cell; what each earns is derived from the lab's points, so the test holds as the lab grows.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # nbgrader autograde in sandboxes

ROOT = Path(__file__).resolve().parents[2]
GRADING = ROOT / "grading"
LAB = "lab1_logreg"
# the round trip's attendees in the corpus, and the answers each got wrong (None: all of them)
BROKEN = {"honest_perfect": (), "honest_blank": None, "honest_wrong": None, "honest_crashing": ("cross_entropy",),
          "honest_looping": ("minibatches",), "broken_edited_test": ("softmax",)}
STUDENTS = list(BROKEN)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from grading_course import graded_class

    return graded_class(tmp_path_factory)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed: `make test` "
                    "installs it as root (apt-get install bubblewrap); grading refuses to run without it")
def test_instructor_round_trip(graded):
    from grading_course import hidden_lines, text_of
    from nbgrader.api import Gradebook

    course, source, points = graded["course"], graded["source"], graded["points"]
    # 1. release: the same notebook as the committed labs/
    released = course.parent / "labs" / LAB / f"{LAB}.ipynb"
    assert released.read_bytes() == (ROOT / "labs" / LAB / f"{LAB}.ipynb").read_bytes()
    release = nbformat.read(released, as_version=4)
    by_id = {meta(c)["grade_id"]: c for c in release.cells if meta(c).get("grade_id")}

    # 2. collect: folders and a zip named after the attendee
    for student in STUDENTS:
        assert (course / "submitted" / student / LAB / f"{LAB}.ipynb").exists(), student

    # 3. autograde: the edited test was put back, and its author is named
    report = json.loads((course / "reports" / LAB / "report.json").read_text())["students"]
    edits = {s for s, e in report.items() if any(n.startswith("edited_read_only") for n in e["notes"])}
    assert "broken_edited_test" in edits and not {s for s in edits if s.startswith("honest_")}, edits
    graded_nbs = {s: nbformat.read(course / "autograded" / s / LAB / f"{LAB}.ipynb", as_version=4) for s in STUDENTS}
    restored = next(c for c in graded_nbs["broken_edited_test"].cells if meta(c).get("grade_id") == "test_softmax")
    assert restored.source == by_id["test_softmax"].source  # the edit was undone before grading

    written_points = sum(float(meta(c)["points"]) for c in source.cells
                         if meta(c).get("grade") and c.cell_type == "markdown")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dllab") as gb:
        assignment = gb.find_assignment(LAB)
        assert assignment.max_score == points.full + written_points
        auto_cells = {c.name for c in assignment.notebooks[0].grade_cells if c.cell_type == "code"}
        written = {c.name for c in assignment.notebooks[0].grade_cells if c.cell_type == "markdown"}
        assert auto_cells == {t for t, _ in points.tests}
        assert written == {meta(c)["grade_id"] for c in source.cells if meta(c).get("grade")
                           and c.cell_type == "markdown"}
        for student, broken in BROKEN.items():
            nb = gb.find_submission_notebook(LAB, LAB, student)
            grades = {g.name: g for g in nb.grades}
            failing = auto_cells if broken is None else points.failing(*broken)
            for name in auto_cells:
                g = grades[name]
                expected = 0 if name in failing else g.max_score
                assert g.auto_score == expected, f"{student}: {name} scored {g.auto_score}, expected {expected}"
                assert not g.needs_manual_grade
            for name in written:  # untouched answers are 0 at once; written ones wait for a person
                graded_by_hand = student == "honest_perfect"  # step 4 graded these
                assert grades[name].needs_manual_grade == (student != "honest_blank" and not graded_by_hand), \
                    (student, name)
        assert gb.find_submission(LAB, "honest_blank").score == 0
        assert gb.find_submission(LAB, "honest_wrong").score == 0
        assert gb.find_submission(LAB, "honest_perfect").score == points.full + written_points

    # the wrong attendee was told what was wrong, with the lab's own words
    errors = {meta(c)["grade_id"]: " ".join(o.get("evalue", "") for o in c.outputs if o.output_type == "error")
              for c in graded_nbs["honest_wrong"].cells if meta(c).get("grade") and c.cell_type == "code"}
    assert "did you normalise over the right axis" in errors["test_softmax"].lower()
    assert "transposed" in errors["test_one_hot"]
    assert "minus sign" in errors["test_cross_entropy"]
    assert "not shuffled" in errors["test_minibatches"]
    looping_cell = next(c for c in graded_nbs["honest_looping"].cells if meta(c).get("grade_id") == "minibatches")
    assert "CellTimeoutError" in json.dumps(looping_cell.outputs)

    # 5. feedback: every attendee gets a page; hidden tests ran, but their code is not in it
    secrets = hidden_lines(source)
    assert len(secrets) > 10
    autograded_code = "\n".join(c.source for c in graded_nbs["honest_perfect"].cells)
    assert all(line in autograded_code for line in secrets)  # the hidden tests did run while grading
    visible = next(line.strip() for line in by_id["test_softmax"].source.splitlines() if "check_close(" in line)
    for student in STUDENTS:
        page = text_of((course / "feedback" / student / LAB / f"{LAB}.html").read_text())
        assert visible in page  # visible tests are shown
        leaked = [line for line in secrets if line in page]
        assert not leaked, f"hidden tests leak into {student}'s feedback: {leaked[:3]}"
    wrong_page = text_of((course / "feedback" / "honest_wrong" / LAB / f"{LAB}.html").read_text())
    assert "LabCheckError" in wrong_page and "softmax of random scores" in wrong_page  # the message, not the code

    # 6. export
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(STUDENTS) <= set(rows)
    assert float(rows["honest_perfect"]["score"]) == float(rows["honest_perfect"]["max_score"]) == \
        points.full + written_points
    assert float(rows["honest_blank"]["score"]) == 0 and float(rows["honest_wrong"]["score"]) == 0
    for student in ("honest_crashing", "honest_looping", "broken_edited_test"):
        assert float(rows[student]["score"]) == points.without(*BROKEN[student]), student
        assert 0 < points.without(*BROKEN[student]) < points.full


@pytest.mark.parametrize("student_file, student", [
    ("/c/grading/downloaded/lab1_logreg/extracted/alice/lab1_logreg.ipynb", "alice"),
    ("/c/grading/downloaded/lab1_logreg/extracted/bob/lab1_logreg/lab1_logreg.ipynb", "bob"),
])
def test_collect_pattern(student_file, student):
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(GRADING)).load_config()
    match = re.match(config.FileNameCollectorPlugin.named_regexp, student_file)
    assert match and match["student_id"] == student and match["file_id"] == "lab1_logreg.ipynb"


def test_exchange_hand_ins_carry_nbgraders_own_files(tmp_path):
    """Hand-ins that nbgrader's exchange collected (`nbgrader submit`, then `nbgrader collect`, as on the
    class hub) hold nbgrader's own files beside the notebook (timestamp.txt, submission_secret.txt):
    the report does not take them for the attendee's; a file the attendee handed in is still named."""
    import os
    import subprocess
    import sys

    import handins
    from grading_course import make_course, readme_commands, release_and_source, run_readme

    course, env = make_course(tmp_path, [LAB])
    run_readme(readme_commands()["release"], course, env)
    release, source = release_and_source(course, LAB)
    solutions = {meta(c)["grade_id"]: handins.student_solution(c.source) for c in source.cells
                 if meta(c).get("solution")}
    perfect = handins.with_answers(release, solutions)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    os.chmod(exchange, 0o777)  # as nbgrader wants its exchange
    hub = ROOT / "deploy" / "jupyterhub"
    # the hub's trial mode: every attendee is this one Unix user, so the id comes from the hub's name and
    # the instructor's collect takes any owner (the isolated class is tests/deploy/test_hub_isolation.py's)
    instructor = dict(env, JUPYTER_CONFIG_PATH=str(hub / "instructor"), DLLAB_HUB_EXCHANGE=str(exchange),
                      DLLAB_SUBMISSION_OWNER="any")

    def nbgrader(*args, cwd, env):
        return subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def done(proc):
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{' '.join(proc.args[2:])} failed:\n{out[-4000:]}"

    done(nbgrader("release_assignment", LAB, cwd=course, env=instructor))
    submits = []
    for student in ("hub_honest", "hub_with_notes"):
        home = tmp_path / "home" / student
        (home / LAB).mkdir(parents=True)
        nbformat.write(perfect, home / LAB / f"{LAB}.ipynb")
        if student == "hub_with_notes":
            (home / LAB / "notes.txt").write_text("what I tried\n")
        submits.append(nbgrader("submit", LAB, cwd=home, env=dict(
            env, JUPYTER_CONFIG_PATH=str(hub / "attendee"), DLLAB_HUB_EXCHANGE=str(exchange), JUPYTERHUB_USER=student,
            DLLAB_STUDENT_FROM_HUB="1")))
    for proc in submits:
        done(proc)
    done(nbgrader("collect", LAB, cwd=course, env=instructor))
    own = set(os.listdir(course / "submitted" / "hub_honest" / LAB)) - {f"{LAB}.ipynb"}
    assert own and "timestamp.txt" in own, own  # nbgrader's files, which the report must know as such

    autograde = ["--workers", "2", "--cell-timeout", "10"]
    if shutil.which("bwrap") is None:
        autograde.append("--unsafe-no-sandbox")  # the solutions only; the sandbox is tested above
    run_readme(readme_commands()["autograde"], course, env, extra=autograde)
    report = json.loads((course / "reports" / LAB / "report.json").read_text())["students"]
    full = handins.Points(source).full
    for student in ("hub_honest", "hub_with_notes"):
        entry = report[student]
        assert entry["verdict"] == "ok" and entry["score"] == full, (student, entry)
        assert not any(name in note for note in entry["notes"] for name in own), (student, entry["notes"])
    assert report["hub_honest"]["notes"] == []
    assert report["hub_with_notes"]["notes"] == [
        "left_out: files handed in beside the notebook, never seen by the kernel: notes.txt"]
