"""Wall time of every cell of every lab at its default size, quiet and beside busy neighbours.

Each instructor notebook (built from `grading/source/<lab>/<lab>.py` by `python -m grading release`'s
`notebook()`, so whatever the lab holds today) is executed with nbclient in a fresh kernel, in a
temporary copy of its folder, as an attendee runs it: default parameters, CPU, progress bars on.
A cell's time is nbclient's record of it (`execution` metadata: from `iopub.execute_input` to
`shell.execute_reply`); the lab's total is the sum over its cells plus the kernel's start.

Conditions: `--neighbours` (processes spinning on a core each, started before the kernel and
killed after it, see neighbours.py) times `--threads`: `policy` (what `import dllab` chooses,
dllab/threads.py) and `default` (DLLAB_NUM_THREADS set to the core count: NumPy's own default of
one OpenBLAS thread per core). The load average is sampled during each run and reported beside it,
because other work on the machine counts as neighbours too.

    python benchmarks/bench_labs.py                                    # all labs, 0/1/2 neighbours, both policies
    python benchmarks/bench_labs.py --labs lab2_mlp --neighbours 1 --threads policy default
    python benchmarks/bench_labs.py --json benchmarks/results/labs.json --markdown benchmarks/results/labs.md
    python benchmarks/bench_labs.py --merge benchmarks/results/labs.json ...   # add runs to an earlier file

Targets (docs/labs.md): every cell under 20 s and every lab under 90 s on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from neighbours import LoadSampler, busy_neighbours  # this folder: a script's own path, or pytest's

from grading import release

ROOT = Path(__file__).resolve().parents[1]
CELL_TARGET_S, LAB_TARGET_S = 20.0, 90.0
THREAD_VARIABLES = ("DLLAB_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def all_labs():
    return release.all_labs()


def cell_label(cell, limit=60):
    """A short name for a cell: its nbgrader id, else its first comment or line of code."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    lines = [ln.strip() for ln in cell.source.splitlines() if ln.strip()]
    first = lines[0] if lines else "(empty)"
    text = f"{grade_id}: {first}" if grade_id else first
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell_seconds(cell):
    """Seconds nbclient recorded for one executed cell (None when it did not finish)."""
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def kernel_environment(folder: Path, threads: str) -> dict:
    """Variables for the kernel: 'python3' is this interpreter; the thread choice under test; CPU only."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (dllab bench)", "language": "python"}))
    env = {"JUPYTER_PATH": str(folder), "DLLAB_DEVICE": "cpu", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
           # the instructor notebooks run their hidden tests too: they need the grader's answer keys
           "DLLAB_ANSWER_KEYS": "grading.answer_keys"}
    if threads == "default":
        env["DLLAB_NUM_THREADS"] = str(os.cpu_count() or 1)  # what OpenBLAS starts without dllab
    elif threads != "policy":
        env["DLLAB_NUM_THREADS"] = threads  # a fixed count, e.g. "1"
    return env


@contextlib.contextmanager
def environment(values: dict, remove=()):
    """os.environ with ``values`` set and ``remove`` unset for the block (the kernel inherits it)."""
    saved = {k: os.environ.get(k) for k in set(values) | set(remove)}
    for k in remove:
        os.environ.pop(k, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_lab(lab, neighbours, threads, cell_timeout=120):
    """Execute ``lab`` (its notebook as grading/release.py builds it) once under one condition."""
    nb = release.notebook(lab)
    record = run_notebook(nb, ROOT / "grading" / "source" / lab, neighbours, threads, cell_timeout)
    return {"lab": lab, **record}


# Run before the lab (not timed): IPython's cell events record the kernel's CPU seconds per cell
# (all its threads: with one BLAS thread about what the cell takes on a quiet core).
CPU_PROBE = """import time as _bench_time
_bench_cpu, _bench_c0 = [], _bench_time.process_time()
def _bench_pre(info):
    global _bench_c0
    _bench_c0 = _bench_time.process_time()
def _bench_post(result):
    _bench_cpu.append(_bench_time.process_time() - _bench_c0)
get_ipython().events.register("pre_run_cell", _bench_pre)
get_ipython().events.register("post_run_cell", _bench_post)"""
CPU_REPORT = "print(*_bench_cpu[1:])"  # the first entry is the probe cell itself


def run_notebook(nb, folder, neighbours, threads, cell_timeout=120):
    """Execute ``nb`` in a fresh kernel, in a temporary copy of ``folder``; the record of the run.

    The notebook's cells get nbclient's timing metadata; the record has each code cell's wall and
    CPU seconds (None for cells not reached), the load during the run and whether it finished.
    """
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    record = {"neighbours": neighbours, "threads": threads, "date": time.strftime("%Y-%m-%d %H:%M"),
              "status": "ok", "cells": []}
    probe, report = nbformat.v4.new_code_cell(CPU_PROBE), nbformat.v4.new_code_cell(CPU_REPORT)
    run = nbformat.v4.new_notebook(cells=[probe, *nb.cells, report], metadata=nb.metadata)
    cpu = []
    with tempfile.TemporaryDirectory(prefix="bench_lab_") as tmp:
        tmp = Path(tmp)
        work = tmp / Path(folder).name
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
        env = kernel_environment(tmp / "jupyter", threads)
        client = nbclient.NotebookClient(run, timeout=cell_timeout, kernel_name="python3", record_timing=True,
                                         interrupt_on_timeout=True, resources={"metadata": {"path": str(work)}})
        remove = THREAD_VARIABLES + ("NBGRADER_EXECUTION", "CI", "MPLBACKEND")
        with environment(env, remove), busy_neighbours(neighbours, max_seconds=len(nb.cells) * cell_timeout + 120), \
                LoadSampler(every=2.0) as load:
            start = time.perf_counter()
            try:
                with client.setup_kernel():
                    client.execute_cell(probe, 0)
                    try:
                        for index, cell in enumerate(nb.cells, start=1):
                            client.execute_cell(cell, index)
                    except CellTimeoutError:
                        record["status"] = f"a cell ran over {cell_timeout} s"
                    except CellExecutionError as exc:
                        if "KeyboardInterrupt" in str(exc):
                            record["status"] = f"a cell ran over {cell_timeout} s"
                        else:
                            last = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()[-1]
                            record["status"] = f"error: {last[:200]}"
                    wall = time.perf_counter() - start
                    client.execute_cell(report, len(run.cells) - 1)
                    text = "".join(o.get("text", "") for o in report.outputs if o.output_type == "stream")
                    cpu = [float(x) for x in text.split()]
            except DeadKernelError as exc:
                wall = time.perf_counter() - start
                record["status"] = f"error: the kernel died ({exc})"
    record["load"] = load.summary()
    ran = iter(cpu)  # one figure per cell the kernel ran, in order (nbclient skips empty cells)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        seconds = cell_seconds(cell)
        executed = "execution" in cell.metadata
        if seconds is None and executed and record["status"] != "ok":
            seconds = cell_timeout  # the cell that was stopped
        cpu_s = next(ran, None) if executed else None
        record["cells"].append({"index": i, "label": cell_label(cell), "seconds": seconds,
                                "cpu_s": None if cpu_s is None else round(cpu_s, 3)})
    finished = [c["seconds"] for c in record["cells"] if c["seconds"] is not None]
    record["cells_s"] = round(sum(finished), 2)
    record["cpu_s"] = round(sum(c["cpu_s"] for c in record["cells"] if c["cpu_s"] is not None), 2)
    record["wall_s"] = round(wall, 2)  # from the kernel's start to the last cell's end
    return record


def _s(x):
    return "–" if x is None else f"{x:.1f}"


def pivot(data, measure="wall") -> list[str]:
    """One row per lab, one column per condition: lab total and slowest cell, wall or CPU seconds."""
    cell_key, total_key = ("seconds", "wall_s") if measure == "wall" else ("cpu_s", "cpu_s")
    runs = data["runs"]
    labs = list(dict.fromkeys(r["lab"] for r in runs))
    conditions = sorted({(r["neighbours"], r["threads"]) for r in runs}, key=lambda c: (c[0], c[1] != "policy", c))
    find = {(r["lab"], r["neighbours"], r["threads"]): r for r in runs}
    head = [f"+{n} busy, {t}" for n, t in conditions]
    what = "wall clock" if measure == "wall" else "kernel CPU"
    lines = [f"| {what}: lab total (slowest cell) | " + " | ".join(head) + " |", "| --- |" + " --- |" * len(head)]
    for lab in labs:
        row = []
        for n, t in conditions:
            r = find.get((lab, n, t))
            if r is None:
                row.append("–")
                continue
            worst = max((c.get(cell_key) for c in r["cells"] if c.get(cell_key) is not None), default=0)
            mark = "" if r["status"] == "ok" else " stopped"
            total = r.get(total_key)
            row.append("–" if total is None else f"{total:.0f} s ({worst:.0f} s){mark}")
        lines.append(f"| {lab} | " + " | ".join(row) + " |")
    loads = []
    for n, t in conditions:
        means = [r["load"]["mean"] for r in runs if r["neighbours"] == n and r["threads"] == t]
        loads.append(f"{min(means):.1f}–{max(means):.1f}" if means else "–")
    lines.append("| load average during the runs | " + " | ".join(loads) + " |")
    return lines


def markdown(data) -> str:
    runs = data["runs"]
    labs = list(dict.fromkeys(r["lab"] for r in runs))
    conditions = sorted({(r["neighbours"], r["threads"]) for r in runs}, key=lambda c: (c[1] != "policy", c))
    dates = sorted(r.get("date", data["meta"]["date"]) for r in runs)
    when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    out = [f"Measured {when} on {data['meta']['machine']}; "
           f"policy = {data['meta']['policy']}; default = DLLAB_NUM_THREADS={data['meta']['cpu_count']} "
           "(NumPy's OpenBLAS default of one thread per core). +n busy: n spinning processes added by the "
           "benchmark. Load: the 1-minute load average during the run (mean, max), which counts every other "
           "job on the machine too; a quiet 2-core machine shows about 1 with a lab running.", "",
           *pivot(data), "", *pivot(data, "cpu"), "",
           "### Per lab: wall time (kernel start to end), slowest cell", "",
           "| lab | threads | busy neighbours | load (mean, max) | lab total | slowest cell | status |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
    for lab in labs:
        for neighbours, threads in conditions:
            for r in (r for r in runs if r["lab"] == lab and r["neighbours"] == neighbours and r["threads"] == threads):
                timed = [c for c in r["cells"] if c["seconds"] is not None]
                worst = max(timed, key=lambda c: c["seconds"]) if timed else None
                slow = f"{worst['seconds']:.1f} s (`{worst['label']}`)" if worst else "–"
                total = f"{r['wall_s']:.1f} s" + ("" if r["status"] == "ok" else " (stopped)")
                out.append(f"| {lab} | {threads} | {neighbours} | {r['load']['mean']:.1f}, {r['load']['max']:.1f} | "
                           f"{total} | {slow} | {r['status']} |")
    out += ["", "### Slowest cells (seconds; the three slowest of each lab under any condition)", ""]
    names = [f"{t}, {n} busy" for n, t in conditions]
    out += ["| lab | cell | " + " | ".join(names) + " |", "| --- | --- | " + " | ".join("---" for _ in names) + " |"]
    for lab in labs:
        lab_runs = [r for r in runs if r["lab"] == lab]
        worst = {}
        for r in lab_runs:
            for c in r["cells"]:
                if c["seconds"] is not None:
                    worst[c["index"]] = max(worst.get(c["index"], 0), c["seconds"])
        for index in sorted(worst, key=worst.get, reverse=True)[:3]:
            row, label = [], ""
            for neighbours, threads in conditions:
                cells = [c for r in lab_runs if r["neighbours"] == neighbours and r["threads"] == threads
                         for c in r["cells"] if c["index"] == index]
                row.append(_s(cells[-1]["seconds"]) if cells else "–")
                label = label or (cells[-1]["label"] if cells else "")
            out.append(f"| {lab} | `{label}` | " + " | ".join(row) + " |")
    out += ["", "### Targets (every cell < 20 s, every lab < 90 s)", ""]
    for neighbours, threads in conditions:
        rs = [r for r in runs if r["neighbours"] == neighbours and r["threads"] == threads]
        slow_cells = [(r["lab"], c) for r in rs for c in r["cells"] if (c["seconds"] or 0) >= CELL_TARGET_S]
        slow_labs = [r for r in rs if r["wall_s"] >= LAB_TARGET_S or r["status"] != "ok"]
        verdict = "met" if not slow_cells and not slow_labs else "missed"
        detail = "; ".join([f"{r['lab']} {r['wall_s']:.0f} s" for r in slow_labs]
                           + [f"{lab} `{c['label']}` {c['seconds']:.0f} s" for lab, c in slow_cells])
        out.append(f"* {threads} threads, {neighbours} busy neighbours ({len(rs)} labs): {verdict}"
                   + (f" — {detail}" if detail else ""))
    return "\n".join(out) + "\n"


def meta():
    import numpy as np
    from threadpoolctl import threadpool_info

    from dllab import threads

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    available = threads.available_cpus()
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit.strip(),
            "machine": f"{os.cpu_count()} CPUs ({cpu}), {available} available to this process",
            "cpu_count": os.cpu_count(), "available_cpus": available,
            "policy": f"{threads.policy(available)} thread(s) (dllab.threads.policy)",
            "python": platform.python_version(), "numpy": np.__version__,
            "blas": [f"{lib['internal_api']} {lib['version']}" for lib in threadpool_info()]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labs", nargs="+", help="lab folders under grading/source (default: all)")
    p.add_argument("--neighbours", nargs="+", type=int, default=[0, 1, 2], help="busy processes beside the lab")
    p.add_argument("--threads", nargs="+", default=["policy", "default"],
                   help="'policy' (dllab's choice), 'default' (one per core) or a number")
    p.add_argument("--cell-timeout", type=int, default=120, help="stop a lab when one cell runs longer (s)")
    p.add_argument("--json", help="write (or with --merge, add to) the figures here")
    p.add_argument("--merge", action="store_true", help="keep the runs already in --json (replacing same conditions)")
    p.add_argument("--markdown", help="write the tables here")
    args = p.parse_args(argv)
    labs = args.labs or all_labs()
    unknown = sorted(set(labs) - set(all_labs()))
    if unknown:
        p.error(f"no lab {unknown} under grading/source; the labs are {all_labs()}")
    for t in args.threads:
        if t not in ("policy", "default") and not (t.isdigit() and int(t) > 0):
            p.error(f"--threads takes 'policy', 'default' or a whole number; got {t!r}")
    data = {"meta": meta(), "runs": []}
    if args.merge and args.json and Path(args.json).exists():
        data["runs"] = json.loads(Path(args.json).read_text())["runs"]
    for lab in labs:
        for neighbours in args.neighbours:
            for threads in args.threads:
                r = run_lab(lab, neighbours, threads, args.cell_timeout)
                worst = max((c for c in r["cells"] if c["seconds"] is not None), key=lambda c: c["seconds"],
                            default={"seconds": 0, "label": "-"})
                print(f"{lab}: {threads} threads, {neighbours} busy neighbours, load {r['load']['mean']:.1f}: "
                      f"{r['wall_s']:.1f} s, slowest cell {worst['seconds']:.1f} s ({worst['label']}) {r['status']}",
                      flush=True)
                data["runs"] = [x for x in data["runs"] if (x["lab"], x["neighbours"], x["threads"])
                                != (lab, neighbours, threads)] + [r]
                if args.json:  # after each run: a long benchmark interrupted keeps what it measured
                    Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    order = {lab: i for i, lab in enumerate(all_labs())}
    data["runs"].sort(key=lambda r: (order.get(r["lab"], 99), r["neighbours"], r["threads"] != "policy"))
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    table = markdown(data)
    if args.markdown:
        Path(args.markdown).write_text(table)
    print(table)
    return 0 if all(r["status"] == "ok" for r in data["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
