"""The bubblewrap sandbox a hand-in's kernel runs in (``SandboxedExecute`` starts it).

* the filesystem is an allow-list, read-only: the system (``/usr``, ``/etc``), the Python
  environment, the ``dllab`` package and the lab data; nothing else exists in there — not the
  course folder, the gradebook, the lab sources, the ``grading`` package (the judge, the answer keys;
  hidden under an empty folder if it lies inside a mounted one), other hand-ins or files handed in
  next to the notebook (a shadow ``dllab/`` package), nor the instructor's home;
* a private, empty, writable working folder (the kernel's cwd and ``$HOME``) and ``/tmp``,
  thrown away afterwards;
* no network, its own PID/IPC/UTS namespaces (it cannot see or signal the grader), and it dies
  with the grader (``--die-with-parent``);
* when grading as root: a separate unprivileged user id per sandbox (``setpriv``), with limits on
  processes, address space (memory), file size and CPU time (``prlimit``);
* the kernel talks to the host over Unix sockets in its working folder (ZMQ ``ipc`` transport);
  the notebook file itself never enters the sandbox, only one cell at a time.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Any

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


def hidden_paths():
    """What must never be readable in the sandbox: the grading package (the judge, the answer keys) and
    the course folder (the gradebook, the sources). Masked by an empty folder where a mounted path holds
    them (a non-editable install puts ``grading`` inside the environment)."""
    paths = {Path.cwd().resolve()}  # nbgrader runs in the course folder
    grading = module_dir("grading")
    if grading is not None:
        paths.add(grading)
    return sorted(paths)


@dataclass
class Limits:
    """What one sandbox may use; ``uid`` is its own user id when grading as root (else None)."""

    memory_mb: int
    file_mb: int
    cpu_seconds: int
    max_processes: int
    uid: int | None = None


def command(kernel_cmd, workdir, limits, read_only=(), cache_dir=None):
    """bwrap + setpriv + prlimit around ``kernel_cmd``, and the kernel's clean environment."""
    bwrap = bwrap_path()
    work = str(workdir)
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update({"HOME": work, "TMPDIR": "/tmp", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
                "JUPYTER_RUNTIME_DIR": work, "IPYTHONDIR": f"{work}/.ipython", "MPLCONFIGDIR": f"{work}/.mpl",
                "DLLAB_CACHE": str(cache_dir) if cache_dir else f"{work}/.cache",
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
    read_only = default_read_only_paths() + [Path(p) for p in read_only] + ([Path(cache_dir)] if cache_dir else [])
    mounted = []
    for path in sorted(set(read_only), key=lambda p: len(p.parts)):
        mounted.append(path)
        if any(str(path).startswith(s + "/") for s in ("/usr", "/etc", "/opt")):
            continue
        parents(path)
        cmd.extend(["--ro-bind", str(path), str(path)])
        made.add(str(path))
    for secret in hidden_paths():  # after the mounts, so that the empty folder lies over them
        if any(secret == m or m in secret.parents for m in mounted + [Path(s) for s in ("/usr", "/etc", "/opt")]):
            cmd.extend(["--tmpfs", str(secret)])
    parents(work)
    cmd.extend(["--bind", work, work, "--chdir", work])
    for k, v in env.items():
        cmd.extend(["--setenv", k, v])
    inner = []
    if limits.uid is not None:
        inner += ["setpriv", f"--reuid={limits.uid}", f"--regid={limits.uid}", "--clear-groups",
                  "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    caps = [f"--as={limits.memory_mb * 2**20}", f"--fsize={limits.file_mb * 2**20}",
            f"--cpu={limits.cpu_seconds}", "--core=0"]
    if limits.uid is not None:
        caps.append(f"--nproc={limits.max_processes}")
    inner += ["prlimit", *caps, "--"]
    # An interrupt (a cell's time-out) is sent to the kernel's whole process group: bwrap must
    # ignore it, or it dies and takes the kernel with it. The kernel handles SIGINT itself while
    # a cell runs (ipykernel installs its handler for each request), so the cell is interrupted.
    ignore_interrupt = [shutil.which("env"), "--ignore-signal=INT"]  # checked before grading starts
    return ignore_interrupt + cmd + ["--"] + inner + list(kernel_cmd), env


def make_workdir(uid_base=None):
    """A private working folder; with ``uid_base`` (grading as root) it belongs to this slot's own uid.
    Returns (folder, uid or None)."""
    workdir = Path(tempfile.mkdtemp(prefix="dllab-sandbox-"))
    os.chmod(workdir, 0o700)
    uid = None
    if uid_base is not None and os.getuid() == 0:
        slot = int(os.environ.get("DLLAB_GRADING_SLOT", os.getpid() % 1000))
        uid = uid_base + slot
        os.chown(workdir, uid, uid)
    return workdir, uid


def prepare_cache():
    """A read-only copy of the host's parsed-data cache, readable by the sandbox's uid (None if none)."""
    try:
        from dllab.data import cache_dir
    except ImportError:
        return None
    source = Path(cache_dir())
    if not source.is_dir():
        return None
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
    return target


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts inside bwrap and talks over ipc sockets in ``workdir``."""

    executor = Any(None, allow_none=True)  # the SandboxedExecute that grades the notebook

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        ex = self.executor
        if ex is not None and ex.sandbox:
            kernel_cmd, env = ex.sandbox_command(kernel_cmd)
            kw["env"] = env
            kw["cwd"] = str(ex.workdir)
            if ex.sandbox_uid is not None:  # the kernel, as that uid, reads its connection file
                os.chown(self.connection_file, ex.sandbox_uid, ex.sandbox_uid)
        return await super()._async_launch_kernel(kernel_cmd, **kw)
