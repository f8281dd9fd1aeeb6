"""Mutation testing of dllab's core with mutmut: how many planted bugs do the unit tests catch?

For each module below, mutmut (pinned in the [mutation] extra) writes every small change it knows
(an operator flipped, a constant moved by one, a condition negated, an argument dropped, ...) into a
copy of the library, one at a time, and runs the tests that reach the changed function. A mutant is
*killed* when a test fails, *survived* when all pass. The kill rate per module goes to
benchmarks/results/mutation.md, with every survivor's diff, so that each is either killed by a new
test or explained (an equivalent change).

Each module runs in its own scratch copy (the library, pyproject.toml, tests/conftest.py and that
module's test files), so the working tree is never touched and other work can go on in it.

    python benchmarks/mutation.py                      # all modules (make mutation)
    python benchmarks/mutation.py metrics optim        # some of them
    python benchmarks/mutation.py --jobs 1 metrics     # one test process at a time

Slow (minutes per module): not part of `make test`. Run it niced on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# A pytest plugin for mutmut's runs. tqdm guards its bars with a multiprocessing lock: a semaphore
# that every test process forked from mutmut's parent shares. A mutant killed at its time limit while
# it holds the lock (a progress bar being drawn) leaves every later mutant that draws a bar waiting
# forever, each then counted a timeout after minutes. A thread lock is copied by fork, not shared.
PLUGIN = "mutation_tqdm_lock"
PLUGIN_SOURCE = ('''"""Written by benchmarks/mutation.py: tqdm's lock is per process in mutation runs."""
import threading

import tqdm

tqdm.tqdm.set_lock(threading.RLock())
''')

# the data sets', the Trainer's and its callbacks' tests, by theme (their shared helpers,
# tests/library/*_helpers.py, are copied with them)
TRAIN = ["tests/library/test_train_fit.py", "tests/library/test_train_inputs.py",
         "tests/library/test_train_bookkeeping.py", "tests/library/test_train_safety.py"]
DATA = ["tests/library/test_data_files.py", "tests/library/test_data_mnist.py", "tests/library/test_data_batches.py",
        "tests/library/test_data_transforms.py"]
CALLBACKS = ["tests/library/test_callbacks_early_stopping.py", "tests/library/test_callbacks_nan_guard.py",
             "tests/library/test_callbacks_checkpoints.py", "tests/library/test_callbacks_progress.py"]

# module -> (the files mutated, the test files that exercise them)
MODULES = {
    "metrics": (["dllab/metrics.py"], ["tests/library/test_metrics.py", *TRAIN]),
    "optim": (["dllab/optim/optimizers.py", "dllab/optim/schedules.py"],
              ["tests/library/test_optim.py", "tests/library/test_optim_pytorch.py", *TRAIN]),
    "data/files": (["dllab/data/files.py"], [*DATA, "tests/library/test_backend_cli.py"]),
    "train/callbacks": (["dllab/train/callbacks.py", "dllab/train/monitor.py", "dllab/train/nonfinite.py"],
                        [*CALLBACKS, *TRAIN]),
    "train/trainer": (["dllab/train/trainer.py", "dllab/train/history.py", "dllab/train/arguments.py"],
                      [*TRAIN, *CALLBACKS]),
    "autograd": (["dllab/autograd.py"], ["tests/library/test_autograd.py", "tests/library/test_ops.py",
                                         "tests/library/test_ops_pytorch.py", "tests/library/test_layers.py"]),
}

# tests that check a warning points at the caller's line: the mutants' trampolines (mutmut's frames
# between the library's) move that line, so these cannot pass under mutation testing
DESELECT = [
    "tests/library/test_train_inputs.py::test_an_optimizer_left_from_an_earlier_model_moves_to_the_new_one_with_a_warning",
    "tests/library/test_train_inputs.py::test_softmax_before_cross_entropy_is_pointed_out_at_the_users_line",
]

STATUSES = ("killed", "survived", "timeout", "suspicious", "no tests", "skipped", "segfault",
            "check was interrupted by user", "not checked", "caught by type check")


def copy_tests(tests, work):
    """The test files, tests/conftest.py and the helper modules beside the tests (*_helpers.py)."""
    folders = {(ROOT / test).parent for test in tests}
    helpers = sorted(h.relative_to(ROOT).as_posix() for folder in folders for h in folder.glob("*_helpers.py"))
    for test in ["tests/conftest.py", *tests, *helpers]:
        (work / test).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / test, work / test)


def scratch_copy(name, mutated, tests, base):
    """A copy of the library and the module's tests with a [tool.mutmut] section for this module."""
    work = base / name.replace("/", "-")
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(ROOT / "dllab", work / "dllab", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "tests").mkdir(parents=True)
    copy_tests(tests, work)
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    # keep pyproject.toml's pytest settings (markers, warnings as errors); replace the mutmut section
    start = lines.index("[tool.mutmut]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    kept = [line for line in lines[start + 1:end] if line.startswith("pytest_add_cli_args =")]
    args = json.loads(kept[0].split("=", 1)[1]) if kept else []
    args += ["-p", PLUGIN]
    args += [arg for test in DESELECT if test.split("::")[0] in tests for arg in ("--deselect", test)]
    # the other settings (timeouts, ...) as pyproject.toml has them; one line each
    other = [line for line in lines[start + 1:end] if re.match(r"timeout_\w+ =", line)]
    section = ["[tool.mutmut]", 'source_paths = ["dllab"]', f"only_mutate = {json.dumps(mutated)}",
               f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
               f"pytest_add_cli_args = {json.dumps(args)}", *other, ""]
    (work / "pyproject.toml").write_text("\n".join(lines[:start] + section + lines[end:]) + "\n")
    for folder in (work, work / "mutants"):  # mutmut runs the tests from mutants/
        folder.mkdir(exist_ok=True)
        (folder / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE)
    # the mutated library finds its data beside itself (dllab/data/files.py: DEFAULT_DATA_DIR)
    (work / "mutants").mkdir(exist_ok=True)
    (work / "mutants" / "assets").symlink_to(ROOT / "assets")
    return work


def refresh_tests(name, tests, base):
    """The scratch copy of an earlier run, with the module's test files as they are now."""
    work = base / name.replace("/", "-")
    if not (work / "mutants").is_dir():
        raise SystemExit(f"--recheck {name}: no earlier run in {work}; run it once without --recheck")
    copy_tests(tests, work)
    return work


def run_module(name, jobs, base, recheck=()):
    """Mutate one module and run its tests; ``recheck``: only these mutants, in the earlier copy."""
    mutated, tests = MODULES[name]
    work = refresh_tests(name, tests, base) if recheck else scratch_copy(name, mutated, tests, base)
    # one thread in every library: mutmut forks its test processes from a parent that has run the
    # tests, and a GNU OpenMP pool (PyTorch's) that ran in the parent hangs in the forked child
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               DLLAB_DEVICE="cpu", MPLBACKEND="Agg",
               DLLAB_DATA=str(ROOT / "assets" / "data"))
    env.pop("CI", None)  # the progress bar is shown, as on an attendee's machine
    mutmut = [sys.executable, "-m", "mutmut"]
    t0 = time.perf_counter()
    run = subprocess.run([*mutmut, "run", "--max-children", str(jobs), *recheck], cwd=work, env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    (work / "mutmut-run.log").write_text(run.stdout + run.stderr)
    if run.returncode != 0:  # e.g. a test that fails without any mutant: nothing was measured
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
        raise SystemExit(f"mutmut run failed for {name} (exit {run.returncode}); "
                         f"{work / 'mutmut-run.log'} ends:\n{tail}")
    listing = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True,
                             text=True).stdout
    status = {}
    for line in listing.splitlines():
        m = re.match(r"\s+(\S+): (.+)$", line)
        if m:
            status[m.group(1)] = m.group(2).strip()
    survivors = {}
    for mutant, verdict in status.items():
        if verdict != "killed":
            survivors[mutant] = (verdict, subprocess.run([*mutmut, "show", mutant], cwd=work, env=env,
                                                         capture_output=True, text=True).stdout)
    if not status:
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
        raise SystemExit(f"mutmut found no mutants for {name} (exit {run.returncode}); its log ends:\n{tail}")
    return {"module": name, "files": mutated, "tests": tests, "seconds": round(seconds),
            "counts": {s: sum(v == s for v in status.values()) for s in STATUSES if s in status.values()},
            "total": len(status), "survivors": survivors}


def kill_rate(result):
    counts = result["counts"]
    caught = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("caught by type check", 0)
    return caught / result["total"]


def write_report(results, path):
    out = ["# Mutation testing of dllab's core", "",
           "Written by `make mutation` (`benchmarks/mutation.py`, mutmut "
           f"{_version('mutmut')}): per module, the mutants mutmut made, how many a test killed, and "
           "every survivor's diff. The kill rate counts timeouts as killed (mutmut's convention: the mutant made "
           "a test run past its time limit, often a loop that never ends). "
           "docs/testing.md says which survivors are equivalent changes and why.", "",
           "| module | tests run | mutants | killed | timeouts | survived | no tests | kill rate | time |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in results:
        c = r["counts"]
        out.append(f"| {r['module']} (`{', '.join(r['files'])}`) | {', '.join(Path(t).name for t in r['tests'])} "
                   f"| {r['total']} | {c.get('killed', 0)} | {c.get('timeout', 0)} | {c.get('survived', 0)} "
                   f"| {r['total'] - c.get('killed', 0) - c.get('timeout', 0) - c.get('survived', 0)} "
                   f"| {kill_rate(r):.1%} | {r['seconds']} s{recheck_note(r)} |")
    for r in results:
        if not r["survivors"]:
            continue
        out += ["", f"## Survivors in {r['module']}", ""]
        for mutant, (verdict, diff) in sorted(r["survivors"].items()):
            out += [f"### `{mutant}` ({verdict})", "", "```diff", diff.strip(), "```", ""]
    path.write_text("\n".join(out) + "\n")


def recheck_note(result):
    n, note = result.get("rechecked"), result.get("note")
    return (f" (the {n} survivors of the run before, rechecked)" if n else "") + (f" ({note})" if note else "")


def _version(name):
    from importlib.metadata import version

    return version(name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="module",
                        help=f"modules to mutate (default: all): {', '.join(MODULES)}")
    parser.add_argument("--jobs", type=int, default=2, help="test processes at once (default 2)")
    parser.add_argument("--scratch", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "dllab-mutation",
                        help="where the copies are made")
    parser.add_argument("--report", type=Path, default=RESULTS / "mutation.md")
    parser.add_argument("--report-only", action="store_true", help="write the report from the saved results")
    parser.add_argument("--recheck", action="store_true",
                        help="rerun only the mutants that survived the last run, against the tests as they are now")
    args = parser.parse_args(argv)
    unknown = [n for n in args.modules if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}: choose from {', '.join(MODULES)}")
    names = [] if args.report_only else args.modules or list(MODULES)
    saved = RESULTS / "mutation.json"
    for name in names:
        print(f"mutating {name} ...", flush=True)
        earlier = json.loads(saved.read_text()).get(name) if saved.exists() else None
        recheck = sorted(earlier["survivors"]) if args.recheck and earlier else ()
        if args.recheck and not recheck:
            print(f"  no survivors of an earlier run to recheck for {name}")
            continue
        result = run_module(name, args.jobs, args.scratch, recheck)
        if recheck:
            result["rechecked"] = len(recheck)
        previous = json.loads(saved.read_text()) if saved.exists() else {}  # read late: runs may overlap
        previous[name] = result
        print(f"  {result['total']} mutants, kill rate {kill_rate(result):.1%} ({result['seconds']} s): "
              f"{result['counts']}", flush=True)
        saved.write_text(json.dumps(previous, indent=1) + "\n")
    previous = json.loads(saved.read_text()) if saved.exists() else {}
    ordered = [previous[n] for n in MODULES if n in previous]
    write_report(ordered, args.report)
    print(f"report: {args.report}")


if __name__ == "__main__":
    main()
