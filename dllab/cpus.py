"""What this process may run on, and what other processes are doing: the facts the thread policy
(:mod:`dllab.threads`) decides from.

* :func:`available_cpus`: the CPUs the scheduler lets this process use (``os.sched_getaffinity``),
  capped by its cgroup CPU quota (v2 ``cpu.max`` or v1 ``cpu.cfs_quota_us``), as a container,
  a JupyterHub pod or a Binder session sets it;
* :class:`ProcStatLoad`: how many CPUs *other* processes kept busy between two looks, from
  ``/proc/stat`` less this process's own CPU time.

Both read text files and parse them in small functions that the tests feed with fake files.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

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


# --- the load: how many CPUs other processes keep busy ----------------------------------------------


def parse_proc_stat(text: str, cpus=None) -> tuple[int, int]:
    """Busy and total clock ticks since boot from ``/proc/stat``, summed over ``cpus`` (CPU numbers;
    None: the ``cpu`` line, all of them). Busy counts user, nice, system, irq, softirq and steal
    (time the hypervisor gave to another machine: not ours either); idle and iowait are free."""
    busy = total = lines = 0
    for line in text.splitlines():
        if not line.startswith("cpu"):
            continue
        name, *fields = line.split()
        if cpus is None:
            if name != "cpu":
                continue
        elif name == "cpu" or int(name[3:]) not in cpus:
            continue
        ticks = [int(f) for f in fields[:8]] + [0] * max(0, 8 - len(fields))
        user, nice, system, idle, iowait, irq, softirq, steal = ticks
        busy += user + nice + system + irq + softirq + steal
        total += user + nice + system + idle + iowait + irq + softirq + steal
        lines += 1
    if not lines:
        raise ValueError("no cpu lines in /proc/stat")
    return busy, total


def own_cpu_seconds() -> float:
    """CPU time this process (all its threads, BLAS workers included) has used so far."""
    t = os.times()
    return t.user + t.system


class ProcStatLoad:
    """The CPUs other processes kept busy, measured between two calls: call it, get a float (None
    where there is no ``/proc/stat``: another operating system).

    Reading = (busy ticks of this process's CPUs - this process's own CPU time) / wall time, so our
    own BLAS threads (spinning or working) never count as a neighbour. A call within ``window``
    seconds of the previous one gives the previous figure again (two fits in a row); one more than
    ``max_age`` after it (a notebook left alone for an hour says little about now), or the first,
    measures a fresh ``window`` instead (sleeping that long, 0.1 s).
    """

    def __init__(self, path="/proc/stat", window: float = 0.1, max_age: float = 10.0, clock=time.monotonic,
                 sleep=time.sleep, own=own_cpu_seconds, cpus=None):
        self.path, self.window, self.max_age = Path(path), window, max_age
        self.clock, self.sleep, self.own = clock, sleep, own
        self.cpus = cpus
        self._last, self._value = None, None

    def _snapshot(self):
        cpus = self.cpus
        if cpus is None and hasattr(os, "sched_getaffinity"):
            cpus = os.sched_getaffinity(0)
        busy, total = parse_proc_stat(self.path.read_text(), cpus)
        count = len(cpus) if cpus is not None else (os.cpu_count() or 1)
        return self.clock(), busy, total, self.own(), count

    def __call__(self) -> float | None:
        try:
            now = self._snapshot()
            last = self._last
            if last is not None and 0 <= now[0] - last[0] < self.window and self._value is not None:
                return self._value  # too soon for a new figure (two fits in a row): the last one stands
            if last is None or not (self.window <= now[0] - last[0] <= self.max_age):
                last = now
                self.sleep(self.window)
                now = self._snapshot()
        except (OSError, ValueError):
            return None
        self._last = now
        ticks, cpus = now[2] - last[2], now[4]
        if ticks <= 0:
            self._value = None
            return None
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        wall = ticks / cpus / hz                              # seconds, as the kernel counted them
        others = (now[1] - last[1]) / hz - (now[3] - last[3])  # CPU seconds not ours
        self._value = min(float(cpus), max(0.0, others / wall))
        return self._value
