"""The integrity log: what happened to one notebook of one attendee while grading.

The nbgrader hooks (``grading.preprocessors``) append events to
``reports/<lab>/events/<student>/<notebook>.jsonl`` in the course folder; ``python -m grading report``
turns them (and the run's own records) into the integrity report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def course_root(plugin, resources=None):
    """The course folder: from nbgrader's CourseDirectory when reachable, else next to the gradebook."""
    obj = plugin
    while obj is not None:
        coursedir = getattr(obj, "coursedir", None)
        if coursedir is not None:
            return Path(coursedir.root)
        obj = getattr(obj, "parent", None)
    if resources is None:
        return None
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

