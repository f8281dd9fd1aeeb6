"""Every CUDA kernel compiles for float and double (nvcc, no GPU needed).

The GPU itself is exercised by tests/library/test_kernels.py, which skips without one; this test
catches syntax and type errors in the .cu sources on any machine that has nvcc.
"""

import shutil
import subprocess

import pytest

from dllab import kernels

NVCC = shutil.which("nvcc")


@pytest.mark.skipif(NVCC is None, reason="nvcc (the CUDA compiler) is not installed on this machine")
@pytest.mark.parametrize("source", sorted(kernels.KERNELS))
def test_kernel_source_compiles(source, tmp_path):
    code = kernels.source_code(source)
    # taking each instantiation's address forces nvcc to compile the template bodies
    keep = ", ".join(f"(const void*)&{k}<{t}>" for k in kernels.KERNELS[source] for t in kernels.C_TYPES.values())
    (tmp_path / "k.cu").write_text(code + f"\nconst void* instantiate_all[] = {{{keep}}};\n")
    out = subprocess.run([NVCC, "-std=c++14", "--ptx", "-arch=sm_80", "-Werror", "all-warnings",
                          "-o", str(tmp_path / "k.ptx"), str(tmp_path / "k.cu")],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    ptx = (tmp_path / "k.ptx").read_text()
    for name in kernels.KERNELS[source]:
        assert name in ptx, f"{name} missing from the compiled module"


def test_every_kernel_has_a_source():
    for source, names in kernels.KERNELS.items():
        code = kernels.source_code(source)
        for name in names:
            assert f"void {name}(" in code, f"{name} is not defined in {source}.cu"


def test_an_installed_package_ships_every_file_the_kernels_read(monkeypatch):
    """A wheel holds only the package data pyproject.toml names: every file source_code() opens
    (each .cu and the header it inlines) must match those patterns (a wheel once lacked common.cuh)."""
    import fnmatch
    from pathlib import Path

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")

    from dllab.kernels import compile as kernel_compile

    pyproject = Path(kernels.__file__).resolve().parents[2] / "pyproject.toml"
    patterns = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["package-data"]["dllab.kernels"]
    opened = []
    real_read = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: opened.append(self.name) or real_read(self, *a, **k))
    for source in kernels.KERNELS:
        kernel_compile.source_code(source)
    missing = sorted({name for name in opened if not any(fnmatch.fnmatch(name, p) for p in patterns)})
    assert opened and not missing, f"pyproject.toml's package-data for dllab.kernels leaves out {missing}"
