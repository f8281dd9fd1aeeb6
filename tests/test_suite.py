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
