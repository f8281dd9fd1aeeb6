"""dllab.threads: the CPUs a process may use (affinity, cgroup quotas read from fake files), the
order in which overrides win, and that the BLAS thread count really changes (threadpoolctl)."""

import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import dllab as dl
from dllab import cpus as cpu_facts
from dllab import threads

# --- parsing the quota files -------------------------------------------------------------------


@pytest.mark.parametrize("text, cpus", [("max 100000\n", None), ("max", None), ("200000 100000\n", 2.0),
                                        ("150000 100000", 1.5), ("50000 100000", 0.5), ("300000", 3.0)])
def test_parse_cpu_max(text, cpus):
    assert cpu_facts.parse_cpu_max(text) == cpus


@pytest.mark.parametrize("quota, period, cpus", [("-1\n", "100000\n", None), ("200000", "100000", 2.0),
                                                 ("25000", "50000", 0.5)])
def test_parse_cfs(quota, period, cpus):
    assert cpu_facts.parse_cfs(quota, period) == cpus


def fake_cgroup(tmp_path, files, own="0::/\n"):
    """A fake /sys/fs/cgroup (``files``: relative path -> text) and /proc/self/cgroup (``own``)."""
    root = tmp_path / "cgroup"
    root.mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(own)
    return root, proc


def test_v2_quota_at_the_mount_point(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "200000 100000\n"})
    assert cpu_facts.cgroup_cpu_quota(root, proc) == (2.0, str(root / "cpu.max"))


def test_v2_no_limit(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "max 100000\n"})
    assert cpu_facts.cgroup_cpu_quota(root, proc) == (None, None)


def test_v2_the_tightest_of_the_own_cgroup_and_its_parents(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "max 100000\n",
                                        "kubepods/pod1/cpu.max": "150000 100000\n",
                                        "kubepods/pod1/ctr/cpu.max": "400000 100000\n"},
                             own="0::/kubepods/pod1/ctr\n")
    assert cpu_facts.cgroup_cpu_quota(root, proc) == (1.5, str(root / "kubepods/pod1/cpu.max"))


def test_v2_host_path_that_the_container_cannot_see(tmp_path):
    # a cgroup namespace-less container: /proc/self/cgroup names the host's folder
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "100000 100000\n"}, own="0::/docker/abc123\n")
    assert cpu_facts.cgroup_cpu_quota(root, proc) == (1.0, str(root / "cpu.max"))


@pytest.mark.parametrize("folder", ["cpu", "cpu,cpuacct"])
def test_v1_fallback(tmp_path, folder):
    root, proc = fake_cgroup(tmp_path, {f"{folder}/cpu.cfs_quota_us": "50000\n",
                                        f"{folder}/cpu.cfs_period_us": "100000\n"},
                             own="4:memory:/x\n2:cpu,cpuacct:/\n")
    assert cpu_facts.cgroup_cpu_quota(root, proc) == (0.5, str(root / folder / "cpu.cfs_quota_us"))


def test_v1_no_limit_and_missing_period(tmp_path):
    root, proc = fake_cgroup(tmp_path, {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"})
    assert cpu_facts.cgroup_cpu_quota(root, proc) == (None, None)
    root2, proc2 = fake_cgroup(tmp_path / "b", {"cpu/cpu.cfs_quota_us": "50000\n"})
    assert cpu_facts.cgroup_cpu_quota(root2, proc2) == (None, None)


def test_missing_and_malformed_files_mean_no_quota(tmp_path):
    assert cpu_facts.cgroup_cpu_quota(tmp_path / "nowhere", tmp_path / "no_proc") == (None, None)
    root, proc = fake_cgroup(tmp_path, {"cpu.max": "lots\n"})
    assert cpu_facts.cgroup_cpu_quota(root, proc) == (None, None)


@pytest.mark.parametrize("files, affinity, expected", [
    ({}, 8, 8),
    ({"cpu.max": "max 100000"}, 8, 8),
    ({"cpu.max": "200000 100000"}, 8, 2),
    ({"cpu.max": "150000 100000"}, 8, 2),   # rounded up: two threads share 1.5 CPUs
    ({"cpu.max": "20000 100000"}, 8, 1),    # never below one
    ({"cpu.max": "800000 100000"}, 3, 3),   # affinity tighter than the quota
])
def test_available_cpus(tmp_path, monkeypatch, files, affinity, expected):
    monkeypatch.setattr(cpu_facts, "affinity_cpus", lambda: affinity)
    root, proc = fake_cgroup(tmp_path, files)
    assert cpu_facts.available_cpus(root, proc) == expected


def test_affinity_is_what_the_scheduler_allows():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no sched_getaffinity on this system")
    assert cpu_facts.affinity_cpus() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("available, n", [(1, 1), (2, 1), (3, 1), (4, 2), (8, 4), (64, threads.POLICY_CAP)])
def test_policy(available, n):
    assert threads.policy(available) == n


# --- who wins --------------------------------------------------------------------------------


@pytest.mark.parametrize("environ, n, reason", [
    ({}, 2, "4 CPUs available"),
    ({"DLLAB_NUM_THREADS": "3"}, 3, "DLLAB_NUM_THREADS=3"),
    ({"DLLAB_NUM_THREADS": "3", "OPENBLAS_NUM_THREADS": "1"}, 3, "DLLAB_NUM_THREADS=3"),
    ({"OPENBLAS_NUM_THREADS": "1"}, None, "OPENBLAS_NUM_THREADS=1 set in the environment"),
    ({"OMP_NUM_THREADS": "2"}, None, "OMP_NUM_THREADS=2"),
    ({"MKL_NUM_THREADS": "4", "OMP_NUM_THREADS": "2"}, None, "OMP_NUM_THREADS=2, MKL_NUM_THREADS=4"),
    ({"DLLAB_NUM_THREADS": "auto", "OPENBLAS_NUM_THREADS": "1"}, 2, "4 CPUs available"),
    ({"DLLAB_NUM_THREADS": " ", "OPENBLAS_NUM_THREADS": ""}, 2, "4 CPUs available"),
])
def test_override_precedence(monkeypatch, environ, n, reason):
    monkeypatch.setattr(threads, "available_cpus", lambda *a: 4)
    got, why = threads.choose(environ)
    assert got == n
    assert reason in why


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_bad_environment_value_says_what_to_do(value):
    with pytest.raises(ValueError, match=rf"DLLAB_NUM_THREADS.*got '{value}'.*DLLAB_NUM_THREADS=1"):
        threads.choose({"DLLAB_NUM_THREADS": value})


@pytest.mark.parametrize("bad, error", [(0, ValueError), (2.0, TypeError), ("2", TypeError), (True, TypeError)])
def test_set_num_threads_rejects_bad_counts(bad, error):
    with pytest.raises(error, match="set_num_threads"):
        dl.set_num_threads(bad)


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


# --- the adaptive policy, with a fake load source -------------------------------------------------


class FakeLoad:
    """CPUs busy with other processes, one scripted value per reading; records how often it was read."""

    def __init__(self, values):
        self.values, self.calls = list(values), 0

    def __call__(self):
        self.calls += 1
        return self.values.pop(0)


def run_policy(values, available=2, start=1):
    """The thread count after each reading of ``values``, from ``start`` threads."""
    pol = threads.AdaptivePolicy(load=FakeLoad(values))
    counts, n = [], start
    for _ in range(len(values)):
        n, _ = pol.step(n, available)
        counts.append(n)
    return counts, pol


def test_policy_switches_up_when_the_machine_is_idle():
    counts, pol = run_policy([0.05])
    assert counts == [2]
    assert "up to 2" in pol.decisions[-1]["why"]


def test_policy_switches_down_at_once_beside_a_busy_neighbour():
    counts, pol = run_policy([0.0, 1.0, 0.9, 2.0], start=1)
    assert counts == [2, 1, 1, 1]
    assert "down to 1" in pol.decisions[1]["why"] and pol.decisions[1]["others_busy"] == 1.0


def test_policy_goes_back_up_after_the_neighbour_leaves_with_patience():
    # after a switch down, two quiet readings in a row are needed; after the next one, four
    counts, _ = run_policy([0.0, 1.0, 0.1, 0.1, 1.0, 0.0, 0.0, 0.0, 0.0])
    assert counts == [2, 1, 1, 2, 1, 1, 1, 1, 2]


@pytest.mark.parametrize("start", [1, 2])
def test_no_flapping_on_a_noisy_boundary(start):
    # readings inside the hysteresis band (0.25 < others <= 0.5 on 2 CPUs) never switch, from either side
    rng = __import__("numpy").random.default_rng(0)
    values = list(rng.uniform(0.26, 0.5, 50))
    counts, pol = run_policy(values, start=start)
    assert set(counts) == {start} and pol.switches == 0


def test_no_flapping_when_the_load_jumps_across_both_thresholds():
    # a neighbour that comes and goes every reading: one switch up, one down, then it stays down
    counts, pol = run_policy([0.0, 1.0] * 20)
    assert pol.switches == 2
    assert counts[2:] == [1] * 38


@pytest.mark.parametrize("available, start, others, expected", [
    (8, 1, 0.0, 4),     # capped at POLICY_CAP
    (8, 4, 3.0, 4),     # 5 free CPUs: keeps 4
    (8, 4, 6.0, 2),     # 2 free CPUs: down to 2
    (4, 1, 1.0, 3),     # 3 free: up to 3
    (4, 3, 1.4, 3),     # 2.6 free >= 3 - 0.5: kept
    (4, 3, 1.7, 2),     # 2.3 free < 3 - 0.5: down to floor(2.3 + 0.25) = 2
    (2, 2, None, 2),    # no figures (no /proc/stat): kept
    (2, 1, None, 1),
])
def test_policy_on_other_machines(available, start, others, expected):
    pol = threads.AdaptivePolicy(load=None)
    assert pol.decide(start, others, available)[0] == expected


# --- the default load source: /proc/stat less our own CPU time -----------------------------------

STAT = "cpu  {u} 0 {s} {i} 0 0 0 0 0 0\ncpu0 {u0} 0 0 {i0} 0 0 0 0 0 0\ncpu1 {u1} 0 {s} {i1} 0 0 0 0 0 0\nintr 1 2\n"


def stat_text(u0, i0, u1, i1, s=0):
    return STAT.format(u=u0 + u1, s=s, i=i0 + i1, u0=u0, i0=i0, u1=u1, i1=i1)


def test_parse_proc_stat():
    text = stat_text(100, 50, 30, 120, s=7)
    assert cpu_facts.parse_proc_stat(text) == (137, 307)
    assert cpu_facts.parse_proc_stat(text, cpus={1}) == (37, 157)
    assert cpu_facts.parse_proc_stat(text, cpus={0}) == (100, 150)
    with pytest.raises(ValueError):
        cpu_facts.parse_proc_stat("intr 1 2\n")


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


def test_proc_stat_load_subtracts_our_own_cpu_time(tmp_path):
    hz = os.sysconf("SC_CLK_TCK")
    stat, clock, own = tmp_path / "stat", FakeClock(), [0.0]
    source = cpu_facts.ProcStatLoad(stat, window=0.1, clock=clock, sleep=clock.sleep, own=lambda: own[0], cpus={0, 1})
    stat.write_text(stat_text(0, 0, 0, 0))
    # no earlier snapshot: measures a fresh window (the fake sleep moves the clock, not the ticks: no data)
    assert source() is None
    # 2 s later: 4 CPU-seconds passed, 3 of them busy, 1.5 of those ours: 1.5 CPU-s others' in 2 s = 0.75
    clock.t += 2.0
    own[0] = 1.5
    stat.write_text(stat_text(2 * hz, 0, 1 * hz, 1 * hz))
    assert source() == pytest.approx(0.75)
    # a reading too old (> max_age) measures a fresh window instead of an hour's average
    clock.t += 3600
    assert source() is None  # the fake ticks did not move in the fresh window


def test_proc_stat_load_without_proc_stat(tmp_path):
    assert cpu_facts.ProcStatLoad(tmp_path / "none", sleep=lambda s: None)() is None


def test_proc_stat_load_on_this_machine_is_a_cpu_count():
    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat on this system")
    value = cpu_facts.ProcStatLoad(window=0.05)()
    assert 0.0 <= value <= cpu_facts.affinity_cpus()


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
