"""dllab.threads: the CPUs a process may use (cgroup v1 and v2 quota files, affinity), the policy from them, and
who wins among the overrides."""

import os

import pytest

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
