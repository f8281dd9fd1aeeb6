"""Typical wrong answers for lab3_cnn, each with the phrases its failure message must contain
(run by tests/test_wrong_answers.py)."""

from wrong_answers.cases import Wrong

CASES = [
        Wrong("conv2d_single", "kernel flipped (true convolution)", '''
def conv2d_single(x, k):
    kh, kw = k.shape
    kf = k[::-1, ::-1]
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * kf)
    return out
''', ("flips the kernel", "multiply each window by the kernel as it is")),
        Wrong("conv2d_single", "output one row short", '''
def conv2d_single(x, k):
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh, x.shape[1] - kw))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * k)
    return out
''', ("should have shape (2, 2)", "W - kw + 1 positions")),
        Wrong("conv2d_single", "square kernels only", '''
def conv2d_single(x, k):
    kh = k.shape[0]
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kh + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kh] * k)
    return out
''', ("raised ValueError", "A kernel need not be square")),
        Wrong("max_pool_single", "stride 1 windows", '''
def max_pool_single(x, size=2):
    H, W = x.shape
    out = np.zeros((H // size, W // size))
    for i in range(H // size):
        for j in range(W // size):
            out[i, j] = x[i:i + size, j:j + size].max()
    return out
''', ("max_pool_single(x) of the example is wrong", "the maximum of x[0:2, 2:4]")),
        Wrong("max_pool_single", "mean instead of max", '''
def max_pool_single(x, size=2):
    H, W = x.shape
    out = np.zeros((H // size, W // size))
    for i in range(H // size):
        for j in range(W // size):
            out[i, j] = x[size * i:size * (i + 1), size * j:size * (j + 1)].mean()
    return out
''', ("averages each window", ".max(), not .mean()")),
        Wrong("conv_output_size", "padding counted once", '''
def conv_output_size(n, k, stride=1, padding=0):
    return (n + padding - k) // stride + 1
''', ("padding is added on both sides",)),
        Wrong("conv_output_size", "float division", '''
def conv_output_size(n, k, stride=1, padding=0):
    return (n + 2 * padding - k) / stride + 1
''', ("return an int", "//")),
        Wrong("conv_params", "bias per weight", '''
def conv_params(in_channels, filters, kernel_size):
    return 2 * filters * in_channels * kernel_size * kernel_size
''', ("plus 20 biases = 520 parameters", "got 1000")),
        Wrong("conv_params", "input channels forgotten", '''
def conv_params(in_channels, filters, kernel_size):
    return filters * (kernel_size * kernel_size + 1)
''', ("forgets the input channels",)),
        Wrong("with_inverted", "returns float64", '''
def with_inverted(x, y):
    return np.concatenate([x, 1.0 - x.astype(np.float64)]), np.concatenate([y, y])
''', ("float32",)),
        Wrong("with_inverted", "labels not doubled", '''
def with_inverted(x, y):
    return np.concatenate([x, 1 - x]), y
''', ("should be [3, 7, 3, 7]",)),
        Wrong("with_inverted", "negated instead of inverted", '''
def with_inverted(x, y):
    return np.concatenate([x, -x]), np.concatenate([y, y])
''', ("inverting is 1 - x",)),
]
