"""Training speed of logistic regression and the MLP: dllab vs PyTorch CPU, same run.

Both train on the same real MNIST batches (float32, batch 128, SGD with momentum),
forward + backward + update, for a fixed number of steps after a warm-up. The two
libraries are timed in alternating rounds so that machine noise hits both alike;
the best round of each is reported, with the ratio dllab / PyTorch.

    python benchmarks/bench_core.py [--steps 200] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import dllab as dl

MODELS = {
    "logreg": [],  # hidden sizes: none (784 -> 10)
    "mlp": [400, 400],  # the CNTK lab-2 shape
    "mlp512": [512, 512],  # the shape used for the reference PyTorch figure
}


def dllab_model(hidden):
    layers = [dl.Flatten()] + [dl.Dense(h, activation=dl.relu) for h in hidden] + [dl.Dense(10)]
    return dl.Sequential(*layers)


def torch_model(torch, hidden):
    layers, n = [torch.nn.Flatten()], 784
    for h in hidden:
        layers += [torch.nn.Linear(n, h), torch.nn.ReLU()]
        n = h
    layers.append(torch.nn.Linear(n, 10))
    return torch.nn.Sequential(*layers)


def time_dllab(hidden, batches, steps, use_trainer):
    dl.seed(0)
    model = dllab_model(hidden)
    opt = dl.optim.SGD(model, lr=0.01, momentum=0.9)
    if use_trainer:
        trainer = dl.Trainer(model, optimizer=opt)
        xs = np.concatenate([b[0] for b in batches[:steps]])
        ys = np.concatenate([b[1] for b in batches[:steps]])
        trainer.fit((xs[:1280], ys[:1280]), epochs=1, batch_size=len(batches[0][0]), verbose=False)
        t = time.perf_counter()
        trainer.fit((xs, ys), epochs=1, batch_size=len(batches[0][0]), shuffle=False, verbose=False)
        return time.perf_counter() - t
    def step(xb, yb):
        loss = dl.cross_entropy(model(dl.Tensor(xb)), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return float(loss.data)
    for xb, yb in batches[:10]:
        step(xb, yb)
    t = time.perf_counter()
    for xb, yb in batches[:steps]:
        step(xb, yb)
    return time.perf_counter() - t


def time_torch(torch, hidden, batches, steps):
    torch.manual_seed(0)
    model = torch_model(torch, hidden)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    tb = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches[:steps]]
    loss_fn = torch.nn.functional.cross_entropy
    def step(xb, yb):
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    for xb, yb in tb[:10]:
        step(xb, yb)
    t = time.perf_counter()
    for xb, yb in tb:
        step(xb, yb)
    return time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--models", default="logreg,mlp,mlp512")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    import torch

    train, _ = dl.data.mnist()
    src = dl.data.Batches(train, batch_size=args.batch_size, seed=0, drop_last=True)
    batches = [(x.copy(), y.copy()) for x, y in src][: args.steps]
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"batch {args.batch_size}, {args.steps} steps, best of {args.rounds} alternating rounds")
    results = {}
    for name in args.models.split(","):
        hidden = MODELS[name]
        best = {"dllab": np.inf, "dllab_trainer": np.inf, "torch": np.inf}
        for _ in range(args.rounds):
            best["torch"] = min(best["torch"], time_torch(torch, hidden, batches, args.steps))
            best["dllab"] = min(best["dllab"], time_dllab(hidden, batches, args.steps, False))
            best["dllab_trainer"] = min(best["dllab_trainer"], time_dllab(hidden, batches, args.steps, True))
        n = args.steps * args.batch_size
        rates = {k: n / v for k, v in best.items()}
        results[name] = {**{f"{k}_samples_per_s": round(v) for k, v in rates.items()},
                         "ratio": rates["dllab"] / rates["torch"],
                         "ratio_trainer": rates["dllab_trainer"] / rates["torch"]}
        print(f"{name:8s} dllab {rates['dllab']:>9,.0f}/s  dllab Trainer {rates['dllab_trainer']:>9,.0f}/s  "
              f"torch {rates['torch']:>9,.0f}/s  ratio {results[name]['ratio']:.2f}x "
              f"(Trainer {results[name]['ratio_trainer']:.2f}x)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
