"""What grading reads of a hand-in before it runs, in a child process with a time and memory limit.

A notebook that crashes that reading, loops it or fills its memory (metadata that is not what
nbgrader writes, an expression nested thousands deep) stops only its own attendee's grading:
:func:`run_limited` reports it as an error. Read here: the notebook's name (a lone notebook with a
near name is taken as the lab's), the files handed in beside it, its digest and the scan's flags.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import os
import resource
import select
import shutil
import signal
import time
import traceback
from pathlib import Path

import nbformat

from grading import scan
from grading.course import load_config

# What reading one hand-in before grading (name normalisation, the scan) may take: it runs in a child
# process of its own, so that a notebook that crashes it, loops it or fills its memory stops only itself.
PREPARE_SECONDS = 60
PREPARE_MEMORY = 2 * 2**30  # bytes of address space, beyond what the batch process already has
# Files nbgrader itself writes beside the notebooks in submitted/<attendee>/<lab>/ (`nbgrader submit`
# writes both, over any of the attendee's, and `nbgrader collect` copies them; `zip_collect` writes
# timestamp.txt): they are not files the attendee handed in.
NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}


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
        flags += [list(f) for f in scan.scan(nb, skip_locked_sources=given)]
    return flags


def prepare_hand_in(folder, names, given):
    """What grading needs to know of a hand-in before it runs (see run_limited): names normalised,
    its digest, the scan's flags."""
    notes = normalise_names(folder, names)
    return {"notes": notes, "digest": digest(folder), "scan": scan_hand_in(folder, names, given)}


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
