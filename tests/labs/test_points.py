"""The points of each lab agree: the lab script's nbgrader cells, grading/README.md and docs/labs.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted(p.name for p in (ROOT / "grading" / "source").iterdir() if (p / f"{p.name}.py").exists())


def script_points(lab):
    """(autograded, written) points from the `# %%` lines' nbgrader metadata of the lab's script."""
    auto = written = 0
    for line in (ROOT / "grading" / "source" / lab / f"{lab}.py").read_text().splitlines():
        match = re.match(r"# %%( \[markdown\])? nbgrader=(\{.*\})\s*$", line)
        if not match:
            continue
        meta = json.loads(match.group(2))
        if meta.get("grade"):
            if match.group(1):
                written += meta.get("points", 0)
            else:
                auto += meta.get("points", 0)
    return auto, written


def readme_points(lab):
    text = (ROOT / "grading" / "README.md").read_text()
    match = re.search(rf"^\| `{lab}` \|.*\| (\d+) \((\d+) \+ (\d+)\) \|$", text, re.M)
    assert match, f"grading/README.md has no points row for {lab}"
    total, auto, written = map(int, match.groups())
    assert total == auto + written, f"grading/README.md: {lab}'s {total} is not {auto} + {written}"
    return auto, written


def docs_points(lab):
    text = (ROOT / "docs" / "labs.md").read_text()
    match = re.search(rf"^\| \d `{lab}` \|.*\| (\d+) / (\d+) \|[^|]*\|$", text, re.M)
    assert match, f"docs/labs.md has no points row for {lab}"
    return tuple(map(int, match.groups()))


@pytest.mark.parametrize("lab", LABS)
def test_points_agree(lab):
    auto, written = script_points(lab)
    assert readme_points(lab) == (auto, written), \
        f"grading/README.md gives {lab} {readme_points(lab)} (autograded, written); the lab has {(auto, written)}"
    assert docs_points(lab) == (auto, written), \
        f"docs/labs.md gives {lab} {docs_points(lab)} (autograded, written); the lab has {(auto, written)}"
