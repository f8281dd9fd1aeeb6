"""Per-hand-in grading time with the judge, against grading before it, in the same run.

    python benchmarks/bench_grading.py                       # 4 honest lab-1 hand-ins, 1 worker, quiet
    python benchmarks/bench_grading.py --neighbours 0 1      # and again beside one busy process
    python benchmarks/bench_grading.py --baseline c48abc0    # the commit to compare with (default: the last
                                                             # commit before the judge)

Each version gets a course of its own in a temporary folder: its own nbgrader_config.py and lab
source, released by its own code, and the same honest hand-ins (the lab's solutions in the released
notebook). Both autograde with ``--force`` in sandboxes, one hand-in at a time unless ``--workers``
says otherwise; the figure is each hand-in's grading time as the autograde records it
(reports/<lab>/runs/<attendee>.json), and the load average beside it. A tree whose grading/ is a
package runs ``python -m grading``; an older one, its grading/ scripts copied into the course
(``release.py``, ``grade.py``).

The baseline's code comes from ``git archive``; it runs from its own folder, on PYTHONPATH (its grading
package, or its kernel's dllab: in the baseline's copy of sandbox.py only).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import nbformat
from neighbours import LoadSampler, busy_neighbours

ROOT = Path(__file__).resolve().parents[1]

LAB = "lab1_logreg"
BEFORE_THE_JUDGE = "c48abc0"


def checkout(commit, dest):
    """The tree of ``commit`` in ``dest`` (no .git)."""
    data = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    sandbox = dest / "grading" / "sandbox.py"
    text = sandbox.read_text()
    if '"PYTHONPATH"' not in text:  # the baseline's kernel must import the baseline's dllab
        sandbox.write_text(text.replace('PASSED_ENV = ("LANG",', 'PASSED_ENV = ("PYTHONPATH", "LANG",', 1))
    return dest


def kernel_spec(folder):
    spec = folder / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    return folder / "jupyter"


def is_package(tree):
    return (tree / "grading" / "__init__.py").exists()


def course_files(tree):
    """What a course of ``tree`` holds besides its sources: the config (and, before grading/ was a
    package, the scripts it imports)."""
    return [tree / "grading" / "nbgrader_config.py"] if is_package(tree) else list((tree / "grading").glob("*.py"))


def command(tree, step):
    """``release`` or ``autograde`` as ``tree`` runs it, in its course folder."""
    if is_package(tree):
        return [sys.executable, "-m", "grading", step]
    return [sys.executable, "release.py"] if step == "release" else [sys.executable, "grade.py", "autograde"]


def make_course(tree, folder, handins, pythonpath=None):
    """A course from ``tree``'s grading/ with ``handins`` honest hand-ins of lab 1; its environment."""
    course = folder / "grading"
    (course / "source").mkdir(parents=True)
    for script in course_files(tree):
        shutil.copy(script, course)
    for extra in (tree / "grading" / "source").glob("*.toml"):
        shutil.copy(extra, course / "source")
    shutil.copytree(tree / "grading" / "source" / LAB, course / "source" / LAB,
                    ignore=shutil.ignore_patterns("*.ipynb", "__pycache__"))
    env = dict(os.environ, JUPYTER_PATH=str(kernel_spec(folder)), MPLBACKEND="Agg", DLLAB_DEVICE="cpu",
               OPENBLAS_NUM_THREADS="1", CI="true",
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("NBGRADER_EXECUTION", None)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    subprocess.run([*command(tree, "release"), LAB], cwd=course, env=env, check=True, capture_output=True)
    release = nbformat.read(folder / "labs" / LAB / f"{LAB}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / LAB / f"{LAB}.ipynb", as_version=4)
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    for k in range(handins):
        nb = copy.deepcopy(release)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers:
                cell.source = "\n".join(line for line in answers[gid].splitlines() if "### " not in line)
        dest = course / "submitted" / f"attendee{k:02d}" / LAB
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / f"{LAB}.ipynb")
    return course, env


def grade(tree, course, env, workers):
    start = time.monotonic()
    run = subprocess.run([*command(tree, "autograde"), LAB, "--force", f"--workers={workers}"],
                         cwd=course, env=env, capture_output=True, text=True)
    wall = time.monotonic() - start
    if run.returncode != 0:
        raise RuntimeError(run.stdout[-2000:] + run.stderr[-2000:])
    runs = [json.loads(p.read_text()) for p in (course / "reports" / LAB / "runs").glob("*.json")]
    scores = json.loads((course / "reports" / LAB / "report.json").read_text())["students"]
    return {"seconds": sorted(r["seconds"] for r in runs), "wall": round(wall, 1),
            "scores": sorted({s["score"] for s in scores.values()})}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--handins", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--neighbours", type=int, nargs="+", default=[0])
    parser.add_argument("--baseline", default=BEFORE_THE_JUDGE)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "grading.json"))
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="dllab-bench-grading-"))
    results = {"lab": LAB, "handins": args.handins, "workers": args.workers, "baseline": args.baseline,
               "cpus": os.cpu_count(), "runs": []}
    try:
        old_tree = checkout(args.baseline, tmp / "baseline-tree")
        versions = {"judge (this tree)": (ROOT, None), f"before the judge ({args.baseline})": (old_tree, old_tree)}
        for neighbours in args.neighbours:
            for name, (tree, pythonpath) in versions.items():
                folder = tmp / f"{len(results['runs'])}"
                course, env = make_course(tree, folder, args.handins, pythonpath)
                with busy_neighbours(neighbours, max_seconds=900), LoadSampler() as load:
                    got = grade(tree, course, env, args.workers)
                row = {"version": name, "neighbours": neighbours, **got, "median": statistics.median(got["seconds"]),
                       "load": load.summary()}
                results["runs"].append(row)
                print(f"{name:32} neighbours={neighbours}  per hand-in median {row['median']:.1f} s "
                      f"{got['seconds']}  scores {got['scores']}  load {row['load']}", flush=True)
        for neighbours in args.neighbours:
            rows = [r for r in results["runs"] if r["neighbours"] == neighbours]
            if len(rows) == 2:
                ratio = rows[0]["median"] / rows[1]["median"]
                results.setdefault("ratios", {})[str(neighbours)] = round(ratio, 2)
                print(f"neighbours={neighbours}: judge / before = {ratio:.2f}x")
        Path(args.json).write_text(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
