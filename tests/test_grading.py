"""The instructor's flow of grading/README.md, run end to end on lab 1 in a temporary course.

The commands are read from the README itself, so the guide cannot drift from what works.
Six simulated attendees hand in lab 1: a perfect one (the solutions), a blank one (the release
as handed out), a wrong one, one whose answer cell raises, one whose answer cell loops forever,
and one who edited a read-only test cell to make it pass. Then: release, collect, autograde,
grade the written answers, feedback, export — and the gradebook must say the right things.
"""

from __future__ import annotations

import copy
import csv
import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GRADING = ROOT / "grading"
LAB = "lab1_logreg"
TIMEOUT = 20  # seconds per cell in the test course: the looping attendee is cut after this
STUDENTS = ["perfect", "blank", "wrong", "crashing", "looping", "edited"]

WRONG_ANSWERS = {  # plausible mistakes, each caught by the tests
    "softmax": "def softmax(Z):\n    E = np.exp(Z)\n    return E / E.sum(axis=0, keepdims=True)\n",
    "one_hot": "def one_hot(y, num_classes=10):\n    return np.eye(num_classes)[:, y]\n",
    "cross_entropy": "def cross_entropy(P, y):\n    return float(np.log(P[np.arange(len(y)), y]).sum())\n",
    "logreg_gradients": ("def logreg_gradients(X, y, W, b):\n    P = softmax(X @ W + b)\n"
                         "    Y = np.eye(W.shape[1])[y]\n"
                         "    return cross_entropy(P, y), X.T @ (Y - P), (Y - P).sum(axis=0)\n"),
    "minibatches": ("def minibatches(n, batch_size, rng):\n"
                    "    return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]\n"),
    "learning_rate_answer": "The learning rate does not matter.",
    "templates_answer": "I do not know.",
}
# autograded cells each attendee must fail; every other autograded cell must earn full points
MUST_FAIL = {
    "perfect": set(),
    "blank": "all",
    "wrong": "all",
    "crashing": {"test_cross_entropy", "test_loss_hidden", "test_logreg_gradients", "test_logreg_gradients_hidden"},
    "looping": {"test_minibatches", "test_minibatches_hidden"},
    "edited": {"test_softmax", "test_softmax_hidden", "test_logreg_gradients", "test_logreg_gradients_hidden"},
}


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def student_solution(source):
    """What an attendee would type: the solution without nbgrader's delimiters."""
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


def hand_in(release, answers):
    """The release notebook with some cells (by grade id) replaced, as an attendee saves it."""
    nb = copy.deepcopy(release)
    found = set()
    for cell in nb.cells:
        gid = meta(cell).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
            found.add(gid)
    assert found == set(answers), f"no cells {set(answers) - found} in the release"
    return nb


def readme_commands():
    """The instructor's commands, in order, from the bash blocks of grading/README.md's steps 1-6
    (step 0, changing a lab, is the maintainers' and is checked by tests/test_labs.py)."""
    text = (GRADING / "README.md").read_text()
    text = text[text.index("## 1. Release"):]
    lines = [line.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL) for line in block.splitlines()]
    return [line for line in lines if line.startswith(("nbgrader ", "python release.py"))]


def environment(tmp: Path) -> dict:
    """The kernel 'python3' is this Python (a spec first on JUPYTER_PATH); nbgrader's tools on PATH."""
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (dllab tests)", "language": "python"}))
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    env.update({
        "JUPYTER_PATH": str(tmp / "jupyter"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        "CI": "true", "MPLBACKEND": "Agg", "DLLAB_DEVICE": "cpu",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    return env


def run(command, course, env, extra=()):
    argv = shlex.split(command)
    argv = [sys.executable] + argv[1:] if argv[0] == "python" else [sys.executable, "-m", "nbgrader"] + argv[1:]
    if argv[1] == "release.py":
        argv = argv[:2] + [LAB]
    result = subprocess.run(argv + list(extra), check=False, cwd=course, env=env, capture_output=True, text=True,
                            timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"`{command}` failed:\n{output[-4000:]}"
    return output


def text_of(html_doc):
    """What a reader sees in an HTML page: tags stripped (code is split into many spans), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_doc))


def hidden_lines(source_nb):
    lines = []
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25:
                lines.append(line.strip())
    return lines


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed: `make test` "
                    "installs it as root (apt-get install bubblewrap); grading refuses to run without it")
def test_instructor_round_trip(tmp_path):
    import grading_course
    from nbgrader.api import Gradebook

    steps = grading_course.readme_commands()
    release_cmd, collect_cmd, autograde_cmd, feedback_cmd, export_cmd = (
        steps[k] for k in ("release", "collect", "autograde", "feedback", "export"))

    # a course laid out like the repository: grading/ (config, scripts, source) next to labs/
    course, env = grading_course.make_course(tmp_path, [LAB])

    # 1. release: the same notebook as the committed labs/
    run(release_cmd, course, env)
    released = tmp_path / "labs" / LAB / f"{LAB}.ipynb"
    assert released.read_bytes() == (ROOT / "labs" / LAB / f"{LAB}.ipynb").read_bytes()
    release = nbformat.read(released, as_version=4)
    source = nbformat.read(course / "source" / LAB / f"{LAB}.ipynb", as_version=4)

    # the six hand-ins
    solutions = {meta(c)["grade_id"]: student_solution(c.source) for c in source.cells if meta(c).get("solution")}
    by_id = {meta(c)["grade_id"]: c for c in release.cells if meta(c).get("grade_id")}
    edited_test = "# all good\nprint('softmax: all visible tests passed')\n"
    submissions = {
        "perfect": hand_in(release, solutions),
        "blank": release,
        "wrong": hand_in(release, WRONG_ANSWERS),
        "crashing": hand_in(release, {**solutions, "cross_entropy":
                                      "print(debug_value)  # left over from debugging\n" + solutions["cross_entropy"]}),
        "looping": hand_in(release, {**solutions, "minibatches":
                                     "while True:  # waiting for something that never comes\n    pass\n\n"
                                     + solutions["minibatches"]}),
        "edited": hand_in(release, {**solutions, "softmax": by_id["softmax"].source, "test_softmax": edited_test}),
    }
    archive = course / "downloaded" / LAB / "archive"
    for student, nb in submissions.items():
        if student == "wrong":  # one hand-in comes as a zip named after the attendee
            archive.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(archive / f"{student}.zip", "w") as z:
                z.writestr(f"{LAB}.ipynb", nbformat.writes(nb))
        else:
            (archive / student).mkdir(parents=True)
            nbformat.write(nb, archive / student / f"{LAB}.ipynb")

    # 2. collect
    run(collect_cmd, course, env)
    for student in STUDENTS:
        assert (course / "submitted" / student / LAB / f"{LAB}.ipynb").exists(), student

    # 3. autograde, with a short per-cell limit so that the looping attendee is cut quickly
    run(autograde_cmd, course, env, extra=["--cell-timeout", str(TIMEOUT), "--workers", "2"])
    report = json.loads((course / "reports" / LAB / "report.json").read_text())["students"]
    edits = [s for s, e in report.items() if any(n.startswith("edited_read_only") for n in e["notes"])]
    assert edits == ["edited"], report
    graded = {s: nbformat.read(course / "autograded" / s / LAB / f"{LAB}.ipynb", as_version=4) for s in STUDENTS}
    restored = next(c for c in graded["edited"].cells if meta(c).get("grade_id") == "test_softmax")
    assert restored.source == by_id["test_softmax"].source  # the edit was undone before grading

    db = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(db, course_id="dllab") as gb:
        assignment = gb.find_assignment(LAB)
        assert assignment.max_score == 18
        auto_cells = {c.name for c in assignment.notebooks[0].grade_cells if c.cell_type == "code"}
        written = {c.name for c in assignment.notebooks[0].grade_cells if c.cell_type == "markdown"}
        assert len(auto_cells) == 9 and written == {"learning_rate_answer", "templates_answer"}
        for student in STUDENTS:
            nb = gb.find_submission_notebook(LAB, LAB, student)
            grades = {g.name: g for g in nb.grades}
            failing = auto_cells if MUST_FAIL[student] == "all" else MUST_FAIL[student]
            for name in auto_cells:
                g = grades[name]
                expected = 0 if name in failing else g.max_score
                assert g.auto_score == expected, f"{student}: {name} scored {g.auto_score}, expected {expected}"
                assert not g.needs_manual_grade
            for name in written:  # untouched answers are 0 at once; written ones wait for a person
                assert grades[name].needs_manual_grade == (student != "blank"), (student, name)
        assert gb.find_submission(LAB, "blank").score == 0
        assert gb.find_submission(LAB, "wrong").score == 0
        assert gb.find_submission(LAB, "perfect").score == 14  # 18 minus the two written answers
        # grading the written answers by hand, as the formgrader does
        for g in gb.find_submission_notebook(LAB, LAB, "perfect").grades:
            if g.name in written:
                g.manual_score = g.max_score
        gb.db.commit()
        assert gb.find_submission(LAB, "perfect").score == 18

    # the wrong attendee was told what was wrong, with the lab's own words
    errors = {meta(c)["grade_id"]: " ".join(o.get("evalue", "") for o in c.outputs if o.output_type == "error")
              for c in graded["wrong"].cells if meta(c).get("grade") and c.cell_type == "code"}
    assert "did you normalise over the right axis" in errors["test_softmax"].lower()
    assert "transposed" in errors["test_one_hot"]
    assert "minus sign" in errors["test_cross_entropy"]
    assert "not shuffled" in errors["test_minibatches"]
    looping_cell = next(c for c in graded["looping"].cells if meta(c).get("grade_id") == "minibatches")
    assert "CellTimeoutError" in json.dumps(looping_cell.outputs)

    # 4. feedback: every attendee gets a page; hidden tests ran, but their code is not in it
    run(feedback_cmd, course, env)
    secrets = hidden_lines(source)
    assert len(secrets) > 10
    autograded_code = "\n".join(c.source for c in graded["perfect"].cells)
    assert all(line in autograded_code for line in secrets)  # the hidden tests did run while grading
    for student in STUDENTS:
        page = text_of((course / "feedback" / student / LAB / f"{LAB}.html").read_text())
        assert "check_close(P[0], [0.09003057, 0.24472847, 0.66524096]" in page  # visible tests are shown
        leaked = [line for line in secrets if line in page]
        assert not leaked, f"hidden tests leak into {student}'s feedback: {leaked[:3]}"
    wrong_page = text_of((course / "feedback" / "wrong" / LAB / f"{LAB}.html").read_text())
    assert "LabCheckError" in wrong_page and "softmax of random scores" in wrong_page  # the message, not the code

    # 5. export
    run(export_cmd, course, env)
    with open(course / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(STUDENTS)
    assert float(rows["perfect"]["score"]) == 18 and float(rows["perfect"]["max_score"]) == 18
    assert float(rows["blank"]["score"]) == 0 and float(rows["wrong"]["score"]) == 0
    for student in ("crashing", "looping", "edited"):
        assert 0 < float(rows[student]["score"]) < 14, student


@pytest.mark.parametrize("student_file, student", [
    ("/c/grading/downloaded/lab1_logreg/extracted/alice/lab1_logreg.ipynb", "alice"),
    ("/c/grading/downloaded/lab1_logreg/extracted/bob/lab1_logreg/lab1_logreg.ipynb", "bob"),
])
def test_collect_pattern(student_file, student):
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(GRADING)).load_config()
    match = re.match(config.FileNameCollectorPlugin.named_regexp, student_file)
    assert match and match["student_id"] == student and match["file_id"] == "lab1_logreg.ipynb"
