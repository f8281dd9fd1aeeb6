"""The Binder environment: its pins agree with pyproject.toml and with what is installed, and it works.

The slow test builds a clean virtual environment from binder/requirements.txt (no system
site-packages), runs binder/postBuild in it as Binder would, and executes lab 1's first cells
(everything before the first exercise) with that environment's kernel.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"
LAB1 = ROOT / "labs" / "lab1_logreg" / "lab1_logreg.ipynb"


def _binder_pins() -> dict:
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        spec = list(req.specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"binder/requirements.txt: pin {line!r} exactly (==)"
        pins[canonicalize_name(req.name)] = spec[0].version
    return pins


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _ranges(requirements) -> dict:
    return {canonicalize_name(Requirement(r).name): Requirement(r).specifier for r in requirements}


def test_binder_pins_every_runtime_dependency_within_pyproject_ranges():
    pins = _binder_pins()
    runtime = _ranges(_pyproject()["dependencies"])
    missing = sorted(set(runtime) - set(pins))
    assert not missing, f"binder/requirements.txt does not pin dllab's dependencies {missing}"
    for name, spec in runtime.items():
        assert spec.contains(pins[name]), f"binder pins {name}=={pins[name]} outside pyproject's range {spec}"


def test_binder_pins_agree_with_the_dev_extra_and_the_lab_tools():
    pins = _binder_pins()
    dev = _ranges(_pyproject()["optional-dependencies"]["dev"])
    for name in ("jupyterlab", "nbgrader", "ipykernel"):
        assert name in pins, f"binder/requirements.txt must pin {name}: Binder opens the labs in JupyterLab"
    for name, version in pins.items():
        if name in dev:
            assert dev[name].contains(version), f"binder pins {name}=={version} outside pyproject's {dev[name]}"


def test_binder_pins_are_the_versions_installed_here():
    """The pins are what this environment (`make test`'s .venv) resolved to and was tested with."""
    pins = _binder_pins()
    wrong, missing = {}, []
    for name, version in pins.items():
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:  # a pin nobody tests: fail, never skip
            missing.append(name)
            continue
        if installed != version:
            wrong[name] = f"binder {version}, installed {installed}"
    assert not missing, (f"binder/requirements.txt pins {missing}, which this environment does not have, so "
                         "those pins were never tested: install them (`make test` installs the [dev] extra with "
                         "binder/requirements.txt as constraints) or drop the pins")
    assert not wrong, f"binder/requirements.txt is out of step with the tested environment: {wrong}"


def test_binder_opens_the_labs_and_installs_dllab():
    post = (BINDER / "postBuild").read_text()
    assert os.access(BINDER / "postBuild", os.X_OK), "binder/postBuild must be executable"
    assert re.search(r"pip install .*-e \.", post), "postBuild must install dllab from the checkout"
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), f"binder/runtime.txt should read python-3.X, not {runtime!r}"
    assert SpecifierSet(_pyproject()["requires-python"]).contains(runtime.removeprefix("python-") + ".0")
    readme = (ROOT / "README.md").read_text()
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)]+\)", readme)
    assert badge and "urlpath=lab/tree/labs" in badge.group(0), "README needs a Binder badge that opens labs/"


def _first_cells(notebook: Path):
    """The code cells before the first exercise (nbgrader "solution" cell)."""
    cells = []
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            break
        cells.append("".join(cell["source"]))
    return cells


_RUN_CELLS = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
cells = json.loads(sys.argv[1])
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
NotebookClient(nb, timeout=300, kernel_name="python3").execute()
import dllab
print("ran", len(cells), "cells with dllab", dllab.__version__, "from", dllab.__file__)
"""


@pytest.mark.slow
@pytest.mark.skipif(not LAB1.exists(), reason="lab 1 is not written yet")
def test_clean_venv_from_binder_requirements_runs_lab1(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = dict(os.environ, PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-compile", "-r",
                          str(BINDER / "requirements.txt")],
                         check=False, env=env, capture_output=True, text=True)
    assert pip.returncode == 0, \
        f"pip install -r binder/requirements.txt failed:\n{pip.stdout[-2000:]}{pip.stderr[-3000:]}"
    post = subprocess.run(["bash", str(BINDER / "postBuild")], check=False, cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert post.returncode == 0, f"binder/postBuild failed:\n{post.stdout[-2000:]}{post.stderr[-3000:]}"
    assert "nbgrader" in post.stdout and "jupyterlab-manager" in post.stdout, post.stdout
    cells = _first_cells(LAB1)
    assert cells, "lab 1 has no set-up cells before its first exercise"
    run = subprocess.run([str(py), "-c", _RUN_CELLS, json.dumps(cells)], check=False, cwd=LAB1.parent,
                         env=dict(env, CI="true", MPLBACKEND="Agg"), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"lab 1's first cells failed in the Binder environment:\n{run.stderr[-4000:]}"
    assert f"from {ROOT / 'dllab'}" in run.stdout, run.stdout  # the checkout's dllab, as on Binder


def _repo2docker():
    exe = Path(sys.executable).parent / "jupyter-repo2docker"
    if not exe.exists():
        pytest.skip("jupyter-repo2docker is not installed: `make test` installs the [hub] extra")
    return exe


def test_repo2docker_reads_the_attendees_copy_as_intended(tmp_path):
    """What Binder and the class hub's image build from: repo2docker's Dockerfile, without Docker.

    `jupyter-repo2docker --no-build --debug` prints the Dockerfile it would build from the attendees'
    copy (grading/attendees_copy.py): Python from runtime.txt, binder/requirements.txt, postBuild, files
    owned by the attendee's uid, and a jupyterhub-singleuser that the Kubernetes hub speaks to. The
    options are those of deploy/jupyterhub/README.md's image build (--target-repo-dir keeps the
    repository out of /home/jovyan, where Kubernetes mounts the attendee's volume).
    """
    from grading import attendees_copy
    copy = attendees_copy.build(tmp_path / "attendees")
    run = subprocess.run([str(_repo2docker()), "--no-build", "--no-run", "--debug", "--user-id", "1000",
                          "--user-name", "jovyan", "--target-repo-dir", "/srv/repo", str(copy)],
                         check=False, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"))
    out = run.stdout + run.stderr
    assert run.returncode == 0, f"repo2docker could not read binder/:\n{out[-3000:]}"
    python = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    assert f"Building conda environment for python={python}" in out, out[:2000]
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in out, "binder/requirements.txt is not used"
    assert "RUN ./binder/postBuild" in out, "binder/postBuild is not run"
    assert "COPY --chown=1000:1000 " in out, "the image's files should belong to the attendee's uid 1000"

    # the image's jupyterhub-singleuser (repo2docker's base environment; binder/ must not replace it)
    # speaks to the Kubernetes hub: same major version as the chart's JupyterHub (deploy/jupyterhub/config.yaml)
    assert "jupyterhub" not in _binder_pins(), "binder/requirements.txt must not pin jupyterhub (see config.yaml)"
    # the lock file of repo2docker's base environment, as the Dockerfile names it (an escaped path)
    lock = re.search(r"COPY --chown=\S+ build_script_files/(\S+)-[0-9a-f]{6} /tmp/env/environment.lock", out)
    assert lock, "repo2docker's Dockerfile no longer names its environment lock file"
    lock_path = Path(re.sub(r"-([0-9a-f]{2})", lambda m: chr(int(m.group(1), 16)), lock.group(1)))
    assert lock_path.is_file(), lock_path
    singleuser = re.search(r"/jupyterhub-singleuser-(\d+)\.(\d+)\.(\d+)-", lock_path.read_text())
    chart = re.search(r"JupyterHub (\d+)\.(\d+)\.(\d+)", (ROOT / "deploy" / "jupyterhub" / "config.yaml").read_text())
    assert singleuser and chart, "cannot tell the image's or the chart's JupyterHub version"
    assert singleuser.group(1) == chart.group(1), \
        f"the image has jupyterhub-singleuser {singleuser.group(0)}, the chart JupyterHub {chart.group(0)}"
