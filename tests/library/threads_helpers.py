"""The thread tests' fake load source: the adaptive policy fed the load each test scripts."""


class FakeLoad:
    """CPUs busy with other processes, one scripted value per reading; records how often it was read."""

    def __init__(self, values):
        self.values, self.calls = list(values), 0

    def __call__(self):
        self.calls += 1
        return self.values.pop(0)
