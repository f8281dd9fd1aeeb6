"""An instructor edits a lab as a notebook: JupyterLab's server opens the jupytext script as a
notebook, and saving it writes the script and the paired .ipynb that nbgrader reads.

Drives a real Jupyter server (127.0.0.1, a free port) through the contents API, exactly what
JupyterLab's "Open With > Notebook" and Ctrl+S do.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # the labs' jupytext scripts through nbgrader

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "grading" / "source"

pytest.importorskip("jupytext", reason="jupytext is in the dev extra (`make test` installs it)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(url, method="GET", body=None, token="t"):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


@pytest.fixture
def server(tmp_path):
    """A Jupyter server on a copy of grading/source (jupytext's server extension loads by itself)."""
    course = tmp_path / "source"
    shutil.copytree(SOURCE, course, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_DATA_DIR=str(tmp_path / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    proc = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
                             "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=t", "--allow-root",
                             f"--ServerApp.root_dir={course}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _api(f"{base}/api/status")
                break
            except OSError as error:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Jupyter server did not start: "
                                       + proc.stderr.read().decode()[-2000:]) from error
                time.sleep(0.3)
        yield base, course
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_lab_script_opens_and_saves_as_a_notebook(server):
    base, course = server
    url = f"{base}/api/contents/lab1_logreg/lab1_logreg.py"
    model = _api(url + "?type=notebook&content=1")
    assert model["type"] == "notebook"
    nb = nbformat.from_dict(model["content"])
    graded = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert "softmax" in graded and "test_softmax" in graded, "nbgrader's metadata is read from the # %% lines"

    # the instructor changes one sentence and saves (Ctrl+S)
    first = nb.cells[0]
    first.source = first.source.replace("A first classifier", "A first, honest classifier")
    _api(url, "PUT", {"type": "notebook", "format": "json", "content": nb})

    text = (course / "lab1_logreg" / "lab1_logreg.py").read_text()
    assert "A first, honest classifier" in text
    original = (SOURCE / "lab1_logreg" / "lab1_logreg.py").read_text()
    changed = [a for a, b in zip(text.splitlines(), original.splitlines()) if a != b]
    assert len(changed) == 1 and len(text.splitlines()) == len(original.splitlines()), \
        "saving changed more than the edited line: the script would churn on every save"
    paired = nbformat.read(course / "lab1_logreg" / "lab1_logreg.ipynb", as_version=4)
    assert "A first, honest classifier" in paired.cells[0].source, "the paired notebook nbgrader reads is saved too"
