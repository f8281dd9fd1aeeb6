"""A temporary nbgrader course laid out like the repository, and grading/README.md's commands to run in it.

``graded_class`` grades the whole corpus of tests/grading/handins once per test run, through the README's
steps in order (release, collect, autograde, the written answers, feedback, report, export);
tests/grading/test_grading.py and tests/grading/test_grading_corpus.py both read the result.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
GRADING = ROOT / "grading"
# the course's own files: its code is the installed grading package, which the commands run from here
COURSE_FILES = ("nbgrader_config.py",)
STEPS = {"release": "python -m grading release", "collect": "python -m grading collect",
         "autograde": "python -m grading autograde", "feedback": "nbgrader generate_feedback",
         "report": "python -m grading report", "export": "nbgrader export", "insight": "python -m grading insight"}


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def readme_commands():
    """The instructor's commands of grading/README.md's steps 1-7, by step."""
    text = (GRADING / "README.md").read_text()
    text = text[text.index("## 1. Release"):]
    lines = [line.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL) for line in block.splitlines()]
    found = {}
    for step, prefix in STEPS.items():
        match = [line for line in lines if line.startswith(prefix)]
        assert match, f"grading/README.md has no `{prefix} ...` command"
        found[step] = match[0]
    return found


def environment(tmp: Path) -> dict:
    """The kernel 'python3' is this Python (a spec first on JUPYTER_PATH); nbgrader's tools on PATH."""
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
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


def make_course(tmp: Path, labs):
    """grading/ (the config, the labs' sources) next to labs/, in ``tmp``."""
    course = tmp / "grading"
    (course / "source").mkdir(parents=True)
    for name in COURSE_FILES:
        shutil.copy(GRADING / name, course)
    for extra in (GRADING / "source").glob("*.toml"):
        shutil.copy(extra, course / "source")
    for lab in labs:
        shutil.copytree(GRADING / "source" / lab, course / "source" / lab,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    return course, environment(tmp)


def run_readme(command, course, env, extra=(), check=True):
    argv = shlex.split(command)
    argv = [sys.executable] + argv[1:] if argv[0] == "python" else [sys.executable, "-m", "nbgrader"] + argv[1:]
    result = subprocess.run(argv + list(extra), check=False, cwd=course, env=env, capture_output=True, text=True,
                            timeout=900)
    output = result.stdout + result.stderr
    if check:
        assert result.returncode == 0, f"`{command}` failed:\n{output[-4000:]}"
    return output


def release_and_source(course, lab):
    release = nbformat.read(course.parent / "labs" / lab / f"{lab}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / lab / f"{lab}.ipynb", as_version=4)
    return release, source


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


# ---- the graded class ------------------------------------------------------------------------------
LAB = "lab1_logreg"
WORKERS = 2
CELL_TIMEOUT = 10  # seconds per cell: the slowest honest cell of lab 1 takes about 1 s while grading
EXTRA = {"autograde": ["--workers", str(WORKERS), "--cell-timeout", str(CELL_TIMEOUT), "--notebook-timeout", "150"]}
# what grading writes; everything else in the course (and next to it) is the instructor's
OUTPUTS = ("grading/downloaded/", "grading/submitted/", "grading/autograded/", "grading/feedback/",
           "grading/reports/", "grading/gradebook.db", "grading/grades.csv")


def instructor_files(tmp):
    """Every file of the course and the release next to it, with its SHA-256, but grading's own outputs."""
    return {rel: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(tmp.rglob("*")) if p.is_file()
            and not (rel := p.relative_to(tmp).as_posix()).startswith(OUTPUTS)}


def write_archive(archive, name, handin):
    if handin.how == "raw_zip":
        (archive / f"{name}.zip").write_bytes(handin.raw)
    elif handin.how == "zip":
        with zipfile.ZipFile(archive / f"{name}.zip", "w") as z:
            z.writestr(f"{LAB}.ipynb", nbformat.writes(handin.nb))
            for extra, text in handin.extra_files.items():
                z.writestr(extra, text)
    else:
        (archive / name).mkdir()
        filename = f"{LAB} (1).ipynb" if handin.how == "misnamed" else f"{LAB}.ipynb"
        nbformat.write(handin.nb, archive / name / filename)


def grade_written(course, student):
    """Step 4 for one attendee: full marks on every written answer, as the formgrader records them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dllab") as gb:
        for grade in gb.find_submission_notebook(LAB, LAB, student).grades:
            if grade.cell.cell_type == "markdown":
                grade.manual_score = grade.max_score
                grade.needs_manual_grade = False  # as the formgrader's API does
        gb.db.commit()


_CLASS = {}


def graded_class(tmp_path_factory):
    """The corpus of tests/grading/handins graded by the README's steps, once per test run (both grading
    test modules share it)."""
    if "result" not in _CLASS:
        _CLASS["result"] = _grade_class(tmp_path_factory.mktemp("class"))
    return _CLASS["result"]


def _grade_class(tmp):
    import handins

    course, env = make_course(tmp, [LAB])
    steps = readme_commands()
    timings = {}
    start = time.monotonic()
    outputs = {"release": run_readme(steps["release"], course, env)}
    timings["release"] = time.monotonic() - start
    release, source = release_and_source(course, LAB)
    items = handins.corpus(release, source, course)
    if os.getuid() != 0:  # without a uid of its own, a sandbox has no process limit
        items = {k: v for k, v in items.items() if not v.root_only}
    archive = course / "downloaded" / LAB / "archive"
    archive.mkdir(parents=True)
    for name, handin in items.items():
        write_archive(archive, name, handin)
    before = instructor_files(tmp)  # after the release, which compiled the course's scripts
    ended = {}
    for step in ("collect", "autograde", "written", "feedback", "report", "export"):
        start = time.monotonic()
        if step == "written":
            grade_written(course, "honest_perfect")
        else:
            outputs[step] = run_readme(steps[step], course, env, extra=EXTRA.get(step, []))
        ended[step] = time.monotonic()
        timings[step] = ended[step] - start
    return {"course": course, "tmp": tmp, "items": items, "before": before, "source": source, "release": release,
            "points": handins.Points(source), "timings": timings, "ended": ended, "outputs": outputs}
