"""Train logistic regression and the fully connected net on full MNIST; report test accuracy.

Targets (issue 2): logistic regression >= 92.5 %, 2 x Dense(400, relu) + Dense(10) >= 98.2 %.
The accuracy is measured on the 10,000 real MNIST test images.

    python benchmarks/accuracy_core.py [--json out.json] [--only logreg|mlp]
"""

from __future__ import annotations

import argparse
import json
import time

import dllab as dl
from dllab import optim


def logreg():
    model = dl.Flatten() >> dl.Dense(10)
    opt = optim.SGD(lr=0.5, momentum=0.5, schedule=optim.CosineLR(30))
    return model, opt, dict(epochs=30, batch_size=100)


def mlp():
    model = (dl.Flatten() >> dl.Dense(400, activation=dl.relu) >> dl.Dense(400, activation=dl.relu)
             >> dl.Dense(10))
    opt = optim.SGD(lr=0.05, momentum=0.9, weight_decay=1e-4, schedule=optim.CosineLR(20))
    return model, opt, dict(epochs=20, batch_size=128)


RUNS = {"logreg": (logreg, 0.925), "mlp": (mlp, 0.982)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(RUNS))
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    train, test = dl.data.mnist()
    results = {}
    for name, (build, target) in RUNS.items():
        if args.only and name != args.only:
            continue
        dl.seed(0)
        model, opt, fit = build()
        trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=opt)
        t0 = time.perf_counter()
        history = trainer.fit(train, validation=test, seed=0, verbose=False, **fit)
        seconds = time.perf_counter() - t0
        acc = trainer.evaluate(test)["accuracy"]
        results[name] = {"test_accuracy": acc, "target": target, "epochs": fit["epochs"],
                         "seconds": round(seconds, 1), "best_epoch_accuracy": max(history["val_accuracy"]),
                         "optimizer": repr(opt)}
        print(f"{name:7s} test accuracy {acc:.2%} (target {target:.1%}: {'met' if acc >= target else 'MISSED'}) "
              f"after {fit['epochs']} epochs, {seconds:.0f}s, {opt!r}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return 0 if all(r["test_accuracy"] >= r["target"] for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
