"""Collection (grading/collect.py, grading/archives.py), fast: ``collect.collect`` on a course folder made in the
test, with archives built in the test (names, member paths, backup copies, bombs, timestamps, a bad hand-in
among good ones), and ``prepare.run_limited`` directly."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import time

import pytest
from bench_collect import overlapping_zip  # the zip bomb the benchmark collects
from collect_helpers import LAB, deep_expression, make_zip, notebook, submitted


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
