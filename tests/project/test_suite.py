"""The test suite's own rules: no file is skipped whole for want of PyTorch unless it only holds
PyTorch-oracle tests; tests live by area; what starts notebooks, nbgrader, JupyterLab or a hub is
marked slow, so the fast lane leaves it out."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
AREAS = {"library", "labs", "grading", "deploy", "project"}


def module_level_importorskips(path):
    """Names given to pytest.importorskip at a file's top level (which skips the whole file)."""
    names = []
    for node in ast.parse(path.read_text()).body:
        value = getattr(node, "value", None)
        if isinstance(value, ast.Call) and getattr(value.func, "attr", None) == "importorskip" and value.args:
            arg = value.args[0]
            if isinstance(arg, ast.Constant):
                names.append(arg.value)
    return names


def test_only_pytorch_oracle_files_are_skipped_whole_without_pytorch():
    offenders = [p.name for p in sorted(TESTS.glob("*/test_*.py"))
                 if "torch" in module_level_importorskips(p) and not p.stem.endswith("_pytorch")]
    assert not offenders, (f"{offenders} skip every test in the file when PyTorch is missing: move the "
                           "PyTorch-oracle tests to a test_<module>_pytorch.py file, or importorskip inside them")


def test_every_test_file_lives_in_an_area():
    stray = [p.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py")
             if p.relative_to(TESTS).parts[0] not in AREAS]
    assert not stray, f"test files outside tests/{{{','.join(sorted(AREAS))}}}/: {stray}"


# What makes a test slow: it runs a notebook, nbgrader, JupyterLab, a browser or a hub.
SLOW_SIGNS = ("papermill", "execute_notebook", "playwright", "jupyterhub", "run_readme",
              "graded_class", "repo2docker")


def test_tests_that_run_notebooks_or_servers_are_marked_slow(request):
    """A test that starts one of the slow tools falls into the fast lane only if it is unmarked: every
    collected test whose own source names one of them carries the ``slow`` marker."""
    import inspect

    unmarked = []
    for item in request.session.items:
        function = getattr(item, "function", None)
        if function is None or item.get_closest_marker("slow"):
            continue
        source = inspect.getsource(function)
        signs = [s for s in SLOW_SIGNS if s in source]
        if signs:
            unmarked.append(f"{item.nodeid} ({', '.join(signs)})")
    assert not unmarked, ("these tests start notebooks, nbgrader or servers but are not marked slow "
                          f"(@pytest.mark.slow): {unmarked}")


def test_everything_under_deploy_is_slow(request):
    deploy = [item for item in request.session.items if item.path.relative_to(TESTS).parts[0] == "deploy"]
    assert all(item.get_closest_marker("slow") for item in deploy)
