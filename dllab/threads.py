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
   :func:`dllab.cpus.available_cpus` (the CPUs this process may run on, ``os.sched_getaffinity``, capped by
   its cgroup CPU quota: one thread on 2 CPUs, the safe side). Then ``Trainer.fit`` calls
   :func:`adapt` when it starts, before each later epoch and every :data:`CHECK_EVERY` seconds
   within an epoch: it measures how many CPUs *other* processes kept busy since the last look
   (``/proc/stat``'s busy time on this process's CPUs, less this process's own CPU time, over the
   wall time; :class:`dllab.cpus.ProcStatLoad`) and :class:`AdaptivePolicy` switches, with threadpoolctl,
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

from .cpus import ProcStatLoad, affinity_cpus, available_cpus, cgroup_cpu_quota

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


def policy(available: int) -> int:
    """The thread count dllab picks for ``available`` CPUs: half of them, at least 1, at most POLICY_CAP.

    Measured on 2 cores (benchmarks/results/threads.md): beside other work, one thread ran lab-size
    steps 2.5 to 15 times faster than two, whose spinning threads wait for each other whenever
    another process holds a core. Half the CPUs leaves room for the kernel's neighbours (the
    Jupyter server, another attendee); on a quiet machine it costs a little, not a factor (lab 2:
    22 s quiet with two threads, 28 s with one even beside a busy process).
    """
    return max(1, min(POLICY_CAP, available // 2))


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
