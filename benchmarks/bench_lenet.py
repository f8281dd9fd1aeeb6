"""Training speed of LeNet: dllab vs PyTorch CPU, same batches, same run.

Both libraries train the same network (conv 20@5x5 -> maxpool 2 -> conv 50@5x5 ->
maxpool 2 -> Dense 500 relu -> Dense 10), in float32, on the same real MNIST
batches, with cross-entropy and SGD with momentum: forward + backward + update for
a fixed number of steps after a warm-up. They are timed in alternating rounds so
that machine noise hits both alike. PyTorch keeps its default number of threads.
Reported: samples/s of each (best round, and the median) and the ratio dllab / PyTorch.

    python benchmarks/bench_lenet.py [--steps 200] [--batch-size 64] [--rounds 3] [--json out.json]
    python benchmarks/bench_lenet.py --only dllab      # one library, e.g. under a profiler
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

import dllab as dl
from dllab.models import lenet


def mnist_batches(batch_size, count, seed=0):
    """``count`` shuffled (x, y) batches of real MNIST training images, as NumPy arrays."""
    train, _ = dl.data.mnist()
    batches = []
    while len(batches) < count:
        for xb, yb in dl.data.Batches(train, batch_size, shuffle=True, seed=seed + len(batches), drop_last=True):
            batches.append((np.array(xb, dtype=np.float32), np.array(yb, dtype=np.int64)))
            if len(batches) == count:
                break
    return batches


class DllabRunner:
    name = "dllab"

    def __init__(self, lr, momentum):
        dl.seed(0)
        self.model = lenet()
        self.opt = dl.optim.SGD(self.model, lr=lr, momentum=momentum)
        self.model.train()

    def step(self, xb, yb):
        loss = dl.cross_entropy(self.model(dl.Tensor(xb)), yb)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad()
        return loss

    def loss_value(self, loss):
        return float(loss.item())


def torch_lenet(nn):
    """The same LeNet in PyTorch (``nn`` is ``torch.nn``): the peer of dllab's ``lenet()``."""
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10),
    )


class TorchRunner:
    name = "pytorch"

    def __init__(self, lr, momentum):
        import torch

        self.torch = torch
        torch.manual_seed(0)
        self.model = torch_lenet(torch.nn)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=momentum)
        self.model.train()

    def prepare(self, batches):
        return [(self.torch.from_numpy(x), self.torch.from_numpy(y)) for x, y in batches]

    def step(self, xb, yb):
        loss = self.torch.nn.functional.cross_entropy(self.model(xb), yb)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss

    def loss_value(self, loss):
        return float(loss.item())


def timed_round(runner, batches):
    """Seconds for one pass over ``batches`` (the last loss is read, which waits for the work)."""
    t = time.perf_counter()
    loss = None
    for xb, yb in batches:
        loss = runner.step(xb, yb)
    last = runner.loss_value(loss)
    return time.perf_counter() - t, last


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps per round and library")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--only", choices=("dllab", "pytorch"), help="time one library only")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    batches = mnist_batches(args.batch_size, args.warmup + args.steps)
    warm, timed = batches[: args.warmup], batches[args.warmup :]
    runners = []
    if args.only in (None, "dllab"):
        runners.append((DllabRunner(args.lr, args.momentum), warm, timed))
    if args.only in (None, "pytorch"):
        try:
            tr = TorchRunner(args.lr, args.momentum)
            runners.append((tr, tr.prepare(warm), tr.prepare(timed)))
        except ImportError:
            print("PyTorch is not installed: timing dllab only (pip install torch==2.13.0 for the comparison)")

    for runner, w, _ in runners:
        timed_round(runner, w)
    rates = {runner.name: [] for runner, _, _ in runners}
    losses = {}
    for r in range(args.rounds):
        for runner, _, t in runners:
            seconds, loss = timed_round(runner, t)
            rates[runner.name].append(len(t) * args.batch_size / seconds)
            losses[runner.name] = loss
            print(f"round {r + 1}: {runner.name:8s} {rates[runner.name][-1]:8.0f} samples/s  (loss {loss:.3f})",
                  flush=True)

    result = {
        "benchmark": "LeNet training (forward + backward + SGD momentum), float32, real MNIST batches",
        "batch_size": args.batch_size, "steps": args.steps, "rounds": args.rounds,
        "samples_per_s": {k: round(max(v), 1) for k, v in rates.items()},
        "samples_per_s_median": {k: round(statistics.median(v), 1) for k, v in rates.items()},
        "per_round": {k: [round(x, 1) for x in v] for k, v in rates.items()},
        "final_loss": losses,
        "numpy": np.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
    }
    best = result["samples_per_s"]
    print()
    for name, rate in best.items():
        print(f"{name:8s} {rate:8.0f} samples/s (best of {args.rounds}; median "
              f"{result['samples_per_s_median'][name]:.0f})  ->  {60000 / rate:5.1f} s per 60,000-image epoch")
    if "dllab" in best and "pytorch" in best:
        import torch

        result["torch"] = torch.__version__
        result["torch_threads"] = torch.get_num_threads()
        result["ratio_dllab_over_pytorch"] = round(best["dllab"] / best["pytorch"], 3)
        result["ratio_median"] = round(statistics.median(
            a / b for a, b in zip(rates["dllab"], rates["pytorch"])), 3)
        print(f"ratio dllab / PyTorch: {result['ratio_dllab_over_pytorch']:.2f}x (best rounds), "
              f"{result['ratio_median']:.2f}x (median of per-round ratios); PyTorch threads: "
              f"{result['torch_threads']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return result


if __name__ == "__main__":
    main()
