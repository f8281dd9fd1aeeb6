"""dllab.threads on the libraries: the BLAS pool really changes, at import and with set_num_threads, and adapt()
switches it unless an override turns it off."""

import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info, threadpool_limits
from threads_helpers import FakeLoad

import dllab as dl
from dllab import threads

# --- the libraries really change -----------------------------------------------------------


def blas_threads():
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


@pytest.fixture
def restore_limits():
    with threadpool_limits(limits=None):  # restores every library's count on exit
        saved = dict(threads._state)
        yield
        threads._state.update(saved)


def test_set_num_threads_changes_the_blas_pool(restore_limits):
    assert blas_threads(), "NumPy's BLAS is not visible to threadpoolctl"
    assert dl.set_num_threads(2) == 2
    assert blas_threads() == {2}
    assert dl.threads.info()["num_threads"] == 2
    assert dl.threads.info()["source"] == "dl.set_num_threads(2)"
    dl.set_num_threads(1)
    assert blas_threads() == {1}
    assert [lib["num_threads"] for lib in dl.threads.info()["libraries"] if lib["user_api"] == "blas"] == [1]


def test_set_num_threads_none_goes_back_to_the_policy(restore_limits):
    dl.set_num_threads(3)
    n = dl.set_num_threads(None)
    assert n == threads.policy(threads.available_cpus())
    assert blas_threads() == {n}


def imported_threads(**env):
    """BLAS thread counts and dllab's reason, as seen by a fresh ``import dllab`` under ``env``."""
    environ = {k: v for k, v in os.environ.items()
               if k not in threads.USER_VARIABLES and k != threads.ENV_VARIABLE}
    code = ("import dllab, threadpoolctl; print(sorted({l['num_threads'] for l in threadpoolctl.threadpool_info()"
            " if l['user_api'] == 'blas'}), dllab.threads.info()['source'], sep='|')")
    out = subprocess.run([sys.executable, "-c", code], env={**environ, **env}, capture_output=True, text=True,
                         check=True).stdout.strip()
    counts, source = out.split("|")
    return counts, source


def test_import_applies_the_choice():
    # one process per case: OpenBLAS reads its variables once, when NumPy loads it
    policy_n = threads.policy(threads.available_cpus())
    assert imported_threads() == (f"[{policy_n}]", f"{threads.available_cpus()} CPU"
                                  f"{'s' if threads.available_cpus() != 1 else ''} available to this process -> "
                                  f"{policy_n} (adaptive: fit() measures the load and may switch)")
    assert imported_threads(DLLAB_NUM_THREADS="3", OPENBLAS_NUM_THREADS="1") == ("[3]", "DLLAB_NUM_THREADS=3")
    # OpenBLAS itself caps its variable at the CPUs it counts
    assert imported_threads(OPENBLAS_NUM_THREADS="2") == (
        f"[{min(2, os.cpu_count())}]", "OPENBLAS_NUM_THREADS=2 set in the environment (left as it is)")


# --- adapt(): the process's choice, and the overrides that turn it off ------------------------------


@pytest.fixture
def adaptive_mode(monkeypatch, restore_limits):
    """dllab's adaptive choice in force (the test suite itself runs with OPENBLAS_NUM_THREADS=1), with a
    fresh policy reading a fake load, 2 CPUs, and the thread changes recorded (and applied)."""
    monkeypatch.setattr(threads, "_state", {**threads._state, "mode": "adaptive", "num_threads": 1})
    monkeypatch.setattr(threads, "available_cpus", lambda *a: 2)
    pol = threads.AdaptivePolicy(load=FakeLoad([]))
    monkeypatch.setattr(threads, "adaptive", pol)
    limits = []
    real_limit = threads._limit
    monkeypatch.setattr(threads, "_limit", lambda n: (limits.append(n), real_limit(n)))
    return pol, limits


def test_adapt_switches_the_blas_pool_and_says_why(adaptive_mode):
    pol, limits = adaptive_mode
    pol.load.values = [0.0, 1.2, 0.45]
    assert threads.adapt("fit start") == 2
    assert blas_threads() == {2}
    info = dl.threads.info()
    assert info["mode"] == "adaptive" and info["num_threads"] == 2
    assert info["source"].startswith("adaptive, fit start: 0.00 of 2 CPUs busy") and "up to 2" in info["source"]
    assert threads.adapt("epoch 2") == 1 and blas_threads() == {1}
    assert "down to 1" in dl.threads.info()["source"]
    assert threads.adapt("epoch 3") == 1
    assert limits == [2, 1]  # no call to threadpoolctl when nothing changes
    assert [d["when"] for d in dl.threads.info()["adaptive"]["recent"]] == ["fit start", "epoch 2", "epoch 3"]


@pytest.mark.parametrize("override", ["set_num_threads", "DLLAB_NUM_THREADS", "OPENBLAS_NUM_THREADS"])
def test_overrides_win_over_the_adaptive_policy(adaptive_mode, override, monkeypatch):
    pol, limits = adaptive_mode
    pol.load.values = [0.0] * 5
    if override == "set_num_threads":
        dl.set_num_threads(1)
        expected = 1
    else:
        monkeypatch.setattr(os, "environ", {**os.environ, override: "1"})
        if override == "DLLAB_NUM_THREADS":
            monkeypatch.delitem(os.environ, "OPENBLAS_NUM_THREADS", raising=False)
        expected = threads.apply()
    mode = {"set_num_threads": "fixed", "DLLAB_NUM_THREADS": "fixed", "OPENBLAS_NUM_THREADS": "environment"}
    assert threads._state["mode"] == mode[override]
    assert threads.adapt("fit start") == expected
    assert pol.load.calls == 0  # not even a look at the load
    # and back to dllab's choice
    dl.set_num_threads(None)
    assert threads._state["mode"] == "adaptive"
    assert threads.adapt("fit start") == 2 and pol.load.calls == 1


def test_dllab_num_threads_auto_adapts_even_beside_blas_variables(monkeypatch, restore_limits):
    monkeypatch.setattr(threads, "available_cpus", lambda *a: 2)
    threads.apply({"DLLAB_NUM_THREADS": "auto", "OPENBLAS_NUM_THREADS": "1"})
    assert threads._state["mode"] == "adaptive"
    threads.apply({"OPENBLAS_NUM_THREADS": "1"})
    assert threads._state["mode"] == "environment" and threads._state["num_threads"] is None


def test_adapt_if_due_looks_every_check_every_seconds(adaptive_mode, monkeypatch):
    pol, _ = adaptive_mode
    pol.load.values = [0.0] * 3
    threads.adapt("fit start")
    threads.adapt_if_due()
    assert pol.load.calls == 1  # not due yet
    monkeypatch.setattr(threads, "CHECK_EVERY", 0.0)
    threads.adapt("epoch 2")
    threads.adapt_if_due()
    assert pol.load.calls == 3
