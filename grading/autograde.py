"""Autograde a lab's hand-ins, one nbgrader ``autograde`` per attendee, N at a time, in sandboxes.

    python -m grading autograde lab1_logreg --workers 4

Each attendee's hand-in is graded by nbgrader's own ``autograde``, in a forked process of its own with
its own time limit, ``--workers`` of them at a time. Each executes the hand-in in a bubblewrap sandbox
(``grading.sandbox``, configured in ``nbgrader_config.py``); nbgrader records the scores on the host.
A student whose grading fails, crashes or runs out of time is reported and never stops the
others; the next run grades again every student whose last run did not finish (``--force``:
everyone). Before grading, each hand-in is read in a limited child (``grading.prepare``). At the end
it writes the integrity report (``grading.report``).
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import shutil
import signal
import sys
import time

from grading import sandbox
from grading.course import load_config, notebook_names, read_json, tool_env
from grading.prepare import given_sources, prepare_hand_in, run_limited
from grading.report import write_report


def autograde(lab, course, workers=1, force=False, students=None, unsafe=False, cell_timeout=None,
              notebook_timeout=None):
    if not unsafe and not sandbox.bwrap_path():
        print("bubblewrap (bwrap) is not installed: hand-ins cannot be executed in a sandbox, so grading stops "
              "here. Install it (as root: apt-get install bubblewrap), or add --unsafe-no-sandbox to run "
              "the hand-ins with your own rights (only for notebooks you trust).", file=sys.stderr)
        return 2
    if not unsafe and not sandbox.env_ignores_signals():
        print("`env --ignore-signal=INT` does not work here (GNU coreutils 8.31 or later has it): the sandbox "
              "needs it so that interrupting a cell that runs too long does not kill the sandbox. Upgrade "
              "coreutils, or add --unsafe-no-sandbox (only for notebooks you trust).", file=sys.stderr)
        return 2
    config = load_config(course)
    nb_limit = notebook_timeout or config.SandboxedExecute.get("notebook_timeout", 600)
    names = notebook_names(lab, course)
    given = given_sources(lab, course, names)
    submitted = course / "submitted"
    everyone = sorted(p.name for p in submitted.iterdir() if (p / lab).is_dir()) if submitted.is_dir() else []
    todo = [s for s in everyone if not students or s in students]
    runs = course / "reports" / lab / "runs"
    runs.mkdir(parents=True, exist_ok=True)

    collected = read_json(course / "reports" / lab / "collect.json", {})
    collect_notes = (collected if isinstance(collected, dict) else {}).get("notes", {})
    jobs = []
    for student in todo:
        folder = submitted / student / lab
        record_path = runs / f"{student}.json"
        previous = json.loads(record_path.read_text()) if record_path.exists() else {}
        notes = list(collect_notes.get(student, []))
        # everything that reads the hand-in runs in a child with a time and memory limit: a notebook that
        # crashes, loops or floods it stops this attendee's grading only
        prepared = run_limited(prepare_hand_in, (folder, names, given))
        if "error" in prepared:
            record = {"student": student, "status": "failed", "digest": None, "notes": notes, "scan": [],
                      "error": f"the hand-in could not be read before grading ({prepared['error']})"}
            shutil.rmtree(course / "autograded" / student / lab, ignore_errors=True)
            record_path.write_text(json.dumps(record, indent=1))
            print(f"  {student}: not graded: {record['error']}", flush=True)
            continue
        prepared = prepared["result"]
        state = prepared["digest"]
        if not force and previous.get("status") == "graded" and previous.get("digest") == state:
            continue
        record = {"student": student, "status": "running", "digest": state, "notes": notes + prepared["notes"],
                  "scan": prepared["scan"]}
        record_path.write_text(json.dumps(record, indent=1))
        jobs.append(record)
    if not jobs:
        print(f"nothing to grade: every hand-in of {lab} was graded by an earlier run (add --force to regrade)")
        return write_report(lab, course)

    extra = []
    if unsafe:
        extra.append("--SandboxedExecute.sandbox=False")
    if cell_timeout:
        extra.append(f"--Execute.timeout={cell_timeout}")
    if notebook_timeout:
        extra.append(f"--SandboxedExecute.notebook_timeout={notebook_timeout}")
    limit = nb_limit * len(names) + 120  # the notebooks' own limits, plus start-up and saving

    def finish(record, code, out):
        record["seconds"] = round(time.monotonic() - record.pop("_start"), 1)
        if code == 0:
            record["status"] = "graded"
        else:
            record["status"] = "failed"
            record["error"] = ("grading ran past its limit of %d s and was stopped" % limit if code == "timeout"
                               else _last_error(out))
            dest = course / "autograded" / record["student"] / lab
            shutil.rmtree(dest, ignore_errors=True)  # never leave a half-graded notebook behind
        (runs / f"{record['student']}.json").write_text(json.dumps(record, indent=1))
        print(f"  {record['student']}: {record['status']} in {record['seconds']} s"
              + (f" ({record['error']})" if record["status"] != "graded" else ""), flush=True)

    print(f"grading {len(jobs)} hand-ins of {lab} with {workers} worker(s)"
          + (" WITHOUT the sandbox" if unsafe else " in sandboxes"), flush=True)
    import nbgrader.apps  # noqa: F401 - once here, inherited by every forked grader

    start = time.monotonic()
    pending = collections.deque((record, 0) for record in jobs)
    running = {}  # slot -> (process, record, started, attempt)
    free = list(range(max(1, workers)))
    while pending or running:
        while pending and free:
            slot = free.pop(0)
            record, attempt = pending.popleft()
            record.setdefault("_start", time.monotonic())
            proc = fork_nbgrader(["autograde", lab, f"--student={record['student']}", "--force", *extra], course,
                                 runs / f"{record['student']}.log", DLLAB_GRADING_SLOT=str(slot))
            running[slot] = (proc, record, time.monotonic(), attempt)
        time.sleep(0.1)
        for slot, (proc, record, started, attempt) in list(running.items()):
            if proc.is_alive() and time.monotonic() - started < limit:
                continue
            if proc.is_alive():
                os.killpg(proc.pid, signal.SIGKILL)
                proc.join()
                code = "timeout"
            else:
                code = proc.exitcode
            del running[slot]
            free.append(slot)
            out = (runs / f"{record['student']}.log").read_text(errors="replace")
            if code not in (0, "timeout") and "database is locked" in out and attempt < 2:
                pending.append((record, attempt + 1))  # another grader was writing the gradebook
            else:
                finish(record, code, out)
    elapsed = time.monotonic() - start
    print(f"graded {len(jobs)} notebooks in {elapsed:.0f} s ({60 * len(jobs) / max(elapsed, 1e-9):.1f} per minute)")
    return write_report(lab, course)


def fork_nbgrader(args, course, log, **env):
    """One nbgrader command in a forked child of this process, which has nbgrader imported already
    (a fresh interpreter spends seconds importing it for every student): its own session, so that
    it can be stopped with everything it started, and its output in ``log``."""
    proc = multiprocessing.get_context("fork").Process(target=_nbgrader_child, args=(args, course, log, env))
    proc.start()
    return proc


def _nbgrader_child(args, course, log, env):
    os.setsid()
    os.chdir(course)
    os.environ.update(tool_env(**env))
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    from nbgrader.apps.nbgraderapp import NbGraderApp

    NbGraderApp.launch_instance(argv=list(args))


def _last_error(out):
    lines = [line for line in out.splitlines() if "ERROR" in line or "Error" in line]
    return (lines[-1] if lines else out.strip().splitlines()[-1] if out.strip() else "no output")[-300:]
