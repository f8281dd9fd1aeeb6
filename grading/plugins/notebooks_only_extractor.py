"""NotebooksOnlyExtractor (zip_collect): archives and hand-in folders unpacked keeping only the notebooks."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from nbgrader.plugins.zipcollect import ExtractorPlugin

from ..archives import ARCHIVE_SUFFIXES


def archive_stem(name):
    """``bob.zip``, ``bob.tar.gz`` -> ``bob``; None for a file that is not an archive."""
    for suffix in ARCHIVE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[:-len(suffix)]
    return None


def safe_member(name):
    """A member path that stays inside the folder it is unpacked into (as posix parts), or None."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        return None
    return path


class NotebooksOnlyExtractor(ExtractorPlugin):
    """nbgrader's archive extractor, keeping only the notebooks.

    ``archive/<attendee>.zip`` (or ``.tar.gz``, ...) becomes ``extracted/<attendee>/...`` and
    ``archive/<attendee>/<file>`` is copied to ``extracted/<attendee>/<file>``, as nbgrader does,
    but only ``*.ipynb`` files are written: a package, a script or data handed in beside the
    notebook never reaches the course folder, nor a member that points outside its folder.
    ``python -m grading collect`` rejects broken and unsafe archives before this runs.
    """

    def extract(self, archive_path, extracted_path):
        archive_path, extracted_path = Path(archive_path), Path(extracted_path)
        for path in sorted(p for p in archive_path.rglob("*") if p.is_file()):
            where = extracted_path / path.parent.relative_to(archive_path)
            stem = archive_stem(path.name)
            if path.suffix == ".ipynb":
                where.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, where / path.name)
            elif stem is not None:
                skipped = self._unpack(path, where / stem)
                if skipped:
                    self.log.info("%s: left out (not notebooks): %s", path.name, ", ".join(skipped[:10]))
            else:
                self.log.info("%s: left out (not a notebook)", path.relative_to(archive_path))

    @staticmethod
    def _unpack(path, folder):
        """Write the archive's notebooks under ``folder``; return the members left out."""
        skipped = []
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                members = [(m.filename, m.is_dir(), lambda m=m: z.read(m)) for m in z.infolist()]
                _write_notebooks(members, folder, skipped)
        else:
            with tarfile.open(path) as t:
                members = [(m.name, not m.isfile(), lambda m=m: t.extractfile(m).read()) for m in t.getmembers()]
                _write_notebooks(members, folder, skipped)
        return skipped


def _write_notebooks(members, folder, skipped):
    for name, is_dir, read in members:
        if is_dir:
            continue
        member = safe_member(name)
        if member is None or member.suffix != ".ipynb":
            skipped.append(name)
            continue
        dest = folder.joinpath(*member.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(read())

