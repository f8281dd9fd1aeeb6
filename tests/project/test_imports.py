"""Code reaches other code by import, never by a path: grading/ is a package installed with dllab, the
benchmarks and the hub's sizing are scripts whose neighbours are on their own path (and on pytest's,
pyproject.toml), and only tests/conftest.py loads a script by its path (the data sets' make_*.py)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATH_TRICKS = re.compile(r"sys\.path\.(insert|append|extend)|spec_from_file_location|SourceFileLoader")
ALLOWED = {"tests/conftest.py", "tests/project/test_imports.py"}


def test_no_code_puts_folders_on_the_path_or_loads_files_by_name():
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    found = [name for name in files if name not in ALLOWED and (ROOT / name).exists()
             and PATH_TRICKS.search((ROOT / name).read_text(errors="replace"))]
    assert not found, f"these reach code by its path instead of importing it: {found}"
