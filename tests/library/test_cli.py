"""The `dllab` console script as a user runs it: a separate process, its output and exit code.

`make demo` runs `dllab demo`; here it trains on a small subset so the test stays short.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def dllab_script():
    """The console script pip installed beside this Python (`make test` installs dllab editable)."""
    script = Path(sys.executable).parent / "dllab"
    found = script if script.exists() else shutil.which("dllab")
    assert found, (f"the `dllab` console script is not installed beside {sys.executable}: "
                   "`pip install -e .` (or `make test`) installs it from pyproject's [project.scripts]")
    return str(found)


def run(*args, env=None, timeout=300):
    environ = dict(os.environ, DLLAB_DEVICE="cpu", OPENBLAS_NUM_THREADS="1", CI="true", **(env or {}))
    return subprocess.run([dllab_script(), *args], capture_output=True, text=True, timeout=timeout, env=environ)


def test_the_console_script_lists_its_commands():
    out = run("--help")
    assert out.returncode == 0, out.stderr
    for command in ("doctor", "data", "demo"):
        assert command in out.stdout
    bad = run("train")
    assert bad.returncode == 2 and "invalid choice: 'train'" in bad.stderr


def test_the_console_script_verifies_the_data(tmp_path):
    out = run("data")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all data files verified" in out.stdout
    out = run("data", env={"DLLAB_DATA": str(tmp_path)})  # an empty folder: every file missing
    assert out.returncode == 1
    assert "file is missing" in out.stdout and "problem(s)" in out.stdout


def test_the_demo_trains_both_models_and_reports_test_accuracy(tmp_path):
    out = run("demo", "--subset", "2000", "--epochs", "2", env={"DLLAB_CACHE": str(tmp_path / "cache")})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "mnist-train-2000" in out.stdout and "epoch 2/2" in out.stdout
    accuracies = [float(line.split("test accuracy ")[1].split("%")[0]) for line in out.stdout.splitlines()
                  if "test accuracy" in line]
    assert len(accuracies) == 2  # logistic regression, then the fully connected net
    assert all(a > 70 for a in accuracies), out.stdout  # 2000 images, two epochs: 80 % and 86 % (chance: 10 %)


@pytest.mark.parametrize("subset", ["0", "many"])
def test_the_demo_refuses_a_bad_subset(subset):
    out = run("demo", "--subset", subset)
    assert out.returncode != 0
    assert "subset" in out.stderr
