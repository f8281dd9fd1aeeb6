"""Collection (grading/collect.py, grading/archives.py) and a grading batch that nothing in a hand-in can break.

The fast tests call ``collect.collect`` on a course folder made in the test, with archives built in
the test, and ``prepare.run_limited`` directly. The slow ones go through grading/README.md's commands
(``python -m grading collect``, ``python -m grading autograde``) in a temporary course, with nbgrader:
a hostile class (an archive named ``...zip``, member paths that name other attendees, a zip bomb, an
honest zip with a backup copy, a notebook with broken metadata, a 3000-deep expression), and
several graders at once on a cold data cache.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from bench_collect import overlapping_zip  # the zip bomb the benchmark collects

ROOT = Path(__file__).resolve().parents[2]
LAB = "lab1_logreg"


def notebook(text="x = 1"):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(text, id="answer"))
    return nbformat.writes(nb)


def make_zip(path, members):
    """members: name -> text, or name -> (text, date_time)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, value in members.items():
            text, when = value if isinstance(value, tuple) else (value, (2026, 12, 1, 12, 0, 0))
            z.writestr(zipfile.ZipInfo(name, date_time=when), text)


def course_with(tmp_path, entries):
    """A course folder whose downloaded/<LAB>/archive/ holds ``entries``: name -> bytes (a file),
    name -> dict (a folder: file name -> text), or name -> callable(path) (made by it)."""
    course = tmp_path / "grading"
    archive = course / "downloaded" / LAB / "archive"
    archive.mkdir(parents=True)
    for name, value in entries.items():
        path = archive / name
        if isinstance(value, dict):
            for member, text in value.items():
                (path / member).parent.mkdir(parents=True, exist_ok=True)
                (path / member).write_text(text)
        elif callable(value):
            value(path)
        else:
            path.write_bytes(value)
    return course


def run_collect(course):
    from grading import collect

    out = io.StringIO()
    record = collect.collect(LAB, course, out=out)
    assert json.loads((course / "reports" / LAB / "collect.json").read_text()) == record
    return record, out.getvalue()


def submitted(course):
    folder = course / "submitted"
    return {p.parent.parent.name: p.read_text() for p in folder.glob(f"*/{LAB}/{LAB}.ipynb")} if folder.is_dir() else {}


# ---- fast: collect.py on archives built here -----------------------------------------------------------
@pytest.mark.parametrize("name, attendee", [
    ("alice.zip", "alice"), ("Zoë.zip", "Zoë"), ("Zoe\u0308.tar.gz", "Zoë"), ("李小龍.zip", "李小龍"),
    ("o'brien", "o'brien"), ("bob smith.ZIP", "bob smith"), ("...zip", None), ("..zip", None), (".zip", None),
    (".hidden", None), ("a\nb.zip", None), ("tab\t.zip", None), ("evil\u202egnp.zip", None), (" alice.zip", None),
    ("notes.txt", None), ("alice.ipynb", None),
])
def test_the_attendee_id_is_the_archives_own_name(name, attendee):
    from grading import archives

    if attendee is None:
        with pytest.raises(archives.Rejected):
            archives.attendee_of(name, is_dir="." not in name)
    else:
        assert archives.attendee_of(name, is_dir="." not in name) == attendee


def test_an_archive_named_dotdot_overwrites_nobody(tmp_path):
    course = course_with(tmp_path, {
        "alice": {f"{LAB}.ipynb": notebook("alice = 1")},
        "...zip": b"",  # replaced below
    })
    make_zip(course / "downloaded" / LAB / "archive" / "...zip", {f"alice/{LAB}.ipynb": notebook("mallory = 1"),
                                                                  f"{LAB}.ipynb": notebook("mallory = 1")})
    record, out = run_collect(course)
    assert submitted(course) == {"alice": notebook("alice = 1")}
    assert "...zip" in record["rejected"] and "dot" in record["rejected"]["...zip"], record
    assert (course / "downloaded" / LAB / "rejected" / "...zip").is_file()
    assert sorted(p.name for p in (course / "downloaded" / LAB).iterdir()) == ["archive", "rejected"]
    assert (course / "downloaded" / LAB / "archive" / "alice" / f"{LAB}.ipynb").read_text() == notebook("alice = 1")
    assert "REJECTED ...zip" in out


def test_member_paths_never_name_an_attendee(tmp_path):
    archive = tmp_path / "grading" / "downloaded" / LAB / "archive"
    course = course_with(tmp_path, {"alice": {f"{LAB}.ipynb": notebook("alice = 1")}})
    make_zip(archive / "mallory.zip", {f"extracted/alice/{LAB}.ipynb": notebook("mallory = 1")})
    make_zip(archive / "trent.zip", {f"extracted/carol/{LAB}.ipynb": notebook("trent = 1")})
    record, _ = run_collect(course)
    assert submitted(course) == {"alice": notebook("alice = 1"), "mallory": notebook("mallory = 1"),
                                 "trent": notebook("trent = 1")}
    assert not (course / "submitted" / "carol").exists()
    assert not record["rejected"]


def test_an_honest_zip_with_backup_copies(tmp_path):
    course = course_with(tmp_path, {})
    make_zip(course / "downloaded" / LAB / "archive" / "bob.zip", {
        f"backup/{LAB}.ipynb": (notebook("old = 1"), (2026, 11, 30, 9, 0, 0)),
        f".ipynb_checkpoints/{LAB}-checkpoint.ipynb": (notebook("checkpoint = 1"), (2026, 12, 2, 9, 0, 0)),
        f"__MACOSX/._{LAB}.ipynb": "\0\5\26\7 resource fork",
        f"{LAB}.ipynb": (notebook("new = 1"), (2026, 12, 1, 9, 0, 0)),
        "notes.txt": "my notes",
    })
    record, _ = run_collect(course)
    assert submitted(course) == {"bob": notebook("new = 1")}
    left = record["left_out"]["bob"]
    assert any(f"backup/{LAB}.ipynb" in n for n in left) and any("checkpoint" in n for n in left)
    assert "notes.txt" in left and not any("__MACOSX" in n for n in left), left
    assert not record["notes"] and not record["rejected"]


def test_of_several_top_level_notebooks_the_newest_counts(tmp_path):
    course = course_with(tmp_path, {})
    archive = course / "downloaded" / LAB / "archive"
    make_zip(archive / "carol.zip", {f"a/{LAB}.ipynb": (notebook("older = 1"), (2026, 12, 1, 9, 0, 0)),
                                     f"b/{LAB}.ipynb": (notebook("newer = 1"), (2026, 12, 1, 10, 0, 0)),
                                     "readme.ipynb": notebook("readme = 1")})
    make_zip(archive / "dave.zip", {f"{LAB} (1).ipynb": notebook("dave = 1")})
    record, _ = run_collect(course)
    assert submitted(course) == {"carol": notebook("newer = 1"), "dave": notebook("dave = 1")}
    assert any(f"a/{LAB}.ipynb" in n for n in record["left_out"]["carol"])
    assert record["notes"]["dave"] == [f"notebook handed in as '{LAB} (1).ipynb', collected as {LAB}.ipynb"]


def test_bombs_are_rejected_before_anything_is_inflated(tmp_path):
    from grading import archives

    def tar_bomb(path):  # 200 MiB of zeros, about 200 kB gzipped
        with tarfile.open(path, "w:gz", compresslevel=1) as t:
            nb = notebook().encode()
            info = tarfile.TarInfo(f"{LAB}.ipynb")
            info.size = len(nb)
            t.addfile(info, io.BytesIO(nb))
            info = tarfile.TarInfo("zeros.bin")
            info.size = 200 * 2**20
            t.addfile(info, _Zeros(info.size))

    def many(path):
        make_zip(path, {f"f{i}.txt": "" for i in range(archives.MAX_ENTRIES + 1)} | {f"{LAB}.ipynb": notebook()})

    course = course_with(tmp_path, {
        "bomb.zip": overlapping_zip(400, 2**30),  # 400 x 1 GiB, about 1 MB on disk
        "small_bomb.zip": overlapping_zip(10, 2**20),  # 10 MiB in all: under the size cap, caught as overlap
        "tarbomb.tar.gz": tar_bomb,
        "many.zip": many,
        "honest": {f"{LAB}.ipynb": notebook("honest = 1")},
    })
    assert (course / "downloaded" / LAB / "archive" / "bomb.zip").stat().st_size < 2 * 2**20
    start = time.monotonic()
    record, out = run_collect(course)
    took = time.monotonic() - start
    assert set(record["rejected"]) == {"bomb.zip", "small_bomb.zip", "tarbomb.tar.gz", "many.zip"}, record
    assert "overlap" in record["rejected"]["small_bomb.zip"]
    assert "MiB" in record["rejected"]["bomb.zip"] or "overlap" in record["rejected"]["bomb.zip"]
    assert submitted(course) == {"honest": notebook("honest = 1")}
    assert took < 4, f"four bad archives took {took:.1f} s"  # each well under a second
    for name in ("bomb.zip", "small_bomb.zip", "tarbomb.tar.gz", "many.zip"):
        one = course_with(tmp_path / name, {})
        shutil.copy(course / "downloaded" / LAB / "rejected" / name, one / "downloaded" / LAB / "archive" / name)
        start = time.monotonic()
        record, _ = run_collect(one)
        assert name in record["rejected"] and time.monotonic() - start < 1, (name, time.monotonic() - start)


class _Zeros(io.RawIOBase):
    def __init__(self, size):
        self.left = size

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def test_a_bad_hand_in_never_stops_the_others(tmp_path):
    def slip(path):
        make_zip(path, {f"{LAB}.ipynb": notebook(), "../../../zip_slip.txt": "escaped"})

    def link_inside(path):
        path.mkdir()
        (path / f"{LAB}.ipynb").symlink_to("/etc/passwd")
        (path / "copy.ipynb").write_text(notebook("linked = 1"))

    def tar_with_link(path):
        with tarfile.open(path, "w") as t:
            info = tarfile.TarInfo(f"{LAB}.ipynb")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            t.addfile(info)

    def encrypted(path):  # the encryption flag set on the notebook's entry
        make_zip(path, {f"{LAB}.ipynb": notebook()})
        data = bytearray(path.read_bytes())
        data[6] |= 1
        at = data.rfind(b"PK\x01\x02")
        data[at + 8] |= 1
        path.write_bytes(bytes(data))

    entries = {
        "corrupt.zip": b"PK\x03\x04 this is not really a zip file",
        "truncated.zip": b"",
        "slip.zip": slip,
        "empty.zip": lambda p: make_zip(p, {}),
        "no_notebook.zip": lambda p: make_zip(p, {"answers.py": "x = 1"}),
        "tar_link.tar": tar_with_link,
        "encrypted.zip": encrypted,
        "links": link_inside,
        "stray.txt": b"hello",
        "bad\nname": {f"{LAB}.ipynb": notebook()},
        "ok1.zip": lambda p: make_zip(p, {f"{LAB}.ipynb": notebook("ok1 = 1")}),
        "ok2.tar.xz": lambda p: _tar(p, "w:xz", {f"hand-in/{LAB}.ipynb": notebook("ok2 = 1")}),
        "ok3.tar.bz2": lambda p: _tar(p, "w:bz2", {f"{LAB}.ipynb": notebook("ok3 = 1")}),
        "ok4": {f"{LAB}.ipynb": notebook("ok4 = 1"), "dllab/__init__.py": "evil = 1"},
    }
    course = course_with(tmp_path, entries)
    (course / "downloaded" / LAB / "archive" / "alias.zip").symlink_to("/etc/passwd")
    record, _ = run_collect(course)
    bad = {"corrupt.zip", "truncated.zip", "slip.zip", "empty.zip", "no_notebook.zip", "tar_link.tar",
           "encrypted.zip", "stray.txt", "bad\\nname", "alias.zip"}
    assert set(record["rejected"]) == bad, record["rejected"]
    assert submitted(course) == {"ok1": notebook("ok1 = 1"), "ok2": notebook("ok2 = 1"), "ok3": notebook("ok3 = 1"),
                                 "ok4": notebook("ok4 = 1"), "links": notebook("linked = 1")}
    assert any("link" in n for n in record["left_out"]["links"])
    assert record["left_out"]["ok4"] == ["dllab/__init__.py"]
    assert not list(tmp_path.rglob("zip_slip.txt"))
    assert [p.name for p in (course / "submitted" / "ok4" / LAB).iterdir()] == sorted([f"{LAB}.ipynb", "timestamp.txt"])


def _tar(path, mode, members):
    with tarfile.open(path, mode) as t:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_collected_hand_ins_carry_a_timestamp_and_are_replaced_whole(tmp_path):
    from nbgrader.utils import parse_utc

    course = course_with(tmp_path, {"alice": {f"{LAB}.ipynb": notebook("first = 1")}})
    entry = course / "downloaded" / LAB / "archive" / "alice"
    os.utime(entry, (1_800_000_000, 1_800_000_000))
    run_collect(course)
    folder = course / "submitted" / "alice" / LAB
    stamp = (folder / "timestamp.txt").read_text()
    assert parse_utc(stamp).timestamp() == 1_800_000_000, stamp
    (folder / "stale.txt").write_text("from an earlier collection")
    shutil.rmtree(entry)
    make_zip(entry.with_name("alice.zip"), {f"{LAB}.ipynb": notebook("second = 1")})
    run_collect(course)
    assert submitted(course) == {"alice": notebook("second = 1")}
    assert sorted(p.name for p in (course / "submitted" / "alice").iterdir()) == [LAB]  # no temporary folders
    assert sorted(p.name for p in folder.iterdir()) == [f"{LAB}.ipynb", "timestamp.txt"]


def test_two_hand_ins_of_one_attendee_the_newest_counts(tmp_path):
    course = course_with(tmp_path, {"erin": {f"{LAB}.ipynb": notebook("folder = 1")}})
    archive = course / "downloaded" / LAB / "archive"
    make_zip(archive / "erin.zip", {f"{LAB}.ipynb": notebook("zip = 1")})
    os.utime(archive / "erin", (1_700_000_000, 1_700_000_000))
    record, _ = run_collect(course)
    assert submitted(course) == {"erin": notebook("zip = 1")}
    assert any("older hand-in" in n for n in record["left_out"]["erin"])


def _recurse():
    import ast

    return ast.parse(deep_expression())


def _attribute():
    return "notebook".get("nbgrader")


def _loop():
    while True:
        pass


def _sleep():
    time.sleep(100)


def _memory():
    return len(bytearray(8 * 2**30))


def _crash():
    import ctypes

    ctypes.string_at(0)


@pytest.mark.parametrize("function, why", [
    # a busy loop hits the CPU limit, or, on a loaded machine where it gets less than a core, the wall limit
    (_recurse, "RecursionError"), (_attribute, "AttributeError"),
    (_loop, ("more than 2 s of CPU time", "ran past 2 s")),
    (_sleep, "ran past 2 s"),
    (_memory, "MemoryError"), (_crash, "crashed (SIGSEGV)"),
])
def test_reading_a_hand_in_runs_in_a_child_with_limits(function, why):
    from grading.prepare import run_limited

    start = time.monotonic()
    reply = run_limited(function, (), seconds=2, memory=2**30)
    assert set(reply) == {"error"} and any(w in reply["error"] for w in ([why] if isinstance(why, str) else why)), reply
    assert time.monotonic() - start < 15
    assert run_limited(sorted, ([3, 1, 2],)) == {"result": [1, 2, 3]}


# ---- slow: grading/README.md's commands, with nbgrader ----------------------------------------------------
def _needs_bwrap():
    return pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")


def deep_expression(depth=3000):
    return "x = " + " + ".join(["1"] * depth)


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
