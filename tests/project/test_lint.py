"""The code passes the project's lint rules (ruff, configured in pyproject.toml; `make lint`)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_finds_nothing():
    pytest.importorskip("ruff", reason="ruff is not installed (it is in the dev extra: `make test` installs it)")
    # the grading package's modules and subpackages, and the labs' scripts, not what grading writes beside them
    grading = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "grading").glob("*.py"))
    grading += sorted(str(p.parent.relative_to(ROOT)) for p in (ROOT / "grading").glob("*/__init__.py"))
    targets = ["dllab", "tests", "benchmarks", *grading, "grading/source", "deploy", "tools"]  # source: the labs
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *targets], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, f"ruff found problems (fix them, or `make lint` to see them):\n{out.stdout}{out.stderr}"
