import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("DLLAB_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed_dllab():
    import dllab

    dllab.seed(0)
    yield


def load_script(path, name):
    """A script outside any package (assets/data/<set>/make_*.py) as a module: the one place tests load
    code by its path."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    # The instructor notebooks grading/source/<lab>/<lab>.ipynb are not committed: they are written
    # from the labs' jupytext scripts, as `python -m grading release` does, before tests look for them.
    # (A copy of the library and its unit tests alone, as mutation testing makes, has no course.)
    if not (Path(__file__).resolve().parents[1] / "grading" / "release.py").exists():
        return
    from grading import release

    release.write_notebooks(release.all_labs())


# Tests live by area: library/ (dllab itself), labs/ (the notebooks and their checks), grading/
# (the instructor's side), deploy/ (JupyterLab, the browser, the hub, Binder) and project/ (lint,
# benchmarks' machinery, the suite's own rules). The fast lane (`make test-fast`, -m "not slow")
# leaves out what starts JupyterLab, a browser, a hub or nbgrader, executes the lab notebooks or
# builds environments: every test under deploy/, and elsewhere the files and tests marked
# ``slow`` where they are defined (``pytestmark = pytest.mark.slow`` or ``@pytest.mark.slow``).
SLOW_FOLDERS = ("deploy",)


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).resolve().parent
    for item in items:
        if item.path.relative_to(tests).parts[0] in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)
