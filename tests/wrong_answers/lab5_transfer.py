"""Typical wrong answers for lab5_transfer, each with the phrases its failure message must contain
(run by tests/test_wrong_answers.py)."""

from wrong_answers.cases import Wrong, mistake, right_answer

FINE_TUNE = right_answer("lab5_transfer", "fine_tune")

CASES = [
        Wrong("take_classes", "labels not renumbered", '''
def take_classes(data, classes):
    classes = list(classes)
    keep = np.isin(data.y, classes)
    names = [data.classes[label] for label in classes]
    return dl.data.Dataset(data.x[keep], data.y[keep].astype(np.int64), "subset", names)
''', ("a network with 3 outputs has no output 7", "Renumber them")),
        Wrong("take_classes", "sorted instead of the given order", '''
def take_classes(data, classes):
    classes = sorted(classes)
    keep = np.isin(data.y, classes)
    y = np.array([classes.index(label) for label in data.y[keep]], dtype=np.int64)
    names = [data.classes[label] for label in classes]
    return dl.data.Dataset(data.x[keep], y, "subset", names)
''', ("follow the order of `classes`",)),
        Wrong("split_model", "cut off by one", '''
def split_model(model, cut):
    return dl.Sequential(*model.layers[:cut + 1]), dl.Sequential(*model.layers[cut + 1:])
''', ("a body of layers 0-4 and a head of layers 5-6",)),
        Wrong("extract_features", "training mode (dropout on)", '''
def extract_features(body, x, batch_size=500):
    body.train()
    parts = []
    with dl.no_grad():
        for i in range(0, len(x), batch_size):
            parts.append(body(dl.Tensor(dl.backend.to_device(x[i:i + batch_size]))).numpy())
    return np.concatenate(parts)
''', ("training mode", "body.eval()")),
        Wrong("extract_features", "drops the last partial batch", '''
def extract_features(body, x, batch_size=500):
    body.eval()
    parts = []
    with dl.no_grad():
        for i in range(0, len(x) - batch_size + 1, batch_size):
            parts.append(body(dl.Tensor(dl.backend.to_device(x[i:i + batch_size]))).numpy())
    return np.concatenate(parts)
''', ("should have shape (25, 3), got (20, 3)",)),
        Wrong("extract_features", "with gradients", '''
def extract_features(body, x, batch_size=500):
    body.eval()
    parts = []
    for i in range(0, len(x), batch_size):
        parts.append(body(dl.Tensor(dl.backend.to_device(x[i:i + batch_size]))).numpy())
    return np.concatenate(parts)
''', ("with gradients on", "dl.no_grad()")),
        Wrong("nearest_mean_predict", "returns class positions, not labels", '''
def nearest_mean_predict(features, labels, queries):
    classes = np.unique(labels)
    means = np.stack([features[labels == c].mean(axis=0) for c in classes])
    distances = ((queries[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)
''', ("return labels, not positions",)),
        Wrong("nearest_mean_predict", "farthest mean", '''
def nearest_mean_predict(features, labels, queries):
    classes = np.unique(labels)
    means = np.stack([features[labels == c].mean(axis=0) for c in classes])
    distances = ((queries[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    return classes[distances.argmax(axis=1)]
''', ("the farthest class", "argmin")),
        Wrong('freeze', 'freeze returns None', '''
def freeze(model):
    for p in model.parameters():
        p.requires_grad = False


def unfreeze(model):
    for p in model.parameters():
        p.requires_grad = True
    return model
''', ('must return the model',)),
        Wrong('freeze', 'first layer only', '''
def freeze(model):
    for p in model.layers[1].parameters():
        p.requires_grad = False
    return model


def unfreeze(model):
    for p in model.parameters():
        p.requires_grad = True
    return model
''', ('still train', 'every')),
        Wrong('freeze', 'gradients cleared instead', '''
def freeze(model):
    for p in model.parameters():
        p.grad = None
    return model


def unfreeze(model):
    for p in model.parameters():
        p.requires_grad = True
    return model
''', ('still train',)),
        Wrong('freeze', 'unfreeze does nothing', '''
def freeze(model):
    for p in model.parameters():
        p.requires_grad = False
    return model


def unfreeze(model):
    return model
''', ('still frozen',)),
        Wrong('with_new_head', 'head still has 5 outputs', '''
def with_new_head(body, classes):
    new_body = freeze(copy.deepcopy(body))
    return new_body >> dl.Dense(5)


def count_parameters(model, trainable_only=False):
    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)
''', ('should have shape (6, 3)', "not the old head's 5")),
        Wrong('with_new_head', 'body not frozen', '''
def with_new_head(body, classes):
    new_body = copy.deepcopy(body)
    return new_body >> dl.Dense(classes)


def count_parameters(model, trainable_only=False):
    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)
''', ("changed the body's", 'must be frozen')),
        Wrong('with_new_head', 'body frozen and shared', '''
def with_new_head(body, classes):
    new_body = freeze(body)
    return new_body >> dl.Dense(classes)


def count_parameters(model, trainable_only=False):
    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)
''', ('froze `body` itself',)),
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
        Wrong('with_new_head', 'trainable_only ignored', '''
def with_new_head(body, classes):
    new_body = freeze(copy.deepcopy(body))
    return new_body >> dl.Dense(classes)


def count_parameters(model, trainable_only=False):
    return sum(p.size for p in model.parameters())
''', ("only the head's 4 x 3 + 3 = 15 train",)),
        Wrong('with_new_head', 'rows instead of entries', '''
def with_new_head(body, classes):
    new_body = freeze(copy.deepcopy(body))
    return new_body >> dl.Dense(classes)


def count_parameters(model, trainable_only=False):
    return sum(len(p.data) for p in model.parameters() if p.requires_grad or not trainable_only)
''', ('= 43',)),
        Wrong("unfreeze_top", '-0 slices everything', '''
def unfreeze_top(model, k):
    freeze(model)
    with_parameters = [layer for layer in model.layers if list(layer.parameters())]
    for layer in with_parameters[-k:]:
        unfreeze(layer)
    return model
''', ('layers[-0:] is the whole list',)),
        Wrong("unfreeze_top", 'layers without parameters counted', '''
def unfreeze_top(model, k):
    freeze(model)
    for layer in model.layers[len(model.layers) - k:]:
        unfreeze(layer)
    return model
''', ('flatten has no parameters',)),
        Wrong("unfreeze_top", 'rest not frozen', '''
def unfreeze_top(model, k):
    with_parameters = [layer for layer in model.layers if list(layer.parameters())]
    for layer in with_parameters[max(len(with_parameters) - k, 0):]:
        unfreeze(layer)
    return model
''', ('should let ip1 and ip2 train',)),
        Wrong("unfreeze_top", 'returns None', '''
def unfreeze_top(model, k):
    freeze(model)
    with_parameters = [layer for layer in model.layers if list(layer.parameters())]
    for layer in with_parameters[max(len(with_parameters) - k, 0):]:
        unfreeze(layer)
''', ('must return the model',)),
] + [Wrong("fine_tune", why, mistake(FINE_TUNE, *edits), message) for why, edits, message in [
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
     ("left the model in evaluation mode", "model.train()")),
    ("only trainable parameters, so a frozen body has an empty optimizer",
     [("for p in layer.parameters()]", "for p in layer.parameters() if p.requires_grad]")],
     ("one without any gradient is skipped",)),
    ("returns the last loss only", [("return losses", "return losses[-1]")],
     ("should return a list of one mean loss",)),
]]
