"""The instructor's debrief page (grading/insight.py, `python -m grading insight <lab>`).

The fast tests fabricate autograded notebooks as the judge writes them (a stdout stream, then one
error output per failed test) and check how failure messages are normalised and grouped. The slow
one grades a small simulated class of lab 1 through grading/README.md's commands: eight attendees,
three mistakes of the wrong-answer corpus made by two or three attendees each, a perfect hand-in
that edited a test cell (a ``check``) and a corrupt archive (not graded); then runs the insight
command and checks the page's counts and groupings against the gradebook, and opens the page in
headless Chromium to check that its figures render.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from grading import insight

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab1_logreg"


def meta(cell):
    return cell.metadata.get("nbgrader", {})


# ---- fast: normalisation and grouping on fabricated notebooks ------------------------------------------
@pytest.mark.parametrize("a, b", [
    ("softmax(Z) rows must sum to 1, got [0.31 0.42 0.27] for row 0: did you normalise over axis 1?",
     "softmax(Z) rows must sum to 1, got [1.2  0.9 ] for row 3: did you normalise over axis 1?"),
    ("minibatches(9, 4, rng) must hold every index 0..8 once; got sizes [4, 4] (8 indices)",
     "minibatches(9, 4, rng) must hold every index 0..8 once; got sizes [4, 4, 4] (12 indices)"),
    ("W has shape (784, 10), expected (10, 784)", "W has shape (20, 3), expected (3, 20)"),
    ("loss 2.3026 is 6.0× too large", "loss -1.5e-03 is 12× too large"),
    ("got array([[1., 0.],\n       [0., 1.]])\nexpected one row per label",
     "got array([[0., 1., 0.]])\nexpected one row per label"),
])
def test_same_teaching_message_with_different_numbers_is_one_mistake(a, b):
    assert insight.normalise(a) == insight.normalise(b)


@pytest.mark.parametrize("a, b", [
    ("softmax changed its input Z", "softmax returned log-probabilities"),
    ("W1 has the wrong shape", "W2 has the wrong shape"),  # numbers inside names are kept
    ("call sgd_epoch with float32 inputs", "call sgd_epoch with float64 inputs"),
])
def test_different_messages_stay_apart(a, b):
    assert insight.normalise(a) != insight.normalise(b)


def _notebook(results):
    """An autograded notebook as the judge leaves it: ``results`` is grade id -> None (passed) or
    (ename, evalue)."""
    nb = nbformat.v4.new_notebook()
    for grade_id, result in results.items():
        cell = nbformat.v4.new_code_cell(f"# {grade_id}")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": 1, "solution": False}
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{grade_id}: checking\n")]
        if result:
            cell.outputs.append(nbformat.v4.new_output("error", ename=result[0], evalue=result[1],
                                                       traceback=[f"{result[0]}: {result[1]}"]))
        cell.outputs = [nbformat.from_dict(o) for o in cell.outputs]
        nb.cells.append(cell)
    return nbformat.from_dict(json.loads(nbformat.writes(nb)))


def test_failures_are_read_from_the_judges_outputs_and_grouped_most_common_first():
    axis = "softmax rows must sum to 1, got {} for row {}: normalise over axis 1"
    notebooks = {
        "ann": _notebook({"t1": ("LabCheckError", axis.format("[0.2 0.3]", 0)), "t2": None}),
        "ben": _notebook({"t1": ("LabCheckError", axis.format("[1.7 0.1]", 4)), "t2": ("NotRun", "not run: x")}),
        "cat": _notebook({"t1": ("LabCheckError", "softmax changed its input Z"), "t2": None}),
        "dan": _notebook({"t1": ("LabCheckError", axis.format("[0.9]", 2)), "t2": None}),
        "eve": _notebook({"t1": None, "t2": None}),
    }
    failures = {student: insight.failures(nb) for student, nb in notebooks.items()}
    assert failures["eve"] == {}
    assert failures["ann"]["t1"][0] == "LabCheckError" and "t2" not in failures["ann"]
    groups = insight.group_mistakes({s: f.get("t1") for s, f in failures.items() if f.get("t1")})
    assert [g["count"] for g in groups] == [3, 1]
    assert groups[0]["attendees"] == ["ann", "ben", "dan"] and groups[0]["ename"] == "LabCheckError"
    assert "normalise over axis 1" in groups[0]["message"]
    assert groups[1]["attendees"] == ["cat"]
    assert insight.group_mistakes({"ben": failures["ben"]["t2"]})[0]["ename"] == "NotRun"


def test_a_failed_test_without_a_judge_message_is_still_counted():
    nb = _notebook({"t1": None})
    nb.cells[0].outputs = []
    assert insight.failures(nb) == {}
    groups = insight.group_mistakes({"ann": insight.NO_MESSAGE, "ben": insight.NO_MESSAGE})
    assert groups[0]["count"] == 2


def test_the_benchmark_class_runs_and_counts_every_attendee(tmp_path, monkeypatch, capsys):
    """benchmarks/bench_insight.py at a small size: a fabricated class (gradebook, notebooks, report),
    each failure in one group, the not graded and flagged attendees counted."""
    import bench_insight as bench
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    course = tmp_path / "grading"
    course.mkdir()
    made = bench.fabricate(course, 12)
    assert insight.write_insight(LAB, course) == 0
    data = json.loads((course / "reports" / LAB / "class.json").read_text())
    assert len(data["attendees"]) == made["graded"] == 11 and list(data["not_graded"]["attendees"]) == ["attendee000"]
    for test in data["tests"]:
        assert test["passed"] + sum(g["count"] for g in test["mistakes"]) == 11
        assert len(test["mistakes"]) <= 2 * len(bench.MISTAKES)
    assert sum(e["count"] for e in data["integrity"]["check_reasons"].values()) >= made["flagged"]
    assert "class.html" in capsys.readouterr().out


# ---- slow: a simulated class through the real flow ---------------------------------------------------
# attendee -> (answer cell, the wrong-answer corpus case) or None for the right answers
MISTAKES = {"softmax": "normalises over axis 0", "cross_entropy": "sum instead of mean",
            "minibatches": "np.random instead of the given rng"}
CLASS = {"ann": "softmax", "ben": "softmax", "cat": "softmax", "dan": "cross_entropy", "eve": "cross_entropy",
         "fay": "minibatches", "gus": "minibatches", "hal": None}
EDITED = "hal"  # right answers, and edited the visible softmax test: restored, graded, flagged `check`
BY_HAND = ("ann", "hal")  # whose written answers are graded by hand (full marks)
CORRUPT = "zed"  # a corrupt zip: rejected at collection


def _simulated_class(tmp):
    """Grade the simulated class through the README's commands; the course folder."""
    import handins
    from grading_course import (
        grade_written,
        make_course,
        readme_commands,
        release_and_source,
        run_readme,
    )
    from test_wrong_answers import CORPUS

    course, env = make_course(tmp, [LAB])
    steps = readme_commands()
    run_readme(steps["release"], course, env)
    release, source = release_and_source(course, LAB)
    solutions = {meta(c)["grade_id"]: handins.student_solution(c.source) for c in source.cells
                 if meta(c).get("solution")}
    cases = {case.function: case for case in CORPUS[LAB] if MISTAKES.get(case.function) == case.why}
    archive = course / "downloaded" / LAB / "archive"
    archive.mkdir(parents=True)
    for student, mistake in CLASS.items():
        answers = dict(solutions)
        if mistake:
            answers[mistake] = cases[mistake].source
        if student == EDITED:
            answers["test_softmax"] = handins.EDITED_TEST
        (archive / student).mkdir()
        nbformat.write(handins.with_answers(release, answers), archive / student / f"{LAB}.ipynb")
    (archive / f"{CORRUPT}.zip").write_bytes(b"PK\x03\x04 this is not a zip archive")
    run_readme(steps["collect"], course, env)
    autograde = ["--workers", "2", "--cell-timeout", "20", "--notebook-timeout", "200"]
    run_readme(steps["autograde"], course, env, extra=autograde)
    for student in BY_HAND:
        grade_written(course, student)
    run_readme(steps["report"], course, env)
    output = run_readme(steps["insight"], course, env)
    return course, source, cases, output


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed: grading refuses to run without it")
    return _simulated_class(tmp_path_factory.mktemp("insight"))


@pytest.mark.slow
def test_the_debrief_page_counts_and_groups_the_class_mistakes(simulated):
    import handins
    from nbgrader.api import Gradebook

    course, source, cases, output = simulated
    out = course / "reports" / LAB
    assert "class.html" in output
    data = json.loads((out / "class.json").read_text())
    points = handins.Points(source)
    graded = sorted(CLASS)
    assert data["attendees"] == graded
    # every graded test, in the lab's order
    assert [t["id"] for t in data["tests"]] == [t for t, _ in points.tests]
    hidden = {meta(c)["grade_id"] for c in source.cells if "BEGIN HIDDEN TESTS" in c.source}
    assert {t["id"] for t in data["tests"] if t["hidden"]} == hidden
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dllab") as gb:
        scores = {s: {g.name: g.score for g in gb.find_submission_notebook(LAB, LAB, s).grades} for s in graded}
        totals = {s: gb.find_submission(LAB, s).score for s in graded}
    assert data["scores"] == totals
    for test in data["tests"]:
        tid, full = test["id"], test["points"]
        passed = sorted(s for s in graded if scores[s][tid] == full)
        assert test["passed"] == len(passed) and test["graded"] == len(graded), tid
        assert test["pass_rate"] == pytest.approx(len(passed) / len(graded))
        assert sum(test["points_distribution"].values()) == len(graded)
        assert test["points_distribution"].get(f"{full:g}", 0) == len(passed)
        # every failure is in exactly one group, most common first
        grouped = [s for g in test["mistakes"] for s in g["attendees"]]
        assert sorted(grouped) == sorted(set(graded) - set(passed)), tid
        assert [g["count"] for g in test["mistakes"]] == sorted((g["count"] for g in test["mistakes"]), reverse=True)
        # what the lab's test dependencies say each mistake must fail
        expected = {s for s, m in CLASS.items() if m and tid in points.failing(m)}
        assert set(grouped) == expected, (tid, grouped, expected)
    tests = {t["id"]: t for t in data["tests"]}
    for function, case in cases.items():  # one group per mistake, with the corpus's teaching message
        makers = sorted(s for s, m in CLASS.items() if m == function)
        group = tests[f"test_{function}"]["mistakes"]
        assert len(group) == 1 and group[0]["attendees"] == makers and group[0]["count"] == len(makers), group
        assert group[0]["ename"] == "LabCheckError"
        assert all(phrase in group[0]["message"] for phrase in case.message), (group[0]["message"], case.message)
    # integrity, hand-ins not graded, written answers
    assert data["integrity"]["verdicts"] == {"ok": len(graded) - 1, "check": 1}
    assert data["integrity"]["check_reasons"]["edited_read_only"]["attendees"] == [EDITED]
    assert list(data["not_graded"]["rejected_archives"]) == [f"{CORRUPT}.zip"]
    written = {meta(c)["grade_id"] for c in source.cells if meta(c).get("grade") and c.cell_type == "markdown"}
    assert {w["id"] for w in data["written"]} == written
    for answer in data["written"]:
        assert answer["graded_by_hand"] == len(BY_HAND) and answer["mean"] == answer["points"]
    # the page says the same
    page = (out / "class.html").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page  # opens offline
    assert page.count("data:image/png;base64,") == 2
    for case in cases.values():
        assert html.escape(case.message[0]) in page
    assert "edited_read_only" in page and f"{CORRUPT}.zip" in page
    _check_in_chromium(out / "class.html")


def _check_in_chromium(page_path):
    """Open the page from disk in headless Chromium: both figures are loaded and are not blank."""
    try:
        from playwright.sync_api import sync_playwright
        from test_browser import CHROMIUM_ARGS, _chromium
    except ImportError:
        pytest.skip("playwright is not installed (dllab's dev extra)")
    if _chromium() is None:
        pytest.skip("Chromium was not found at /usr/bin/chromium")
    from PIL import Image

    artifacts = ROOT / "artifacts" / "browser"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(page_path.as_uri())
            page.screenshot(path=str(artifacts / "insight_class.png"), full_page=True)
            images = page.locator("img.figure")
            assert images.count() == 2
            for i in range(images.count()):
                image = images.nth(i)
                assert image.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100")
                shot = artifacts / f"insight_figure_{i}.png"
                image.scroll_into_view_if_needed()
                image.screenshot(path=str(shot))
                with Image.open(shot) as im:
                    colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
                assert colours is not None and len(colours) > 20, f"figure {i} looks blank: {len(colours or [])}"
        finally:
            browser.close()


def test_insight_data_uri_is_png():
    """The figures are embedded PNGs (the page needs no file beside it)."""
    uri = insight.png_uri(insight.figure_pass_rates([("t1", 1.0, False), ("t2", 0.25, True)]))
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.fullmatch(r"data:image/png;base64,[A-Za-z0-9+/=]+", uri)
