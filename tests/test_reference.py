"""The fast ops agree with their references (dllab.functional.reference), values and gradients."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dllab.autograd import Tensor
from dllab.functional import reference
from dllab.functional.pool import max_pool2d


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
       kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
       pad=st.integers(0, 1), ties=st.booleans(), seed=st.integers(0, 2**16))
def test_fast_max_pool_matches_the_reference(n, c, h, w, kh, kw, sh, sw, pad, ties, seed):
    """Masks (fast) against the argmax scatter (reference): overlapping, padded, non-tiling, ties."""
    pad = min(pad, kh // 2, kw // 2)
    if kh > h + 2 * pad or kw > w + 2 * pad:
        return
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, c, h, w)).astype(np.float64) if ties else rng.standard_normal((n, c, h, w))
    outs, grads = [], []
    for fn in (max_pool2d, reference.max_pool2d):
        X = Tensor(x, requires_grad=True)
        out = fn(X, (kh, kw), (sh, sw), pad)
        g = np.random.default_rng(seed + 1).standard_normal(out.shape)
        out.backward(g)
        outs.append(out.data)
        grads.append(X.grad)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-12)


def test_the_reference_reads_windows_as_the_formula_says():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    win = reference.windows(x, (2, 2), (2, 2), (2, 2))
    np.testing.assert_array_equal(win[0, 0, 1, 0], [8, 9, 12, 13])  # xpad[2*1 + i, 2*0 + j]
    np.testing.assert_array_equal(reference.max_pool2d(Tensor(x), 2).data[0, 0], [[5, 7], [13, 15]])
