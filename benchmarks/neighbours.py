"""Busy neighbours and load figures for benchmarks that must say how shared the machine was.

    with busy_neighbours(2, max_seconds=600), LoadSampler() as load:
        ...                        # timed work
    load.summary()                 # {"before": 1.2, "mean": 3.1, "max": 3.4, "after": 3.2}

A neighbour is a separate Python process spinning on one core, as another attendee's training
would. Each stops by itself after ``max_seconds`` and is killed when the block ends, even on
an exception or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time

BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextlib.contextmanager
def busy_neighbours(n: int, max_seconds: float = 900):
    """Run ``n`` CPU-burning processes for the duration of the block (each at most ``max_seconds``)."""
    if n < 0:
        raise ValueError(f"the number of busy neighbours must be 0 or more; got {n}")
    procs = [subprocess.Popen([sys.executable, "-c", BURN.format(seconds=float(max_seconds))],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(n)]
    try:
        time.sleep(0.5 if n else 0)  # let them reach the loop
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            p.wait()


def loadavg() -> float:
    """The 1-minute load average (runnable processes, averaged), or NaN where the OS has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def runnable() -> int | None:
    """Processes running or ready to run right now (Linux /proc/loadavg's 4th field, less this reader)."""
    try:
        with open("/proc/loadavg") as f:
            return int(f.read().split()[3].split("/")[0]) - 1
    except (OSError, ValueError, IndexError):
        return None


class LoadSampler:
    """Samples the load average and the runnable count every ``every`` seconds while the block runs."""

    def __init__(self, every: float = 2.0):
        self.every, self.samples, self.runnable = every, [], []
        self._stop = threading.Event()
        self._thread = None

    def _run(self):
        while not self._stop.wait(self.every):
            self.samples.append(loadavg())
            r = runnable()
            if r is not None:
                self.runnable.append(r)

    def __enter__(self):
        self.before = loadavg()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.after = loadavg()
        return False

    def summary(self) -> dict:
        samples = self.samples or [self.after]
        out = {"before": round(self.before, 2), "mean": round(sum(samples) / len(samples), 2),
               "max": round(max(samples), 2), "after": round(self.after, 2)}
        if self.runnable:
            out["runnable_mean"] = round(sum(self.runnable) / len(self.runnable), 2)
        return out
