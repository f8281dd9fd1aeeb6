"""The lab timing benchmark's machinery: busy neighbours that always go away, per-cell times from
a real kernel, the thread setting the kernel sees, and the verdict against the targets.
The figures themselves come from running benchmarks/bench_labs.py (docs/labs.md)."""

import importlib
import os
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # executes lab notebooks cell by cell

ROOT = Path(__file__).resolve().parents[2]


def _load(name):
    """A benchmark script as a module (benchmarks/ is on the tests' path: pyproject.toml)."""
    return importlib.import_module(name)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purpose
        return f.read().split(")")[-1].split()[0] != "Z"


def test_busy_neighbours_are_killed_even_on_an_error():
    neighbours = _load("neighbours")
    with pytest.raises(KeyError):
        with neighbours.busy_neighbours(2, max_seconds=60) as pids:
            assert len(pids) == 2 and all(alive(p) for p in pids)
            raise KeyError("interrupted")
    assert not any(alive(p) for p in pids)
    with pytest.raises(ValueError, match="0 or more"):
        with neighbours.busy_neighbours(-1):
            pass


def test_a_notebook_is_timed_cell_by_cell_beside_a_neighbour(tmp_path):
    bench = _load("bench_labs")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# a lab"),
        nbformat.v4.new_code_cell("import time\ntime.sleep(0.5)"),
        nbformat.v4.new_code_cell("import os, dllab\n"
                                  "print(os.environ.get('DLLAB_NUM_THREADS'), dllab.threads.info()['num_threads'])"),
        nbformat.v4.new_code_cell("open('made_here.txt', 'w').write('x')"),
    ])
    (tmp_path / "lab").mkdir()
    record = bench.run_notebook(nb, tmp_path / "lab", neighbours=1, threads="default", cell_timeout=60)
    assert record["status"] == "ok", record["status"]
    assert [c["index"] for c in record["cells"]] == [1, 2, 3]
    assert 0.5 <= record["cells"][0]["seconds"] < 10
    assert 0 <= record["cells"][0]["cpu_s"] < 0.3  # asleep: wall time, no CPU time
    assert record["cells"][1]["cpu_s"] > 0.01  # importing dllab works
    assert record["wall_s"] >= record["cells_s"] >= 0.5
    cores = str(os.cpu_count())
    assert nb.cells[2].outputs[0]["text"].split() == [cores, cores]  # 'default': one thread per core
    assert not (tmp_path / "lab" / "made_here.txt").exists()  # ran in a copy of the folder
    assert {"before", "mean", "max", "after"} <= set(record["load"])


def test_a_failing_cell_stops_the_run_and_says_why(tmp_path):
    bench = _load("bench_labs")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1/0"), nbformat.v4.new_code_cell("2")])
    (tmp_path / "lab").mkdir()
    record = bench.run_notebook(nb, tmp_path / "lab", neighbours=0, threads="1", cell_timeout=60)
    assert record["status"] == "error: ZeroDivisionError: division by zero"
    assert record["cells"][1]["seconds"] is None and record["cells"][1]["cpu_s"] is None
    assert record["cells"][0]["cpu_s"] is not None


def run(lab, neighbours, threads, cells, status="ok"):
    return {"lab": lab, "neighbours": neighbours, "threads": threads, "status": status, "date": "2026-11-30 10:00",
            "load": {"mean": 1.0 + neighbours, "max": 1.5 + neighbours},
            "cells": [{"index": i, "label": f"cell {i}", "seconds": s, "cpu_s": s / 2} for i, s in enumerate(cells)],
            "wall_s": sum(s for s in cells if s) + 2, "cpu_s": sum(s for s in cells if s) / 2}


def test_the_report_checks_the_targets():
    bench = _load("bench_labs")
    data = {"meta": {"date": "2026-11-30 10:00", "machine": "2 CPUs", "policy": "1 thread(s)", "cpu_count": 2},
            "runs": [run("lab2_mlp", 0, "policy", [1.0, 12.0, 3.0]), run("lab2_mlp", 1, "policy", [1.0, 25.0, 3.0]),
                     run("lab2_mlp", 1, "default", [1.0, 100.0, 3.0])]}
    text = bench.markdown(data)
    assert "* policy threads, 0 busy neighbours (1 labs): met" in text
    assert "* policy threads, 1 busy neighbours (1 labs): missed — lab2_mlp `cell 1` 25 s" in text
    assert "* default threads, 1 busy neighbours (1 labs): missed — lab2_mlp 106 s; lab2_mlp `cell 1` 100 s" in text
    assert "| lab2_mlp | `cell 1` | 12.0 | 25.0 | 100.0 |" in text
    assert "| lab2_mlp | 18 s (12 s) | 31 s (25 s) | 106 s (100 s) |" in text  # wall clock
    assert "| lab2_mlp | 8 s (6 s) | 14 s (12 s) | 52 s (50 s) |" in text  # CPU
