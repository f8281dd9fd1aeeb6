"""Typical wrong answers for lab5_transfer, each with the phrases its failure message must contain
(run by tests/labs/test_wrong_answers.py)."""

from wrong_answers.cases import Edited, Unusual, Wrong

LAB = "lab5_transfer"

CASES = [
        Edited(LAB, "take_classes", "labels not renumbered", [
            ('    y = np.array([classes.index(label) for label in data.y[keep]], dtype=np.int64)\n',
             ''),
            ('    return dl.data.Dataset(data.x[keep], y, f"{data.name}-{\'\'.join(map(str, classes))}", names)',
             '    return dl.data.Dataset(data.x[keep], data.y[keep].astype(np.int64), "subset", names)')],
            ("a network with 3 outputs has no output 7", "Renumber them")),
        Edited(LAB, "take_classes", "sorted instead of the given order", [
            ('    classes = list(classes)',
             '    classes = sorted(classes)'),
            ('    return dl.data.Dataset(data.x[keep], y, f"{data.name}-{\'\'.join(map(str, classes))}", names)',
             '    return dl.data.Dataset(data.x[keep], y, "subset", names)')],
            ("follow the order of `classes`",)),
        Edited(LAB, "split_model", "cut off by one", [
            ('    return dl.Sequential(*model.layers[:cut]), dl.Sequential(*model.layers[cut:])',
             '    return dl.Sequential(*model.layers[:cut + 1]), dl.Sequential(*model.layers[cut + 1:])')],
            ("a body of layers 0-4 and a head of layers 5-6",)),
        Edited(LAB, "extract_features", "training mode (dropout on)", [
            ('    body.eval()',
             '    body.train()')],
            ("training mode", "body.eval()")),
        Edited(LAB, "extract_features", "drops the last partial batch", [
            ('        for i in range(0, len(x), batch_size):',
             '        for i in range(0, len(x) - batch_size + 1, batch_size):')],
            ("should have shape (25, 3), got (20, 3)",)),
        Wrong("extract_features", "with gradients", '''
def extract_features(body, x, batch_size=500):
    body.eval()
    parts = []
    for i in range(0, len(x), batch_size):
        parts.append(body(dl.Tensor(dl.backend.to_device(x[i:i + batch_size]))).numpy())
    return np.concatenate(parts)
''', ("with gradients on", "dl.no_grad()")),
        Edited(LAB, "nearest_mean_predict", "returns class positions, not labels", [
            ('    return classes[distances.argmin(axis=1)]',
             '    return distances.argmin(axis=1)')],
            ("return labels, not positions",)),
        Edited(LAB, "nearest_mean_predict", "farthest mean", [
            ('    return classes[distances.argmin(axis=1)]',
             '    return classes[distances.argmax(axis=1)]')],
            ("the farthest class", "argmin")),
        Edited(LAB, 'freeze', 'freeze returns None', [
            ('        p.requires_grad = False\n    return model\n\n',
             '        p.requires_grad = False\n\n')],
            ('must return the model',)),
        Edited(LAB, 'freeze', 'first layer only', [
            ('def freeze(model):\n    for p in model.parameters():\n        p.requires_grad = False',
             'def freeze(model):\n    for p in model.layers[1].parameters():\n        p.requires_grad = False')],
            ('still train', 'every')),
        Edited(LAB, 'freeze', 'gradients cleared instead', [
            ('        p.requires_grad = False',
             '        p.grad = None')],
            ('still train',)),
        Edited(LAB, 'freeze', 'unfreeze does nothing', [
            ('    for p in model.parameters():\n        p.requires_grad = True\n',
             '')],
            ('still frozen',)),
        Edited(LAB, 'with_new_head', 'head still has 5 outputs', [
            ('    return new_body >> dl.Dense(classes)',
             '    return new_body >> dl.Dense(5)')],
            ('should have shape (6, 3)', "not the old head's 5")),
        Edited(LAB, 'with_new_head', 'body not frozen', [
            ('    new_body = freeze(copy.deepcopy(body))',
             '    new_body = copy.deepcopy(body)')],
            ("changed the body's", 'must be frozen')),
        Edited(LAB, 'with_new_head', 'body frozen and shared', [
            ('    new_body = freeze(copy.deepcopy(body))',
             '    new_body = freeze(body)')],
            ('froze `body` itself',)),
        Wrong('with_new_head', 'body shared, not copied', '''
def with_new_head(body, classes):
    new_body = dl.Sequential(*body.layers)
    for p in new_body.parameters():
        p.requires_grad = False
        p.requires_grad = True
    return new_body >> dl.Dense(classes)


def count_parameters(model, trainable_only=False):
    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)
''', ('shares its layers', 'copy.deepcopy(body)')),
        Edited(LAB, 'with_new_head', 'trainable_only ignored', [
            ('    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)',
             '    return sum(p.size for p in model.parameters())')],
            ("only the head's 4 x 3 + 3 = 15 train",)),
        Edited(LAB, 'with_new_head', 'rows instead of entries', [
            ('    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)',
             '    return sum(len(p.data) for p in model.parameters() if p.requires_grad or not trainable_only)')],
            ('= 43',)),
        Edited(LAB, "unfreeze_top", '-0 slices everything', [
            ('    for layer in with_parameters[max(len(with_parameters) - k, 0):]:',
             '    for layer in with_parameters[-k:]:')],
            ('layers[-0:] is the whole list',)),
        Wrong("unfreeze_top", 'layers without parameters counted', '''
def unfreeze_top(model, k):
    freeze(model)
    for layer in model.layers[len(model.layers) - k:]:
        unfreeze(layer)
    return model
''', ('flatten has no parameters',)),
        Edited(LAB, "unfreeze_top", 'rest not frozen', [
            ('    freeze(model)\n',
             '')],
            ('should let ip1 and ip2 train',)),
        Edited(LAB, "unfreeze_top", 'returns None', [
            ('    return model\n',
             '')],
            ('must return the model',)),
] + [Edited(LAB, "fine_tune", why, edits, message) for why, edits, message in [
    ("one learning rate for the whole model",
     [("optimizers = [dl.optim.SGD(body_params, lr=body_lr, momentum=0.9),\n"
       "                  dl.optim.SGD(head_params, lr=head_lr, momentum=0.9)]",
       "optimizers = [dl.optim.SGD(body_params + head_params, lr=head_lr, momentum=0.9)]")],
     ("moved by 0.1 x the gradient, the other part's learning rate", "the head (model.layers[-1]) takes head_lr")),
    ("learning rates swapped",
     [("SGD(body_params, lr=body_lr", "SGD(body_params, lr=head_lr"),
      ("SGD(head_params, lr=head_lr", "SGD(head_params, lr=body_lr")],
     ("the other part's learning rate",)),
    ("the head never steps",
     [(",\n                  dl.optim.SGD(head_params, lr=head_lr, momentum=0.9)]", "]")],
     ("the head's weights did not change in one step",)),
    ("gradients never zeroed", [("\n                optimizer.zero_grad()", "")],
     ("the weights differ from those dl.Trainer reaches", "the gradients of every batch add up")),
    ("a new Batches every epoch",
     [("    batches = dl.data.Batches(data, batch_size, shuffle=True, seed=seed)\n", ""),
      ("for x, y in batches:", "for x, y in dl.data.Batches(data, batch_size, shuffle=True, seed=seed):")],
     ("after 2 epoch(s)", "repeats the first epoch's order")),
    ("mean over batches, not samples",
     [("total += loss.item() * len(y)", "total += loss.item()"), ("count += len(y)", "count += 1")],
     ("the mean losses of 1 epoch(s)", "divided by the number of samples")),
    ("model left in evaluation mode", [("    model.train()\n", "")],
     ("ran the model in evaluation mode", "model.train()")),
    ("only trainable parameters, so a frozen body has an empty optimizer",
     [("for p in layer.parameters()]", "for p in layer.parameters() if p.requires_grad]")],
     ("one without any gradient is skipped",)),
    ("returns the last loss only", [("return losses", "return losses[-1]")],
     ("should return a list of one mean loss",)),
]] + [
        Edited(LAB, "take_classes", "names as the labels in text", [
            ('    names = [data.classes[label] for label in classes]',
             '    names = [str(label) for label in classes]')],
            ("should be ['dog', 'horse', 'truck']", "not the labels as text")),
        Edited(LAB, "take_classes", "float labels", [
            ('    y = np.array([classes.index(label) for label in data.y[keep]], dtype=np.int64)',
             '    y = np.array([classes.index(label) for label in data.y[keep]], dtype=np.float32)')],
            ("should be an int64 array",)),
        Edited(LAB, "nearest_mean_predict", "the class of the nearest training row", [
            ('    means = np.stack([features[labels == c].mean(axis=0) for c in classes])\n'
             '    distances = ((queries[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)\n'
             '    return classes[distances.argmin(axis=1)]',
             '    distances = ((queries[:, None, :] - features[None, :, :]) ** 2).sum(axis=2)\n'
             '    return labels[distances.argmin(axis=1)]')],
            ("the nearest training row is (6, 0)", "not with single training rows")),
        Edited(LAB, "with_new_head", "a softmax in the new head", [
            ('    return new_body >> dl.Dense(classes)',
             '    return new_body >> dl.Dense(classes, activation=dl.softmax)')],
            ("the head ends with a softmax", "applied twice")),
        Edited(LAB, "unfreeze_top", "start index wraps around for large k", [
            ('    for layer in with_parameters[max(len(with_parameters) - k, 0):]:',
             '    for layer in with_parameters[len(with_parameters) - k:]:')],
            ("unfreeze_top(lenet, 6) should let all 4 layers",)),
        Edited(LAB, "fine_tune", "losses kept as Tensors", [
            ('            total += loss.item() * len(y)',
             '            total += loss * len(y)')],
            ("the losses should be numbers (floats), got Tensor", "loss.item()")),
]

MUST_PASS = [
        Unusual(LAB, "fine_tune", "evaluation mode again after training", [
            ('    return losses', '    model.eval()\n    return losses')]),
        Unusual(LAB, "with_new_head", "the head added with dl.Sequential", [
            ('    return new_body >> dl.Dense(classes)',
             '    return dl.Sequential(*new_body.layers, dl.Dense(classes))')]),
        Unusual(LAB, "nearest_mean_predict", "distances with np.linalg.norm", [
            ('    distances = ((queries[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)',
             '    distances = np.linalg.norm(queries[:, None, :] - means[None, :, :], axis=2)')]),
]
