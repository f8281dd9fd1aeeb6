# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: title,-jupytext.text_representation.jupytext_version,-jupytext.text_representation.format_version
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   title: 'Lab 5: transfer learning'
# ---

# %% [markdown]
# # Lab 5 — Transfer learning
#
# Labelled data is expensive; a network trained for one task is cheap to reuse. In this lab a LeNet
# learns to tell the digits **0–4** apart from thousands of labelled images (the *source* task). Then
# it helps with a *target* task for which only a handful of labelled images exist: telling the digits
# **5–9** apart. You will
#
# 1. cut one dataset into two tasks, relabelling the classes,
# 2. train the source network, and train a network **from scratch** on the few target images, as the
#    baseline,
# 3. use the source network without its last layer as a **frozen feature extractor**: features once,
#    under `dl.no_grad()`, and a small new classifier on top; and the same by giving the optimizer
#    only the new layer's parameters,
# 4. **fine-tune** the whole network with a small learning rate,
# 5. measure how the benefit depends on the number of labelled images, and try the digit features
#    on a far task: **Fashion-MNIST** clothing.
#
# As before: run the cells in order, fill in the `# YOUR CODE HERE` cells, read what the test cells
# say, write short answers where asked. Transfer needs a well-trained source network: by default its
# weights come ready-made with the lab (trained by the same recipe on all 30 596 training images of
# the digits 0–4); with `full = True` the network trains here (a few minutes on a CPU), and the last
# sweep measures more sizes.

# %% tags=["parameters"]
# Parameters (a workshop or a test run may override them)
full = False      # True: the source network trains here on all digits 0-4 (else: the shipped weights)
epochs = None     # epochs of the source training in a full run; None: 3
subset = None     # MNIST training images the source task is cut from; None: all when full, else 6 000
device = "auto"   # "cpu", "gpu" or "auto" (the GPU when CuPy finds one)
seed = 0

# %% tags=["judge"]
import copy

import matplotlib.pyplot as plt
import numpy as np

import dllab as dl
from dllab import labs
from dllab.labs import check, check_close, check_shape
from dllab.models import lenet

run = labs.setup(full, epochs, subset, device, seed, full_epochs=3, small_epochs=2, small_subset=6000)
run


# %% [markdown]
# ## 1. Two tasks from one dataset
#
# The source task keeps the MNIST images of the digits 0–4, the target task those of 5–9. A network
# for five classes has five outputs, numbered 0–4, so the target's labels must be renumbered: digit 5
# becomes label 0, digit 6 label 1, and so on. The dataset's class names keep track of what each label
# means.
#
# **Your turn.** Write `take_classes`. `np.isin(data.y, classes)` marks the samples to keep;
# `data.classes` lists the class names (`data.classes[7]` is `'7'`).

# %% nbgrader={"grade": false, "grade_id": "take_classes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def take_classes(data, classes):
    """The samples of `data` whose label is in `classes`, relabelled 0 .. len(classes) - 1.

    classes: a list of labels such as [5, 6, 7, 8, 9]; classes[i] becomes the new label i.
    Returns dl.data.Dataset(x, y, name, names): the kept images in their original order, their
    new int64 labels, any name, and names[i] = data.classes[classes[i]].
    """
    ### BEGIN SOLUTION
    classes = list(classes)
    keep = np.isin(data.y, classes)
    y = np.array([classes.index(label) for label in data.y[keep]], dtype=np.int64)
    names = [data.classes[label] for label in classes]
    return dl.data.Dataset(data.x[keep], y, f"{data.name}-{''.join(map(str, classes))}", names)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_take_classes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for take_classes (2 points)
tiny = dl.data.Dataset(np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1), np.array([5, 0, 7, 5, 9, 1]),
                       "tiny", ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])
got = labs.call(take_classes, tiny, [5, 7, 9], hint="keep = np.isin(data.y, classes) is one boolean per "
                "sample: use it for data.x and data.y alike, then renumber with classes.index(label).")
check(isinstance(got, dl.data.Dataset), f"take_classes must return a dl.data.Dataset, got {type(got).__name__}.")
check(len(got) == 4, f"the labels [5, 0, 7, 5, 9, 1] hold 4 samples of the classes [5, 7, 9], got {len(got)}: "
      "keep exactly the samples whose label is in `classes`.")
check_close(got.x.ravel(), [0, 2, 3, 4], "the kept images", hint="Keep the images of the kept samples, in their "
            "original order (the same mask for x and y).")
check(not np.array_equal(got.y, [5, 7, 5, 9]), "the labels are still [5, 7, 5, 9]: a network with 3 outputs "
      "has no output 7. Renumber them: classes[i] becomes label i.")
check(np.array_equal(got.y, [0, 1, 0, 2]), f"for the classes [5, 7, 9] the labels [5, 7, 5, 9] become "
      f"[0, 1, 0, 2], got {np.asarray(got.y).tolist()}.")
check(isinstance(got.y, np.ndarray) and got.y.dtype == np.int64, f"the new labels should be an int64 array (labels "
      f"index the network's outputs), got {type(got.y).__name__}"
      f"{f' of {got.y.dtype}' if isinstance(got.y, np.ndarray) else ''}: np.array([...], dtype=np.int64).")
check(list(got.classes) == ["dog", "horse", "truck"], f"the class names should be ['dog', 'horse', 'truck'] "
      f"(names[i] = data.classes[classes[i]]: the data set's own names, not the labels as text), got {got.classes}.")
got = labs.call(take_classes, tiny, [9, 5])
check(np.array_equal(got.y, [1, 1, 0]), f"for the classes [9, 5], 9 becomes 0 and 5 becomes 1, so [5, 5, 9] "
      f"gives [1, 1, 0], got {np.asarray(got.y).tolist()}: follow the order of `classes`, not of the labels.")
print("take_classes: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_take_classes_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for take_classes (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_, _test = dl.data.mnist(subset=100)
_high = _test.y >= 5
_got = labs.call(take_classes, _test, [5, 6, 7, 8, 9])
check(len(_got) == int(_high.sum()), "take_classes(test, [5, 6, 7, 8, 9]) keeps every test digit 5-9.")
check(np.array_equal(_got.y, _test.y[_high] - 5), "the labels of the digits 5-9 become 0-4.")
check(np.asarray(_got.y).dtype == np.int64, "the new labels should be int64.")
check_close(_got.x[:50], _test.x[_high][:50], "the images of the digits 5-9")
check(list(_got.classes) == [_test.classes[_c] for _c in [5, 6, 7, 8, 9]], "the names of the classes 5-9.")
_named = dl.data.Dataset(np.zeros((4, 1, 1, 1), np.float32), np.array([2, 0, 1, 2]), "named", ["ant", "bee", "cow"])
_g = labs.call(take_classes, _named, [2, 0])
check(list(_g.classes) == ["cow", "ant"] and np.asarray(_g.y).dtype == np.int64, "take_classes keeps the data "
      "set's own class names, and int64 labels.")
_odd = labs.call(take_classes, _test, [3, 1])
check(np.array_equal(_odd.y, np.where(_test.y[np.isin(_test.y, [3, 1])] == 3, 0, 1)), "classes [3, 1]: 3 -> 0, 1 -> 1.")
check(_odd.classes == ["3", "1"], "the class names follow `classes`.")
### END HIDDEN TESTS

# %% [markdown]
# The data: the source task from `run.subset` training images (all 60 000 when `full = True`, about
# half of them digits 0–4); the target task's labelled images come from the training digits 5–9. Small
# runs test on 2 000 of the test images.

# %%
train, test = dl.data.mnist(subset=run.subset)
pool, _ = dl.data.mnist()  # the target task's candidates: all training images (only a few get labels)
if not run.full:
    test = test.subset(2000, seed=0)
source_train, source_test = take_classes(train, [0, 1, 2, 3, 4]), take_classes(test, [0, 1, 2, 3, 4])
target_pool, target_test = take_classes(pool, [5, 6, 7, 8, 9]), take_classes(test, [5, 6, 7, 8, 9])
print(source_train, source_test, target_pool, target_test, sep="\n")
print("label -> digit in the target task:", dict(enumerate(target_test.classes)))


# %% [markdown]
# ## 2. The source network, and the baseline
#
# LeNet with five outputs learns the digits 0–4 with lab 3's recipe (SGD with momentum 0.9, learning
# rate 0.03 on a cosine schedule, weight decay $5 \cdot 10^{-4}$, batches of 64), 3 epochs on all the
# training digits 0–4. That takes minutes on a CPU, so unless `full = True` the next cell loads the
# weights this training gave, shipped with the data in `assets/data/lenet-digits-0-4/`
# (`make_weights.py` there made them, byte for byte). Their SHA-256 is checked first, as for the data
# sets: a damaged file fails loudly instead of giving a poor source network.

# %%
def fit(model, data, epochs, lr=0.01, optimizer=None, batch_size=10, validation=None, live=None, name="train"):
    """Train with SGD (momentum 0.9, cosine schedule, weight decay 5e-4); returns the Trainer.

    With `live` the run is drawn into that LiveCurves figure under `name`, with a progress bar.
    """
    if optimizer is None:
        optimizer = dl.optim.SGD(lr=lr, momentum=0.9, weight_decay=5e-4,
                                 schedule=dl.optim.CosineLR(epochs, min_factor=0.02))
    trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=optimizer)
    n = len(data[1]) if isinstance(data, tuple) else len(data)
    callbacks = [live.run(name, steps=epochs * -(-n // batch_size))] if live else []
    trainer.fit(data, epochs=epochs, batch_size=batch_size, validation=validation, seed=run.seed,
                callbacks=callbacks, verbose=False)
    return trainer


SOURCE_WEIGHTS = dl.data.data_dir() / "lenet-digits-0-4" / "lenet_digits_0-4.npz"
SOURCE_SHA256 = "05108bf8270c0f94765e2be2073ba58637e2fa08c347e1c3a59b10c77572a289"


def load_checked(model, path, sha256):
    """model.load(path) once the file's SHA-256 is the expected one."""
    check(path.is_file(), f"the trained weights {path} are missing: restore them (git checkout -- assets/data; "
          "a DLLAB_DATA folder needs them too) or set full = True to train the source network here.")
    found = dl.data.files.sha256_file(path)
    check(found == sha256, f"{path} is damaged or not the shipped file: its SHA-256 is {found}, expected "
          f"{sha256}. Restore it (git checkout -- assets/data), rebuild it with make_weights.py in its "
          "folder, or set full = True to train the source network here.")
    return model.load(path)


dl.seed(run.seed)
source = lenet(classes=5)
if run.full:
    fit(source, source_train, run.epochs, lr=0.03, batch_size=64, validation=source_test,
        live=labs.LiveCurves("the source network: digits 0-4"), name="LeNet, digits 0-4")
else:
    load_checked(source, SOURCE_WEIGHTS, SOURCE_SHA256)
    print(f"loaded the trained source network from {SOURCE_WEIGHTS.name}")
acc_source = dl.Trainer(source).evaluate(source_test)["accuracy"]
labs.check_target("LeNet on the digits 0-4", acc_source, 0.99, run)

# %% [markdown]
# The target task gets **10 labelled images per digit**, 50 in all. They are all there is, so the
# baseline is LeNet trained from scratch on them: many epochs (each one is 5 steps), a smaller learning
# rate, batches of 10. The test digits 5–9 in the figure are only watched.

# %%
per_class = 10
labelled = target_pool.subset(5 * per_class, seed=run.seed)
watch = target_test.subset(1000 if run.full else 300, seed=1)  # drawn in the learning curves
small_epochs = 1500 // len(labelled)  # about 150 steps of 10 images
dl.viz.image_grid(labelled.x, labelled.y, ncols=10, class_names=labelled.classes, size=1.0,
                  title=f"all {len(labelled)} labelled images of the target task")

# %%
live = labs.LiveCurves("the target task: 50 labelled digits 5-9")
dl.seed(run.seed)
scratch = fit(lenet(classes=5), labelled, small_epochs, validation=watch, live=live, name="from scratch")
results = {"LeNet from scratch": scratch.evaluate(target_test)["accuracy"]}
print(f"from scratch on {len(labelled)} images: {results['LeNet from scratch']:.2%} on the test digits 5-9")


# %% [markdown]
# ## 3. The source network as a frozen feature extractor
#
# Everything but the last layer of the source network turns an image into 500 numbers, the input of
# its last layer — **features** that were useful to tell 0–4 apart. Perhaps they are useful for 5–9
# too. Cut the network into a **body** (all layers before the cut) and a **head** (the rest); keep
# the body **frozen** (its weights never change) and train only a new head for the new classes.
#
# **Your turn.** Write `split_model`. It must not copy the layers: the body and head hold the model's
# own layer objects (`model.layers` is the list of them; `dl.Sequential(*layers)` makes a model).

# %% nbgrader={"grade": false, "grade_id": "split_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
def split_model(model, cut):
    """(body, head): two dl.Sequential models holding model.layers[:cut] and model.layers[cut:]."""
    ### BEGIN SOLUTION
    return dl.Sequential(*model.layers[:cut]), dl.Sequential(*model.layers[cut:])
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_split_model", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for split_model (2 points)
net = lenet(classes=5)
xs = dl.Tensor(np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32))
net(xs)  # creates the weights
out = labs.call(split_model, net, 5, hint="model.layers is a list: model.layers[:cut] and model.layers[cut:], "
                "each passed to dl.Sequential(*layers).")
check(isinstance(out, (tuple, list)) and len(out) == 2, "split_model must return a pair (body, head).")
body_, head_ = out
check(isinstance(body_, dl.Sequential) and isinstance(head_, dl.Sequential),
      "body and head should be dl.Sequential models: dl.Sequential(*layers).")
check(len(body_) == 5 and len(head_) == 2, f"cutting LeNet's 7 layers at 5 gives a body of layers 0-4 and a "
      f"head of layers 5-6; got {len(body_)} and {len(head_)} layers.")
check(body_[0] is net[0] and head_[-1] is net[-1], "body and head must hold the model's own layers, not "
      "copies: model.layers[:cut] and model.layers[cut:].")
check_close(head_(body_(xs)), net(xs), "head(body(x)) compared with model(x)",
            hint="The body runs first, then the head: together they are the whole model.")
_, last = labs.call(split_model, net, -1)
check(len(last) == 1 and last[0] is net[-1], "split_model(model, -1) should give a head of the last layer only "
      "(a negative cut counts from the end, as in a slice).")
print("split_model: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_split_model_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for split_model (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_net = dl.Flatten() >> dl.Dense(4, activation=dl.relu) >> dl.Dense(3, activation=dl.relu) >> dl.Dense(2)
_x = dl.Tensor(np.random.default_rng(3).random((5, 1, 2, 3)).astype(np.float32))
_want = _net(_x).numpy()
for _cut in [1, 2, 3, -2]:
    _b, _h = labs.call(split_model, _net, _cut)
    check(len(_b) + len(_h) == 4 and all(a is b for a, b in zip(list(_b) + list(_h), _net)),
          f"split_model(model, {_cut}) keeps every layer once, in order.")
    check_close(_h(_b(_x)), _want, f"head(body(x)) for cut {_cut}")
### END HIDDEN TESTS

# %% [markdown]
# The body never changes, so its features can be computed **once** for every image and stored;
# training the new head then never runs the body again. Two things make that cheap:
#
# * `with dl.no_grad():` — nothing will be differentiated, so no graph of the computation is kept
#   (it would hold every intermediate array in memory);
# * batches: the images go through in slices of `batch_size`, never all at once.
#
# Call `body.eval()` first, so that layers that train differently (dropout, batch norm; LeNet has
# none, but the next network might) behave as at test time.
#
# **Your turn.** Write `extract_features`. `dl.Tensor(dl.backend.to_device(xb))` puts a batch on
# the current device (CPU or GPU); `.numpy()` brings a result back as a NumPy array;
# `np.concatenate` joins the batches.

# %% nbgrader={"grade": false, "grade_id": "extract_features", "locked": false, "schema_version": 3, "solution": true, "task": false}
def extract_features(body, x, batch_size=500):
    """body(x) for images x (N, ...) as a NumPy array (N, features): in evaluation mode, without
    gradients, batch_size images at a time."""
    ### BEGIN SOLUTION
    body.eval()
    parts = []
    with dl.no_grad():
        for i in range(0, len(x), batch_size):
            parts.append(body(dl.Tensor(dl.backend.to_device(x[i:i + batch_size]))).numpy())
    return np.concatenate(parts)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_extract_features", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for extract_features (2 points): a small body with a probe that records how it is called
probe = labs.ProbeLayer()
net = dl.Sequential(dl.Flatten(), probe, dl.Dense(3))
xs = np.random.default_rng(0).random((25, 1, 2, 2)).astype(np.float32)
feats = labs.call(extract_features, net, xs, batch_size=10,
                  hint="For each slice xb = x[i:i + batch_size]: body(dl.Tensor(dl.backend.to_device(xb)))"
                       ".numpy(); then np.concatenate the list of batches.")
check(feats is not None, "extract_features returned None: did you forget the `return`?")
check(isinstance(feats, np.ndarray), f"extract_features should return a NumPy array, got {type(feats).__name__}: "
      "use .numpy() on each batch's output and np.concatenate.")
check_shape(feats, (25, 3), "the features of 25 images", hint="One row per image: join the batches along axis 0.")
check(probe.batch_sizes == [10, 10, 5], f"the body saw batches of {probe.batch_sizes} images, expected "
      "[10, 10, 5]: send x[i:i + batch_size] for i = 0, 10, 20 (the last slice is shorter).")
check(not any(grad for _, grad, _ in probe.calls), "the body ran with gradients on, keeping a graph nobody will "
      "use: run it inside `with dl.no_grad():`.")
check(not any(training for _, _, training in probe.calls), "the body ran in training mode: call body.eval() "
      "first.")
with dl.no_grad():
    want = net(dl.Tensor(xs)).numpy()
check_close(feats, want, "the features", hint="Row n is body(x[n]), in the order of x.")
print("extract_features: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_extract_features_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for extract_features (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_probe = labs.ProbeLayer()
_net = dl.Sequential(_probe, dl.Flatten(), dl.Dense(4, activation=dl.relu))
_x = np.random.default_rng(4).random((7, 1, 3, 3)).astype(np.float32)
with dl.no_grad():
    _want = _net(dl.Tensor(_x)).numpy()
_probe.calls.clear()
check_close(labs.call(extract_features, _net, _x, batch_size=7), _want, "features in one batch of 7")
check(_probe.batch_sizes == [7], "one batch when batch_size == N.")
_probe.calls.clear()
check_close(labs.call(extract_features, _net, _x, batch_size=3), _want, "features in batches of 3")
check(_probe.batch_sizes == [3, 3, 1], "batches of 3, 3, 1 for 7 images.")
check_close(labs.call(extract_features, _net, _x), _want, "features with the default batch size")
### END HIDDEN TESTS

# %% [markdown]
# The source network cut before its last layer (`cut = -1`): the body maps an image to the 500
# outputs of the dense layer `ip1`. Features for the 50 labelled images and for the test digits, once:

# %%
body, _ = split_model(source, -1)
features = extract_features(body, labelled.x)
test_features = extract_features(body, target_test.x)
print("features:", features.shape, "test features:", test_features.shape)


# %% [markdown]
# How good are these features for the new classes? The simplest test needs no training at all: average
# the features of each class's labelled images, and give every test image the class of the **nearest
# class mean** (the smallest squared distance $\lVert f - \mu_c \rVert^2$). If the features put images
# of one digit close together, this works.
#
# **Your turn.** Write `nearest_mean_predict`. Broadcasting gives all distances at once:
# `queries[:, None, :] - means[None, :, :]` has shape (queries, classes, features).

# %% nbgrader={"grade": false, "grade_id": "nearest_mean_predict", "locked": false, "schema_version": 3, "solution": true, "task": false}
def nearest_mean_predict(features, labels, queries):
    """Label each row of queries (M, F) with the class whose mean feature vector (over the rows of
    features (N, F) with that label) is nearest. Returns (M,) labels taken from `labels`."""
    ### BEGIN SOLUTION
    classes = np.unique(labels)
    means = np.stack([features[labels == c].mean(axis=0) for c in classes])
    distances = ((queries[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    return classes[distances.argmin(axis=1)]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_nearest_mean_predict", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for nearest_mean_predict (2 points)
F = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 10.0], [12.0, 10.0]])  # class means (0, 1) and (11, 10)
Q = np.array([[1.0, 1.0], [9.0, 9.0], [6.0, 6.0], [-5.0, 0.0]])
got = labs.call(nearest_mean_predict, F, np.array([0, 0, 1, 1]), Q,
                hint="means (classes, F) from features[labels == c].mean(axis=0); then "
                     "queries[:, None, :] - means[None, :, :] is (M, classes, F): sum its squares over axis 2.")
check_shape(got, (4,), "the predictions for 4 queries", hint="One label per query row.")
check(not np.array_equal(got, [1, 0, 0, 1]), "every prediction is the farthest class: take the smallest "
      "distance (argmin), not the largest.")
check(np.array_equal(got, [0, 1, 1, 0]), f"the queries (1, 1), (9, 9), (6, 6), (-5, 0) are nearest to the "
      f"class means (0, 1), (11, 10), (11, 10), (0, 1): expected [0, 1, 1, 0], got {np.asarray(got).tolist()}. "
      "Compare with the mean of each class, not with single training rows.")
got = labs.call(nearest_mean_predict, F, np.array([3, 3, 7, 7]), Q,
                hint="The labels here are 3 and 7: loop over np.unique(labels), not over range(number of classes).")
check(np.array_equal(got, [3, 7, 7, 3]), f"with the labels [3, 3, 7, 7] the answer is [3, 7, 7, 3], got "
      f"{np.asarray(got).tolist()}: return labels, not positions (np.unique(labels)[index]).")
F2 = np.array([[0.0, 0.0], [6.0, 0.0], [8.0, 1.0], [8.0, -1.0]])  # class means (3, 0) and (8, 0)
got = labs.call(nearest_mean_predict, F2, np.array([0, 0, 1, 1]), np.array([[6.5, 0.0]]))
check(np.array_equal(got, [1]), f"the query (6.5, 0) should get label 1, got {np.asarray(got).tolist()}: the "
      "nearest training row is (6, 0), of class 0, but the nearest class mean is (8, 0), of class 1 (class 0's "
      "mean is (3, 0)). Compare each query with the mean of each class, not with single training rows.")
print("nearest_mean_predict: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_nearest_mean_predict_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for nearest_mean_predict (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(51)
_centres = _rng.normal(size=(4, 6)) * 5
_y = np.repeat(np.arange(4), 5)
_F = (_centres[_y] + _rng.normal(size=(20, 6))).astype(np.float32)
_Q = _centres[[2, 0, 3, 1, 2]] + _rng.normal(size=(5, 6)) * 0.1
_means = np.stack([_F[_y == c].mean(axis=0) for c in range(4)])
_ref = ((_Q[:, None] - _means[None]) ** 2).sum(axis=2).argmin(axis=1)
check_close(labs.call(nearest_mean_predict, _F, _y, _Q), _ref, "nearest_mean_predict on 4 random clusters")
check_close(labs.call(nearest_mean_predict, _F, _y, _Q[:1]), _ref[:1], "nearest_mean_predict of one query")
_F2 = np.array([[0.0, 5.0], [0.0, -3.0], [0.0, 9.0], [0.0, 11.0]])  # means (0, 1) and (0, 10); row (0, 5) is class 0
check_close(labs.call(nearest_mean_predict, _F2, np.array([4, 4, 2, 2]), np.array([[0.0, 6.0]])), [2],
            "a query nearer to a row of one class and to the mean of another")
### END HIDDEN TESTS

# %% [markdown]
# Now the real thing: a new head, `dl.Dense(5)`, trained on the stored features — logistic regression
# as in lab 1, on 500 features instead of 784 pixels. It takes a fraction of a second. As a control,
# the same head on the features of an **untrained** LeNet body (random weights): is it the learned
# features that help, or just the architecture? Random features are several times smaller than
# learned ones, so the heads train with Adam, which sizes each weight's step itself: both kinds of
# features get a fair chance.

# %%
def head_optimizer(params=None, epochs=small_epochs):
    """Adam with weight decay and a cosine schedule, for a new head on features of any scale."""
    return dl.optim.Adam(params, lr=1e-2, weight_decay=5e-4,
                         schedule=dl.optim.CosineLR(epochs, min_factor=0.02))


results["nearest class mean, learned features"] = np.mean(
    nearest_mean_predict(features, labelled.y, test_features) == target_test.y)
live = labs.LiveCurves("new heads on frozen features")
dl.seed(run.seed)
head = dl.Dense(5)
fit(head, (features, labelled.y), small_epochs, optimizer=head_optimizer(),
    validation=(test_features, target_test.y), live=live, name="learned features")
results["new head, learned features"] = dl.Trainer(head).evaluate((test_features, target_test.y))["accuracy"]

dl.seed(run.seed)
random_body, _ = split_model(lenet(classes=5), -1)
random_features, random_test_features = (extract_features(random_body, labelled.x),
                                         extract_features(random_body, target_test.x))
random_head = dl.Dense(5)
fit(random_head, (random_features, labelled.y), small_epochs, optimizer=head_optimizer(),
    validation=(random_test_features, target_test.y), live=live, name="random features")
results["new head, random features"] = dl.Trainer(random_head).evaluate(
    (random_test_features, target_test.y))["accuracy"]
for name, acc in results.items():
    print(f"{name:40}{acc:8.2%}")

# %% [markdown]
# **Question (2 points).** Compare the four results. What does the nearest-mean classifier say about
# the learned features? What does the control with random features show?

# %% [markdown] nbgrader={"grade": true, "grade_id": "features_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# The head on the learned features does about as well as a whole LeNet trained from scratch on the
# same 50 images (default run, seed 0: 86.5 % against 87.1 %; the half point between them is less
# than the spread between draws, which section 5 measures: 87.3 ± 1.2 % against 87.1 ± 1.3 % over
# three draws), while it trains 2 505 parameters for a fraction of a second instead of 430 000 for
# many seconds. The nearest class mean, with no training at all, already gets 83.2 %: in the learned
# feature space images of the same new digit lie close together, although the network never saw a
# 5-9 - the body learned stroke and shape detectors that are not specific to 0-4. The control shows
# that the learning matters, not only the architecture: on the features of a random body the same
# head does worse (84.4 %; 84.1 ± 1.1 % over section 5's three draws, 3 points below the learned
# features). That random convolutions get so far above chance (20 %) shows how much the
# architecture alone gives on images as simple as these.

# %% [markdown]
# ### Freezing the body, attaching a new head
#
# Computing features once works when the body never changes and sees each image once. The general way
# is to run the whole network at every step and **freeze** the body: its parameters take no
# gradient. In dllab every parameter has a flag `p.requires_grad`; with `p.requires_grad = False`
# the backward pass leaves `p.grad` at `None`, and an optimizer updates only the parameters that have
# a gradient. A frozen body costs a forward pass but no backward pass through it (no gradient goes
# into it), the images can be augmented (shifted, inverted) on the fly, and unfreezing later, for
# fine-tuning, is one call. `model.parameters()` lists a model's parameters.
#
# **Your turn.** Write `freeze` and `unfreeze`: set the flag of every parameter of the model, and
# return the model (so that calls can be chained).

# %% nbgrader={"grade": false, "grade_id": "freeze", "locked": false, "schema_version": 3, "solution": true, "task": false}
def freeze(model):
    """Every parameter of model stops training (requires_grad = False); returns model."""
    ### BEGIN SOLUTION
    for p in model.parameters():
        p.requires_grad = False
    return model
    ### END SOLUTION


def unfreeze(model):
    """Every parameter of model trains again (requires_grad = True); returns model."""
    ### BEGIN SOLUTION
    for p in model.parameters():
        p.requires_grad = True
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_freeze", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for freeze and unfreeze (2 points)
xs = np.random.default_rng(5).random((6, 1, 2, 3)).astype(np.float32)
ys = np.array([0, 1, 2, 0, 1, 2])
net = dl.Flatten() >> dl.Dense(4, activation=dl.relu) >> dl.Dense(3)
net(dl.Tensor(xs))  # creates the weights
got = labs.call(freeze, net, hint="for p in model.parameters(): p.requires_grad = False; then return model.")
check(got is net, "freeze must return the model it froze (return model), so that calls can be chained: "
      f"got {type(got).__name__}.")
still = [name for name, p in net.named_parameters() if p.requires_grad]
check(not still, f"after freeze these parameters still train: {still}. Set p.requires_grad = False for every "
      "p in model.parameters(), not only the first layer's.")
moved = [name for name, changed in labs.parameters_changed_by_a_step(net, xs, ys).items() if changed]
check(not moved, f"a training step still changed {moved} of the frozen model.")
got = labs.call(unfreeze, net, hint="The same loop with p.requires_grad = True.")
check(got is net, "unfreeze must return the model (return model).")
frozen_still = [name for name, p in net.named_parameters() if not p.requires_grad]
check(not frozen_still, f"after unfreeze these parameters are still frozen: {frozen_still}.")
moved = labs.parameters_changed_by_a_step(net, xs, ys)
check(all(moved.values()), f"after unfreeze a training step should change every parameter; unchanged: "
      f"{[name for name, changed in moved.items() if not changed]}.")
print("freeze and unfreeze: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_freeze_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for freeze and unfreeze (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_net = lenet(classes=3)
_x = np.random.default_rng(6).random((4, 1, 28, 28)).astype(np.float32)
_net(dl.Tensor(_x))
labs.call(freeze, _net[0])
check([p.requires_grad for p in _net.parameters()] == [False, False] + [True] * 6,
      "freeze(model[0]) freezes the first layer only.")
_moved = labs.parameters_changed_by_a_step(_net, _x, np.array([0, 1, 2, 0]))
check(not _moved["0.W"] and not _moved["0.b"] and _moved["6.W"], "a frozen first layer stays, the rest trains.")
check(labs.call(unfreeze, labs.call(freeze, _net)) is _net and all(p.requires_grad for p in _net.parameters()),
      "unfreeze(freeze(model)) gives the model back, trainable.")
### END HIDDEN TESTS

# %% [markdown]
# A new network for the target task: the source body, frozen, and a new head with one output per new
# class. The body is **copied** first (`copy.deepcopy(body)`): the layers of `body` belong to
# `source`, whose weights the rest of the lab still needs, and `body` itself must stay trainable for
# section 5's fine-tuning. `a >> b` makes the model `dl.Sequential(a, b)`, with the layers of `a`
# (when it is a `Sequential`) followed by `b`. How many numbers then train? `p.size` is the number of
# entries of a parameter.
#
# **Your turn.** Write `with_new_head` and `count_parameters`.

# %% nbgrader={"grade": false, "grade_id": "with_new_head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def with_new_head(body, classes):
    """A frozen copy of body followed by a new dl.Dense(classes); body itself is left as it is."""
    ### BEGIN SOLUTION
    new_body = freeze(copy.deepcopy(body))
    return new_body >> dl.Dense(classes)
    ### END SOLUTION


def count_parameters(model, trainable_only=False):
    """The number of numbers in model's parameters; with trainable_only, of those with requires_grad."""
    ### BEGIN SOLUTION
    return sum(p.size for p in model.parameters() if p.requires_grad or not trainable_only)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_with_new_head", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for with_new_head and count_parameters (3 points)
xs = np.random.default_rng(7).random((6, 1, 2, 3)).astype(np.float32)
ys = np.array([0, 1, 2, 0, 1, 2])
old_net = dl.Flatten() >> dl.Dense(4, activation=dl.relu) >> dl.Dense(5)
old_net(dl.Tensor(xs))
old_body = dl.Sequential(*old_net.layers[:-1])  # the body, as split_model gives it
old_weights = [p.numpy().copy() for p in old_body.parameters()]
new = labs.call(with_new_head, old_body, 3, hint="new_body = freeze(copy.deepcopy(body)); then "
                "new_body >> dl.Dense(classes).")
check(isinstance(new, dl.Sequential), f"with_new_head should return a model (body >> head), got "
      f"{type(new).__name__}.")
with dl.no_grad():
    out = new(dl.Tensor(xs))
check_shape(out, (6, 3), "the new model's output for 6 images and 3 new classes",
            hint="The new head has one output per new class: dl.Dense(classes), not the old head's 5.")
scores = out.numpy()
check(not (scores.min() >= 0 and np.allclose(scores.sum(axis=1), 1, atol=1e-5)), "the new model's outputs are "
      "probabilities (each row sums to 1): the head ends with a softmax. dl.cross_entropy applies the softmax "
      "itself, so it would be applied twice: the head is dl.Dense(classes) alone, giving scores.")
check(isinstance(new.layers[-1], dl.Dense), f"the new model's last layer should be the new head, a dl.Dense, got "
      f"{type(new.layers[-1]).__name__}: return new_body >> dl.Dense(classes).")
check(all(p.requires_grad for p in old_body.parameters()), "with_new_head froze `body` itself: freeze the "
      "copy (freeze(copy.deepcopy(body))), so that body (and source, whose layers it holds) can still be "
      "fine-tuned later.")
check(not any(a is b for a in new.layers for b in old_body.layers), "the new model shares its layers with "
      "`body`: training it would change source's weights too. Copy the body first: copy.deepcopy(body).")
check_close(new.layers[-1].W.shape, (4, 3), "the new head's weight shape (inputs 4, outputs 3)",
            hint="The head is new: dl.Dense(classes) after the body's layers, not the old last layer.")
moved = labs.parameters_changed_by_a_step(new, xs, ys)
body_moved = [name for name, changed in list(moved.items())[:-2] if changed]
check(not body_moved, f"a training step changed the body's {body_moved}: the copied body must be frozen "
      "(freeze(copy.deepcopy(body))).")
check(all(list(moved.values())[-2:]), "a training step did not change the new head: only the body is frozen, "
      "the head (created by dl.Dense(classes)) trains.")
check(all(np.array_equal(a, p.numpy()) for a, p in zip(old_weights, old_body.parameters())),
      "training the new model changed the original body's weights: copy it first.")
got = labs.call(count_parameters, new, hint="sum(p.size for p in model.parameters()).")
check(got == 6 * 4 + 4 + 4 * 3 + 3, f"the new model has 6 x 4 + 4 (first layer) + 4 x 3 + 3 (the head) = 43 "
      f"numbers in its parameters, got {got}: add up p.size over model.parameters().")
got = labs.call(count_parameters, new, trainable_only=True, hint="Count only the parameters with "
                "p.requires_grad.")
check(got == 15, f"of them only the head's 4 x 3 + 3 = 15 train, got {got}: with trainable_only, count only "
      "the parameters with p.requires_grad.")
print("with_new_head and count_parameters: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_with_new_head_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for with_new_head and count_parameters (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_src = lenet(classes=5)
_x = np.random.default_rng(8).random((3, 1, 28, 28)).astype(np.float32)
_src(dl.Tensor(_x))
_b, _ = split_model(_src, -1)
_m = labs.call(with_new_head, _b, 7)
with dl.no_grad():
    check_shape(_m(dl.Tensor(_x)), (3, 7), "LeNet's body with a head of 7 classes")
check_close(labs.call(count_parameters, _m, trainable_only=True), 500 * 7 + 7, "trainable numbers of LeNet's "
            "body with a new head of 7")
check_close(labs.call(count_parameters, _m), _src.num_parameters() - 500 * 5 - 5 + 500 * 7 + 7,
            "all numbers of LeNet's body with a new head of 7")
check_close(labs.call(count_parameters, _src), _src.num_parameters(), "LeNet's parameter count")
### END HIDDEN TESTS

# %% [markdown]
# The source body with a new head for the five new digits, trained on the images themselves. The
# optimizer is given the whole model; it updates only the parameters that have a gradient, the new
# head's.

# %%
frozen = with_new_head(body, 5)
conv1_before = frozen[0].W.numpy().copy()
dl.seed(run.seed)  # the new head starts as the head trained on stored features did
frozen(dl.Tensor(dl.backend.to_device(labelled.x[:1])))  # creates the new head's weights
print(f"numbers in the parameters: {count_parameters(frozen):,}, of which {count_parameters(frozen, True):,} "
      "train")
fit(frozen, labelled, small_epochs, optimizer=head_optimizer(), validation=watch,
    live=labs.LiveCurves("frozen body, the head trains"), name="frozen body")
results["frozen body, head trained on images"] = dl.Trainer(frozen).evaluate(target_test)["accuracy"]
print(f"conv1 unchanged: {np.array_equal(conv1_before, frozen[0].W.numpy())}; "
      f"accuracy {results['frozen body, head trained on images']:.2%}")

# %% [markdown]
# The same accuracy as the head trained on stored features: it is the same computation (same starting
# weights, same batches), only with the body run again at every step.

# %% [markdown]
# ## 4. Fine-tuning
#
# The frozen body never adapts to the new digits. **Fine-tuning** continues from the network above
# (body and trained head), unfrozen, and lets the optimizer update **all** parameters, with a small
# learning rate (0.003), so that the learned features are adjusted rather than overwritten. Training
# the head first matters: a random head would send large, random gradients into the body.

# %%
tuned = unfreeze(copy.deepcopy(frozen))
dl.seed(run.seed)
fit(tuned, labelled, small_epochs, lr=0.003, validation=watch,
    live=labs.LiveCurves("fine-tuning every layer"), name="fine-tuned")
results["fine-tuned"] = dl.Trainer(tuned).evaluate(target_test)["accuracy"]
moved = np.abs(tuned[0].W.numpy() - frozen[0].W.numpy()).mean() / np.abs(frozen[0].W.numpy()).mean()
print(f"conv1's weights moved by {moved:.1%} of their size on average")
for name, acc in results.items():
    print(f"{name:40}{acc:8.2%}")


# %% [markdown]
# Between "only the new head" and "every layer" lie the middle ways: the first layers of a network
# learn edges and strokes, useful for any images; the last ones are the most specific to the source
# task. With fewer labelled images one fine-tunes only the **last $k$ layers that have parameters**
# and keeps the rest frozen (pooling and flattening layers have none and do not count).
#
# **Your turn.** Write `unfreeze_top`: freeze the whole model, then unfreeze its last `k` layers with
# parameters (`list(layer.parameters())` is empty for the others); `k = 0` leaves everything frozen.

# %% nbgrader={"grade": false, "grade_id": "unfreeze_top", "locked": false, "schema_version": 3, "solution": true, "task": false}
def unfreeze_top(model, k):
    """Freeze model, then unfreeze its last k layers that have parameters; returns model."""
    ### BEGIN SOLUTION
    freeze(model)
    with_parameters = [layer for layer in model.layers if list(layer.parameters())]
    for layer in with_parameters[max(len(with_parameters) - k, 0):]:
        unfreeze(layer)
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_unfreeze_top", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Tests for unfreeze_top (2 points)
net = lenet(classes=5)
net(dl.Tensor(np.zeros((1, 1, 28, 28), np.float32)))  # layers: conv1 pool1 conv2 pool2 flatten ip1 ip2


def training_layers(model):
    return [layer.name for layer in model.layers if any(p.requires_grad for p in layer.parameters())]


got = labs.call(unfreeze_top, net, 2, hint="freeze(model); then unfreeze each layer of "
                "[layer for layer in model.layers if list(layer.parameters())][-k:] (k > 0).")
check(got is net, "unfreeze_top must return the model (return model).")
check(training_layers(net) == ["ip1", "ip2"], f"unfreeze_top(lenet, 2) should let ip1 and ip2 train, the last "
      f"two layers with parameters; these train: {training_layers(net)}.")
labs.call(unfreeze_top, net, 3)
check(training_layers(net) != ["ip1", "ip2"], "unfreeze_top(lenet, 3) trains only ip1 and ip2: the last 3 "
      "layers are flatten, ip1 and ip2, but flatten has no parameters. Count only the layers with "
      "parameters: conv2, ip1 and ip2.")
check(training_layers(net) == ["conv2", "ip1", "ip2"], f"unfreeze_top(lenet, 3) should let conv2, ip1 and ip2 "
      f"train; these train: {training_layers(net)}.")
labs.call(unfreeze_top, net, 0)
check(training_layers(net) != ["conv1", "conv2", "ip1", "ip2"], "unfreeze_top(lenet, 0) unfroze every layer: "
      "layers[-0:] is the whole list (-0 is 0). Slice from max(len(layers) - k, 0) instead.")
check(training_layers(net) == [], f"unfreeze_top(lenet, 0) should leave every layer frozen; these train: "
      f"{training_layers(net)}.")
labs.call(unfreeze_top, net, 6)
check(training_layers(net) == ["conv1", "conv2", "ip1", "ip2"], f"unfreeze_top(lenet, 6) should let all 4 layers "
      f"with parameters train (k larger than their number means all of them); these train: {training_layers(net)}. "
      "A start index len(layers) - k below 0 counts from the end: slice from max(len(layers) - k, 0).")
labs.call(unfreeze_top, net, 1)
moved = [name for name, changed in labs.parameters_changed_by_a_step(
    net, np.random.default_rng(9).random((4, 1, 28, 28)).astype(np.float32), np.array([0, 1, 2, 3])).items()
    if changed]
check(moved == ["6.W", "6.b"], f"after unfreeze_top(lenet, 1) a training step should change ip2's W and b "
      f"(parameters 6.W, 6.b) only, it changed {moved}.")
print("unfreeze_top: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_unfreeze_top_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for unfreeze_top (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_net = dl.Flatten() >> dl.Dense(4, activation=dl.relu) >> dl.Dropout(0.1) >> dl.Dense(3) >> dl.Dense(2)
_net(dl.Tensor(np.zeros((1, 6), np.float32)))
for _k, _want in [(0, []), (1, [4]), (2, [3, 4]), (3, [1, 3, 4]), (5, [1, 3, 4])]:
    labs.call(unfreeze_top, _net, _k)
    check([i for i, _l in enumerate(_net.layers) if any(p.requires_grad for p in _l.parameters())] == _want,
          f"unfreeze_top(model, {_k}) on Flatten, Dense, Dropout, Dense, Dense trains the layers {_want}.")
### END HIDDEN TESTS

# %% [markdown]
# How many numbers train for each choice, on a copy of the fine-tuned network:

# %%
staged = copy.deepcopy(tuned)
for k in range(5):
    print(f"the last {k} layers with parameters train: {count_parameters(unfreeze_top(staged, k), True):>7,} "
          f"of {count_parameters(staged):,} numbers")

# %% [markdown]
# One learning rate served every layer above. Yet the two parts start in very different places: the
# body's weights are already good and need only small corrections, while the new head was trained
# on 50 images only. A common refinement gives each part its own learning rate, larger for the head
# than for the body. dllab's optimizers take the list of parameters they update
# (`dl.optim.SGD(params, lr=...)`), so two optimizers, one per part, do it; and the loop that
# `dl.Trainer.fit` runs for you is then written out, as in lab 1 but with dllab's autograd doing the
# gradients.
#
# **Your turn.** Write `fine_tune`:
#
# * the head is the model's last layer, `model.layers[-1]`; the body is every layer before it;
# * one `dl.optim.SGD(..., momentum=0.9)` for the body's parameters with `body_lr`, one for the head's
#   with `head_lr` (give them all the parameters: an optimizer skips those that have no gradient,
#   so a frozen part simply stays as it is);
# * make **one** `dl.data.Batches(data, batch_size, shuffle=True, seed=seed)` before the epochs and
#   loop over it once per epoch (each pass draws a new order, as `fit` does);
# * for each batch `(x, y)`: put both on the device (`dl.backend.to_device`), the loss
#   `dl.cross_entropy(model(dl.Tensor(x)), y)`, `loss.backward()`, then a `step()` and a
#   `zero_grad()` of each optimizer;
# * call `model.train()` first, and return the list of each epoch's mean loss over its samples
#   (a batch's loss times its size, summed, divided by the number of samples).

# %% nbgrader={"grade": false, "grade_id": "fine_tune", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fine_tune(model, data, epochs, body_lr, head_lr, batch_size=10, seed=0):
    """Train model on data with SGD (momentum 0.9): head_lr for its last layer, body_lr for the rest.

    Returns the list of the epochs' mean training losses.
    """
    ### BEGIN SOLUTION
    head_params = list(model.layers[-1].parameters())
    body_params = [p for layer in model.layers[:-1] for p in layer.parameters()]
    optimizers = [dl.optim.SGD(body_params, lr=body_lr, momentum=0.9),
                  dl.optim.SGD(head_params, lr=head_lr, momentum=0.9)]
    batches = dl.data.Batches(data, batch_size, shuffle=True, seed=seed)
    model.train()
    losses = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for x, y in batches:
            loss = dl.cross_entropy(model(dl.Tensor(dl.backend.to_device(x))), dl.backend.to_device(y))
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
                optimizer.zero_grad()
            total += loss.item() * len(y)
            count += len(y)
        losses.append(total / count)
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fine_tune", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Tests for fine_tune (3 points): a small network, compared with one gradient step and with dl.Trainer
rng = np.random.default_rng(11)
xs, ys = rng.random((12, 1, 2, 3)).astype(np.float32), np.arange(12) % 3
net = dl.Flatten() >> dl.Dense(4, activation=dl.relu) >> dl.Dense(3)
net(dl.Tensor(xs))  # creates the weights
probe = copy.deepcopy(net)
dl.cross_entropy(probe(dl.Tensor(xs)), ys).backward()
before = [p.numpy().copy() for p in net.parameters()]
step = [-dl.backend.to_numpy(p.grad) for p in probe.parameters()]
for p in probe.parameters():
    p.grad = None
got = labs.call(fine_tune, net, (xs, ys), 1, body_lr=0.01, head_lr=0.1, batch_size=12,
                hint="Two optimizers: dl.optim.SGD(body_params, lr=body_lr, momentum=0.9) and the same for "
                     "the head's parameters (model.layers[-1].parameters()) with head_lr.")
check(isinstance(got, (list, tuple)) and len(got) == 1, f"fine_tune(..., epochs=1) should return a list of one "
      f"mean loss, got {got!r}: append each epoch's mean loss and return the list.")
check(all(isinstance(v, (float, np.floating)) for v in got), f"the losses should be numbers (floats), got "
      f"{', '.join(type(v).__name__ for v in got)}: a dl.Tensor keeps the whole graph of the epoch alive; add "
      "loss.item(), the number, not the loss Tensor.")
moved = [p.numpy() - b for p, b in zip(net.parameters(), before)]
names = ["the body's weights", "the body's biases", "the head's weights", "the head's biases"]
for i, (name, lr_want, lr_other) in enumerate(zip(names, [0.01, 0.01, 0.1, 0.1], [0.1, 0.1, 0.01, 0.01])):
    check(np.abs(moved[i]).max() > 0, f"{name} did not change in one step: every parameter of the model "
          "goes to one of the two optimizers, and each optimizer's step() runs after loss.backward().")
    check(not np.allclose(moved[i], lr_other * np.asarray(step[i]), rtol=1e-3, atol=1e-7),
          f"{name} moved by {lr_other} x the gradient, the other part's learning rate: the head "
          "(model.layers[-1]) takes head_lr, the layers before it body_lr.")
    check_close(moved[i], lr_want * np.asarray(step[i]), f"the change of {name} after one step of one batch",
                hint=f"The first SGD step with momentum is -lr x gradient, with lr = {lr_want} here.", rtol=1e-3,
                atol=1e-7)
check_close(got[0], float(dl.cross_entropy(probe(dl.Tensor(xs)), ys).item()), "the returned loss of one batch",
            hint="Return the epoch's mean loss: loss.item() times the batch size, summed, over the samples.")


def trainer_run(model, data, epochs, lr, batch_size, seed):
    """The same training by dl.Trainer: SGD(lr, momentum 0.9) on the whole model; returns the losses."""
    trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=dl.optim.SGD(lr=lr, momentum=0.9))
    return trainer.fit(data, epochs=epochs, batch_size=batch_size, seed=seed, verbose=False)["loss"]


for epochs in (1, 2):
    mine, theirs = copy.deepcopy(probe), copy.deepcopy(probe)
    mine.eval()  # fine_tune must switch to training mode itself
    got = labs.call(fine_tune, mine, (xs, ys), epochs, body_lr=0.05, head_lr=0.05, batch_size=5, seed=3)
    want = trainer_run(theirs, (xs, ys), epochs, 0.05, 5, 3)
    why = ("zero each optimizer's gradients after its step (optimizer.zero_grad()): otherwise the gradients "
           "of every batch add up" if epochs == 1 else
           "make one dl.data.Batches(data, batch_size, shuffle=True, seed=seed) before the epochs and loop "
           "over it in every epoch: a new Batches with the same seed repeats the first epoch's order")
    check(all(np.allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
              for a, b in zip(mine.parameters(), theirs.parameters())),
          f"after {epochs} epoch(s) of 3 batches with body_lr = head_lr, the weights differ from those "
          f"dl.Trainer reaches with the same SGD and batches: {why}.")
    check_close(got, want, f"the mean losses of {epochs} epoch(s)", hint="One number per epoch: the sum of "
                "loss.item() * len(y) over the epoch's batches, divided by the number of samples.", rtol=1e-4)
mode_probe = labs.ProbeLayer()
mode_net = dl.Sequential(mode_probe, *copy.deepcopy(probe).layers)
mode_net.eval()  # fine_tune must switch to training mode itself
labs.call(fine_tune, mode_net, (xs, ys), 1, body_lr=0.05, head_lr=0.05, batch_size=6)
check(mode_probe.calls and all(training for _, _, training in mode_probe.calls), "fine_tune ran the model in "
      "evaluation mode: call model.train() before the epochs (dropout and batch normalisation train only in "
      "training mode). What mode it leaves the model in afterwards is up to you.")
frozen_net = copy.deepcopy(probe)
for p in frozen_net.layers[1].parameters():
    p.requires_grad = False
kept = frozen_net[1].W.numpy().copy()
labs.call(fine_tune, frozen_net, (xs, ys), 1, body_lr=0.05, head_lr=0.05, batch_size=4,
          hint="Give each optimizer all the parameters of its part: one without any gradient is skipped.")
check(np.array_equal(frozen_net[1].W.numpy(), kept), "a frozen body changed: leave the parameters that have "
      "no gradient alone (the optimizers skip them).")
print("fine_tune: all visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_fine_tune_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# Hidden tests for fine_tune (1 point): they run when the notebook is graded.
### BEGIN HIDDEN TESTS
_rng = np.random.default_rng(12)
_x, _y = _rng.random((14, 5)).astype(np.float32), np.arange(14) % 4
_net = dl.Dense(6, activation=dl.relu) >> dl.Dense(5, activation=dl.tanh) >> dl.Dense(4)
_net(dl.Tensor(_x))
for _trains, _lr in [("head", 0.2), ("body", 0.03)]:
    _mine, _theirs = copy.deepcopy(_net), copy.deepcopy(_net)
    for _m in (_mine, _theirs):
        for _i, _l in enumerate(_m.layers):
            for _p in _l.parameters():
                _p.requires_grad = (_i == 2) == (_trains == "head")
    _got = labs.call(fine_tune, _mine, (_x, _y), 2, body_lr=0.03, head_lr=0.2, batch_size=4, seed=5)
    _params = [_p for _p in _theirs.parameters() if _p.requires_grad]
    _want = dl.Trainer(_theirs, loss=dl.cross_entropy, optimizer=dl.optim.SGD(_params, lr=_lr, momentum=0.9)).fit(
        (_x, _y), epochs=2, batch_size=4, seed=5, verbose=False)["loss"]
    for _a, _b in zip(_mine.parameters(), _theirs.parameters()):
        check_close(_a.numpy(), _b.numpy(), f"the weights after 2 epochs with only the {_trains} training",
                    rtol=1e-4, atol=1e-6)
    check_close(_got, _want, f"the losses of 2 epochs with only the {_trains} training", rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# The fine-tuned network of the last section, started again from the trained head, now with the head
# learning ten times faster than the body (plain momentum here, without `fit`'s weight decay and
# schedule). One draw of 50 images: the differences between the last lines are within the spread
# that the next section measures.

# %%
two_rates = unfreeze(copy.deepcopy(frozen))
dl.seed(run.seed)
epoch_losses = fine_tune(two_rates, labelled, small_epochs, body_lr=0.003, head_lr=0.03, seed=run.seed)
print(f"training loss: first epoch {epoch_losses[0]:.3f}, last {epoch_losses[-1]:.3f}")
results["fine-tuned, head 10x body's rate"] = dl.Trainer(two_rates).evaluate(target_test)["accuracy"]
for name, acc in results.items():
    print(f"{name:40}{acc:8.2%}")



# %% [markdown]
# ## 5. How many labels?
#
# One draw of 50 images is a noisy measurement: which images get labelled moves the accuracy by a
# point or two, as much as the differences above. The next cells repeat the comparison for several
# numbers of labelled images per digit, each with 3 random draws of the labelled images (more sizes
# when `full = True`), and plot the mean accuracy with its spread. The new head on random features
# comes along as the control. First the fewest labels; the next cell adds the larger sizes.

# %%
def few_labels(n_per_class, draw):
    """Test accuracies of the four methods for one random draw of n_per_class labelled images per digit."""
    data = target_pool.subset(5 * n_per_class, seed=draw)
    n_epochs = max(10, 1500 // len(data))
    dl.seed(draw)
    acc = {"from scratch": fit(lenet(classes=5), data, n_epochs).evaluate(target_test)["accuracy"]}
    heads = {}
    for name, some_body, some_test in [("random features", random_body, random_test_features),
                                       ("learned features", body, test_features)]:
        dl.seed(draw)
        heads[name] = dl.Dense(5)
        fit(heads[name], (extract_features(some_body, data.x), data.y), n_epochs,
            optimizer=head_optimizer(epochs=n_epochs))
        acc[f"new head, {name}"] = dl.Trainer(heads[name]).evaluate((some_test, target_test.y))["accuracy"]
    whole = copy.deepcopy(body) >> copy.deepcopy(heads["learned features"])
    acc["fine-tuned"] = fit(whole, data, n_epochs, lr=0.003).evaluate(target_test)["accuracy"]
    return acc


sizes = [1, 3, 10, 30, 100] if run.full else [1, 3, 10, 30]
draws = [run.seed + k for k in range(3)]  # the seeds of the labelled images' draws
sweep = {}  # (n_per_class, draw) -> accuracies
for n in labs.progress(sizes[:2], desc="labelled images per digit"):
    for draw in draws:
        sweep[n, draw] = few_labels(n, draw)
print(f"done: {sizes[:2]} labelled images per digit, {len(draws)} draws each")

# %%
for n in labs.progress(sizes[2:], desc="labelled images per digit"):
    for draw in draws:
        sweep[n, draw] = few_labels(n, draw)
methods = list(sweep[sizes[0], draws[0]])
mean = {m: np.array([np.mean([sweep[n, d][m] for d in draws]) for n in sizes]) for m in methods}
spread = {m: np.array([np.std([sweep[n, d][m] for d in draws]) for n in sizes]) for m in methods}
print(f"{'per digit':>9}" + "".join(f"{m:>28}" for m in methods))
for i, n in enumerate(sizes):
    print(f"{n:>9}" + "".join(f"{mean[m][i]:>21.2%} ± {spread[m][i]:.1%}" for m in methods))

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for m in methods:
    ax.errorbar(sizes, mean[m], yerr=spread[m], marker="o", capsize=3, label=m)
ax.set(xscale="log", xlabel="labelled images per digit", ylabel="accuracy on the test digits 5-9",
       title=f"transfer from the digits 0-4 (mean of {len(draws)} draws)")
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.grid(alpha=0.3)
ax.legend()
plt.show()
gain = mean["fine-tuned"] - mean["from scratch"]  # per size, in accuracy
labs.check_target(f"fine-tuning vs scratch with {sizes[0]} and {sizes[1]} labelled images per digit",
                  np.mean(gain[:2]), 0.02, run, what="more accuracy on average")
labs.lesson("transfer beats training from scratch when labels are scarce, and scratch catches up as they grow",
            np.mean(gain[:2]) >= 0.02 and gain[-1] < np.mean(gain[:2]),
            "fine-tuned minus scratch, mean of 3 draws: " + ", ".join(
                f"{100 * g:+.1f} points at {n}" for n, g in zip(sizes, gain)) + " labelled images per digit", run)

# %% [markdown]
# **Question (2 points).** When does transfer help most? With 3 labelled images per digit, and with
# 1 000, would you use frozen features or fine-tuning — and why (think of overfitting and of compute)?

# %% [markdown] nbgrader={"grade": true, "grade_id": "how_many_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# Transfer helps most when labels are scarce: with one and three images per digit the fine-tuned
# network is about 5 points ahead of training from scratch (default run, mean of 3 draws: 57.6 %
# against 52.1 % and 75.8 % against 70.3 %; the full run gives +4.8 points), and the gap shrinks to
# a point or two at 10-30 images per digit (and to half a point at 100 in the full run), because with
# enough data the network learns good features for the new task itself. Fine-tuning is hardly ahead
# of the frozen features at these sizes. The spread between draws is large with few labels (± 6
# points at one image per digit): which images get labelled matters as much as the method, so one
# draw proves little. With 3 images per digit I would use frozen features (or fine-tune very gently):
# a few hundred thousand free parameters can memorise 15 images, while a linear head on fixed
# features has little room to overfit, and it trains in a moment. With 1 000 per digit fine-tuning
# (or even training from scratch) is better: there is enough data to adapt every layer to the new
# classes without overfitting, and the cost of running the whole network is worth the extra accuracy.

# %% [markdown]
# ## 6. A far task: clothing
#
# Digits 0–4 and 5–9 are drawn with the same pen strokes. How about a task that shares less?
# Fashion-MNIST has 28 × 28 grey images of ten kinds of clothing. With 10 labelled images per kind:
# LeNet from scratch, a new head on the digit features, and a new head on random features, each for
# the same 3 draws of the labelled images as in section 5.

# %%
fashion_pool, fashion_test = dl.data.fashion_mnist()
fashion_test = fashion_test.subset(2000, seed=0)
fashion = fashion_pool.subset(100, seed=run.seed)
fashion_epochs = 1500 // len(fashion)
dl.viz.image_grid(fashion.x[::10], fashion.y[::10], ncols=10, class_names=fashion.classes, size=1.1,
                  title="one labelled image of each kind")

# %%
far = {}  # method -> accuracy of each draw
fashion_watch = fashion_test.subset(1000 if run.full else 300, seed=1)  # drawn in the curves
bodies = {"digit features": body, "random features": random_body}
far_tests = {name: (extract_features(some_body, fashion_test.x), fashion_test.y) for name, some_body in bodies.items()}
for draw in draws:  # the first draw (the images above) is drawn live, then two more
    clothes = fashion_pool.subset(100, seed=draw)
    live = labs.LiveCurves("a far task: 100 labelled clothing images") if draw == draws[0] else None
    dl.seed(draw)
    far.setdefault("LeNet from scratch", []).append(
        fit(lenet(), clothes, fashion_epochs, validation=fashion_watch, live=live, name="from scratch")
        .evaluate(fashion_test)["accuracy"])
    for name, some_body in bodies.items():
        dl.seed(draw)
        far_head = dl.Dense(10)
        fit(far_head, (extract_features(some_body, clothes.x), clothes.y), fashion_epochs,
            optimizer=head_optimizer(epochs=fashion_epochs), validation=far_tests[name], live=live, name=name)
        far.setdefault(f"new head, {name}", []).append(dl.Trainer(far_head).evaluate(far_tests[name])["accuracy"])
for name, accs in far.items():
    print(f"{name:32}{np.mean(accs):8.2%} ± {np.std(accs):.1%}   (draws: {', '.join(f'{a:.1%}' for a in accs)})")
digit_gain = np.mean(far["new head, digit features"]) - np.mean(far["new head, random features"])
labs.lesson("the digit features do not carry over to clothing: a head on them does no better than on random "
            "features", digit_gain < 0.01, f"digit minus random features: {100 * digit_gain:+.1f} points, mean of "
            f"{len(draws)} draws", run)

# %% [markdown]
# **Question (2 points).** How useful were the digit features for clothing, compared with the other
# two (and with what they did for the digits 5–9)? Why?

# %% [markdown] nbgrader={"grade": true, "grade_id": "far_task_answer", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# For clothing the digit features did not help: the head on them (default run, mean of 3 draws:
# 68.1 ± 1.8 %) is below the head on random features (69.8 ± 1.6 %) and LeNet trained from scratch
# on the same 100 images (69.0 ± 0.8 %) - on the digits 5-9 the learned features were 3 points better
# than random ones. The body was trained only to tell five digits apart; its last layer, the 500
# units of ip1, responds to combinations of pen strokes that separate 0-4, and has thrown away what
# does not matter for them - filled areas, textures, the shape of a sleeve or a sole - while random
# features keep a little of everything. Frozen features cannot adapt. Digits 5-9 are made of the same
# strokes, so there the features transfer. Transfer pays when the tasks share what the features
# capture; for a far task cut earlier (keep only the convolutions), fine-tune, or pretrain on a
# broader dataset.

# %% [markdown]
# ## Summary
#
# * A network trained on a large labelled set is a feature extractor for related tasks: cut off its
#   last layer, compute features once under `dl.no_grad()`, train a small new head.
# * Freezing means the optimizer gets only the parameters that should change:
#   `dl.optim.Adam(new_head, ...)`.
# * Fine-tuning continues with every parameter and a small learning rate, after the new head is trained;
#   one optimizer per group of parameters gives each part its own learning rate (the head faster).
# * The fewer the labels, the more transfer helps; the further the tasks, the less.
