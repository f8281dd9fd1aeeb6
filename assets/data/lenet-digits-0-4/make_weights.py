"""Train the source network of lab 5 and write its weights, byte for byte the same on every run.

    python assets/data/lenet-digits-0-4/make_weights.py            # writes lenet_digits_0-4.npz here
    python assets/data/lenet-digits-0-4/make_weights.py --check    # retrains; exit 1 unless it matches

The recipe is lab 5's full-size source run (``full = True``): LeNet with 5 outputs
(``dllab.models.lenet(classes=5)``) on all 30 596 MNIST training images of the digits 0-4, 3 epochs
of SGD (learning rate 0.03, momentum 0.9, weight decay 5e-4, cosine schedule down to 2 %), batches
of 64, seed 0, on the CPU with one BLAS thread (so every sum is done in the same order). The .npz
holds ``model.state_dict()`` (what ``model.load`` reads), written with fixed zip timestamps so that
the same weights always give the same file and SHA-256. It prints the SHA-256 that SOURCE.md and
lab 5 quote, and the accuracy on the 5 139 test images of the digits 0-4.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import dllab as dl
from dllab.data.files import npz_bytes, write_or_check
from dllab.models import lenet

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "lenet_digits_0-4.npz"
DIGITS = [0, 1, 2, 3, 4]
EPOCHS, BATCH, SEED = 3, 64, 0


def digits(data, classes=DIGITS):
    """The samples of data whose label is in classes, relabelled 0 .. len(classes) - 1 (as lab 5 does)."""
    keep = (data.y[:, None] == np.asarray(classes)[None, :]).any(axis=1)
    y = np.searchsorted(classes, data.y[keep]).astype(np.int64)
    return dl.data.Dataset(data.x[keep], y, f"{data.name}-0-4", [data.classes[c] for c in classes])


def train():
    """Lab 5's source network at full size: returns (model, accuracy on the test digits 0-4)."""
    dl.set_device("cpu")
    train_set, test_set = dl.data.mnist()
    source_train, source_test = digits(train_set), digits(test_set)
    dl.seed(SEED)
    model = lenet(classes=len(DIGITS))
    optimizer = dl.optim.SGD(lr=0.03, momentum=0.9, weight_decay=5e-4,
                             schedule=dl.optim.CosineLR(EPOCHS, min_factor=0.02))
    trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=optimizer)
    trainer.fit(source_train, epochs=EPOCHS, batch_size=BATCH, seed=SEED, verbose=False)
    return model, trainer.evaluate(source_test)["accuracy"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="retrain and compare with the shipped file instead of writing it")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        model, accuracy = train()
    data = npz_bytes(model.state_dict())
    digest = hashlib.sha256(data).hexdigest()
    print(f"trained in {time.perf_counter() - start:.0f} s: {accuracy:.2%} on the test digits 0-4; "
          f"{len(data):,} bytes, sha256 {digest}")
    return write_or_check(WEIGHTS, data, check=args.check)

if __name__ == "__main__":
    sys.exit(main())
