"""Collect, autograde and report on a lab's hand-ins, one student at a time, in sandboxes.

    python grade.py collect lab1_logreg                 # hand-ins in downloaded/ -> submitted/ (collect.py)
    python grade.py autograde lab1_logreg --workers 4   # every hand-in in its own sandbox, N at a time
    python grade.py report lab1_logreg                  # the integrity report (again, after feedback)

Run from this folder (the course root) with the repository's virtual environment active.

``autograde`` runs nbgrader's own ``autograde`` once per student, as a separate process with its
own time limit, ``--workers`` of them at a time. Each executes the hand-in in a bubblewrap sandbox
(``sandbox.py``, configured in ``nbgrader_config.py``); nbgrader records the scores on the host.
A student whose grading fails, crashes or runs out of time is reported and never stops the
others; the next run grades again every student whose last run did not finish (``--force``:
everyone). Before grading, a lone notebook with a near name (``lab1_logreg (1).ipynb``) is
taken as the lab's notebook, and every hand-in is scanned for code that tampers with grading.

``report`` writes ``reports/<lab>/report.md`` and ``report.json``: per student the score and
everything that deserves a look (cells not run, kernel deaths, time-outs, repaired metadata,
tampering repaired in the kernel, scan flags, missing feedback pages). ``nbgrader export``
copies its verdict into grades.csv.
"""

from __future__ import annotations

import argparse
import collections
import faulthandler
import hashlib
import json
import multiprocessing
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import collect as collection  # noqa: E402
import integrity  # noqa: E402
import sandbox  # noqa: E402

# What reading one hand-in before grading (name normalisation, the scan) may take: it runs in a child
# process of its own, so that a notebook that crashes it, loops it or fills its memory stops only itself.
PREPARE_SECONDS = 60
PREPARE_MEMORY = 2 * 2**30  # bytes of address space, beyond what the batch process already has
# events that do not by themselves make a result doubtful
INFO_EVENTS = {"output_capped", "left_out"}
# Files nbgrader itself writes beside the notebooks in submitted/<attendee>/<lab>/ (`nbgrader submit`
# writes both, over any of the attendee's, and `nbgrader collect` copies them; `zip_collect` writes
# timestamp.txt): they are not files the attendee handed in.
NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}


def tool_env(**extra):
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def nbgrader(args, course, timeout=None, **env):
    """Run one nbgrader command in its own process group; (exit code or 'timeout', output)."""
    proc = subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course, env=tool_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return "timeout", out


def load_config(course):
    from traitlets.config import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()


# ---- collect -------------------------------------------------------------------------------------
def collect(lab, course=HERE):
    """Collect downloaded/<lab>/archive/ into submitted/ (collect.py: the attendee id from each hand-in's
    own name, archives read in memory and checked before anything is inflated)."""
    collection.collect(lab, course)
    return 0


# ---- autograde -----------------------------------------------------------------------------------
def notebook_names(lab, course):
    with _gradebook(course) as gb:
        return [nb.name for nb in gb.find_assignment(lab).notebooks]


def _gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=load_config(course).CourseDirectory.course_id)


def normalise_names(folder, names):
    """A lone notebook with another name is taken as the lab's notebook; returns notes."""
    notes = []
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [n for n in names if f"{n}.ipynb" not in present]
    others = [p for p in present if p[:-6] not in names]
    if len(names) == 1 and missing and len(others) == 1:
        shutil.copyfile(folder / others[0], folder / f"{names[0]}.ipynb")
        notes.append(f"notebook handed in as {others[0]!r}, graded as {names[0]}.ipynb")
    elif missing:
        notes.append(f"no notebook {', '.join(n + '.ipynb' for n in missing)} (found: {', '.join(present) or 'none'})")
    extra = sorted(p.name for p in folder.iterdir() if not p.name.endswith(".ipynb") and p.name not in NBGRADER_FILES)
    if extra:
        notes.append(f"left_out: files handed in beside the notebook, never seen by the kernel: {', '.join(extra[:8])}")
    return notes


def digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.glob("*.ipynb")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def scan_hand_in(folder, names, given):
    flags = []
    for name in names:
        path = folder / f"{name}.ipynb"
        if not path.exists():
            continue
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as err:  # not JSON, not a notebook
            flags.append([name, "unreadable notebook", str(err)[:120]])
            continue
        flags += [list(f) for f in integrity.scan(nb, skip_locked_sources=given)]
    return flags


def prepare_hand_in(folder, names, given):
    """What grading needs to know of a hand-in before it runs (see run_limited): names normalised,
    its digest, the scan's flags."""
    notes = normalise_names(folder, names)
    return {"notes": notes, "digest": digest(folder), "scan": scan_hand_in(folder, names, given)}


def _collect_record(course, lab):
    path = course / "reports" / lab / "collect.json"
    try:
        record = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def run_limited(function, args, seconds=PREPARE_SECONDS, memory=PREPARE_MEMORY):
    """``function(*args)`` in a forked child, with a limit on its CPU time, wall time and memory:
    ``{"result": its JSON-able result}``, or ``{"error": why}`` when it raised, crashed or ran out of
    time or memory. Nothing it does can stop the caller."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.close(read_end)
            faulthandler.disable()  # a crash here is reported to the caller, not dumped on the batch's output
            pages = int(Path("/proc/self/statm").read_text().split()[0]) if Path("/proc/self/statm").exists() else 0
            limit = pages * resource.getpagesize() + memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))
            try:
                reply = {"result": function(*args)}
            except BaseException as err:  # noqa: BLE001 - whatever the hand-in makes it raise
                where = traceback.extract_tb(err.__traceback__)[-1:]
                at = f" at {Path(where[0].filename).name}:{where[0].lineno}" if where else ""
                reply = {"error": f"{type(err).__name__}: {str(err)[:200]}{at}"}
            data = json.dumps(reply).encode()
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(data)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks, size, deadline, stopped = [], 0, time.monotonic() + 1.5 * seconds + 1, None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stopped = f"it ran past {seconds} s"
                break
            if select.select([read_end], [], [], left)[0]:
                chunk = os.read(read_end, 1 << 16)
                if not chunk:
                    break
                size += len(chunk)
                if size > 64 * 2**20:
                    stopped = "it replied with too much"
                    break
                chunks.append(chunk)
    finally:
        os.close(read_end)
        if stopped:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if stopped:
        return {"error": stopped}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        why = {signal.SIGXCPU: f"it used more than {seconds} s of CPU time",
               signal.SIGKILL: "it was killed (out of memory?)"}.get(sig, f"it crashed ({name})")
        return {"error": why}
    try:
        reply = json.loads(b"".join(chunks))
    except ValueError:
        reply = None
    if not isinstance(reply, dict) or not ({"result", "error"} & set(reply)):
        return {"error": f"it stopped without a result (exit {os.WEXITSTATUS(status)})"}
    return reply


def given_sources(lab, course, names):
    """Texts of the lab's own code cells (they are not scanned)."""
    texts = set()
    for name in names:
        release = course / load_config(course).CourseDirectory.release_directory / lab / f"{name}.ipynb"
        if release.exists():
            texts |= {c.source for c in nbformat.read(release, as_version=4).cells if c.cell_type == "code"}
    return texts


def autograde(lab, course=HERE, workers=1, force=False, students=None, unsafe=False, cell_timeout=None,
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

    collect_notes = _collect_record(course, lab).get("notes", {})
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


# ---- report --------------------------------------------------------------------------------------
def write_report(lab, course=HERE):
    from nbgrader.api import MissingEntry

    runs = course / "reports" / lab / "runs"
    records = {p.stem: json.loads(p.read_text()) for p in sorted(runs.glob("*.json"))} if runs.is_dir() else {}
    names = notebook_names(lab, course)
    collected = course / "reports" / lab / "collect.json"
    collect_record = json.loads(collected.read_text()) if collected.exists() else {}
    rejected = collect_record.get("rejected", {})
    skipped = collect_record.get("left_out", {})
    feedback_made = (course / "feedback").is_dir() and any((course / "feedback").glob(f"*/{lab}"))
    students = {}
    with _gradebook(course) as gb:
        max_score = gb.find_assignment(lab).max_score
        for student, record in records.items():
            notes = list(record.get("notes", []))
            if skipped.get(student):
                notes.append("left_out: handed in beside the notebook and not collected: "
                             + ", ".join(skipped[student][:8]) + (" ..." if len(skipped[student]) > 8 else ""))
            score = None
            if record.get("status") == "graded":
                try:
                    score = gb.find_submission(lab, student).score
                except MissingEntry:
                    notes.append("no score in the gradebook")
            elif record.get("status") == "running":
                notes.append("grading did not finish (interrupted); run grade.py autograde again")
            else:
                notes.append(f"NOT GRADED: {record.get('error', 'unknown error')}")
            for name in names:
                log = integrity.EventLog(course / "reports" / lab / "events" / student / f"{name}.jsonl")
                for event in log.read():
                    notes.append(f"{event['kind']}: {event['detail']}")
                graded = course / "autograded" / student / lab / f"{name}.ipynb"
                if record.get("status") == "graded" and graded.exists():
                    nb = nbformat.read(graded, as_version=4)
                    not_run = [c.metadata.get("nbgrader", {}).get("grade_id") or f"cell {i + 1}"
                               for i, c in enumerate(nb.cells) if c.cell_type == "code"
                               and any(o.get("ename") == "NotRun" for o in c.get("outputs", []))]
                    if not_run:
                        notes.append(f"cells not run: {len(not_run)} ({', '.join(not_run[:6])}"
                                     + (", ..." if len(not_run) > 6 else "") + ")")
                page = course / "feedback" / student / lab / f"{name}.html"
                if feedback_made and record.get("status") == "graded" and not page.exists():
                    notes.append(f"missing feedback page feedback/{student}/{lab}/{name}.html")
            for where, what, line in record.get("scan", []):
                notes.append(f"scan: {what} in {where}: {line}")
            serious = [n for n in notes if n.split(":")[0] not in INFO_EVENTS]
            verdict = "not graded" if record.get("status") != "graded" else ("check" if serious else "ok")
            students[student] = {"verdict": verdict, "score": score, "max_score": max_score,
                                 "seconds": record.get("seconds"), "notes": notes}
    report = {"lab": lab, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "feedback_generated": feedback_made,
              "rejected_archives": rejected, "students": students}
    out = course / "reports" / lab
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    lines = [f"# Integrity report: {lab} ({report['time']})", ""]
    flagged = {s: e for s, e in students.items() if e["verdict"] != "ok"}
    lines.append(f"{len(students)} hand-ins: {len(students) - len(flagged)} ok, {len(flagged)} to look at"
                 + ("" if feedback_made else "; feedback not generated yet"))
    for name, problem in rejected.items():
        lines.append(f"- archive {name} REJECTED: {problem}")
    lines += ["", "| student | verdict | score | notes |", "| --- | --- | --- | --- |"]
    for student, entry in students.items():
        score = "-" if entry["score"] is None else f"{entry['score']:g} / {entry['max_score']:g}"
        notes = "<br>".join(n.replace("|", "\\|") for n in entry["notes"]) or ""
        lines.append(f"| {student} | {entry['verdict']} | {score} | {notes} |")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:3]))
    for student, entry in flagged.items():
        print(f"  {student}: {entry['verdict']}: " + "; ".join(entry["notes"])[:400])
    print(f"report: {(out / 'report.md').relative_to(course)}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("collect", help="check the archives in downloaded/<lab>/archive, then collect them")
    p.add_argument("lab")
    p = sub.add_parser("autograde", help="grade every hand-in in its own sandbox, then report")
    p.add_argument("lab")
    p.add_argument("--workers", type=int, default=1, help="hand-ins graded at the same time (default 1)")
    p.add_argument("--force", action="store_true", help="regrade every student, not only new or failed ones")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell (default: nbgrader_config.py)")
    p.add_argument("--notebook-timeout", type=int, help="seconds per notebook (default: nbgrader_config.py)")
    p.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="execute hand-ins with your own rights, outside any sandbox (trusted notebooks only)")
    p = sub.add_parser("report", help="write the integrity report (run again after generate_feedback)")
    p.add_argument("lab")
    p = sub.add_parser("insight", help="what the class got wrong: reports/<lab>/class.html and class.json (insight.py)")
    p.add_argument("lab")
    args = parser.parse_args(argv)
    if args.command == "collect":
        return collect(args.lab)
    if args.command == "autograde":
        return autograde(args.lab, workers=args.workers, force=args.force, students=args.student,
                         unsafe=args.unsafe_no_sandbox, cell_timeout=args.cell_timeout,
                         notebook_timeout=args.notebook_timeout)
    if args.command == "insight":
        import insight

        return insight.write_insight(args.lab, HERE)
    return write_report(args.lab)


if __name__ == "__main__":
    sys.exit(main())
