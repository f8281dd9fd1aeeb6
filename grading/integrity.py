"""nbgrader hooks that keep grading honest, and the integrity log they write.

Loaded by ``nbgrader_config.py``; each class plugs into one of nbgrader's own steps:

* ``RestoreMetadata`` (sanitising, before nbgrader's OverwriteCells): the nbgrader metadata of
  every cell is rebuilt from the gradebook, so an edited flag, points value or grade id is put
  back instead of failing that student; of duplicated cells (a copy-pasted test or answer) the
  first copy keeps its id and the others become plain cells; a graded cell whose id was edited
  or removed is matched back by its text or position.
* ``ReportEditedCells``: nbgrader's OverwriteCells, naming who edited a read-only cell.
* ``HideHiddenTests`` (feedback): hidden-test source is cut from the cells *and* scrubbed from
  every output of the notebook (a printed ``In``, a traceback, ``linecache``...).
* ``LimitOutputChars`` (autograde): nbgrader's line limit, plus a limit in characters.
* ``NotebooksOnlyExtractor`` (zip_collect): archives and hand-in folders are unpacked keeping only
  the notebooks, so nothing handed in beside one (a shadow ``dllab/`` package, a script) is ever
  written into the course.
* ``IntegrityCsvExport`` (export): the CSV gets ``integrity`` and ``integrity_notes`` columns
  from the last integrity report, so a flagged 0 is never a bare 0.
* ``scan``: the static scan of a hand-in for code that tampers with grading.

Events are appended to ``reports/<lab>/events/<student>/<notebook>.jsonl`` in the course folder;
``grade.py report`` turns them (and the run's own records) into the integrity report.
"""

from __future__ import annotations

import ast
import csv
import html
import json
import re
import shutil
import tarfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import CsvExportPlugin
from nbgrader.plugins.zipcollect import ExtractorPlugin
from nbgrader.preprocessors import ClearHiddenTests, LimitOutput, NbGraderPreprocessor, OverwriteCells
from traitlets import Integer


def course_root(preprocessor, resources):
    """The course folder: from nbgrader's CourseDirectory when reachable, else next to the gradebook."""
    obj = preprocessor
    while obj is not None:
        coursedir = getattr(obj, "coursedir", None)
        if coursedir is not None:
            return Path(coursedir.root)
        obj = getattr(obj, "parent", None)
    url = resources["nbgrader"]["db_url"]
    return Path(url.split("sqlite:///", 1)[-1]).parent


class EventLog:
    """Append-only JSON lines: what happened to one notebook of one student while grading."""

    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def for_resources(cls, resources, preprocessor):
        nbg = resources["nbgrader"]
        root = course_root(preprocessor, resources)
        return cls(root / "reports" / nbg["assignment"] / "events" / nbg["student"] / f"{nbg['notebook']}.jsonl")

    def reset(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")

    def add(self, kind, detail):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps({"kind": kind, "detail": detail, "time": time.time()}) + "\n")

    def read(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


# ---- sanitising ----------------------------------------------------------------------------------
def _released(source):
    """A cell's source as attendees got it: the ### BEGIN/END HIDDEN TESTS region cut out."""
    kept, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


class RestoreMetadata(NbGraderPreprocessor):
    """Rebuild every cell's nbgrader metadata from the gradebook; repair duplicates and lost ids."""

    def preprocess(self, nb, resources):
        nbg = resources["nbgrader"]
        self.events = EventLog.for_resources(resources, self)
        self.events.reset()
        with Gradebook(nbg["db_url"]) as gb:
            notebook = gb.find_notebook(nbg["notebook"], nbg["assignment"])
            source = {c.name: c for c in notebook.source_cells}
            order = [c.name for c in notebook.source_cells]
            expected = {}
            for name, cell in source.items():
                meta = {"cell_type": cell.cell_type, "grade": False, "grade_id": name, "locked": bool(cell.locked),
                        "schema_version": 3, "solution": False, "task": False}
                expected[name] = meta
            for cell in notebook.grade_cells:
                expected[cell.name].update(grade=True, points=float(cell.max_score))
            for cell in notebook.solution_cells:
                expected[cell.name]["solution"] = True
            for cell in notebook.task_cells:
                expected[cell.name].update(task=True, points=float(cell.max_score))
            texts = {name: (source[name].source, _released(source[name].source)) for name in source}
            kinds = {name: source[name].cell_type for name in source}

        seen, unknown = set(), []
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if gid in expected and gid not in seen:
                seen.add(gid)
                if {k: meta.get(k) for k in expected[gid]} != expected[gid]:
                    self.events.add("metadata_restored", f"cell {gid!r}: nbgrader flags restored")
                self._set(cell, expected[gid])
            elif gid in expected:  # a copy: the first one is the original
                del cell.metadata["nbgrader"]
                self.events.add("duplicate_removed", f"a second cell with id {gid!r} became a plain cell")
            elif meta is not None or any(cell.source in texts[n] for n in texts if n not in seen):
                unknown.append(index)
        missing = [n for n in order if n not in seen]
        # a lost id: first by identical text (a locked cell), then by position among the unknown cells
        for index in list(unknown):
            cell = nb.cells[index]
            match = next((n for n in missing if kinds[n] == cell.cell_type and expected[n]["locked"]
                          and cell.source in texts[n]), None)
            if match is not None:
                self._set(cell, expected[match])
                missing.remove(match)
                unknown.remove(index)
                self.events.add("metadata_restored", f"cell {match!r}: lost id restored (same text)")
        for index in list(unknown):
            cell = nb.cells[index]
            if "nbgrader" not in cell.metadata:
                continue
            match = next((n for n in missing if kinds[n] == cell.cell_type), None)
            if match is not None:
                self._set(cell, expected[match])
                missing.remove(match)
                self.events.add("metadata_restored", f"cell {match!r}: edited id restored (by position)")
            else:
                del cell.metadata["nbgrader"]
                self.events.add("metadata_restored", "a cell with an unknown grade id became a plain cell")
        for name in missing:
            self.events.add("cell_missing", f"cell {name!r} was missing and was put back from the source")
        return nb, resources

    @staticmethod
    def _set(cell, meta):
        old = cell.metadata.get("nbgrader", {})
        cell.metadata["nbgrader"] = dict(meta, **({"checksum": old["checksum"]} if "checksum" in old else {}))


class ReportEditedCells(OverwriteCells):
    """OverwriteCells that names the attendee when it restores an edited read-only cell.

    nbgrader always puts back the original source of a locked cell (tests, given code) before
    grading, so an edited test cannot earn points; this makes the log line say who did it. A
    test cell that differs from the gradebook only by its hidden tests (cut from the release) is
    not an edit. Missing graded cells are added back (``add_missing_cells``).
    """

    def preprocess(self, nb, resources):
        self._student = resources.get("nbgrader", {}).get("student", "?")
        self.events = EventLog.for_resources(resources, self)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        self._as_released = False
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            try:
                original = self.gradebook.find_source_cell(grade_id, self.notebook_id, self.assignment_id)
            except MissingEntry:
                pass
            else:
                self._as_released = cell.source == _released(original.source)
        return super().preprocess_cell(cell, resources, index)

    def report_change(self, name, attr, old, new):
        if attr != "checksum":
            super().report_change(name, attr, old, new)
        elif not self._as_released:
            self.log.warning("EDITED READ-ONLY CELL: student %r, notebook %r, cell %r: the original was "
                             "restored before grading", self._student, self.notebook_id, name)
            self.events.add("edited_read_only", f"cell {name!r} was edited; the original was restored")


# ---- outputs -------------------------------------------------------------------------------------
TEXT_LIMIT_NOTE = "\n... output truncated: {n} characters dropped ...\n"


class LimitOutputChars(LimitOutput):
    """nbgrader's LimitOutput (lines), plus characters: per output and per cell, all mime types."""

    max_chars = Integer(100_000, help="Characters of output kept per cell (-1: no limit)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.cell_type != "code" or self.max_chars < 0:
            return cell, resources
        budget = self.max_chars
        for output in cell.outputs:
            if output.output_type == "stream":
                text = output.text
                if len(text) > budget:
                    output.text = text[:max(budget, 0)] + TEXT_LIMIT_NOTE.format(n=len(text) - max(budget, 0))
                budget -= len(output.text)
            elif output.output_type == "error":
                output.evalue = output.evalue[:2000]
                output.traceback = [line[:2000] for line in output.traceback]
            else:
                data = output.get("data", {})
                for mime in list(data):
                    value = data[mime] if isinstance(data[mime], str) else json.dumps(data[mime])
                    if len(value) > budget:
                        del data[mime]
                        if mime == "text/plain" or not data:
                            data["text/plain"] = TEXT_LIMIT_NOTE.format(n=len(value))
                    else:
                        budget -= len(value)
        return cell, resources


class HideHiddenTests(ClearHiddenTests):
    """Keep hidden tests out of the feedback: drop their source, shorten their errors, and scrub
    every line of them from every output of the notebook.

    A failing hidden test keeps only its message (``LabCheckError: ...``), which says what was
    wrong; the traceback would quote the test's code. A hand-in that prints ``In``, reads
    ``linecache`` or echoes a test's source some other way gets ``[hidden test]`` in its place.
    """

    def preprocess(self, nb, resources):
        self._secrets = hidden_lines(nb)
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                scrub_output(output, self._secrets)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        had_hidden = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, index)
        if had_hidden and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


def hidden_lines(nb, min_length=6):
    """Every line (stripped) of every hidden-test region of the notebook, longest first."""
    lines = set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) >= min_length:
                lines.add(line.strip())
    return sorted(lines, key=len, reverse=True)


def _scrub_text(text, secrets):
    for line in secrets:
        for form in {line, repr(line)[1:-1], html.escape(line), html.escape(line, quote=False),
                     json.dumps(line)[1:-1]}:
            if form in text:
                text = text.replace(form, "[hidden test]")
    return text


def scrub_output(output, secrets):
    if output.get("output_type") == "stream":
        output["text"] = _scrub_text(output["text"], secrets)
    elif output.get("output_type") == "error":
        output["evalue"] = _scrub_text(output.get("evalue", ""), secrets)
        output["traceback"] = [_scrub_text(t, secrets) for t in output.get("traceback", [])]
    else:
        data = output.get("data", {})
        for mime, value in list(data.items()):
            if isinstance(value, str):
                data[mime] = _scrub_text(value, secrets)
            elif isinstance(value, list):
                data[mime] = [_scrub_text(v, secrets) if isinstance(v, str) else v for v in value]


# ---- collect -------------------------------------------------------------------------------------
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def archive_stem(name):
    """``bob.zip``, ``bob.tar.gz`` -> ``bob``; None for a file that is not an archive."""
    for suffix in (".zip",) + TAR_SUFFIXES:
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
    ``grade.py collect`` rejects broken and unsafe archives before this runs.
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


# ---- export --------------------------------------------------------------------------------------
class IntegrityCsvExport(CsvExportPlugin):
    """nbgrader's CSV export, with the integrity report's verdict on every row.

    ``integrity`` is ``ok``, ``check`` (graded, but look at the notes before trusting the score),
    ``not graded`` (grading failed; rerun ``grade.py``) or ``no report`` (graded without
    ``grade.py``); ``integrity_notes`` says why.
    """

    def export(self, gradebook):
        super().export(gradebook)
        dest = self.to or "grades.csv"
        with open(dest, newline="") as f:
            rows = list(csv.DictReader(f))
        reports = {}
        root = Path(dest).resolve().parent
        for row in rows:
            lab = row["assignment"]
            if lab not in reports:
                path = _report_path(root, lab, self)
                reports[lab] = json.loads(path.read_text())["students"] if path and path.exists() else None
            report = reports[lab]
            entry = (report or {}).get(row["student_id"])
            if report is None:
                row["integrity"], row["integrity_notes"] = "no report", "run `python grade.py report " + lab + "`"
            elif entry is None:
                row["integrity"], row["integrity_notes"] = ("no hand-in", "") if not row["timestamp"] else \
                    ("no report", "not in the last grading run")
            else:
                row["integrity"] = entry["verdict"]
                row["integrity_notes"] = "; ".join(entry["notes"])
        fields = list(rows[0].keys()) if rows else []
        with open(dest, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields or ["assignment"])
            writer.writeheader()
            writer.writerows(rows)


def _report_path(root, lab, plugin):
    obj = plugin
    while obj is not None:
        coursedir = getattr(obj, "coursedir", None)
        if coursedir is not None:
            return Path(coursedir.root) / "reports" / lab / "report.json"
        obj = getattr(obj, "parent", None)
    return root / "reports" / lab / "report.json"


# ---- static scan ---------------------------------------------------------------------------------
SCAN_RULES = [
    # (what it means, regular expression over a code cell's text)
    ("IPython input/AST transformer", r"input_transformers|ast_transformers|\.events\.register|register_magic"),
    ("patches function code", r"__code__|__globals__|__closure__|__defaults__|__kwdefaults__"),
    ("opens a database (the gradebook?)", r"\bsqlite3\b|gradebook"),
    ("kills or exits the process", r"\bos\._exit\b|\bos\.kill\b|\bkillpg\b|\bsignal\.(signal|alarm|pthread_kill)|"
                                   r"\bos\.abort\b"),
    ("starts processes", r"\bsubprocess\b|\bos\.(system|popen|fork|exec\w*|spawn\w*)\b|\bmultiprocessing\b|\bpty\b"),
    ("native code", r"\bctypes\b|\bcffi\b"),
    ("reads the cell history or other cells' source", r"\bIn\s*\[|\b_ih\b|\b_i\d*\b|\bOut\s*\[|\b_oh\b|linecache|"
                                                      r"\bhistory_manager\b|\b_getframe\b|\bf_back\b|"
                                                      r"currentframe|\bgc\.get_(objects|referrers)"),
    ("rewrites modules or builtins", r"\bsys\.modules\b|\bimport\s+builtins\b|__builtins__|\bimportlib\b|"
                                     r"\bsetattr\s*\(\s*(np|numpy|labs|dl|dllab|builtins)\b"),
    ("changes how the kernel runs or reports cells", r"displayhook|excepthook|showtraceback|set_custom_exc|\.session\b|"
                                                    r"\bsettrace\b|\bsetprofile\b|__class__\s*=|\bthreading\b|"
                                                    r"\binspect\b|\bvars\s*\(\s*(labs|np|numpy|dl|dllab)\b|"
                                                    r"\bglobals\s*\(\s*\)\s*\["),
    ("network access", r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b"),
    ("dynamic code", r"(?<![\w.])(exec|eval|compile)\s*\(|__import__|\bbase64\b|\bmarshal\b|\bpickle\b"),
    ("reaches outside the notebook", r"\.\./|\bos\.environ\b|/etc/|\bshutil\.rmtree\b|nbgrader"),
]
HELPER_MODULES = ("np", "numpy", "labs", "dl", "dllab", "check", "check_close", "check_shape", "check_gradient")


def scan(nb, helpers=HELPER_MODULES, skip_locked_sources=()):
    """Flags of a hand-in: [(cell label, what, line)] for code that tampers with grading.

    ``skip_locked_sources``: texts of the lab's own given cells (they may legitimately use
    anything); a cell whose text is one of them is not scanned.
    """
    flags = []
    skip = set(skip_locked_sources)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or cell.source in skip:
            continue
        label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
        for line in cell.source.splitlines():
            code = line.split("#", 1)[0] if "'" not in line and '"' not in line else line
            for what, pattern in SCAN_RULES:
                if re.search(pattern, code):
                    flags.append((label, what, line.strip()[:120]))
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, (ast.Delete,)):
                targets = node.targets
            for target in targets:
                base = target
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in helpers and base is not target:
                    flags.append((label, "reassigns a helper or NumPy function", ast.unparse(target)[:120]))
                elif isinstance(target, ast.Name) and target.id in helpers and target.id not in ("np", "dl"):
                    flags.append((label, "reassigns a helper or NumPy function", target.id))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in helpers:
                flags.append((label, "redefines a helper", node.name))
    unique = []
    for flag in flags:
        if flag not in unique:
            unique.append(flag)
    return unique


def is_graded_test(cell):
    return utils.is_grade(cell) and not utils.is_solution(cell) and cell.cell_type == "code"
