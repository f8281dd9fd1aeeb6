"""The labs' tests' shared pieces: where the lab scripts, the instructor notebooks and the releases are, reading a
notebook and its nbgrader metadata, a kernel that is this Python (also used by test_lab_lessons.py) and the
lesson a failed check gives."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

from dllab import labs

ROOT = Path(__file__).resolve().parents[2]
GRADING = ROOT / "grading"
SCRIPTS = sorted((GRADING / "source").glob("*/*.py"))
SOURCES = [p.with_suffix(".ipynb") for p in SCRIPTS]  # written from the scripts by conftest.py
RELEASES = sorted((ROOT / "labs").glob("*/*.ipynb"))


def lab_id(path):
    return path.stem


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


# --- a kernel that is this Python ------------------------------------------------------------


def use_this_python_as_kernel(folder: Path) -> dict:
    """Environment variables that make the kernel 'python3' run this interpreter.

    A kernelspec written to ``folder`` and put first on JUPYTER_PATH wins over any other
    'python3' spec (a user's, a system one), so the notebooks always import this dllab.
    Small matrices gain nothing from BLAS threads, and on a busy 2-core machine the threads
    fight: one thread keeps the timings steady.
    """
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (dllab tests)", "language": "python"}))
    return {
        "JUPYTER_PATH": os.pathsep.join([str(folder)] + [p for p in [os.environ.get("JUPYTER_PATH")] if p]),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "CI": "true", "MPLBACKEND": "Agg", "DLLAB_DEVICE": "cpu",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # the instructor notebooks run their hidden tests too: they need the grader's answer keys
        "DLLAB_ANSWER_KEYS": "grading.answer_keys",
    }


def message(fn, *args, **kwargs):
    with pytest.raises(labs.LabCheckError) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


@pytest.fixture(autouse=True)
def answer_keys_installed():
    """An autouse fixture for the files that import it: the checks checked on any input, with the
    grader's answer keys, as the judge runs them (in a notebook, labs.<reference> answers only the
    visible tests' own inputs)."""
    from dllab import labs
    from grading import answer_keys

    labs.use_answer_keys(answer_keys)
    yield
    labs.use_answer_keys(None)
