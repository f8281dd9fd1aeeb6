import subprocess
import sys

import numpy as np
import pytest

import dllab as dl
from dllab import backend, cli


def test_cpu_backend_is_numpy():
    assert backend.set_device("cpu") == "cpu"
    assert backend.xp() is np
    assert backend.array_module(np.zeros(2)) is np


def test_auto_falls_back_to_cpu_without_a_gpu():
    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    assert backend.set_device("auto") == "cpu"
    assert backend.gpu_unavailable_reason()
    backend.set_device("cpu")


def test_gpu_request_without_gpu_says_how_to_install():
    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(backend.DeviceError, match=r'pip install "dllab\[gpu\]"'):
        backend.set_device("gpu")
    assert backend.get_device() == "cpu"


def test_unknown_device():
    with pytest.raises(backend.DeviceError, match="unknown device 'tpu'"):
        backend.set_device("tpu")


def test_env_variable_selects_device():
    code = "import dllab; print(dllab.get_device())"
    out = subprocess.run([sys.executable, "-c", code], env={"DLLAB_DEVICE": "cpu", "PATH": ""},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "cpu"
    bad = subprocess.run([sys.executable, "-c", code], env={"DLLAB_DEVICE": "gpu", "PATH": ""},
                         capture_output=True, text=True)
    if not backend.gpu_available():
        assert bad.returncode != 0 and "dllab[gpu]" in bad.stderr


def test_seed_makes_weights_reproducible():
    dl.seed(5)
    a = dl.Dense(3, in_features=4).W.data.copy()
    dl.seed(5)
    b = dl.Dense(3, in_features=4).W.data
    np.testing.assert_array_equal(a, b)


def test_doctor_reports_versions_device_and_data(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for word in ("dllab", "numpy", "device", "gpu", "data", "mnist", "all good"):
        assert word in out
    assert out.count("ok ") >= 9
    threads = dl.threads.info()  # the thread count in force, why, and each BLAS library's count
    line = next(line for line in out.splitlines() if line.startswith("threads"))
    assert threads["source"] in line and "DLLAB_NUM_THREADS=n" in line
    assert f"{threads['libraries'][0]['internal_api']} {threads['libraries'][0]['num_threads']}" in line


def test_doctor_flags_a_corrupt_file(tmp_path, monkeypatch, capsys):
    from dllab.data import data_dir

    for sub in ("mnist", "fashion-mnist", "iot-solar"):
        (tmp_path / sub).mkdir()
        for f in (data_dir() / sub).iterdir():
            (tmp_path / sub / f.name).symlink_to(f)
    bad = tmp_path / "iot-solar" / "solar.csv"
    bad.unlink()
    bad.write_text("time,solar.current,solar.total\n")
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path))
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "BAD" in out and "solar.csv" in out and "problems found" in out
    assert cli.main(["data"]) == 1


def test_console_script_is_installed():
    exe = dl.__file__.rsplit("/dllab/", 1)[0]
    out = subprocess.run([sys.executable, "-m", "dllab.cli", "--help"], capture_output=True, text=True, cwd=exe)
    assert out.returncode == 0 and "doctor" in out.stdout
