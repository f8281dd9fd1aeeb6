"""dllab.threads' adaptive policy with a fake load source: switching up and down, patience, no flapping; and the
default load source, /proc/stat less our own CPU time."""

import os

import pytest
from threads_helpers import FakeLoad

from dllab import cpus as cpu_facts
from dllab import threads

# --- the adaptive policy, with a fake load source -------------------------------------------------


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
