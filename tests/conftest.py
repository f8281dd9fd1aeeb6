import os

import numpy as np
import pytest

os.environ.setdefault("DLLAB_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed_dllab():
    import dllab

    dllab.seed(0)
    yield
