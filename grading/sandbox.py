"""Execute a hand-in in a throwaway bubblewrap sandbox while nbgrader grades it on the host.

nbgrader's ``autograde`` stays in charge: it sanitises the hand-in, executes it, reads the
scores from the executed cells and writes them to the gradebook, on the host.
``SandboxedExecute`` replaces only its *Execute* step (``nbgrader_config.py`` puts it in
``Autograde.autograde_preprocessors``): the kernel, and with it every line the attendee wrote,
runs inside ``bwrap``:

* the filesystem is an allow-list, read-only: the system (``/usr``, ``/etc``), the Python
  environment, the ``dllab`` package and the lab data; nothing else exists in there — not the
  course folder, the gradebook, the lab sources, other hand-ins or files handed in next to the
  notebook (a shadow ``dllab/`` package), nor the instructor's home;
* a private, empty, writable working folder (the kernel's cwd and ``$HOME``) and ``/tmp``,
  thrown away afterwards;
* no network, its own PID/IPC/UTS namespaces (it cannot see or signal the grader), and it dies
  with the grader (``--die-with-parent``);
* when grading as root: a separate unprivileged user id per sandbox (``setpriv``), with limits on
  processes, address space (memory), file size and CPU time (``prlimit``);
* the kernel talks to the host over Unix sockets in its working folder (ZMQ ``ipc`` transport);
  the notebook file itself never enters the sandbox, only one cell at a time.

On the host, per notebook: a wall-time limit for the whole notebook (``notebook_timeout``) on top
of nbgrader's per-cell ``timeout``; a kernel that ignores the interrupt after a time-out is killed;
after a kernel death (``exit()``, ``os._exit``, a segfault, the memory limit) the cells that had run
keep their outputs (so their points) and the remaining cells are marked "not run"; outputs are
capped in characters as they arrive. Every event goes to the integrity log (``integrity.record``).

**Graded test cells are decided by the judge** (``judge.py``), in this process, never by the
kernel: the judge runs the instructor's test code here, calling the attendee's functions in the
kernel on its own inputs and reading back data only (``wire.py``); the cell's outputs become the
judge's messages, so what the kernel displays, prints or replies in a test cell cannot change a
score. Hidden tests never run in the kernel.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from queue import Empty

import integrity
import judge as judge_module
import wire
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Instance, Integer, List, Unicode

HERE = Path(__file__).resolve().parent
WIRE_SOURCE = wire.kernel_source()

# environment variables passed into the sandbox (everything else is dropped)
PASSED_ENV = ("LANG", "LC_ALL", "TZ", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "NBGRADER_EXECUTION", "MPLBACKEND", "CI", "PYDEVD_DISABLE_FILE_VALIDATION")


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or does not work here, and unsandboxed grading was not allowed."""


def bwrap_path():
    return shutil.which("bwrap")


@functools.cache
def env_ignores_signals():
    """Whether ``env --ignore-signal`` works here (GNU coreutils 8.31 or later): the sandbox needs it."""
    env = shutil.which("env")
    return bool(env) and subprocess.run([env, "--ignore-signal=INT", "true"], capture_output=True).returncode == 0


def module_dir(name):
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]).resolve()


def default_read_only_paths():
    """What a lab's kernel needs to read: the Python installation, the environment, dllab, the data."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parents[1]}
    dllab = module_dir("dllab")
    if dllab is not None:
        paths.add(dllab)
        from dllab.data import data_dir  # the lab data, read where dllab reads it

        paths.add(Path(data_dir()).resolve())
    return sorted(p for p in paths if p.exists())


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts inside bwrap and talks over ipc sockets in ``workdir``."""

    executor = Instance("sandbox.SandboxedExecute", allow_none=True)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        ex = self.executor
        if ex is not None and ex.sandbox:
            kernel_cmd, env = ex.sandbox_command(kernel_cmd)
            kw["env"] = env
            kw["cwd"] = str(ex.workdir)
            if ex.sandbox_uid is not None:  # the kernel, as that uid, reads its connection file
                os.chown(self.connection_file, ex.sandbox_uid, ex.sandbox_uid)
        return await super()._async_launch_kernel(kernel_cmd, **kw)


class SandboxedExecute(Execute):
    """nbgrader's Execute, with the kernel in a bubblewrap sandbox and the host checks above."""

    sandbox = Bool(True, help="Run the kernel in bwrap. False only with grade.py --unsafe-no-sandbox.").tag(
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
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)

    # ---- the sandbox -------------------------------------------------------------------------
    def sandbox_command(self, kernel_cmd):
        """bwrap + setpriv + prlimit around ``kernel_cmd``, and the kernel's clean environment."""
        bwrap = bwrap_path()
        work = str(self.workdir)
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        env.update({"HOME": work, "TMPDIR": "/tmp", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                    "JUPYTER_RUNTIME_DIR": work, "IPYTHONDIR": f"{work}/.ipython", "MPLCONFIGDIR": f"{work}/.mpl",
                    "DLLAB_CACHE": str(self.cache_dir) if self.cache_dir else f"{work}/.cache",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "DLLAB_SANDBOX": "1"})
        cmd = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent", "--hostname", "sandbox", "--proc", "/proc", "--dev", "/dev",
               "--tmpfs", "/tmp", "--clearenv"]
        if os.getuid() != 0:
            cmd.insert(1, "--unshare-user")
        made = {"/", "/tmp", "/proc", "/dev"}

        def parents(path):
            for parent in reversed(Path(path).parents):
                p = str(parent)
                if p not in made:
                    made.add(p)
                    cmd.extend(["--perms", "0755", "--dir", p])

        for system in ("/usr", "/etc", "/opt"):
            if os.path.isdir(system):
                cmd.extend(["--ro-bind", system, system])
                made.add(system)
        for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            if os.path.islink(link):
                cmd.extend(["--symlink", os.readlink(link), link])
            elif os.path.isdir(link):
                cmd.extend(["--ro-bind", link, link])
        read_only = default_read_only_paths() + [Path(p) for p in self.extra_read_only_paths]
        if self.cache_dir:
            read_only.append(self.cache_dir)
        for path in sorted(set(read_only), key=lambda p: len(p.parts)):
            if any(str(path).startswith(s + "/") for s in ("/usr", "/etc", "/opt")):
                continue
            parents(path)
            cmd.extend(["--ro-bind", str(path), str(path)])
            made.add(str(path))
        parents(work)
        cmd.extend(["--bind", work, work, "--chdir", work])
        for k, v in env.items():
            cmd.extend(["--setenv", k, v])
        inner = []
        if self.sandbox_uid is not None:
            inner += ["setpriv", f"--reuid={self.sandbox_uid}", f"--regid={self.sandbox_uid}", "--clear-groups",
                      "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
        limits = [f"--as={self.memory_limit_mb * 2**20}", f"--fsize={self.max_file_mb * 2**20}",
                  f"--cpu={self.notebook_timeout + 60}", "--core=0"]
        if self.sandbox_uid is not None:
            limits.append(f"--nproc={self.max_processes}")
        inner += ["prlimit", *limits, "--"]
        # An interrupt (a cell's time-out) is sent to the kernel's whole process group: bwrap must
        # ignore it, or it dies and takes the kernel with it. The kernel handles SIGINT itself while
        # a cell runs (ipykernel installs its handler for each request), so the cell is interrupted.
        ignore_interrupt = [shutil.which("env"), "--ignore-signal=INT"]  # checked in preprocess
        return ignore_interrupt + cmd + ["--"] + inner + list(kernel_cmd), env

    def _make_workdir(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="dllab-sandbox-"))
        os.chmod(self.workdir, 0o700)
        self.sandbox_uid = None
        if self.sandbox and os.getuid() == 0:
            slot = int(os.environ.get("DLLAB_GRADING_SLOT", os.getpid() % 1000))
            self.sandbox_uid = self.uid_base + slot
            os.chown(self.workdir, self.sandbox_uid, self.sandbox_uid)

    def _prepare_cache(self):
        """A read-only copy of the host's parsed-data cache, readable by the sandbox's uid."""
        self.cache_dir = None
        try:
            from dllab.data import cache_dir
        except ImportError:
            return
        source = Path(cache_dir())
        if not source.is_dir():
            return
        target = Path(tempfile.gettempdir()) / f"dllab-grading-cache-{os.getuid()}"
        target.mkdir(mode=0o755, exist_ok=True)
        for f in source.glob("*.npz"):
            dest = target / f.name
            if not dest.exists() or dest.stat().st_size != f.stat().st_size:
                # graders run side by side: each copies to a name of its own, then renames it into place
                fd, tmp = tempfile.mkstemp(prefix=f".{f.name}.", suffix=".part", dir=target)
                try:
                    with open(fd, "wb") as out, open(f, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, dest)
                except BaseException:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
                    raise
        self.cache_dir = target

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
        if self.sandbox and not bwrap_path():
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so hand-ins cannot be executed in a sandbox. Install it "
                "(as root: apt-get install bubblewrap) or, only for notebooks you trust, grade with "
                "`python grade.py <lab> --unsafe-no-sandbox`.")
        if self.sandbox and not env_ignores_signals():
            raise SandboxUnavailable(
                "`env --ignore-signal=INT` does not work here (it needs GNU coreutils 8.31 or later): without "
                "it, interrupting a cell that runs too long would kill the sandbox. Upgrade coreutils.")
        self.resources_ = resources
        self.events = integrity.EventLog.for_resources(resources, self)
        if not self.sandbox:
            self.events.add("unsandboxed", "executed WITHOUT the sandbox (--unsafe-no-sandbox)")
        self._make_workdir()
        self._prepare_cache() if self.sandbox else setattr(self, "cache_dir", None)
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
            raise FileNotFoundError(f"the judge needs the instructor's notebook {path} (run release.py first)")
        return judge_module.load_cells(path)

    # ---- the judge's calls into the kernel ---------------------------------------------------------
    def _transport(self, request):
        """Carry one judge request into the kernel and its reply back, as files in the working folder.

        The request is written under a fresh random name that the kernel cannot have prepared (and is
        never followed if it is a link); the reply is read only if it is a regular file under the size
        limit. What comes back is data (``wire.unpack``)."""
        if self.kc is None or self._stopped:
            raise wire.WireError("the kernel is not running any more")
        if self._wire is None:
            self._wire = "_dllab_wire_" + uuid.uuid4().hex
            setup = (f"import sys as _s, types as _t\n_m = _t.ModuleType({self._wire!r})\n"
                     f"exec(compile({WIRE_SOURCE!r}, '<judge-wire>', 'exec'), _m.__dict__)\n"
                     f"_s.modules[{self._wire!r}] = _m\ndel _s, _t, _m\n")
            self._kernel_run(setup, "setting up the judge's calls")
        name = uuid.uuid4().hex
        request_path, reply_path = self.workdir / f"judge-{name}.in", self.workdir / f"judge-{name}.out"
        fd = os.open(request_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(request)
        try:
            self._kernel_run(f"__import__('sys').modules[{self._wire!r}].serve({str(request_path)!r}, "
                             f"{str(reply_path)!r}, get_ipython().user_ns)", "running your function")
            return wire.unpack(self._read_reply(reply_path), limit=self.max_reply_mb * 2**20)
        finally:
            for path in (request_path, reply_path):
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def _read_reply(self, path):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            raise wire.WireError("your kernel gave no answer to the grader's call") from None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_reply_mb * 2**20:
                raise wire.WireError("your kernel's answer is not a file of data under the size limit")
            return f.read(self.max_reply_mb * 2**20 + 1)

    def _kernel_run(self, code, what):
        """Run code in the kernel, silently (no history, no output kept), within the cell's time left."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        answer = self._reply_within(msg_id, self._get_timeout(None) or self.notebook_timeout)
        if answer == "dead":
            self.events.add("kernel_death", f"the kernel died while {what} for the judge")
            self._stop(f"not run: the kernel died while {what} for the judge")
            raise wire.WireError(f"the kernel died while {what}")
        if answer == "timeout":
            self.events.add("timeout", f"the judge's call ran past its time limit while {what}")
            run_sync(self.km.interrupt_kernel)()
            if self._reply_within(msg_id, self.unresponsive_grace) != "ok":
                self.events.add("unresponsive", f"the kernel ignored the interrupt while {what} and was stopped")
                self._stop(f"not run: the kernel stopped answering while {what} for the judge")
                raise wire.WireError(f"the kernel stopped answering while {what}")
            raise wire.WireError(f"time limit reached while {what}")

    async def _async_reply_within(self, msg_id, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                wait = min(1, max(0.01, deadline - time.monotonic()))
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=wait))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    return "dead"
                continue
            except Exception:
                return "dead"
            if msg["parent_header"].get("msg_id") == msg_id:
                return "ok"
        return "timeout"

    _reply_within = run_sync(_async_reply_within)

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

    def _responsive(self):
        """After an interrupt: "ok" if the kernel runs a trivial cell within the grace period,
        "dead" if it is gone, "stuck" otherwise."""
        try:
            msg_id = self.kc.execute("pass", silent=True, store_history=False)
        except Exception:
            return "dead"
        answer = self._reply_within(msg_id, self.unresponsive_grace)
        return "stuck" if answer == "timeout" else answer


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


def current_user():
    return pwd.getpwuid(os.getuid()).pw_name
