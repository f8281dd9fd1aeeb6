"""Regenerate the attendees' notebooks in ../labs from the lab sources in source/.

    python -m grading release                 # every lab in source/
    python -m grading release lab1_logreg     # one lab
    python -m grading release --check         # exit 1 if labs/ is out of date with source/

Each lab is one jupytext percent script, ``source/<lab>/<lab>.py`` (nbgrader's cell metadata on
its ``# %%`` lines); JupyterLab opens it as a notebook. This script first writes the notebook
nbgrader reads, ``source/<lab>/<lab>.ipynb`` (not committed), from that text, then runs
``nbgrader generate_assignment <lab> --force`` in the course folder (nbgrader_config.py sends the
release to ../labs): solutions and hidden tests are removed, outputs cleared, test cells locked,
and each lab is recorded in the gradebook (gradebook.db there), which autograding needs.

``--check`` does the same in a temporary copy of the course and compares the result with the
committed labs/ byte for byte, so it never touches labs/ or the gradebook.
"""

from __future__ import annotations

import filecmp
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from grading.course import PACKAGE, tool_env

HERE = PACKAGE  # this repository's course


# jupytext keeps the kernelspec and title; the notebook also states its language, as Jupyter writes it
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


def all_labs(root=HERE):
    return sorted(p.name for p in (root / "source").iterdir() if (p / f"{p.name}.py").is_file())


def source_text(lab, root=HERE):
    """The lab's source: the jupytext percent script ``source/<lab>/<lab>.py``."""
    return root / "source" / lab / f"{lab}.py"


def notebook(lab, root=HERE):
    """The instructor notebook of ``lab``, read from its percent script by jupytext.

    Cell ids are made stable (a graded cell's id is its grade_id, any other cell's the start of
    its text's SHA-1), so that the same text always gives the same notebook, byte for byte.
    """
    nb = jupytext.read(source_text(lab, root))
    nb.metadata.pop("jupytext", None)
    nb.metadata["language_info"] = LANGUAGE_INFO
    seen = set()
    for cell in nb.cells:
        base = cell.metadata.get("nbgrader", {}).get("grade_id") or hashlib.sha1(cell.source.encode()).hexdigest()[:10]
        cid, k = base, 1
        while cid in seen:
            k += 1
            cid = f"{base}-{k}"
        seen.add(cid)
        cell.id = cid
    nbformat.validate(nb)
    return nb


def write_notebooks(labs, root=HERE):
    """Write ``source/<lab>/<lab>.ipynb`` from each lab's script (what nbgrader reads)."""
    for lab in labs:
        path = root / "source" / lab / f"{lab}.ipynb"
        text = nbformat.writes(notebook(lab, root)) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def generate(labs, root=HERE):
    """nbgrader generate_assignment for each lab, in the course folder ``root``."""
    write_notebooks(labs, root)
    for lab in labs:
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", lab, "--force", "--log-level=WARN"]
        result = subprocess.run(cmd, check=False, cwd=root, capture_output=True, text=True, env=tool_env())
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"nbgrader generate_assignment {lab} failed (exit {result.returncode})")


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def check(labs, root=HERE):
    """Names of the release files that differ from a fresh generation (empty when up to date)."""
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "grading"
        course.mkdir()
        shutil.copy(root / "nbgrader_config.py", course)  # the plugins it names come from the grading package
        for lab in labs:
            shutil.copytree(root / "source" / lab, course / "source" / lab,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.ipynb"))
        generate(labs, course)
        fresh_root = Path(tmp) / "labs"
        for lab in labs:
            fresh, committed = fresh_root / lab, root.parent / "labs" / lab
            names = set(_files(fresh)) | (set(_files(committed)) if committed.exists() else set())
            for name in sorted(names):
                a, b = fresh / name, committed / name
                if not (a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)):
                    stale.append(f"labs/{lab}/{name}")
    return stale


def main(labs=(), root=HERE, check_only=False):
    """``python -m grading release [lab ...] [--check]``."""
    labs = list(labs) or all_labs(root)
    if check_only:
        stale = check(labs, root)
        if stale:
            print("labs/ is out of date with grading/source/ (run: python -m grading release):", *stale, sep="\n  ")
            return 1
        print(f"labs/ is up to date ({', '.join(labs)})")
        return 0
    generate(labs, root)
    for lab in labs:
        print(f"released {lab} -> labs/{lab}/")
    return 0
