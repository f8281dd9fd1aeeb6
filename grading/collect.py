"""Collect a lab's hand-ins: ``downloaded/<lab>/archive/`` -> ``submitted/<attendee>/<lab>/<lab>.ipynb``.

    python -m grading collect lab1_logreg

Each entry of ``downloaded/<lab>/archive/`` is one attendee's hand-in: a folder ``alice/``, or an
archive ``bob.zip`` (``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2``, ``.tar.xz``), read as data and
checked by ``grading.archives`` (the attendee id from the entry's own name only; archives read in
memory, checked before anything is inflated; only the notebook that counts is taken). A bad hand-in
is moved to ``downloaded/<lab>/rejected/`` and named; collection goes on with the others.

The chosen notebook is written, atomically, with a ``timestamp.txt`` as nbgrader's exchange writes
(the archive's or folder's modification time, UTC) into a fresh ``submitted/<attendee>/<lab>/``
that replaces the previous one. ``reports/<lab>/collect.json`` records what was rejected, left out
and noted, for the integrity report (``grading.report``).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from grading.archives import Rejected, attendee_of, read_hand_in, shown


# ---- writing ---------------------------------------------------------------------------------------
def timestamp(path):
    when = datetime.datetime.fromtimestamp(path.lstat().st_mtime, datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f %Z")


def write_submission(course, attendee, lab, data, stamp):
    """submitted/<attendee>/<lab>/ holding <lab>.ipynb and timestamp.txt, replacing the old one as a
    whole: it is built in a fresh folder beside it, then renamed into place."""
    home = course / "submitted" / attendee
    home.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{lab}.collect-", dir=home))
    try:
        for name, content in ((f"{lab}.ipynb", data), ("timestamp.txt", stamp.encode())):
            with open(fresh / name, "wb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
        os.chmod(fresh, 0o755)
        target = home / lab
        old = None
        if target.exists() or target.is_symlink():
            old = home / f".{lab}.old-{os.getpid()}-{time.monotonic_ns()}"
            os.replace(target, old)
        os.replace(fresh, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True) if old.is_dir() and not old.is_symlink() else old.unlink()
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


def reject(course, lab, path):
    """Move a rejected hand-in out of archive/ into rejected/ (never over another file)."""
    folder = course / "downloaded" / lab / "rejected"
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / path.name, 1
    while target.exists() or target.is_symlink():
        n += 1
        target = folder / f"{path.name} ({n})"
    os.replace(path, target)
    return target


# ---- the whole class --------------------------------------------------------------------------------
def collect(lab, course, out=sys.stdout):
    course = Path(course)
    archive = course / "downloaded" / lab / "archive"
    report_dir = course / "reports" / lab
    report_file = report_dir / "collect.json"
    previous = {}
    if report_file.exists():
        try:
            previous = json.loads(report_file.read_text())
        except ValueError:
            previous = {}
    rejected_dir = course / "downloaded" / lab / "rejected"
    # hand-ins rejected by an earlier run stay named while they are still in rejected/
    rejected = {name: why for name, why in previous.get("rejected", {}).items()
                if isinstance(why, str) and (rejected_dir / name).exists()}
    left_out, notes, collected = {}, {}, {}
    groups = {}  # attendee -> [(mtime, entry)]
    for entry in sorted(archive.iterdir()) if archive.is_dir() else []:
        try:
            info = entry.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise Rejected("a link: hand in a folder or an archive")
            attendee = attendee_of(entry.name, stat.S_ISDIR(info.st_mode))
            groups.setdefault(attendee, []).append((info.st_mtime, entry))
        except Rejected as why:
            _rejected(course, lab, entry, str(why), rejected, out)
    for attendee, entries in sorted(groups.items()):
        entries.sort(key=lambda e: (e[0], e[1].name), reverse=True)  # the newest first
        done = None
        for _, entry in entries:
            if done is not None:
                left_out.setdefault(attendee, []).append(
                    f"{shown(entry.name)} (an older hand-in; {shown(done.name)} was collected)")
                continue
            started = time.monotonic()
            try:
                data, member, why_notes, left = read_hand_in(entry, lab)
                write_submission(course, attendee, lab, data, timestamp(entry))
            except Rejected as why:
                _rejected(course, lab, entry, str(why), rejected, out)
                continue
            except Exception as err:  # anything else about this hand-in stops only this hand-in
                _rejected(course, lab, entry, f"cannot be read ({type(err).__name__}: {shown(err)})", rejected, out)
                continue
            done = entry
            collected[attendee] = {"from": shown(entry.name), "notebook": shown(member),
                                   "seconds": round(time.monotonic() - started, 3)}
            if why_notes:
                notes[attendee] = why_notes
            if left:
                left_out.setdefault(attendee, []).extend(left)
    report_dir.mkdir(parents=True, exist_ok=True)
    record = {"rejected": rejected, "left_out": left_out, "notes": notes, "collected": collected}
    fd, tmp = tempfile.mkstemp(prefix=".collect-", suffix=".json", dir=report_dir)
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=1, ensure_ascii=False)
    os.replace(tmp, report_file)
    print(f"collected {len(collected)} hand-ins of {lab}" + (f"; {len(rejected)} rejected" if rejected else "")
          + (f"; only the notebook was collected, other files left out for {len(left_out)}" if left_out else ""),
          file=out)
    return record


def _rejected(course, lab, entry, why, rejected, out):
    try:
        target = reject(course, lab, entry)
        where = f" (moved to {target.relative_to(course).as_posix()})"
        key = target.name
    except OSError as err:
        where, key = f" (could not be moved: {err})", entry.name
    rejected[shown(key, 200)] = why
    print(f"REJECTED {shown(entry.name)}: {why}{where}", file=out)
