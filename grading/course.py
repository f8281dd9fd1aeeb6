"""The nbgrader course a command works on, and running nbgrader in it.

This repository's course is this package's own folder (``grading/``: ``nbgrader_config.py``,
``source/``, the gradebook and what grading writes). A command run from another folder that holds
an ``nbgrader_config.py`` (a copy of the course, as the tests make) works on that folder instead.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def course_root(path=None):
    """``path``, else the current folder if it holds an ``nbgrader_config.py``, else this repository's course."""
    if path is not None:
        return Path(path).resolve()
    here = Path.cwd()
    return here.resolve() if (here / "nbgrader_config.py").is_file() else PACKAGE


def tool_env(**extra):
    """The environment for nbgrader: this Python's bin folder first on PATH (nbgrader runs `alembic`)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def load_config(course):
    from traitlets.config import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


def gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=load_config(course).CourseDirectory.course_id)


def notebook_names(lab, course):
    with gradebook(course) as gb:
        return [nb.name for nb in gb.find_assignment(lab).notebooks]


def read_json(path, default=None):
    """A JSON file's content, or ``default`` when it is missing or not JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default
