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
    # (A copy of the library and its unit tests alone, as mutation testing makes, has no course.)
    if not (Path(__file__).resolve().parents[1] / "grading" / "release.py").exists():
        return
    release = load_release()
    release.write_notebooks(release.all_labs())


# The fast lane (`make test-fast`, pytest -m "not slow") leaves out the files that start JupyterLab,
# a browser, a hub or nbgrader, execute the lab notebooks, or build environments; `make test` runs all.
SLOW_FILES = {
    "test_bench_labs.py": "executes lab notebooks cell by cell",
    "test_binder.py": "builds a clean environment from binder/ and runs repo2docker",
    "test_browser.py": "JupyterLab in headless Chromium",
    "test_grading.py": "nbgrader autograde in sandboxes",
    "test_grading_corpus.py": "nbgrader autograde of hostile hand-ins",
    "test_hub.py": "a class hub with attendees' servers",
    "test_hub_isolation.py": "a class hub as root with a Unix account per attendee",
    "test_lab_lessons.py": "every lab at its default size",
    "test_lab_sources.py": "the labs' jupytext scripts through nbgrader",
    "test_launch.py": "starts JupyterLab",
    "test_wrong_answers.py": "runs the labs with wrong answers",
}
# files that mix notebook runs with fast unit tests: only these tests are slow
SLOW_TESTS = {
    "test_labs.py": {"test_source_notebook_runs_at_ci_size", "test_source_notebooks_are_stable",
                     "test_release_is_up_to_date_with_the_sources"},
    "test_benchmarks.py": {"test_bench_gpu_smoke_run_on_the_cpu"},
    "test_collect.py": {"test_a_hostile_class_is_collected_and_graded", "test_graders_side_by_side_on_a_cold_cache"},
    "test_insight.py": {"test_the_debrief_page_counts_and_groups_the_class_mistakes"},
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if name in SLOW_FILES or getattr(item, "originalname", item.name) in SLOW_TESTS.get(name, ()):
            item.add_marker(pytest.mark.slow)
