"""How many threads NumPy's BLAS (and any OpenMP runtime) may use, chosen from the CPUs this
process really has.

A class server, a JupyterHub node or a Binder pod shares its cores with other people's kernels.
OpenBLAS starts one thread per core it *sees* and its threads spin while they wait for each
other; when a neighbour holds one of the cores, the lab-size matrix products of dllab run many
times slower (lab 2: 22 s on a quiet 2-core machine, 191 s beside one busy process, 28 s with
one thread). So ``import dllab`` sets the thread count once, with threadpoolctl, in this order:

1. ``dl.set_num_threads(n)`` in the notebook (``n=None``: back to the choice below);
2. ``DLLAB_NUM_THREADS=n`` in the environment (``auto``: the choice below);
3. ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``BLIS_NUM_THREADS`` or
   ``VECLIB_MAXIMUM_THREADS`` set by the user: dllab leaves the libraries as those made them;
4. otherwise :func:`policy` of :func:`available_cpus`: the CPUs this process may run on
   (``os.sched_getaffinity``) capped by its cgroup CPU quota (v2 ``cpu.max``, v1
   ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``).

``dl.threads.info()`` says what was chosen and why. Libraries loaded after dllab (PyTorch, for
one) keep their own default: call ``dl.set_num_threads(...)`` again after importing them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

# the variables with which users already tell BLAS and OpenMP runtimes how many threads to start
USER_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS")
ENV_VARIABLE = "DLLAB_NUM_THREADS"
# Largest thread count the policy picks by itself: dllab's matrices are lab-sized (a batch of 64 to
# 128 rows) and gain little from many threads (a judgement: only 2-core machines were measured).
POLICY_CAP = 4

_state = {"num_threads": None, "source": "not applied yet"}


# --- the CPUs this process may use ----------------------------------------------------------------


def affinity_cpus() -> int:
    """The number of CPUs the scheduler lets this process run on (all CPUs where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def parse_cpu_max(text: str) -> float | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` line (``"max 100000"`` -> None, ``"200000 100000"`` -> 2.0)."""
    fields = text.split()
    if not fields or fields[0] == "max":
        return None
    quota = int(fields[0])
    period = int(fields[1]) if len(fields) > 1 else 100_000  # the kernel's default period
    return quota / period if quota > 0 and period > 0 else None


def parse_cfs(quota_text: str, period_text: str) -> float | None:
    """CPUs allowed by cgroup v1 ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us`` (quota -1: no limit)."""
    quota, period = int(quota_text.strip()), int(period_text.strip())
    return quota / period if quota > 0 and period > 0 else None


def _own_cgroups(proc_cgroup: Path) -> dict[str, str]:
    """The process's cgroup path per hierarchy from ``/proc/self/cgroup``: ``{"": v2 path, "cpu": v1 path}``."""
    paths = {}
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            paths[""] = path
        elif "cpu" in controllers.split(","):
            paths["cpu"] = path
    return paths


def _candidate_dirs(mount: Path, own: str | None) -> list[Path]:
    """The process's own cgroup folder under ``mount`` and its ancestors up to ``mount``, where they exist.

    Inside a container the own path is often the host's (``/docker/<id>``) while the container sees
    its cgroup at the mount point: folders that do not exist are skipped, the mount point is always tried.
    """
    dirs = []
    if own:
        folder = mount / own.strip("/")
        while folder != mount and mount in folder.parents:
            if folder.is_dir():
                dirs.append(folder)
            folder = folder.parent
    dirs.append(mount)
    return dirs


def cgroup_cpu_quota(root: str | os.PathLike = "/sys/fs/cgroup",
                     proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> tuple[float | None, str | None]:
    """The tightest CPU quota of this process's cgroups, in CPUs, and the file it came from.

    Reads cgroup v2's ``cpu.max``; where there is none, cgroup v1's ``cpu.cfs_quota_us`` and
    ``cpu.cfs_period_us`` (under ``cpu/`` or ``cpu,cpuacct/``). ``(None, None)``: no quota, or no
    cgroup files (another operating system). Unreadable or malformed files count as no quota.
    """
    root, own = Path(root), _own_cgroups(Path(proc_cgroup))
    found = []
    for folder in _candidate_dirs(root, own.get("")):
        try:
            quota = parse_cpu_max((folder / "cpu.max").read_text())
        except (OSError, ValueError):
            continue
        if quota is not None:
            found.append((quota, str(folder / "cpu.max")))
    if not found:
        for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            if not (root / name).is_dir():
                continue
            for folder in _candidate_dirs(root / name, own.get("cpu")):
                try:
                    quota = parse_cfs((folder / "cpu.cfs_quota_us").read_text(),
                                      (folder / "cpu.cfs_period_us").read_text())
                except (OSError, ValueError):
                    continue
                if quota is not None:
                    found.append((quota, str(folder / "cpu.cfs_quota_us")))
            break
    return min(found) if found else (None, None)


def available_cpus(root: str | os.PathLike = "/sys/fs/cgroup",
                   proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> int:
    """CPUs this process can keep busy: its affinity, capped by its cgroup quota rounded up (at least 1).

    Rounded up as joblib/loky do: a quota of 1.5 CPUs lets two threads share the time.
    """
    cpus = affinity_cpus()
    quota, _ = cgroup_cpu_quota(root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def policy(available: int) -> int:
    """The thread count dllab picks for ``available`` CPUs: half of them, at least 1, at most POLICY_CAP.

    Measured on 2 cores (benchmarks/results/threads.md): beside other work, one thread ran lab-size
    steps 2.5 to 15 times faster than two, whose spinning threads wait for each other whenever
    another process holds a core. Half the CPUs leaves room for the kernel's neighbours (the
    Jupyter server, another attendee); on a quiet machine it costs a little, not a factor (lab 2:
    22 s quiet with two threads, 28 s with one even beside a busy process).
    """
    return max(1, min(POLICY_CAP, available // 2))


# --- choosing and applying ------------------------------------------------------------------------


def _parse_count(value, where: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        n = 0
    if n < 1 or str(value).strip() != str(n):
        raise ValueError(f"{where} must be a whole number of threads, at least 1 (or 'auto'); got {value!r}. "
                         f"For example {ENV_VARIABLE}=1, or unset it to let dllab choose.")
    return n


def choose(environ=None, available: int | None = None) -> tuple[int | None, str]:
    """The thread count the environment asks for and why: ``(n, reason)``, ``n=None`` to leave the libraries alone."""
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_VARIABLE, "").strip()
    if value and value.lower() != "auto":
        return _parse_count(value, f"the environment variable {ENV_VARIABLE}"), f"{ENV_VARIABLE}={value}"
    if not value:
        user_set = [f"{k}={environ[k]}" for k in USER_VARIABLES if environ.get(k, "").strip()]
        if user_set:
            return None, f"{', '.join(user_set)} set in the environment (left as it is)"
    available = available_cpus() if available is None else available
    n = policy(available)
    return n, f"{available} CPU{'s' if available != 1 else ''} available to this process -> {n}"


def _limit(n: int) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)  # applies now to every BLAS and OpenMP library loaded in the process


def apply(environ=None) -> int | None:
    """Set the thread count from the environment (what ``import dllab`` does); returns it (None: left alone)."""
    n, source = choose(environ)
    if n is not None:
        _limit(n)
    _state.update(num_threads=n, source=source)
    return n


def set_num_threads(n: int | None = None) -> int:
    """Use ``n`` BLAS/OpenMP threads from now on (``None``: dllab's choice for this machine); returns the count.

        import dllab as dl
        dl.set_num_threads(1)      # one thread: steady on a shared machine
        dl.threads.info()          # what is in force, and why
    """
    if n is None:
        available = available_cpus()
        n, source = policy(available), f"dl.set_num_threads(None): {available} CPUs available"
    else:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"dl.set_num_threads takes a whole number of threads (or None); got {n!r}")
        n, source = _parse_count(n, "dl.set_num_threads's argument"), f"dl.set_num_threads({n})"
    _limit(n)
    _state.update(num_threads=n, source=source)
    return n


def info() -> dict:
    """What is in force: the thread count dllab set (None: left to the environment), why, the CPUs
    seen, and each loaded BLAS/OpenMP library with its current thread count (threadpoolctl's view)."""
    from threadpoolctl import threadpool_info

    quota, quota_file = cgroup_cpu_quota()
    return {
        "num_threads": _state["num_threads"],
        "source": _state["source"],
        "cpus": {"os_cpu_count": os.cpu_count(), "affinity": affinity_cpus(), "cgroup_quota": quota,
                 "cgroup_quota_file": quota_file, "available": available_cpus()},
        "libraries": [{k: lib.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "filepath")}
                      for lib in threadpool_info()],
    }
