"""What `make lab` opens: JupyterLab 4 with the nbgrader and widget extensions enabled and working.

Runs the environment's own `jupyter` commands (the ones `make lab` starts), so a missing or
broken extension shows here before an attendee sees a lab without its assignment list or widgets.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
JUPYTER = BIN / "jupyter"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.skipif(not JUPYTER.exists(),
                                reason=f"no jupyter next to {sys.executable} (run `make test`)")


def _jupyter(*args) -> str:
    env = dict(os.environ, NO_COLOR="1", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(JUPYTER), *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False)
    assert proc.returncode == 0, f"`jupyter {' '.join(args)}` failed:\n{proc.stdout}\n{proc.stderr}"
    return ANSI.sub("", proc.stdout + proc.stderr)


def _enabled_ok(listing: str) -> dict:
    """{extension name: "enabled OK" line} from a `jupyter ... extension list` listing."""
    found = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and "enabled" in parts:
            found[parts[0]] = line.strip()
    return found


def test_jupyterlab_4_with_the_nbgrader_and_widget_extensions():
    listing = _jupyter("labextension", "list")
    version = re.search(r"JupyterLab v(\d+)\.", listing)
    assert version and version.group(1) == "4", f"make lab must open JupyterLab 4.x; got:\n{listing}"
    found = _enabled_ok(listing)
    for name in ("@jupyter/nbgrader", "@jupyter-widgets/jupyterlab-manager", "anywidget"):
        assert name in found, f"lab extension {name} is not enabled:\n{listing}"
        assert "OK" in found[name], f"lab extension {name} is enabled but broken: {found[name]}"


def test_nbgrader_server_extensions_are_enabled():
    listing = _jupyter("server", "extension", "list")
    for name in ("jupyterlab", "nbgrader.server_extensions.formgrader",
                 "nbgrader.server_extensions.assignment_list"):
        assert name in _enabled_ok(listing), f"server extension {name} is not enabled:\n{listing}"
    assert "X " not in listing and "error" not in listing.lower(), f"an extension failed to load:\n{listing}"


def test_the_attendees_view_hides_the_instructor_panels(monkeypatch):
    """make lab (and Binder) disable nbgrader's instructor plugins; the plain environment keeps them."""
    root = Path(__file__).resolve().parents[2]
    attendee = root / "binder" / "attendee"
    hidden = {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader",
              "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:menu"}
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(attendee))
    listing = _jupyter("labextension", "list")
    disabled = set(listing.split("Disabled extensions:", 1)[1].split()) if "Disabled extensions:" in listing else set()
    assert hidden <= disabled, f"the attendees' view still shows {hidden - disabled}:\n{listing}"
    assert "@jupyter/nbgrader:validate-assignment" not in disabled, "attendees keep the Validate button"
    monkeypatch.delenv("JUPYTER_CONFIG_PATH")
    assert "nbgrader:formgrader" not in _jupyter("labextension", "list"), "the instructor's view lost formgrader"
    makefile = (root / "Makefile").read_text()
    assert "JUPYTER_CONFIG_PATH=$(CURDIR)/binder/attendee" in makefile, "make lab must start the attendees' view"
