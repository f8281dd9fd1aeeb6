"""Typical wrong answers for lab3_cnn, each with the phrases its failure message must contain
(run by tests/labs/test_wrong_answers.py)."""

from wrong_answers.cases import Edited, Noisy, Unusual, Wrong

LAB = "lab3_cnn"

CASES = [
        Edited(LAB, "conv2d_single", "kernel flipped (true convolution)", [
            ('    kh, kw = k.shape\n',
             '    kh, kw = k.shape\n    kf = k[::-1, ::-1]\n'),
            ('            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * k)',
             '            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * kf)')],
            ("flips the kernel", "multiply each window by the kernel as it is")),
        Edited(LAB, "conv2d_single", "output one row short", [
            ('    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))',
             '    out = np.zeros((x.shape[0] - kh, x.shape[1] - kw))')],
            ("should have shape (2, 2)", "W - kw + 1 positions")),
        Edited(LAB, "conv2d_single", "square kernels only", [
            ('    kh, kw = k.shape\n    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))',
             '    kh = k.shape[0]\n    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kh + 1))'),
            ('            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * k)',
             '            out[i, j] = np.sum(x[i:i + kh, j:j + kh] * k)')],
            ("raised ValueError", "A kernel need not be square")),
        Edited(LAB, "max_pool_single", "stride 1 windows", [
            ('            out[i, j] = x[size * i:size * (i + 1), size * j:size * (j + 1)].max()',
             '            out[i, j] = x[i:i + size, j:j + size].max()')],
            ("max_pool_single(x) of the example is wrong", "the maximum of x[0:2, 2:4]")),
        Edited(LAB, "max_pool_single", "mean instead of max", [
            ('            out[i, j] = x[size * i:size * (i + 1), size * j:size * (j + 1)].max()',
             '            out[i, j] = x[size * i:size * (i + 1), size * j:size * (j + 1)].mean()')],
            ("averages each window", ".max(), not .mean()")),
        Edited(LAB, "conv_output_size", "padding counted once", [
            ('    return (n + 2 * padding - k) // stride + 1',
             '    return (n + padding - k) // stride + 1')],
            ("padding is added on both sides",)),
        Edited(LAB, "conv_output_size", "float division", [
            ('    return (n + 2 * padding - k) // stride + 1',
             '    return (n + 2 * padding - k) / stride + 1')],
            ("return an int", "//")),
        Edited(LAB, "conv_params", "bias per weight", [
            ('    return filters * (in_channels * kernel_size * kernel_size + 1)',
             '    return 2 * filters * in_channels * kernel_size * kernel_size')],
            ("plus 20 biases = 520 parameters", "got 1000")),
        Edited(LAB, "conv_params", "input channels forgotten", [
            ('    return filters * (in_channels * kernel_size * kernel_size + 1)',
             '    return filters * (kernel_size * kernel_size + 1)')],
            ("forgets the input channels",)),
        Edited(LAB, "with_inverted", "returns float64", [
            ('    return np.concatenate([x, 1 - x]), np.concatenate([y, y])',
             '    return np.concatenate([x, 1.0 - x.astype(np.float64)]), np.concatenate([y, y])')],
            ("float32",)),
        Edited(LAB, "with_inverted", "labels not doubled", [
            ('    return np.concatenate([x, 1 - x]), np.concatenate([y, y])',
             '    return np.concatenate([x, 1 - x]), y')],
            ("should be [3, 7, 3, 7]",)),
        Edited(LAB, "with_inverted", "negated instead of inverted", [
            ('    return np.concatenate([x, 1 - x]), np.concatenate([y, y])',
             '    return np.concatenate([x, -x]), np.concatenate([y, y])')],
            ("inverting is 1 - x",)),
        Edited(LAB, "prepare_photo", 'no crop', [
            ('    x = x[rows.min():rows.max() + 1, cols.min():cols.max() + 1]\n',
             '')],
            ('crop the photo to its ink',)),
        Edited(LAB, "prepare_photo", 'box centred, not the mass', [
            ('    top, left = int(np.clip(np.round(13.5 - cy), 0, 8)), int(np.clip(np.round(13.5 - cx), 0, 8))',
             '    top, left = 4, 4')],
            ('centre of mass', "not by the box's middle")),
        Edited(LAB, "prepare_photo", 'grey levels left in 0-255', [
            ('    x = photo / 255',
             '    x = photo.astype(float)'),
            ('    x = np.clip((x - ink) / (paper - ink), 0, 1)\n    rows, cols = np.nonzero(x < 0.5)',
             '    x = x\n    rows, cols = np.nonzero(x < 128)'),
            ('    square = np.ones((side, side))',
             '    square = np.full((side, side), 255.0)'),
            ('    mass = 1 - small',
             '    mass = 255 - small'),
            ('    out = np.ones((28, 28))',
             '    out = np.full((28, 28), 255.0)'),
            ('        out = 1 - out',
             '        out = 255 - out')],
            ('grey levels must be in [0, 1]', 'Divide the photo by 255')),
        Edited(LAB, "prepare_photo", 'not scaled to paper and ink', [
            ('    x = np.clip((x - ink) / (paper - ink), 0, 1)\n',
             '')],
            ('the paper should be 1', 'np.percentile(x, 1)')),
        Edited(LAB, "prepare_photo", 'float64 returned', [
            ('    return out[None].astype(np.float32)',
             '    return out[None]')],
            ('should be float32', '.astype(np.float32)')),
        Edited(LAB, "prepare_photo", 'channel axis left out', [
            ('    return out[None].astype(np.float32)',
             '    return out.astype(np.float32)')],
            ('should have shape (1, 28, 28)', 'out[None]')),
        Edited(LAB, "prepare_photo", "inverted whatever invert says", [
            ('    if invert:\n        out = 1 - out',
             '    out = 1 - out\n    if not invert:\n        out = out')],
            ('has a dark page', 'invert twice')),
        Edited(LAB, "prepare_photo", 'stretched to a square', [
            ('    small = resize(square, 20)',
             '    small = resize(np.kron(x, np.ones((w, h))), 20)')],
            ('stretched', 'pad the crop with paper')),
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
        Edited(LAB, "conv2d", 'padding left out', [
            ('    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))',
             '    xp = x')],
            ('padding=1 was left out', 'np.pad')),
        Edited(LAB, "conv2d", 'padding on one side', [
            ('    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))',
             '    xp = np.pad(x, ((0, 0), (0, 0), (padding, 0), (padding, 0)))')],
            ('both sides',)),
        Wrong("conv2d", 'stride left out', '''
def conv2d(x, w, b, stride=1, padding=0):
    kh, kw = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]
''', ('the stride was left out',)),
        Edited(LAB, "conv2d", 'bias left out', [
            ('    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]',
             '    return np.einsum("nchwab,fcab->nfhw", windows, w)')],
            ('leaves out the bias',)),
        Edited(LAB, "conv2d", 'kernel flipped', [
            ('    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]',
             '    return np.einsum("nchwab,fcab->nfhw", windows, w[:, :, ::-1, ::-1]) + b[None, :, None, None]')],
            ('flips the kernel',)),
        Edited(LAB, "conv2d", 'filters before images', [
            ('    return np.einsum("nchwab,fcab->nfhw", windows, w) + b[None, :, None, None]',
             '    return np.einsum("nchwab,fcab->fnhw", windows, w) + b[:, None, None, None]')],
            ('another order', '(N, F, H_out, W_out)')),
        Edited(LAB, "conv2d", 'edge padding', [
            ('    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))',
             '    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="edge")')],
            ('copies of the border', 'zeros')),
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
        Edited(LAB, "max_pool_backward", '1 instead of g', [
            ('            dx[size * i + a, size * j + b] = g[i, j]',
             '            dx[size * i + a, size * j + b] = 1')],
            ('puts 1 at each maximum',)),
        Edited(LAB, "max_pool_backward", 'size 2 hard-coded', [
            ('            window = x[size * i:size * (i + 1), size * j:size * (j + 1)]',
             '            window = x[2 * i:2 * (i + 1), 2 * j:2 * (j + 1)]'),
            ('            dx[size * i + a, size * j + b] = g[i, j]',
             '            dx[2 * i + a, 2 * j + b] = g[i, j]')],
            ('the windows are 3 x 3',)),
        Edited(LAB, "conv_output_size", "rounds to the nearest", [
            ('    return (n + 2 * padding - k) // stride + 1',
             '    return int(round((n + 2 * padding - k) / stride)) + 1')],
            ("should be (9 - 2) // 2 + 1 = 4, got 5", "Round down with //")),
        Edited(LAB, "with_inverted", "each image's brightest pixel minus x", [
            ('    return np.concatenate([x, 1 - x]), np.concatenate([y, y])',
             '    return np.concatenate([x, x.max(axis=(1, 2, 3), keepdims=True) - x]), np.concatenate([y, y])')],
            ("the second half of x2", "not x.max() - x")),
        Wrong("modified_lenet", "average pooling the second time", '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 5) >> dl.AvgPool2D(2)
            >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10))
''', ("layer 4 is AvgPool2D", "dl.MaxPool2D(2)")),
        Wrong("modified_lenet", "tanh after pool1", '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.tanh >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10))
''', ("between conv1 and conv2", "a ReLU gives 0 for every negative number")),
        Wrong("modified_lenet", "sigmoid in the dense layer of 500", '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500) >> dl.sigmoid >> dl.Dense(10))
''', ("the activation of the dense layer of 500 is not a ReLU",)),
        Wrong("modified_lenet", "a softmax after the scores", '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.MaxPool2D(2) >> dl.relu >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500, activation=dl.relu) >> dl.Dense(10) >> dl.softmax)
''', ("ends with a softmax", "applied twice")),
]

MUST_PASS = [
        Noisy("modified_lenet", "ReLU before the first pooling, the dense ReLU as a layer of its own", '''
def modified_lenet():
    return (dl.Conv2D(75, 5) >> dl.relu >> dl.MaxPool2D(2) >> dl.Conv2D(100, 5) >> dl.MaxPool2D(2)
            >> dl.Flatten() >> dl.Dense(500) >> dl.relu >> dl.Dense(10))
'''),
        Noisy("modified_lenet", "the first ReLU as conv1's activation, layers listed in a Sequential", '''
def modified_lenet():
    return dl.Sequential(dl.Conv2D(75, 5, activation=dl.relu), dl.MaxPool2D(2), dl.Conv2D(100, 5),
                         dl.MaxPool2D(2), dl.Flatten(), dl.Dense(500, activation="relu"), dl.Dense(10))
'''),
        Unusual(LAB, "conv_output_size", "floor of a true division", [
            ('    return (n + 2 * padding - k) // stride + 1',
             '    return int(np.floor((n + 2 * padding - k) / stride)) + 1')]),
        Noisy("conv2d_single", "windows from sliding_window_view", '''
def conv2d_single(x, k):
    windows = np.lib.stride_tricks.sliding_window_view(x, k.shape)
    return np.einsum("ijab,ab->ij", windows, k)
'''),
        Unusual(LAB, "with_inverted", "np.vstack and np.tile", [
            ('    return np.concatenate([x, 1 - x]), np.concatenate([y, y])',
             '    return np.vstack([x, 1.0 - x]).astype(x.dtype), np.tile(y, 2)')]),
]
