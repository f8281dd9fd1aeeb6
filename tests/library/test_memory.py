"""dllab.memory: glibc is told to keep freed blocks, once, unless the user says no; and the step's
arrays really stop costing page faults (counted, not timed)."""

import os
import subprocess
import sys

import pytest

from dllab import memory


class FakeLibc:
    def __init__(self, answer=1):
        self.calls, self.answer = [], answer

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return self.answer


def test_the_two_thresholds_are_set_and_recorded():
    libc = FakeLibc()
    assert memory.keep_freed_memory({}, libc=libc)
    assert libc.calls == [(memory.M_MMAP_THRESHOLD, 32 << 20), (memory.M_TRIM_THRESHOLD, 128 << 20)]
    assert memory.info()["applied"] and "DLLAB_KEEP_FREED_MEMORY=0" in memory.info()["reason"]


@pytest.mark.parametrize("value", ["0", "off", "no", "False"])
def test_the_user_can_keep_the_allocators_defaults(value):
    libc = FakeLibc()
    assert not memory.keep_freed_memory({"DLLAB_KEEP_FREED_MEMORY": value}, libc=libc)
    assert libc.calls == [] and not memory.info()["applied"]
    assert f"DLLAB_KEEP_FREED_MEMORY={value}" in memory.info()["reason"]


def test_a_refusal_is_reported_not_raised():
    assert not memory.keep_freed_memory({}, libc=FakeLibc(answer=0))
    assert "refused" in memory.info()["reason"]


def faults_per_step(env):
    code = """
import resource, numpy as np, dllab
x = np.ones((256, 1024), np.float32)
def step():
    ys = [x * k for k in range(1, 9)]   # eight fresh 1 MB arrays, as a step's activations and gradients
    return sum(float(y[0, 0]) for y in ys)
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 50)
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator: Linux only")
def test_a_repeated_arrays_pages_are_reused_after_import():
    base = {k: v for k, v in os.environ.items() if k != "DLLAB_KEEP_FREED_MEMORY"}
    kept = faults_per_step(base)
    defaults = faults_per_step({**base, "DLLAB_KEEP_FREED_MEMORY": "0"})
    assert kept < 20 and defaults > 500, (kept, defaults)  # 8 MB = 2048 pages; trimmed and faulted again each step


def test_a_c_library_without_mallopt_keeps_its_defaults():
    assert not memory.keep_freed_memory({}, libc=object())
    assert "no glibc mallopt" in memory.info()["reason"]
