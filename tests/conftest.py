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


def load_release():
    """grading/release.py as a module (the course folder is not a package)."""
    path = Path(__file__).resolve().parents[1] / "grading" / "release.py"
    spec = importlib.util.spec_from_file_location("dllab_release", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    # The instructor notebooks grading/source/<lab>/<lab>.ipynb are not committed: they are written
    # from the labs' jupytext scripts, as `python grading/release.py` does, before tests look for them.
    release = load_release()
    release.write_notebooks(release.all_labs())
