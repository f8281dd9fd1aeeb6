"""How many threads NumPy's BLAS (and any OpenMP runtime) may use: the CPUs this process really
has, and how many of them other processes keep busy right now.

A class server, a JupyterHub node or a Binder pod shares its cores with other people's kernels.
OpenBLAS starts one thread per core it *sees* and its threads spin while they wait for each
other; when a neighbour holds one of the cores, the lab-size matrix products of dllab run many
times slower (lab 2: 22 s on a quiet 2-core machine, 191 s beside one busy process, 28 s with
one thread). Alone on a laptop, on the other hand, one thread leaves a core idle (30-40 % slower
steps than PyTorch's default two threads). So the thread count is chosen in this order:

1. ``dl.set_num_threads(n)`` in the notebook (``n=None``: back to the adaptive choice below);
2. ``DLLAB_NUM_THREADS=n`` in the environment (``auto``: the adaptive choice below);
3. ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``BLIS_NUM_THREADS`` or
   ``VECLIB_MAXIMUM_THREADS`` set by the user: dllab leaves the libraries as those made them;
4. otherwise the **adaptive** choice. ``import dllab`` starts from :func:`policy` of
   :func:`available_cpus` (the CPUs this process may run on, ``os.sched_getaffinity``, capped by
   its cgroup CPU quota: one thread on 2 CPUs, the safe side). Then ``Trainer.fit`` calls
   :func:`adapt` when it starts, before each later epoch and every :data:`CHECK_EVERY` seconds
   within an epoch: it measures how many CPUs *other* processes kept busy since the last look
   (``/proc/stat``'s busy time on this process's CPUs, less this process's own CPU time, over the
   wall time; :class:`ProcStatLoad`) and :class:`AdaptivePolicy` switches, with threadpoolctl,
   to as many threads as there are free CPUs, with hysteresis: up when the other processes use at
   most 0.25 CPU of the cores it would add, down when they take more than 0.5 CPU of the cores in
   use (a busy neighbour beside our two spinning threads gets about 2/3 of a core), and after
   each switch down it waits for more quiet readings in a row before going up again (2, then 4),
   so that a load on the boundary does not make it flap.
   A hand-written training loop can call ``dl.threads.adapt()`` once per epoch itself.

``dl.threads.info()`` (and ``dllab doctor``) says what was chosen and why. Libraries loaded after
dllab (PyTorch, for one) keep their own default until dllab sets a count: call
``dl.set_num_threads(...)`` again after importing them to fix it for all.
"""

from __future__ import annotations

import math
import os
import time
from collections import deque
from pathlib import Path

# the variables with which users already tell BLAS and OpenMP runtimes how many threads to start
USER_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS")
ENV_VARIABLE = "DLLAB_NUM_THREADS"
# Largest thread count the policy picks by itself: dllab's matrices are lab-sized (a batch of 64 to
# 128 rows) and gain little from many threads (a judgement: only 2-core machines were measured).
POLICY_CAP = 4

# mode: "adaptive" (dllab chooses and adapts), "fixed" (dl.set_num_threads(n), DLLAB_NUM_THREADS=n) or
# "environment" (the BLAS/OpenMP variables rule, dllab sets nothing)
_state = {"num_threads": None, "source": "not applied yet", "mode": "adaptive"}
# seconds between two looks at the load within one epoch (the Trainer also looks at each epoch)
CHECK_EVERY = 5.0


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


# --- the adaptive choice ---------------------------------------------------------------------------


class AdaptivePolicy:
    """Threads for the free CPUs, from readings of how many CPUs other processes keep busy.

    With ``available`` CPUs and ``others`` of them busy elsewhere, ``free = available - others``:

    * up from ``n`` to ``m`` (at most ``min(available, POLICY_CAP)``) when ``free >= m - UP``: the
      other processes leave at least ``1 - UP`` of every core we would use;
    * down from ``n`` when ``free < n - DOWN``, to ``max(1, floor(free + UP))``;
    * in between, no change. After each switch down, going up again needs ``quiet_needed`` quiet
      readings in a row (doubling each time: 2, then 4), so that a load hovering around the
      thresholds, or a neighbour that comes and goes, cannot make the count flap.

    A wrong ``down`` costs a core for a while (tens of per cent); a wrong ``up`` beside a busy
    neighbour costs a factor of several (OpenBLAS's threads wait for each other): hence a switch
    down at once and a switch up only when it is clear.
    """

    UP = 0.25
    DOWN = 0.5
    MAX_QUIET_NEEDED = 4

    def __init__(self, load=None, cap: int = POLICY_CAP, keep: int = 20):
        self.load = ProcStatLoad() if load is None else load
        self.cap = cap
        self.quiet_needed, self.quiet_streak, self.switches = 1, 0, 0
        self.decisions = deque(maxlen=keep)  # the latest readings and what was done, for info()

    def decide(self, current: int, others: float | None, available: int) -> tuple[int, str]:
        """The thread count after one reading (``current`` before it) and why, in words."""
        top = max(1, min(available, self.cap))
        if others is None:
            return current, "no load figures on this system (no /proc/stat): kept"
        free = available - others
        seen = f"{others:.2f} of {available} CPUs busy with other processes"
        if current > top:
            return top, f"{seen}; {available} CPUs available -> {top}"
        if current > 1 and free < current - self.DOWN:
            n = max(1, min(top, math.floor(free + self.UP)))
            self.quiet_streak = 0
            self.quiet_needed = min(self.MAX_QUIET_NEEDED, max(2, 2 * self.quiet_needed))
            return n, f"{seen} -> down to {n}"
        want = min(top, math.floor(free + self.UP))
        if want > current:
            self.quiet_streak += 1
            if self.quiet_streak >= self.quiet_needed:
                self.quiet_streak = 0
                return want, f"{seen} -> up to {want}"
            return current, (f"{seen}: kept {current} (quiet reading {self.quiet_streak} of "
                             f"{self.quiet_needed} needed after a switch down)")
        self.quiet_streak = 0
        return current, f"{seen}: kept {current}"

    def step(self, current: int, available: int, when: str = "") -> tuple[int, str]:
        """Take a reading and decide; remembers the decision."""
        others = self.load()
        n, why = self.decide(current, others, available)
        if n != current:
            self.switches += 1
        self.decisions.append({"when": when, "others_busy": None if others is None else round(others, 3),
                               "threads": n, "why": why})
        return n, why


adaptive = AdaptivePolicy()  # the process's policy; tests swap its ``load`` for a fake one
_next_check = [0.0]  # monotonic time of the next look within an epoch


def adapt(when: str = "dl.threads.adapt()") -> int | None:
    """Look at the load and switch the thread count if the policy says so (the Trainer calls this at
    fit start and each epoch); returns the count in force. Does nothing unless the choice is dllab's
    (no ``dl.set_num_threads(n)``, ``DLLAB_NUM_THREADS=n`` or BLAS variable in force)."""
    _next_check[0] = time.monotonic() + CHECK_EVERY
    if _state["mode"] != "adaptive":
        return _state["num_threads"]
    available = available_cpus()
    current = _state["num_threads"] or policy(available)
    if available <= 1:
        n, why = 1, "1 CPU available to this process -> 1"
    else:
        n, why = adaptive.step(current, available, when)
    if n != current:
        _limit(n)
    _state.update(num_threads=n, source=f"adaptive, {when}: {why}")
    return n


def adapt_if_due(when: str = "during an epoch") -> None:
    """:func:`adapt` if :data:`CHECK_EVERY` seconds have passed since the last look (cheap to call every step)."""
    if time.monotonic() >= _next_check[0]:
        adapt(when)


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


def _mode(environ) -> str:
    value = environ.get(ENV_VARIABLE, "").strip()
    if value and value.lower() != "auto":
        return "fixed"
    if not value and any(environ.get(k, "").strip() for k in USER_VARIABLES):
        return "environment"
    return "adaptive"


def apply(environ=None) -> int | None:
    """Set the thread count from the environment (what ``import dllab`` does); returns it (None: left alone).

    In the adaptive mode this is the starting point, :func:`policy` of the CPUs available; the
    first :func:`adapt` (``Trainer.fit``) measures the load and may switch."""
    environ = os.environ if environ is None else environ
    n, source = choose(environ)
    mode = _mode(environ)
    if n is not None:
        _limit(n)
    if mode == "adaptive":
        source += " (adaptive: fit() measures the load and may switch)"
    _state.update(num_threads=n, source=source, mode=mode)
    return n


def set_num_threads(n: int | None = None) -> int:
    """Use ``n`` BLAS/OpenMP threads from now on, whatever the load (``None``: back to dllab's adaptive
    choice, starting from :func:`policy`); returns the count.

        import dllab as dl
        dl.set_num_threads(1)      # one thread, fixed: fit() no longer adapts it
        dl.set_num_threads(None)   # dllab chooses again, from the load at each fit and epoch
        dl.threads.info()          # what is in force, and why
    """
    if n is None:
        available = available_cpus()
        n, mode = policy(available), "adaptive"
        source = f"dl.set_num_threads(None): {available} CPUs available -> {n} (adaptive: fit() may switch)"
    else:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"dl.set_num_threads takes a whole number of threads (or None); got {n!r}")
        n, source, mode = _parse_count(n, "dl.set_num_threads's argument"), f"dl.set_num_threads({n})", "fixed"
    _limit(n)
    _state.update(num_threads=n, source=source, mode=mode)
    return n


def info() -> dict:
    """What is in force: the thread count dllab set (None: left to the environment), why, the mode
    (``adaptive``, ``fixed`` or ``environment``), the CPUs seen, the adaptive policy's latest readings
    and decisions, and each loaded BLAS/OpenMP library with its current thread count (threadpoolctl's view)."""
    from threadpoolctl import threadpool_info

    quota, quota_file = cgroup_cpu_quota()
    return {
        "num_threads": _state["num_threads"],
        "source": _state["source"],
        "mode": _state["mode"],
        "adaptive": {"switches": adaptive.switches, "quiet_readings_needed_to_go_up": adaptive.quiet_needed,
                     "thresholds": {"up_when_others_busy_at_most": adaptive.UP,
                                    "down_when_others_busy_over": adaptive.DOWN},
                     "recent": list(adaptive.decisions)},
        "cpus": {"os_cpu_count": os.cpu_count(), "affinity": affinity_cpus(), "cgroup_quota": quota,
                 "cgroup_quota_file": quota_file, "available": available_cpus()},
        "libraries": [{k: lib.get(k) for k in ("user_api", "internal_api", "num_threads", "version", "filepath")}
                      for lib in threadpool_info()],
    }
