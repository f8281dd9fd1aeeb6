"""Typical wrong answers for lab2_mlp, each with the phrases its failure message must contain, and right
answers written unusually that must pass (run by tests/labs/test_wrong_answers.py)."""

from wrong_answers.cases import Edited, Noisy, Unusual, Wrong

LAB = "lab2_mlp"

CASES = [
        Wrong("activations", "sigmoid_grad as e**z / (1 + e**z)**2", '''
def sigmoid(Z):
    return 0.5 * (1 + np.tanh(0.5 * Z))
def sigmoid_grad(Z):
    e = np.exp(Z)
    return e / (1 + e) ** 2
def relu(Z):
    return np.maximum(Z, 0)
def relu_grad(Z):
    return (Z > 0).astype(Z.dtype)
''', ("sigmoid_grad([-800, -30, 30, 800]) gives nan or inf", "s * (1 - s)")),
        Edited(LAB, "update_rules", "L1 slope as w / sqrt(w**2)", [
            ('l1 * np.sign(w)',
             'l1 * w / np.sqrt(w * w)')],
            ('0 / 0 at w = 0', 'np.sign(w)')),
        Edited(LAB, "update_rules", "sign(0) taken as +1", [
            ('l1 * np.sign(w)',
             'l1 * np.where(w >= 0, 1.0, -1.0)')],
            ('sgd_step(w=[0, 2, -1], g=0.5, lr=0.1, l1=0.2)', 'nothing where w = 0')),
        Edited(LAB, "update_rules", "weight decay added into the caller's g", [
            ('    g = g + weight_decay * w + l1 * np.sign(w)',
             '    np.add(g, weight_decay * w + l1 * np.sign(w), out=g)')],
            ('changed the gradient g it was given', 'g = g + ...')),
        Edited(LAB, "update_rules", "penalties only on 2-D arrays", [
            ('    g = g + weight_decay * w + l1 * np.sign(w)',
             '    if w.ndim >= 2:\n        g = g + weight_decay * w + l1 * np.sign(w)')],
            ('sgd_step on a bias b=[1, -2] with weight_decay=0.1', 'a 1-D bias too')),
        Edited(LAB, "update_rules", "RMSProp's eps inside the square root", [
            ('g / (np.sqrt(s) + eps)',
             'g / np.sqrt(s + eps)')],
            ('rmsprop_step of a tiny gradient', 'after the square root')),
        Wrong("make_mlp", "in_features from the image's side", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    model, width = dl.Flatten(), 28
    for units in sizes[:-1]:
        model = model >> dl.Dense(units, activation=activation, in_features=width)
        width = units
        if dropout:
            model = model >> dl.Dropout(dropout)
    return model >> dl.Dense(sizes[-1], in_features=width)
''', ("fails on an input of shape (2, 1, 28, 28): ShapeError", "Flatten >> Dense")),
        Edited(LAB, "early_stopping", "the patience counter never restarts", [
            ('best, best_epoch, waited = loss, epoch, 0',
             'best, best_epoch = loss, epoch')],
            ('restarts at 0 at every improvement', 'got (3, 4)')),
        Edited(LAB, "update_rules", "momentum velocity not kept", [
            ('    state["v"] = v\n',
             '')],
            ('after step 2', 'the velocity is not kept between steps')),
        Edited(LAB, "update_rules", "L1 with w instead of sign(w)", [
            ('l1 * np.sign(w)',
             'l1 * w')],
            ('L1 adds l1 * np.sign(w)',)),
        Edited(LAB, "update_rules", "updates w in place", [
            ('    return w - lr * v',
             '    w -= lr * v\n    return w')],
            ('changed w in place', 'a new array')),
        Edited(LAB, "update_rules", "RMSProp without the square root", [
            ('g / (np.sqrt(s) + eps)',
             'g / (s + eps)')],
            ('rmsprop_step', 'square root of s')),
        Edited(LAB, "update_rules", "Adam without bias correction", [
            ('m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)',
             'm_hat, v_hat = m, v')],
            ('adam_step(lr=0.01) after step 1', 'bias correction')),
        Edited(LAB, "update_rules", "Adam's step count starts at 0", [
            ('m / (1 - b1 ** t), v / (1 - b2 ** t)',
             'm / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))')],
            ('adam_step(lr=0.01) after step 1 is wrong', 't counts the steps from 1')),
        Wrong("make_mlp", "returns only the last layer", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    model = dl.Flatten()
    for units in sizes[:-1]:
        model >> dl.Dense(units, activation=activation)
    return dl.Dense(sizes[-1])
''', ("a dl.Sequential), got Dense", "last layer only")),
        Edited(LAB, "make_mlp", "activation on the output layer", [
            ('    return model >> dl.Dense(sizes[-1])',
             '    return model >> dl.Dense(sizes[-1], activation=activation)')],
            ('no activation', 'the loss applies softmax')),
        Wrong("make_mlp", "one layer too many", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    model = dl.Flatten()
    for units in sizes:
        model = model >> dl.Dense(units, activation=activation)
        if dropout:
            model = model >> dl.Dropout(dropout)
    return model >> dl.Dense(sizes[-1])
''', ("should chain Flatten, Dense, Dropout, Dense, Dropout, Dense",)),
        Wrong("clip_by_global_norm", "one norm per gradient", '''
def clip_by_global_norm(grads, max_norm):
    out = {}
    for k, g in grads.items():
        n = np.sqrt(np.sum(g ** 2))
        out[k] = g * min(1.0, max_norm / n) if n > 0 else g
    return out, float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
''', ("clipped W is wrong", "max_norm / norm")),
        Wrong("clip_by_global_norm", "always rescales to max_norm", '''
def clip_by_global_norm(grads, max_norm):
    norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    return {k: g * max_norm / norm for k, g in grads.items()}, norm
''', ("above the norm", "scale only when norm > max_norm")),
        Wrong("clip_by_global_norm", "scales in place", '''
def clip_by_global_norm(grads, max_norm):
    norm = float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return grads, norm
''', ("grads['W'] after the call is wrong", "changes the caller's gradients")),

        Wrong("activations", "sigmoid_grad returns sigmoid", '''
def sigmoid(Z):
    return 0.5 * (1 + np.tanh(0.5 * Z))
def sigmoid_grad(Z):
    return sigmoid(Z)
def relu(Z):
    return np.maximum(Z, 0)
def relu_grad(Z):
    return (Z > 0).astype(Z.dtype)
''', ("sigmoid_grad([0, 2])", "sigmoid(z) * (1 - sigmoid(z))")),
        Edited(LAB, "activations", "relu changes Z in place", [
            ('    return np.maximum(Z, 0)',
             '    Z[Z < 0] = 0\n    return Z')],
            ('changed its input', 'np.maximum(Z, 0)')),
        Edited(LAB, "forward", "activation after the last layer", [
            ('return softmax(Z3)',
             'return softmax(f(Z3))')],
            ('P with relu is wrong', 'no f after layer 3')),
        Edited(LAB, "forward", "W transposed", [
            ('A2 @ params["W3"] +',
             'A2 @ params["W3"].T +')],
            ('inner sizes of a matrix product', 'W3 (6, 3)')),
        Edited(LAB, "forward", "relu always", [
            ('ACTIVATIONS[act]',
             'ACTIVATIONS["relu"]')],
            ('P with sigmoid is wrong', 'ACTIVATIONS[act]')),
        Edited(LAB, "backward", "untransposed W3", [
            ('(d3 @ params["W3"].T)',
             '(d3 @ params["W3"])')],
            ('raised ValueError', 'inner sizes of a matrix product')),
        Edited(LAB, "backward", "derivative at A instead of Z", [
            ('f_grad(cache["Z2"])',
             'f_grad(cache["A2"])'),
            ('f_grad(cache["Z1"])',
             'f_grad(cache["A1"])')],
            ('the gradient W2', 'W3, b3 are right, so look at this layer', 'not A2')),
        Wrong("backward", "no mean over the batch", '''
def backward(X, y, params, cache, act="relu"):
    _, f_grad = ACTIVATIONS[act]
    P = softmax(cache["Z3"])
    Y = np.eye(P.shape[1])[y]
    d3 = P - Y
    d2 = (d3 @ params["W3"].T) * f_grad(cache["Z2"])
    d1 = (d2 @ params["W2"].T) * f_grad(cache["Z1"])
    return {"W3": cache["A2"].T @ d3, "b3": d3.sum(axis=0), "W2": cache["A1"].T @ d2, "b2": d2.sum(axis=0),
            "W1": X.T @ d1, "b1": d1.sum(axis=0)}
''', ("4× too large, exactly the batch size", "δ3 = (P − Y) / N")),
        Wrong("dropout", "no rescaling", '''
def dropout_forward(A, p, rng, training=True):
    if not training or p == 0:
        return A, np.ones_like(A)
    mask = (rng.random(A.shape) >= p).astype(float)
    return A * mask, mask
''', ("1/(1-p)", "scales the survivors")),
        Wrong("dropout", "keeps with probability p", '''
def dropout_forward(A, p, rng, training=True):
    if not training or p == 0:
        return A, np.ones_like(A)
    mask = (rng.random(A.shape) < p) / p
    return A * mask, mask
''', ("about 25 % of the entries should be 0", "probability to drop")),
        Wrong("dropout", "drops at evaluation too", '''
def dropout_forward(A, p, rng, training=True):
    mask = (rng.random(A.shape) >= p) / (1 - p)
    return A * mask, mask
''', ("evaluation mode", "return A unchanged")),
        Wrong("dropout", "np.random instead of rng", '''
def dropout_forward(A, p, rng, training=True):
    if not training or p == 0:
        return A, np.ones_like(A)
    mask = (np.random.random(A.shape) >= p) / (1 - p)
    return A * mask, mask
''', ("same rng seed gave different masks", "not np.random")),
        Edited(LAB, "early_stopping", "patience off by one", [
            ('waited >= patience',
             'waited > patience')],
            ('the answer is (3, 6), got (3, 7)', 'stops after epoch 6')),
        Edited(LAB, "early_stopping", "equal loss counts as improvement", [
            ('loss < best',
             'loss <= best')],
            ('an equal loss is no improvement', 'got (3, 3)')),
        Edited(LAB, "early_stopping", "0-based epochs", [
            ('enumerate(val_losses, start=1)',
             'enumerate(val_losses)'),
            ('return best_epoch, len(val_losses)',
             'return best_epoch, len(val_losses) - 1')],
            ('got (2, 5)', 'counting from 1')),
]

MUST_PASS = [
        Unusual(LAB, "activations", "sigmoid overflows for -1000 (RuntimeWarning)", [
            ('    return 0.5 * (1 + np.tanh(0.5 * Z))',
             '    return 1 / (1 + np.exp(-Z))')]),
        Noisy("activations", "two-branch stable sigmoid, boolean relu_grad made float", '''
def sigmoid(Z):
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(Z):
    e = np.exp(-np.abs(Z))
    return e / (1 + e) ** 2


def relu(Z):
    return Z * (Z > 0)


def relu_grad(Z):
    return np.heaviside(Z, 0.0)
'''),
        Noisy("update_rules", "penalties as separate terms, Adam's corrections folded into the step size", '''
def sgd_step(w, g, state, lr, momentum=0.0, weight_decay=0.0, l1=0.0):
    grad = g.copy()
    if weight_decay:
        grad += weight_decay * w
    if l1:
        grad += l1 * np.sign(w)
    state["v"] = momentum * state["v"] + grad if "v" in state else grad
    return w - lr * state["v"]


def rmsprop_step(w, g, state, lr, rho=0.9, eps=1e-8):
    state["s"] = rho * state.get("s", np.zeros_like(g)) + (1 - rho) * np.square(g)
    return w - lr * g / (np.sqrt(state["s"]) + eps)


def adam_step(w, g, state, lr, betas=(0.9, 0.999), eps=1e-8):
    b1, b2 = betas
    state["t"] = state.get("t", 0) + 1
    state["m"] = b1 * state.get("m", 0) + (1 - b1) * g
    state["v"] = b2 * state.get("v", 0) + (1 - b2) * g * g
    t = state["t"]
    return w - lr * (state["m"] / (1 - b1 ** t)) / (np.sqrt(state["v"] / (1 - b2 ** t)) + eps)
'''),
        Noisy("make_mlp", "each activation as a layer of its own after its Dense", '''
def make_mlp(sizes=(400, 400, 10), activation=dl.relu, dropout=0.0):
    layers = [dl.Flatten()]
    for units in sizes[:-1]:
        layers += [dl.Dense(units), activation] + ([dl.Dropout(dropout)] if dropout else [])
    model = layers[0]
    for layer in layers[1:] + [dl.Dense(sizes[-1])]:
        model = model >> layer
    return model
'''),
        Noisy("early_stopping", "counts from the best epoch", '''
def early_stopping_epoch(val_losses, patience):
    best_epoch = 1
    for epoch in range(2, len(val_losses) + 1):
        if val_losses[epoch - 1] < val_losses[best_epoch - 1]:
            best_epoch = epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses)
'''),
]
