"""The DIGITS workflow end to end with dllab: LeNet on MNIST, inverted digits, a modified network.

Steps (each model is trained from scratch with the same recipe):
  1. LeNet on the small set (6,000 images, 10 % of MNIST)      -> test accuracy
  2. LeNet on the full set (60,000 images)                      -> test accuracy, epoch time
  3. the full-set model on the inverted test set (dark digits on light) -> it fails
  4. LeNet on original + inverted training images               -> accuracy on both test sets
  5. the modified network (conv1 75, conv2 100 filters, ReLU after pool1) on the same
     original + inverted data                                   -> accuracy beside LeNet's

Recipe: batch 64, SGD with momentum 0.9 and weight decay 5e-4, cosine learning-rate
schedule, cross-entropy; float32 throughout.

    python benchmarks/accuracy_lenet.py [--epochs 5] [--json out.json]
    python benchmarks/accuracy_lenet.py --quick      # a one-minute smoke run on small subsets
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import dllab as dl
from dllab.models import lenet


class EpochPrinter(dl.Callback):
    def __init__(self, label):
        self.label = label

    def on_epoch_end(self, trainer, epoch, logs):
        val = f"  val_accuracy {logs['val_accuracy']:.4f}" if "val_accuracy" in logs else ""
        print(f"  [{self.label}] epoch {epoch + 1}: loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}"
              f"{val}  ({logs['time']:.1f} s, {logs['samples_per_s']:.0f} samples/s)", flush=True)


def train(label, model, train_set, epochs, args, validation=None):
    """Fit ``model`` with the recipe above; returns (trainer, history, seconds)."""
    opt = dl.optim.SGD(model, lr=args.lr, momentum=0.9, weight_decay=args.weight_decay,
                       schedule=dl.optim.CosineLR(epochs, min_factor=0.02))
    trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=opt, metrics=("accuracy",))
    t = time.perf_counter()
    history = trainer.fit(train_set, epochs=epochs, batch_size=args.batch_size, validation=validation,
                          seed=args.seed, verbose=False, callbacks=[EpochPrinter(label)])
    return trainer, history, time.perf_counter() - t


def accuracy(trainer, dataset):
    return float(trainer.evaluate(dataset)["accuracy"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs on the full and the augmented sets")
    parser.add_argument("--epochs-small", type=int, default=20, help="epochs on the 6,000-image small set")
    parser.add_argument("--epochs-modified", type=int, default=3,
                        help="epochs for the modified network (about 6x the work of LeNet per epoch)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-modified", action="store_true", help="leave out step 5 (the slowest)")
    parser.add_argument("--quick", action="store_true", help="tiny subsets, 1 epoch: checks the script runs")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    full_subset, small_subset = (None, "small") if not args.quick else (3000, 1000)
    if args.quick:
        args.epochs = args.epochs_small = args.epochs_modified = 1
    epochs_modified = args.epochs_modified

    results = {"recipe": {"batch_size": args.batch_size, "optimizer": "SGD momentum 0.9", "lr": args.lr,
                          "weight_decay": args.weight_decay, "schedule": "cosine", "seed": args.seed},
               "python": platform.python_version(), "numpy": np.__version__}
    rows = []

    # 1. the small set
    small, test = dl.data.mnist(subset=small_subset)
    dl.seed(args.seed)
    trainer, _, secs = train("small", lenet(), small, args.epochs_small, args)
    acc = accuracy(trainer, test)
    rows.append(("LeNet, small set (10 %)", len(small), args.epochs_small, acc, None, secs))
    results["lenet_small"] = {"train_images": len(small), "epochs": args.epochs_small, "test_accuracy": acc,
                              "seconds": round(secs, 1)}

    # 2. the full set, and 3. the same model on dark-on-light digits
    full, test = dl.data.mnist(subset=full_subset)
    _, test_inverted = dl.data.mnist(subset=full_subset, invert=True)
    dl.seed(args.seed)
    trainer, history, secs = train("full", lenet(), full, args.epochs, args)
    acc, acc_inv = accuracy(trainer, test), accuracy(trainer, test_inverted)
    epoch_times = [round(t, 2) for t in history["time"]]
    rows.append(("LeNet, full set", len(full), args.epochs, acc, acc_inv, secs))
    results["lenet_full"] = {"train_images": len(full), "epochs": args.epochs, "test_accuracy": acc,
                             "inverted_test_accuracy": acc_inv, "seconds": round(secs, 1),
                             "epoch_seconds": epoch_times,
                             "train_samples_per_s": [round(v) for v in history["samples_per_s"]]}

    # 4. original + inverted training images
    both, test, test_inverted = dl.data.mnist_with_inverted(subset=full_subset)
    dl.seed(args.seed)
    trainer, _, secs = train("orig+inv", lenet(), both, args.epochs, args)
    acc, acc_inv = accuracy(trainer, test), accuracy(trainer, test_inverted)
    rows.append(("LeNet, original + inverted", len(both), args.epochs, acc, acc_inv, secs))
    results["lenet_augmented"] = {"train_images": len(both), "epochs": args.epochs, "test_accuracy": acc,
                                  "inverted_test_accuracy": acc_inv, "seconds": round(secs, 1)}

    # 5. the modified network on the same data
    if not args.skip_modified:
        dl.seed(args.seed)
        model = lenet(filters=(75, 100), relu_after_pool1=True)
        trainer, history, secs = train("modified", model, both, epochs_modified, args)
        acc, acc_inv = accuracy(trainer, test), accuracy(trainer, test_inverted)
        rows.append(("modified (75/100 filters, ReLU), orig + inv", len(both), epochs_modified, acc, acc_inv,
                     secs))
        results["modified_augmented"] = {
            "train_images": len(both), "epochs": epochs_modified, "test_accuracy": acc,
            "inverted_test_accuracy": acc_inv, "seconds": round(secs, 1),
            "epoch_seconds": [round(t, 2) for t in history["time"]]}

    print()
    print(f"{'model and training set':46s} {'images':>7s} {'epochs':>6s} {'test acc':>9s} {'inverted':>9s}"
          f" {'time':>8s}")
    for name, n, ep, acc, acc_inv, secs in rows:
        inv = f"{100 * acc_inv:8.2f}%" if acc_inv is not None else f"{'-':>9s}"
        print(f"{name:46s} {n:7d} {ep:6d} {100 * acc:8.2f}% {inv} {secs:7.0f}s")
    print(f"\none LeNet epoch over {results['lenet_full']['train_images']:,} images (batch {args.batch_size}): "
          f"{np.median(epoch_times):.1f} s (median of {len(epoch_times)} epochs, training only)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
