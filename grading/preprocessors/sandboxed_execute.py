"""SandboxedExecute (autograde): nbgrader's Execute with the kernel in a bubblewrap sandbox.

nbgrader's ``autograde`` stays in charge: it sanitises the hand-in, executes it, reads the scores
from the executed cells and writes them to the gradebook, on the host. This replaces only its
*Execute* step (``nbgrader_config.py`` puts it in ``Autograde.autograde_preprocessors``): the kernel,
and with it every line the attendee wrote, runs inside ``bwrap`` (``grading.sandbox``).

On the host, per notebook: a wall-time limit for the whole notebook (``notebook_timeout``) on top
of nbgrader's per-cell ``timeout``; a kernel that ignores the interrupt after a time-out is killed;
after a kernel death (``exit()``, ``os._exit``, a segfault, the memory limit) the cells that had run
keep their outputs (so their points) and the remaining cells are marked "not run"; outputs are
capped in characters as they arrive. Every event goes to the integrity log (``grading.events``).

**Graded test cells are decided by the judge** (``grading.judge``), in this process, never by the
kernel: the judge runs the instructor's test code here, calling the attendee's functions in the
kernel on its own inputs and reading back data only (``grading.wire``, ``grading.judge_calls``); the
cell's outputs become the judge's messages, so what the kernel displays, prints or replies in a test
cell cannot change a score. Hidden tests never run in the kernel.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer, List, Unicode

from .. import judge as judge_module
from .. import sandbox
from ..events import EventLog
from ..judge_calls import JudgeCalls


class SandboxedExecute(JudgeCalls, Execute):
    """nbgrader's Execute, with the kernel in a bubblewrap sandbox and the host checks above."""

    sandbox = Bool(True, help="Run the kernel in bwrap. False only with --unsafe-no-sandbox.").tag(
        config=True)
    notebook_timeout = Integer(600, help="Wall-time limit for the whole notebook, in seconds.").tag(config=True)
    memory_limit_mb = Integer(4096, help="Address-space limit of each sandboxed process (MiB).").tag(config=True)
    max_processes = Integer(256, help="Processes and threads of the sandbox's user (root only).").tag(config=True)
    max_file_mb = Integer(256, help="Largest file the kernel may write in its working folder (MiB).").tag(
        config=True)
    max_output_chars = Integer(100_000, help="Characters of output kept per cell; the rest is dropped.").tag(
        config=True)
    max_notebook_output_chars = Integer(1_000_000, help="Characters of output kept per notebook.").tag(
        config=True)
    unresponsive_grace = Integer(10, help="Seconds a kernel has to answer after an interrupt before it "
                                 "is killed.").tag(config=True)
    uid_base = Integer(61000, help="Sandboxes run as uid uid_base + slot when grading as root.").tag(config=True)
    extra_read_only_paths = List(Unicode(), help="More host folders the kernel may read.").tag(config=True)
    source_directory = Unicode("source", help="The instructor notebooks (relative to the course root): the "
                               "judge reads the tests from there, never from the hand-in.").tag(config=True)
    max_reply_mb = Integer(256, help="Largest reply (MiB) the judge reads from the kernel for one call.").tag(
        config=True)

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = sandbox.SandboxKernelManager
        super().__init__(*args, **kwargs)

    def sandbox_command(self, kernel_cmd):
        """The kernel's command line inside the sandbox, and its environment."""
        limits = sandbox.Limits(self.memory_limit_mb, self.max_file_mb, self.notebook_timeout + 60,
                                self.max_processes, self.sandbox_uid)
        return sandbox.command(kernel_cmd, self.workdir, limits, self.extra_read_only_paths, self.cache_dir)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.executor = self
        if self.sandbox:
            km.transport = "ipc"
            km.ip = str(self.workdir / "kernel")
            km.connection_file = str(self.workdir / "kernel.json")
        return km

    # ---- the notebook ------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        if self.sandbox and not sandbox.bwrap_path():
            raise sandbox.SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so hand-ins cannot be executed in a sandbox. Install it "
                "(as root: apt-get install bubblewrap) or, only for notebooks you trust, grade with "
                "`python -m grading autograde <lab> --unsafe-no-sandbox`.")
        if self.sandbox and not sandbox.env_ignores_signals():
            raise sandbox.SandboxUnavailable(
                "`env --ignore-signal=INT` does not work here (it needs GNU coreutils 8.31 or later): without "
                "it, interrupting a cell that runs too long would kill the sandbox. Upgrade coreutils.")
        self.resources_ = resources
        self.events = EventLog.for_resources(resources, self)
        if not self.sandbox:
            self.events.add("unsandboxed", "executed WITHOUT the sandbox (--unsafe-no-sandbox)")
        self.workdir, self.sandbox_uid = sandbox.make_workdir(self.uid_base if self.sandbox else None)
        self.cache_dir = sandbox.prepare_cache() if self.sandbox else None
        self._started = time.monotonic()
        self._stopped = None  # why the remaining cells are not run
        self._notebook_chars = 0
        self._wire = None  # the name of the kernel's side of the protocol, once it is there
        self.judge = judge_module.Judge(self._instructor_cells(resources), self._transport,
                                        handin_sources=[c.source for c in nb.cells if c.cell_type == "code"],
                                        on_flag=self.events.add)
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except DeadKernelError:
            # the kernel died while starting or during the info request
            self.events.add("kernel_death", "the kernel died before the first cell")
            self._stop_all(nb, "the kernel died before this cell ran")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return nb, resources

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = self.notebook_timeout - (time.monotonic() - self._started)
        left = max(1, int(left))
        return left if timeout is None else min(timeout, left)

    def _stop_all(self, nb, why):
        for cell in nb.cells:
            if cell.cell_type == "code" and not cell.get("outputs") and cell.source.strip():
                not_run(cell, why)

    def _instructor_cells(self, resources):
        """The lab's cells as the instructor wrote them (tests, hidden tests, setup): the judge's only source."""
        info = (resources or {}).get("nbgrader", {})
        path = Path(self.source_directory) / info.get("assignment", "") / f"{info.get('notebook', '')}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"the judge needs the instructor's notebook {path} "
                                    "(run `python -m grading release` first)")
        return judge_module.load_cells(path)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stopped:
            not_run(cell, self._stopped)
            return cell, resources
        if time.monotonic() - self._started >= self.notebook_timeout:
            self._stop(f"the notebook's time limit of {self.notebook_timeout} s was reached before this cell")
            self.events.add("notebook_timeout", f"time limit of {self.notebook_timeout} s reached")
            not_run(cell, self._stopped)
            return cell, resources
        name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index + 1}")  # 1-based, as the report counts
        if utils.is_grade(cell) and not utils.is_solution(cell):
            return self._judge_cell(cell, resources, index, name), resources
        self._run_in_kernel(cell, resources, index, name)
        return cell, resources

    def _run_in_kernel(self, cell, resources, index, name):
        """Execute a cell in the attendee's kernel: output capped, a time-out interrupted, a death or a
        kernel that ignores the interrupt stops the notebook (the remaining cells are "not run")."""
        self._cell_chars, self._dropped = 0, 0
        try:
            super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.events.add("kernel_death", f"the kernel died while running {name}")
            cell.outputs.append(error_output("KernelDied", "the kernel died while this cell ran (exit(), a crash "
                                             "or the memory limit); the cells after it were not run"))
            self._stop(f"not run: the kernel died in an earlier cell ({name})")
        except CellTimeoutError:
            self.events.add("timeout", f"{name} ran past its time limit")
            cell.outputs.append(error_output("CellTimeoutError", "the cell ran past its time limit"))
        if self._dropped:
            cell.outputs.append(new_output("stream", name="stdout", text=(
                f"\n... output truncated: {self._dropped} characters dropped (limit {self.max_output_chars} "
                "per cell) ...\n")))
            self.events.add("output_capped", f"{name}: {self._dropped} characters of output dropped")
        timed_out = any(o.get("ename") == "CellTimeoutError" for o in cell.outputs if o.output_type == "error")
        if timed_out and not self._stopped:
            self.events.add("timeout", f"{name} ran past its time limit and was interrupted")
            answer = self._responsive()
            if answer == "dead":
                self.events.add("kernel_death", f"the kernel died when {name} was interrupted")
                self._stop(f"not run: the kernel died in an earlier cell ({name})")
            elif answer != "ok":
                self.events.add("unresponsive", f"the kernel ignored the interrupt in {name} and was stopped")
                self._stop(f"not run: the kernel stopped answering in an earlier cell ({name})")

    def _judge_cell(self, cell, resources, index, name):
        """A graded test cell: its points come from the judge, never from what the kernel shows.

        A visible test still runs in the kernel first, as it did for the attendee; that run only tells
        whether the attendee saw it pass (a pass the judge does not confirm is a flag). A hidden test
        never runs in the kernel. The cell's outputs become the judge's: its messages and, when a check
        failed, the error that makes nbgrader give the cell 0."""
        kernel_passed = None
        if "BEGIN HIDDEN TESTS" not in cell.source:
            self._run_in_kernel(cell, resources, index, name)
            kernel_passed = not any(o.output_type == "error" for o in cell.outputs)
        if self._stopped:
            not_run(cell, self._stopped)
            return cell
        try:
            verdict = self.judge.run_test(name)
        except Exception as err:  # noqa: BLE001 - the judge's own failure: this cell gets no points, and a flag
            verdict = judge_module.Verdict(False, "", "GradingError", f"the grader failed on this test: {err}")
            self.events.add("judge_error", f"{name}: {type(err).__name__}: {str(err)[:200]}")
        cell.outputs = []
        if verdict.output:
            cell.outputs.append(new_output("stream", name="stdout", text=verdict.output))
        if not verdict.passed:
            cell.outputs.append(error_output(verdict.ename, verdict.evalue))
            if kernel_passed:
                self.events.add("judge_disagrees", f"{name}: visible tests reported passing, judge disagrees "
                                f"({verdict.ename}: {verdict.evalue.splitlines()[0][:160] if verdict.evalue else ''})")
        if not self._stopped and self.km is not None and not run_sync(self.km.is_alive)():
            self.events.add("kernel_death", f"the kernel died during {name}")
            self._stop(f"not run: the kernel died in an earlier cell ({name})")
        return cell

    def _stop(self, why):
        self._stopped = why
        try:
            if self.km is not None:
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as err:  # already dead
            self.log.debug("kernel shutdown: %s", err)

    # ---- output caps, as the messages arrive ---------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        size = message_chars(msg)
        budget = min(self.max_output_chars - self._cell_chars,
                     self.max_notebook_output_chars - self._notebook_chars)
        if size > budget:
            content = msg.get("content", {})
            if msg["msg_type"] == "stream" and budget > 0:
                self._dropped += size - budget
                content["text"] = content["text"][:budget]
                size = budget
            elif msg["msg_type"] != "error":
                self._dropped += size
                return None
        self._cell_chars += size
        self._notebook_chars += size
        return super().output(outs, msg, display_id, cell_index)


def message_chars(msg):
    content = msg.get("content", {})
    if msg["msg_type"] == "stream":
        return len(content.get("text", ""))
    if msg["msg_type"] == "error":
        return len(content.get("evalue", "")) + sum(len(t) for t in content.get("traceback", []))
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in content.get("data", {}).values())


def error_output(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def not_run(cell, why):
    cell.outputs = [error_output("NotRun", why)]
