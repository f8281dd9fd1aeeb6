"""Count the lines each lab asks attendees to write: code inside ### BEGIN/END SOLUTION.

    python tools/solution_lines.py            # a Markdown table for docs/labs.md

Blank lines and comment-only lines are not counted; written (Markdown) answers are not code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "grading" / "source"


def solution_lines(script: Path) -> tuple[int, int]:
    """(lines of code the attendee writes, graded answer cells) of one lab script."""
    lines = cells = 0
    for cell in jupytext.read(script).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        cells += 1
        inside = False
        for line in cell.source.splitlines():
            text = line.strip()
            if text.startswith("### BEGIN SOLUTION"):
                inside = True
            elif text.startswith("### END SOLUTION"):
                inside = False
            elif inside and text and not text.startswith("#"):
                lines += 1
    return lines, cells


def main() -> int:
    print("| lab | answer cells | lines the attendee writes |")
    print("| --- | ---: | ---: |")
    for script in sorted(SOURCE.glob("*/*.py")):
        lines, cells = solution_lines(script)
        print(f"| `{script.stem}` | {cells} | {lines} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
