"""Regenerate the attendees' notebooks in ../labs from the instructor notebooks in source/.

    python grading/release.py                 # every lab in source/
    python grading/release.py lab1_logreg     # one lab
    python grading/release.py --check         # exit 1 if labs/ is out of date with source/

It runs ``nbgrader generate_assignment <lab> --force`` in this folder (nbgrader_config.py sends
the release to ../labs): solutions and hidden tests are removed, outputs cleared, test cells
locked, and each lab is recorded in the gradebook (gradebook.db here), which autograding needs.

``--check`` does the same in a temporary copy of this folder and compares the result with the
committed labs/ byte for byte, so it never touches labs/ or the gradebook.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABS = HERE.parent / "labs"


def all_labs(root=HERE):
    return sorted(p.name for p in (root / "source").iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def tool_env():
    """The environment for nbgrader: this Python's bin folder first on PATH (nbgrader runs `alembic`)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def generate(labs, root=HERE):
    """nbgrader generate_assignment for each lab, in the course folder ``root``."""
    for lab in labs:
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", lab, "--force", "--log-level=WARN"]
        result = subprocess.run(cmd, check=False, cwd=root, capture_output=True, text=True, env=tool_env())
        if result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"nbgrader generate_assignment {lab} failed (exit {result.returncode})")


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def check(labs):
    """Names of the release files that differ from a fresh generation (empty when up to date)."""
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "grading"
        course.mkdir()
        shutil.copy(HERE / "nbgrader_config.py", course)
        for lab in labs:
            shutil.copytree(HERE / "source" / lab, course / "source" / lab,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        generate(labs, course)
        fresh_root = Path(tmp) / "labs"
        for lab in labs:
            fresh, committed = fresh_root / lab, LABS / lab
            names = set(_files(fresh)) | (set(_files(committed)) if committed.exists() else set())
            for name in sorted(names):
                a, b = fresh / name, committed / name
                if not (a.exists() and b.exists() and filecmp.cmp(a, b, shallow=False)):
                    stale.append(f"labs/{lab}/{name}")
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(description="Regenerate labs/ from grading/source/ with nbgrader.")
    parser.add_argument("labs", nargs="*", help="lab folders under source/ (default: all)")
    parser.add_argument("--check", action="store_true", help="only check that labs/ is up to date")
    args = parser.parse_args(argv)
    labs = args.labs or all_labs()
    if args.check:
        stale = check(labs)
        if stale:
            print("labs/ is out of date with grading/source/ (run: python grading/release.py):",
                  *stale, sep="\n  ")
            return 1
        print(f"labs/ is up to date ({', '.join(labs)})")
        return 0
    generate(labs)
    for lab in labs:
        print(f"released {lab} -> labs/{lab}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
