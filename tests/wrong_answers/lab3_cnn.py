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
        Wrong("prepare_photo", 'no crop', '''
def prepare_photo(photo, invert=False):
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    x = np.clip((x - ink) / (paper - ink), 0, 1)
    rows, cols = np.nonzero(x < 0.5)
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 1 - out
    return out[None].astype(np.float32)
''', ('crop the photo to its ink',)),
        Wrong("prepare_photo", 'box centred, not the mass', '''
def prepare_photo(photo, invert=False):
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    x = np.clip((x - ink) / (paper - ink), 0, 1)
    rows, cols = np.nonzero(x < 0.5)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = 4, 4
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 1 - out
    return out[None].astype(np.float32)
''', ('centre of mass', "not by the box's middle")),
        Wrong("prepare_photo", 'grey levels left in 0-255', '''
def prepare_photo(photo, invert=False):
    x = photo.astype(float)
    paper, ink = np.median(x), np.percentile(x, 1)
    x = x
    rows, cols = np.nonzero(x < 128)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.full((side, side), 255.0)
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 255 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.full((28, 28), 255.0)
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 255 - out
    return out[None].astype(np.float32)
''', ('grey levels must be in [0, 1]', 'Divide the photo by 255')),
        Wrong("prepare_photo", 'not scaled to paper and ink', '''
def prepare_photo(photo, invert=False):
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    rows, cols = np.nonzero(x < 0.5)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 1 - out
    return out[None].astype(np.float32)
''', ('the paper should be 1', 'np.percentile(x, 1)')),
        Wrong("prepare_photo", 'float64 returned', '''
def prepare_photo(photo, invert=False):
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    x = np.clip((x - ink) / (paper - ink), 0, 1)
    rows, cols = np.nonzero(x < 0.5)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 1 - out
    return out[None]
''', ('should be float32', '.astype(np.float32)')),
        Wrong("prepare_photo", 'channel axis left out', '''
def prepare_photo(photo, invert=False):
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    x = np.clip((x - ink) / (paper - ink), 0, 1)
    rows, cols = np.nonzero(x < 0.5)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 1 - out
    return out.astype(np.float32)
''', ('should have shape (1, 28, 28)', 'out[None]')),
        Wrong("prepare_photo", "inverted whatever invert says", '''
def prepare_photo(photo, invert=False):
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    x = np.clip((x - ink) / (paper - ink), 0, 1)
    rows, cols = np.nonzero(x < 0.5)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(square, 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    out = 1 - out
    if not invert:
        out = out
    return out[None].astype(np.float32)
''', ('has a dark page', 'invert twice')),
        Wrong("prepare_photo", 'stretched to a square', '''
def prepare_photo(photo, invert=False):
    x = photo / 255
    paper, ink = np.median(x), np.percentile(x, 1)
    x = np.clip((x - ink) / (paper - ink), 0, 1)
    rows, cols = np.nonzero(x < 0.5)
    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = x.shape
    side = max(h, w)
    square = np.ones((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = x
    small = resize(np.kron(x, np.ones((w, h))), 20)
    mass = 1 - small
    cy = mass.sum(axis=1) @ np.arange(20) / mass.sum()
    cx = mass.sum(axis=0) @ np.arange(20) / mass.sum()
    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))
    out = np.ones((28, 28))
    out[top:top + 20, left:left + 20] = small
    if invert:
        out = 1 - out
    return out[None].astype(np.float32)
''', ('stretched', 'pad the crop with paper')),
        Wrong("modified_lenet", 'ReLU after pool1 left out', '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10))
''', ('no ReLU after the first pooling', '>> dl.relu')),
        Wrong("modified_lenet", "LeNet's filters kept", '''
def modified_lenet():
    return (dl.Conv2D(20, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(50, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10))
''', ("LeNet's 20 filters", '75 in conv1')),
        Wrong("modified_lenet", 'no Flatten', '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10))
''', ('has no Flatten',)),
        Wrong("modified_lenet", 'dense layer without ReLU', '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500) >> dl.Dense(10))
''', ('dense layer of 500 gives negative', 'activation=dl.relu')),
        Wrong("modified_lenet", 'softmax-free output given a ReLU', '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10, activation=dl.relu))
''', ('no negative scores',)),
        Wrong("modified_lenet", '3x3 kernels', '''
def modified_lenet():
    return (dl.Conv2D(75, 3) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 3) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10))
''', ('5 x 5',)),
        Wrong("modified_lenet", 'one network for every call', '''
_NET = (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
        >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10))


def modified_lenet():
    return _NET
''', ('returned the same network twice',)),
        Wrong("conv2d", 'padding left out', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = x
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]
''', ('padding=1 was left out', 'np.pad')),
        Wrong("conv2d", 'padding on one side', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]
''', ('both sides',)),
        Wrong("conv2d", 'stride left out', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]
''', ('the stride was left out',)),
        Wrong("conv2d", 'bias left out', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->nfhw", windows, w)
''', ('leaves out the bias',)),
        Wrong("conv2d", 'kernel flipped', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->nfhw", windows, w[:, :, ::-1, ::-1]) + b[None, :, None, None]
''', ('flips the kernel',)),
        Wrong("conv2d", 'filters before images', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->fnhw", windows, w) + b[:, None, None, None]
''', ('another order', '(N, F, H_out, W_out)')),
        Wrong("conv2d", 'edge padding', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]
''', ('copies of the border', 'zeros')),
        Wrong("max_pool_backward", 'g copied to the whole window', '''
def max_pool_backward(x, g, size=2):
    return np.kron(g, np.ones((size, size)))
''', ('copies g[i, j] to every pixel',)),
        Wrong("max_pool_backward", "average pooling's gradient", '''
def max_pool_backward(x, g, size=2):
    return np.kron(g, np.ones((size, size))) / size ** 2
''', ('average pooling',)),
        Wrong("max_pool_backward", 'every tied maximum gets g', '''
def max_pool_backward(x, g, size=2):
    dx = np.zeros(x.shape)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = x[size * i:size * (i + 1), size * j:size * (j + 1)]
            dx[size * i:size * (i + 1), size * j:size * (j + 1)] = (window == window.max()) * g[i, j]
    return dx
''', ('every tied maximum', 'first maximum')),
        Wrong("max_pool_backward", '1 instead of g', '''
def max_pool_backward(x, g, size=2):
    dx = np.zeros(x.shape)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = x[size * i:size * (i + 1), size * j:size * (j + 1)]
            a, b = np.unravel_index(np.argmax(window), window.shape)
            dx[size * i + a, size * j + b] = 1
    return dx
''', ('puts 1 at each maximum',)),
        Wrong("max_pool_backward", 'size 2 hard-coded', '''
def max_pool_backward(x, g, size=2):
    dx = np.zeros(x.shape)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            window = x[2 * i:2 * (i + 1), 2 * j:2 * (j + 1)]
            a, b = np.unravel_index(np.argmax(window), window.shape)
            dx[2 * i + a, 2 * j + b] = g[i, j]
    return dx
''', ('the windows are 3 x 3',)),
]
