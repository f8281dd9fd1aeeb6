"""Reading hand-ins as data: an attendee's folder or archive, checked before anything is inflated.

The attendee id comes **only** from the entry's own name in ``downloaded/<lab>/archive/``
(:func:`attendee_of`), and is refused if it could mean a path (``.``, ``..``, a leading dot, a
separator) or holds control characters; any other Unicode name is kept (as NFC).

What is inside a hand-in is data: the names of its members are never used as paths, only to find
the notebook. Archives are read in memory, nothing is unpacked to disk. Of the notebooks in a
hand-in, copies in ``.ipynb_checkpoints/``, ``backup/`` and ``__MACOSX/`` do not count; of the rest,
one named ``<lab>.ipynb`` if there is one, the least deep, the newest (:func:`choose`).

An archive is checked before anything in it is inflated: at most ``MAX_ENTRIES`` entries,
``MAX_TOTAL_BYTES`` uncompressed in all, no entries that share their bytes (a zip bomb made of
overlapping entries), no member that names a path outside the archive, no links, no encrypted
notebook. A tar archive is decompressed through a reader that stops at ``MAX_TOTAL_BYTES``. A bad
hand-in raises :class:`Rejected`, whose message says why.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import stat
import struct
import tarfile
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

MAX_TOTAL_BYTES = 64 * 2**20  # uncompressed, all members of one hand-in together
MAX_ENTRIES = 2000  # members of one hand-in (files and folders)
MAX_CENTRAL_DIRECTORY = 2 * 2**20  # bytes of a zip's directory, checked before it is parsed
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
ARCHIVE_SUFFIXES = (".zip",) + TAR_SUFFIXES
COPY_FOLDERS = {".ipynb_checkpoints", "__macosx", "backup", "backups"}  # copies, not the hand-in
NOISE = {".ds_store", "thumbs.db", "desktop.ini"}  # written by file managers: not worth a note
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


class Rejected(Exception):
    """A hand-in that is not collected; the message says why, for the report."""


@dataclass
class Member:
    name: str  # as the archive spells it: only ever compared, never used as a path
    size: int
    mtime: float
    data: bytes | None = None  # read when the member is a notebook (tar, folders)
    info: object = None  # the zip entry, read only if it is chosen


@dataclass
class HandIn:
    members: list = field(default_factory=list)
    read: object = None  # callable(member) -> bytes


# ---- names -----------------------------------------------------------------------------------------
def shown(name, limit=120):
    """A name as it may be printed in a report: control characters escaped, shortened."""
    text = "".join(c if unicodedata.category(c)[0] != "C" or c == " " else repr(c)[1:-1] for c in str(name))
    return text if len(text) <= limit else text[:limit] + "..."


def attendee_of(entry_name, is_dir):
    """The attendee id an entry of archive/ stands for, or raise Rejected."""
    stem = entry_name
    if not is_dir:
        lower = entry_name.lower()
        suffix = next((s for s in ARCHIVE_SUFFIXES if lower.endswith(s)), None)
        if suffix is None:
            raise Rejected("not a folder or an archive (.zip, .tar.gz, ...) named after the attendee")
        stem = entry_name[:-len(suffix)]
    stem = unicodedata.normalize("NFC", stem)
    problem = id_problem(stem)
    if problem:
        raise Rejected(f"{problem}: the attendee id comes from the name of the archive or folder")
    return stem


def id_problem(name):
    if not name:
        return "no attendee name"
    if name in (".", "..") or name.startswith("."):
        return f"the name {shown(name)!r} starts with a dot"
    if any(c in "/\\\0" for c in name):
        return "the name holds a path separator"
    if any(unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS for c in name):
        return "the name holds control characters"
    if name != name.strip():
        return "the name starts or ends with white space"
    if len(name.encode("utf-8", "surrogateescape")) > 200:
        return "the name is too long"
    return None


def parts_of(name):
    return [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]


def check_member_name(name):
    path = name.replace("\\", "/")
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise Rejected(f"member {shown(name)!r} points outside the archive")
    if "\0" in name:
        raise Rejected(f"member {shown(name)!r} has a NUL in its name")


# ---- reading hand-ins --------------------------------------------------------------------------------
def _count(members, size):
    if len(members) > MAX_ENTRIES:
        raise Rejected(f"more than {MAX_ENTRIES} entries")
    if size > MAX_TOTAL_BYTES:
        raise Rejected(f"unpacks to more than {MAX_TOTAL_BYTES // 2**20} MiB")


def read_zip(handle):
    """The members of a zip, checked from its directory and local headers: nothing is inflated."""
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_TOTAL_BYTES + MAX_CENTRAL_DIRECTORY:
        raise Rejected(f"larger than {MAX_TOTAL_BYTES // 2**20} MiB")
    handle.seek(max(0, size - 22 - 65535))
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise Rejected("not a valid zip file")
    entries, cd_size = struct.unpack("<HL", tail[at + 10:at + 16])
    if entries > MAX_ENTRIES:
        raise Rejected(f"more than {MAX_ENTRIES} entries")
    if cd_size > MAX_CENTRAL_DIRECTORY:
        raise Rejected(f"its directory is larger than {MAX_CENTRAL_DIRECTORY // 2**20} MiB")
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise Rejected(f"not a valid zip file ({shown(err)})") from None
    infos = archive.infolist()
    _count(infos, sum(i.file_size for i in infos))
    spans = []
    for info in infos:
        check_member_name(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise Rejected(f"member {shown(info.filename)!r} is a symbolic link")
        handle.seek(info.header_offset)
        head = handle.read(30)
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise Rejected(f"member {shown(info.filename)!r} has no local header")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        spans.append((info.header_offset, info.header_offset + 30 + name_len + extra_len + info.compress_size,
                       info.filename))
    spans.sort()
    end, last = 0, None
    for start, stop, name in spans:
        if start < end:
            raise Rejected(f"entries {shown(last)!r} and {shown(name)!r} overlap (a zip bomb)")
        end, last = stop, name
    if spans and end > getattr(archive, "start_dir", end):
        raise Rejected(f"member {shown(last)!r} overlaps the zip's directory")
    members = [Member(i.filename, i.file_size, _zip_time(i.date_time), info=i) for i in infos if not i.is_dir()]

    def read(member):
        if member.info.flag_bits & 0x1:
            raise Rejected(f"the notebook {shown(member.name)!r} is encrypted")
        try:
            with archive.open(member.info) as f:
                return f.read(MAX_TOTAL_BYTES + 1)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError, RuntimeError,
                lzma.LZMAError, struct.error) as err:  # bad CRC, unknown compression, a lying header
            raise Rejected(f"the notebook {shown(member.name)!r} cannot be read ({shown(err)})") from None

    return HandIn(members, read)


def _zip_time(date_time):
    try:
        return time.mktime(tuple(date_time) + (0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


class _Capped(io.RawIOBase):
    """A decompressed stream that stops with Rejected after ``limit`` bytes."""

    def __init__(self, stream, limit):
        self.stream, self.left = stream, limit

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(min(len(buffer), self.left + 1))
        if len(data) > self.left:
            raise Rejected(f"unpacks to more than {MAX_TOTAL_BYTES // 2**20} MiB")
        self.left -= len(data)
        buffer[:len(data)] = data
        return len(data)


def read_tar(handle, wants):
    """The members of a tar archive, read as one stream through a capped decompressor; the bytes
    of the members ``wants(name)`` are kept."""
    magic = handle.read(6)
    handle.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        stream = gzip.GzipFile(fileobj=handle)
    elif magic.startswith(b"BZh"):
        stream = bz2.BZ2File(handle)
    elif magic.startswith(b"\xfd7zXZ\x00"):
        stream = lzma.LZMAFile(handle)
    else:
        stream = handle
    capped = io.BufferedReader(_Capped(stream, MAX_TOTAL_BYTES + 512 * (MAX_ENTRIES + 4)), 2**16)
    members, total = [], 0
    try:
        with tarfile.open(fileobj=capped, mode="r|") as archive:
            for info in archive:
                if len(members) >= MAX_ENTRIES:
                    raise Rejected(f"more than {MAX_ENTRIES} entries")
                check_member_name(info.name)
                if info.issym() or info.islnk():
                    raise Rejected(f"member {shown(info.name)!r} is a link")
                if info.isdir():
                    members.append(None)
                    continue
                if not info.isfile():
                    raise Rejected(f"member {shown(info.name)!r} is a special file")
                total += info.size
                _count(members, total)
                member = Member(info.name, info.size, float(info.mtime or 0))
                if wants(info.name):
                    f = archive.extractfile(info)
                    member.data = f.read(MAX_TOTAL_BYTES + 1)
                members.append(member)
    except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, struct.error) as err:
        raise Rejected(f"not a valid tar archive ({shown(err)})") from None
    return HandIn([m for m in members if m is not None], lambda m: m.data)


def read_folder(folder):
    """The files of a folder hand-in (links are never followed: they are left out and named)."""
    members, total, links = [], 0, []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(root) / name
            relative = path.relative_to(folder).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                links.append(relative)
                if name in dirs:
                    dirs.remove(name)
                continue
            if stat.S_ISDIR(info.st_mode):
                members.append(None)
            elif stat.S_ISREG(info.st_mode):
                total += info.st_size
                members.append(Member(relative, info.st_size, info.st_mtime))
            _count(members, total)

    def read(member):
        fd = os.open(folder / member.name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            return f.read(MAX_TOTAL_BYTES + 1)

    hand_in = HandIn([m for m in members if m is not None], read)
    hand_in.links = links
    return hand_in


def is_notebook(name):
    parts = parts_of(name)
    return bool(parts) and parts[-1].lower().endswith(".ipynb") and not parts[-1].startswith("._")


def choose(members, lab):
    """(the notebook that counts, the other notebooks, the other files)."""
    notebooks = [m for m in members if is_notebook(m.name)]
    copies = [m for m in notebooks if any(p.lower() in COPY_FOLDERS for p in parts_of(m.name)[:-1])]
    primary = [m for m in notebooks if m not in copies]
    pool = primary or copies
    exact = [m for m in pool if parts_of(m.name)[-1] == f"{lab}.ipynb"]
    pool = exact or pool
    chosen = None
    if pool:
        depth = min(len(parts_of(m.name)) for m in pool)
        chosen = max((m for m in pool if len(parts_of(m.name)) == depth), key=lambda m: (m.mtime, m.name))
    others = [m for m in notebooks if m is not chosen]
    files = [m for m in members if not is_notebook(m.name) and not any(
        p.lower() in ("__macosx",) or p.lower() in NOISE or p.startswith("._") for p in parts_of(m.name))]
    return chosen, others, files


def read_hand_in(path, lab):
    """(notebook bytes, the member's name, notes, names left out) of one entry of archive/."""
    if path.is_dir():
        return _finish(read_folder(path), lab)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        if path.name.lower().endswith(".zip"):
            return _finish(read_zip(handle), lab)  # the notebook is read while the archive is open
        return _finish(read_tar(handle, is_notebook), lab)


def _finish(hand_in, lab):
    chosen, others, files = choose(hand_in.members, lab)
    if chosen is None:
        raise Rejected("no notebook (.ipynb) in it" + (f"; it holds {', '.join(shown(m.name) for m in files[:5])}"
                                                      if files else ", it is empty"))
    data = hand_in.read(chosen)
    if len(data) > MAX_TOTAL_BYTES:
        raise Rejected(f"the notebook is larger than {MAX_TOTAL_BYTES // 2**20} MiB")
    notes, left = [], []
    base = parts_of(chosen.name)[-1]
    if any(p.lower() in COPY_FOLDERS for p in parts_of(chosen.name)[:-1]):
        notes.append(f"only a copy of the notebook was handed in: {shown(chosen.name)!r}, collected as {lab}.ipynb")
    elif base != f"{lab}.ipynb":
        notes.append(f"notebook handed in as {shown(base)!r}, collected as {lab}.ipynb")
    left += [f"{shown(m.name)} (another copy of a notebook, not graded)" for m in others]
    left += [shown(m.name) for m in files]
    left += [f"{shown(name)} (a link, not followed)" for name in getattr(hand_in, "links", [])]
    return data, chosen.name, notes, left
