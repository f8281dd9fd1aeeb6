"""A grading batch that nothing in a hand-in can break, slow: grading/README.md's commands (``python -m grading
collect``, ``python -m grading autograde``) in a temporary course, with nbgrader: a hostile class (an archive
named ``...zip``, member paths that name other attendees, a zip bomb, an honest zip with a backup copy, a
notebook with broken metadata, a 3000-deep expression), and several graders at once on a cold data cache."""

from __future__ import annotations

import json
import os
import shutil
import time

import nbformat
import pytest
from bench_collect import overlapping_zip  # the zip bomb the benchmark collects
from collect_helpers import LAB, deep_expression, make_zip, submitted


# ---- slow: grading/README.md's commands, with nbgrader ----------------------------------------------------
def _needs_bwrap():
    return pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")


@_needs_bwrap()
@pytest.mark.slow
def test_a_hostile_class_is_collected_and_graded(tmp_path):
    import handins
    from grading_course import make_course, readme_commands, release_and_source, run_readme

    course, env = make_course(tmp_path, [LAB])
    steps = readme_commands()
    run_readme(steps["release"], course, env)
    release, source = release_and_source(course, LAB)
    points = handins.Points(source)
    solutions = {handins.meta(c)["grade_id"]: handins.student_solution(c.source)
                 for c in source.cells if handins.meta(c).get("solution")}
    perfect = nbformat.writes(handins.with_answers(release, solutions))
    blank = nbformat.writes(release)
    broken_meta = handins.with_answers(release, solutions)
    answer = next(c for c in broken_meta.cells if handins.meta(c).get("grade_id") == "softmax")
    answer.metadata["nbgrader"] = "not a dict"  # an answer cell: the scan reads its grade id
    deep = handins.append(handins.with_answers(release, solutions), deep_expression())
    archive = course / "downloaded" / LAB / "archive"
    archive.mkdir(parents=True)
    (archive / "alice").mkdir()
    (archive / "alice" / f"{LAB}.ipynb").write_text(perfect)
    make_zip(archive / "...zip", {f"{LAB}.ipynb": blank})  # its stem is '..'
    make_zip(archive / "mallory.zip", {f"extracted/alice/{LAB}.ipynb": blank})
    make_zip(archive / "trent.zip", {f"extracted/carol/{LAB}.ipynb": blank})
    (archive / "bomb.zip").write_bytes(overlapping_zip(400, 2**30))
    make_zip(archive / "bob.zip", {f"{LAB}.ipynb": (perfect, (2026, 12, 1, 10, 0, 0)),
                                   f"backup/{LAB}.ipynb": (blank, (2026, 11, 30, 10, 0, 0))})
    make_zip(archive / "dave.zip", {f"{LAB}.ipynb": nbformat.writes(broken_meta)})
    make_zip(archive / "erin.zip", {f"{LAB}.ipynb": nbformat.writes(deep)})

    start = time.monotonic()
    out = run_readme(steps["collect"], course, env)
    assert time.monotonic() - start < 10, out
    assert "REJECTED bomb.zip" in out and "REJECTED ...zip" in out, out
    assert submitted(course)["alice"] == perfect
    assert sorted(submitted(course)) == ["alice", "bob", "dave", "erin", "mallory", "trent"]
    assert (archive / "alice" / f"{LAB}.ipynb").read_text() == perfect  # nobody's hand-in overwritten

    out = run_readme(steps["autograde"], course, env, extra=["--workers", "2", "--cell-timeout", "10",
                                                             "--notebook-timeout", "150"])
    report = json.loads((course / "reports" / LAB / "report.json").read_text())
    students = report["students"]
    assert set(students) == {"alice", "bob", "dave", "erin", "mallory", "trent"}, out
    assert set(report["rejected_archives"]) == {"...zip", "bomb.zip"}
    for name in ("alice", "bob"):  # the honest backup zip at full marks
        assert students[name]["score"] == points.full, (name, students[name], out[-3000:])
    for name in ("mallory", "trent"):
        assert students[name]["verdict"] != "not graded" and students[name]["score"] == 0, students[name]
    for name, why in (("dave", "AttributeError"), ("erin", "RecursionError")):
        assert students[name]["verdict"] == "not graded", students[name]
        assert any(n.startswith("NOT GRADED") and why in n for n in students[name]["notes"]), students[name]
    assert any(f"backup/{LAB}.ipynb" in n for n in students["bob"]["notes"])
    md = (course / "reports" / LAB / "report.md").read_text()
    assert "bomb.zip REJECTED" in md and "| dave | not graded |" in md and "| erin | not graded |" in md


def _cell(**nbgrader):
    return "# %% nbgrader=" + json.dumps({"schema_version": 3, **nbgrader})


TINY_LAB = "\n".join([
    "# %% [markdown]", "# # A lab of one answer", "",
    _cell(grade=False, grade_id="answer", locked=False, solution=True),
    "### BEGIN SOLUTION", "x = 1", "### END SOLUTION", "",
    _cell(grade=True, grade_id="test_answer", locked=True, points=1, solution=False),
    "assert x == 1", ""])


@_needs_bwrap()
@pytest.mark.slow
def test_graders_side_by_side_on_a_cold_cache(tmp_path):
    """Two graders at once, each copying the data cache into the shared grading cache (cold each time):
    every honest hand-in is graded on the first run, five times over."""
    from grading_course import make_course, readme_commands, run_readme

    lab = "lab0_tiny"
    course, env = make_course(tmp_path, [])
    (course / "source" / lab).mkdir()
    (course / "source" / lab / f"{lab}.py").write_text(TINY_LAB)
    steps = readme_commands()
    run_readme(f"{steps['release']} {lab}", course, env)
    cache = tmp_path / "data-cache"  # the host's parsed-data cache, as dllab writes it
    cache.mkdir()
    for i in range(6):
        (cache / f"set{i}-0123456789abcdef.npz").write_bytes(os.urandom(8 * 2**20))
    archive = course / "downloaded" / lab / "archive"
    archive.mkdir(parents=True)
    released = (course.parent / "labs" / lab / f"{lab}.ipynb").read_text()
    honest = released.replace("# YOUR CODE HERE\\n", "").replace("raise NotImplementedError()", "x = 1")
    assert honest != released
    for name in ("ann", "ben"):
        (archive / name).mkdir()
        (archive / name / f"{lab}.ipynb").write_text(honest)
    run_readme(steps["collect"].replace(LAB, lab), course, env)
    for attempt in range(5):
        tmp = tmp_path / f"tmp{attempt}"  # a fresh temporary folder: the shared grading cache is cold
        tmp.mkdir()
        cold = {**env, "TMPDIR": str(tmp), "DLLAB_CACHE": str(cache)}
        out = run_readme(f"{steps['autograde'].split(LAB)[0]}{lab}", course, cold,
                         extra=["--workers", "2", "--force", "--cell-timeout", "30"])
        students = json.loads((course / "reports" / lab / "report.json").read_text())["students"]
        assert {s: e["score"] for s, e in students.items()} == {"ann": 1, "ben": 1}, (attempt, out[-3000:])
        shared = tmp / f"dllab-grading-cache-{os.getuid()}"
        assert sorted(p.name for p in shared.iterdir()) == sorted(p.name for p in cache.iterdir()), attempt
