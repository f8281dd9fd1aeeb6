"""The GPU benchmark script stays runnable where there is no GPU to time it on.

A smoke run on the CPU (one step per round) and the refusal without a GPU; the figures
themselves come from `benchmarks/gpu_check.sh` on a GPU machine (docs/benchmarks.md).
"""

import json
from pathlib import Path

import pytest

from dllab import backend

ROOT = Path(__file__).resolve().parents[2]


def _load():
    import bench_gpu  # benchmarks/ is on the tests' path (pyproject.toml)

    return bench_gpu


@pytest.mark.slow
def test_bench_gpu_smoke_run_on_the_cpu(tmp_path, capsys):
    bench = _load()
    rc = bench.main(["--devices", "cpu", "--steps", "1", "--cpu-steps", "1", "--rounds", "1", "--warmup", "1",
                     "--workloads", "lenet", "lstm_solar", "--json", str(tmp_path / "g.json"),
                     "--markdown", str(tmp_path / "g.md")])
    backend.set_device("cpu")
    assert rc == 0
    data = json.loads((tmp_path / "g.json").read_text())
    assert [r["workload"] for r in data["results"]] == ["lenet", "lstm_solar"]
    for r in data["results"]:
        assert r["samples_per_s"]["dllab cpu"] > 0
        assert all(v == v and abs(v) < 1e6 for v in r["final_loss"].values()), r["final_loss"]
    assert "| LeNet, SGD momentum 0.9, MNIST | 256 |" in (tmp_path / "g.md").read_text()


@pytest.mark.skipif(backend.gpu_available(), reason="a GPU is usable here")
def test_bench_gpu_says_why_without_a_gpu(capsys):
    assert _load().main([]) == 2
    assert "no usable GPU" in capsys.readouterr().err
