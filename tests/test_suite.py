"""The test suite's own rules: no file is skipped whole for want of PyTorch unless it only holds
PyTorch-oracle tests, and the fast lane leaves out exactly the slow files."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


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
    offenders = [p.name for p in sorted(TESTS.glob("test_*.py"))
                 if "torch" in module_level_importorskips(p) and not p.stem.endswith("_pytorch")]
    assert not offenders, (f"{offenders} skip every test in the file when PyTorch is missing: move the "
                           "PyTorch-oracle tests to a test_<module>_pytorch.py file, or importorskip inside them")


def test_the_slow_files_exist_and_their_tests_are_marked(request):
    """A renamed slow file would fall silently into the fast lane: every name listed must exist."""
    import conftest

    missing = [name for name in [*conftest.SLOW_FILES, *conftest.SLOW_TESTS] if not (TESTS / name).exists()]
    assert not missing, f"tests/conftest.py lists slow files that do not exist: {missing}"
    for name, tests in conftest.SLOW_TESTS.items():
        source = (TESTS / name).read_text()
        absent = [t for t in tests if f"def {t}(" not in source]
        assert not absent, f"tests/conftest.py lists slow tests that {name} does not define: {absent}"
    marked = {item.path.name for item in request.session.items if item.get_closest_marker("slow")}
    collected = {item.path.name for item in request.session.items}
    assert set(conftest.SLOW_FILES) & collected <= marked
