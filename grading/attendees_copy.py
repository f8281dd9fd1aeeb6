"""Build the attendees' copy of the workshop: everything attendees get, and no solution.

    python -m grading attendees-copy                     # -> build/attendees/ in the repository
    python -m grading attendees-copy --out DIR           # somewhere else
    python -m grading attendees-copy --check DIR         # exit 1 if DIR holds a solution or hidden test

The repository holds the instructor's lab sources (``grading/source``: solutions, hidden tests),
so it must never be what attendees get. This copies, from the files git tracks, only what
attendees need: ``labs/`` (the released notebooks), ``dllab/``, ``assets/``, ``binder/``,
``pyproject.toml``, the Makefile (for ``make lab``), the licence and the attendees' docs, plus a
short README. Binder, a class's ``make lab`` and the JupyterHub image are built from this copy
(push it to its own repository or branch; see grading/README.md).

It then checks the copy: no ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS`` marker and no
line of any solution or hidden test of any lab source may appear in any file, and no answer key
(``grading/answer_keys.py``) may be defined or importable there: ``labs.reference_*`` and the like
must answer only the visible tests' own inputs, from the stored values.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from grading import release
from grading.course import PACKAGE

ROOT = PACKAGE.parent  # this repository

INCLUDE = ("labs/", "dllab/", "assets/", "binder/", "pyproject.toml", "Makefile", "LICENSE", "docs/data.md",
           "docs/gpu.md")
README = """# dllab — deep-learning workshop (attendees' copy)

Open the labs:

    make lab

(creates `.venv`, installs dllab with JupyterLab and nbgrader, opens JupyterLab on `labs/`).
`labs/README.md` says how to work through a lab and what to hand in.
"""
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
MIN_LINE = 25  # shorter lines (`return Y`, `N = len(y)`) are too common to mean a leak


def tracked_files(root=ROOT):
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


def build(out, root=ROOT):
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    for name in tracked_files(root):
        if name.startswith(INCLUDE) or name in INCLUDE:
            src = root / name
            if src.is_file():
                dest = out / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
    (out / "README.md").write_text(README)
    return out


def secret_lines(root=ROOT):
    """Lines of the solutions and hidden tests of every lab source (stripped, long enough to be telling).

    A line that a released notebook shows as given code (lab 2 hands out the softmax that lab 1
    asks for) is not a secret.
    """
    lines = set()
    for lab in release.all_labs(root / "grading"):
        for cell in release.notebook(lab, root / "grading").cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END SOLUTION" in line or "END HIDDEN TESTS" in line:
                    inside = False
                elif inside and len(line.strip()) >= MIN_LINE and not line.strip().startswith("#"):
                    lines.add(line.strip())
    released = set()
    for path in (root / "labs").glob("*/*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            released |= {line.strip() for line in cell.source.splitlines()}
    return lines - released


def leaks(folder, root=ROOT):
    """[(file, what)] for every solution marker or solution/hidden-test line found in ``folder``."""
    secrets = secret_lines(root)
    found = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        rel = path.relative_to(folder)
        for marker in MARKERS:
            if f"### {marker}" in text:
                found.append((str(rel), f"marker '### {marker}'"))
        if path.suffix == ".ipynb":  # JSON: compare the lines of the cells and their outputs
            nb = nbformat.reads(text, as_version=4)
            text = "\n".join([c.source for c in nb.cells] + [o.get("text", "") for c in nb.cells
                                                              for o in c.get("outputs", [])
                                                              if isinstance(o.get("text", ""), str)])
        stripped = {line.strip() for line in text.splitlines()}
        for line in sorted(secrets & stripped):
            found.append((str(rel), f"line {line!r}"))
    return found


KEY_PROBE = """
import importlib, json, sys
# as in an environment made from the copy: this repository's own editable install (which maps dllab and
# grading to the instructor's folders) is not there; the copy's dllab comes from PYTHONPATH
sys.meta_path = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
import numpy as np
from dllab import labs
found = []
for module in ("answer_keys", "grading.answer_keys"):
    try:
        importlib.import_module(module)
        found.append(f"the module {module} can be imported")
    except ImportError:
        pass
rng = np.random.default_rng(12345)
for name in labs.ANSWER_KEYS:
    args = [rng.normal(size=(3, 4)) for _ in range(6)]
    try:
        getattr(labs, name)(*args)
        found.append(f"labs.{name} computed an answer for new inputs")
    except labs.NoStoredAnswer:
        pass
    except Exception as err:  # a real implementation choking on the probe is still an implementation
        found.append(f"labs.{name} is an implementation ({type(err).__name__} on new inputs)")
print(json.dumps(found))
"""


def answer_key_leaks(folder):
    """[(file, what)] for every answer key an attendee could use from ``folder``: a definition of one
    in any Python file, or ``labs.<key>`` answering inputs that are not a visible test's own."""
    import re

    from dllab.labs.answers import ANSWER_KEYS

    found = []
    pattern = re.compile(r"^\s*def (" + "|".join(ANSWER_KEYS) + r")\(", re.MULTILINE)
    for path in sorted(Path(folder).rglob("*.py")):
        for match in pattern.finditer(path.read_text(errors="replace")):
            found.append((str(path.relative_to(folder)), f"defines the answer key {match.group(1)}"))
    if (Path(folder) / "dllab").is_dir():
        env = {"PYTHONPATH": str(folder), "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "DLLAB_DEVICE": "cpu"}
        run = subprocess.run([sys.executable, "-c", KEY_PROBE], cwd=folder, env=env, capture_output=True,
                             text=True, timeout=120)
        if run.returncode != 0:
            found.append(("dllab/", f"the answer-key probe failed: {run.stderr.strip().splitlines()[-1:]}"))
        else:
            import json

            found += [("dllab/labs", what) for what in json.loads(run.stdout.strip().splitlines()[-1])]
    return found


def main(root=ROOT, out=None, check=None):
    """``python -m grading attendees-copy [--out DIR | --check DIR]``: 0 when the copy holds no secret."""
    folder = Path(check) if check else build(out or root / "build" / "attendees", root)
    found = leaks(folder, root) + answer_key_leaks(folder)
    for name, what in found[:50]:
        print(f"LEAK {name}: {what}")
    if found:
        print(f"{len(found)} solution or hidden-test lines in {folder}: do not hand it out")
        return 1
    print(f"attendees' copy in {folder}: no solution, no hidden test")
    return 0
