"""The collection tests' shared pieces: the lab, a one-cell notebook, a zip built from texts, the hand-ins a
course's submitted/ folder holds and a 3000-deep expression."""

from __future__ import annotations

import zipfile
from pathlib import Path

import nbformat

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


def submitted(course):
    folder = course / "submitted"
    return {p.parent.parent.name: p.read_text() for p in folder.glob(f"*/{LAB}/{LAB}.ipynb")} if folder.is_dir() else {}


def deep_expression(depth=3000):
    return "x = " + " + ".join(["1"] * depth)
