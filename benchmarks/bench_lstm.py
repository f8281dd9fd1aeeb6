"""LSTM training speed: dllab against PyTorch CPU ``nn.LSTM`` of the same size, in the same run.

One training step = forward + backward + Adam update of LSTM(H) -> last state ->
Dense(1) with an MSE loss, on a batch of sequences (batch, steps, features);
the defaults mirror the IoT solar lab (14 steps, 2 features, batch 64).
The libraries alternate in short rounds so that a busy machine slows all
alike; the figure reported is the median round of each. PyTorch runs twice,
with its default thread count and with one thread (on a small, busy machine
its worker threads can cost more than they give), and the ratio is taken
against the faster of the two.

    python benchmarks/bench_lstm.py                      # hidden 15 and 32
    python benchmarks/bench_lstm.py --hidden 15 --json   # machine-readable
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
from dllab.layers import Dense
from dllab.layers.recurrent import LSTM


def dllab_step_fn(hidden, x, y):
    model = LSTM(hidden) >> Dense(1)
    model(x[:1])  # build the weights before the optimizer reads them
    opt = dl.optim.Adam(model, lr=1e-3)

    def step():
        loss = dl.mse(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def torch_step_fn(torch, hidden, x, y, threads):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(x.shape[2], hidden, batch_first=True)
    head = torch.nn.Linear(hidden, 1)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        torch.set_num_threads(threads)  # a no-op unless another runner changed it
        out, _ = lstm(xt)
        loss = torch.nn.functional.mse_loss(head(out[:, -1]), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def time_round(step, n):
    start = time.perf_counter()
    for _ in range(n):
        step()
    return time.perf_counter() - start


def bench(hidden, steps=14, features=2, batch=64, rounds=15, steps_per_round=40, torch=None, torch_threads=1):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features)).astype(np.float32)
    y = rng.standard_normal((batch, 1)).astype(np.float32)
    runners = {"dllab": dllab_step_fn(hidden, x, y)}
    if torch is not None:
        runners["pytorch"] = torch_step_fn(torch, hidden, x, y, torch_threads)
        if torch_threads > 1:
            runners["pytorch_1thread"] = torch_step_fn(torch, hidden, x, y, 1)
    for step in runners.values():  # warm up: caches, allocator, lazy builds
        time_round(step, 10)
    times = {name: [] for name in runners}
    for _ in range(rounds):
        for name, step in runners.items():
            times[name].append(time_round(step, steps_per_round))
    result = {"hidden": hidden, "steps": steps, "features": features, "batch": batch,
              "rounds": rounds, "steps_per_round": steps_per_round}  # fmt: skip
    for name, ts in times.items():
        result[f"{name}_samples_per_s"] = round(batch * steps_per_round / statistics.median(ts))
        result[f"{name}_ms_per_step"] = round(1e3 * statistics.median(ts) / steps_per_round, 3)
    if torch is not None:
        best = max(v for k, v in result.items() if k.startswith("pytorch") and k.endswith("samples_per_s"))
        result["pytorch_best_samples_per_s"] = best
        result["ratio_dllab_over_pytorch"] = round(result["dllab_samples_per_s"] / best, 3)
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[15, 32])
    parser.add_argument("--steps", type=int, default=14, help="sequence length")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps-per-round", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    load_before = round(os.getloadavg()[0], 2)

    dl.set_device("cpu")
    try:
        import torch  # optional: without it the comparison is skipped

        torch_threads = torch.get_num_threads()  # PyTorch's default: one per core
    except ImportError:
        torch, torch_threads = None, None
    results = [
        bench(h, steps=args.steps, batch=args.batch, rounds=args.rounds,
              steps_per_round=args.steps_per_round, torch=torch, torch_threads=torch_threads)
        for h in args.hidden
    ]  # fmt: skip
    env = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch else None,
        "torch_default_threads": torch_threads,
        "load_average_before": load_before,
    }
    if args.json:
        print(json.dumps({"env": env, "results": results}, indent=2))
        return
    print(f"LSTM training, forward + backward + Adam, {args.steps} steps x 2 features, batch {args.batch}")
    print(f"{env}")
    print(f"{'hidden':>6} {'dllab':>10} {'pytorch':>10} {'pytorch 1 thread':>17} {'ratio':>7}   (samples/s)")
    for r in results:
        nan = float("nan")
        print(
            f"{r['hidden']:>6} {r['dllab_samples_per_s']:>10,} {r.get('pytorch_samples_per_s', nan):>10,} "
            f"{r.get('pytorch_1thread_samples_per_s', nan):>17,} {r.get('ratio_dllab_over_pytorch', nan):>7.2f}"
        )
    print("ratio = dllab / the faster PyTorch setting; load average", load_before, "->",
          results[-1]["load_average_after"])


if __name__ == "__main__":
    main()
