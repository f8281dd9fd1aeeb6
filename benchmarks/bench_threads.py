"""BLAS threads at lab size: one thread against one per core, quiet and beside busy neighbours.

What `dllab.threads.policy` is based on. Each workload is a training step (or a product) the
labs run thousands of times, at the labs' batch sizes, on random data:

* lab 2's MLP step: 784-400-400-10 ReLU, batch 128, cross-entropy, SGD with momentum;
* LeNet's step (labs 3 and 5): conv 20@5x5, pool, conv 50@5x5, pool, Dense 500, Dense 10, batch 64;
* lab 2's first-layer product alone: (128 x 784) @ (784 x 400), float32.

For each number of busy neighbours (processes spinning on a core, see neighbours.py) the thread
counts are timed in alternating rounds, and the load average is recorded beside each figure.

    python benchmarks/bench_threads.py                      # 1 vs all cores; 0, 1, 2 neighbours
    python benchmarks/bench_threads.py --threads 1 2 --neighbours 0 1 --seconds 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import dllab as dl
from dllab.models import lenet

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other benchmarks, also when imported
from neighbours import LoadSampler, busy_neighbours  # noqa: E402 - after the path is set


def mlp_step():
    rng = np.random.default_rng(0)
    dl.seed(0)
    model = dl.Dense(400, activation=dl.relu) >> dl.Dense(400, activation=dl.relu) >> dl.Dense(10)
    opt = dl.optim.SGD(model, lr=0.01, momentum=0.9)
    x, y = rng.random((128, 784), dtype=np.float32), rng.integers(0, 10, 128)

    def step():
        dl.cross_entropy(model(dl.Tensor(x)), y).backward()
        opt.step()
        opt.zero_grad()
    return step


def lenet_step():
    rng = np.random.default_rng(0)
    dl.seed(0)
    model = lenet()
    opt = dl.optim.SGD(model, lr=0.01, momentum=0.9)
    x, y = rng.random((64, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, 64)

    def step():
        dl.cross_entropy(model(dl.Tensor(x)), y).backward()
        opt.step()
        opt.zero_grad()
    return step


def matmul():
    rng = np.random.default_rng(0)
    a, b = rng.random((128, 784), dtype=np.float32), rng.random((784, 400), dtype=np.float32)
    return lambda: a @ b


WORKLOADS = {"mlp_step": ("lab 2 MLP step, batch 128", mlp_step),
             "lenet_step": ("LeNet step, batch 64 (labs 3, 5)", lenet_step),
             "matmul": ("(128x784) @ (784x400) float32", matmul)}


def time_calls(fn, seconds):
    """Calls per second of ``fn`` over about ``seconds`` (after one warm-up call)."""
    fn()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        count += 1
    return count / elapsed


def measure(workloads, threads, neighbours, seconds, rounds):
    steps = {name: WORKLOADS[name][1]() for name in workloads}
    rows = []
    for n_busy in neighbours:
        with busy_neighbours(n_busy, max_seconds=len(workloads) * len(threads) * rounds * (seconds + 2) + 60), \
                LoadSampler(every=1.0) as load:
            rates = {(w, t): [] for w in workloads for t in threads}
            for _ in range(rounds):
                for w in workloads:
                    for t in threads:
                        dl.set_num_threads(t)
                        rates[w, t].append(time_calls(steps[w], seconds))
        summary = load.summary()
        for w in workloads:
            row = {"workload": w, "neighbours": n_busy, "load": summary}
            for t in threads:
                row[f"{t} threads"] = {"median_per_s": statistics.median(rates[w, t]),
                                       "rounds_per_s": rates[w, t]}
            rows.append(row)
            print(f"{n_busy} busy neighbours (load {summary['mean']:.2f}): {WORKLOADS[w][0]}: "
                  + ", ".join(f"{t} thr {statistics.median(rates[w, t]):.1f}/s" for t in threads), flush=True)
    dl.set_num_threads(None)
    return rows


def markdown(rows, threads):
    base = threads[0]
    head = ("| workload | busy neighbours | load avg (mean, max) | "
            + " | ".join(f"{t} thread{'s' if t > 1 else ''} (steps/s)" for t in threads)
            + " | " + " | ".join(f"{t} vs {base}" for t in threads[1:]) + " |")
    lines = [head, "| " + " | ".join(["---"] * (3 + 2 * len(threads) - 1)) + " |"]
    for r in rows:
        med = [r[f"{t} threads"]["median_per_s"] for t in threads]
        lines.append(f"| {WORKLOADS[r['workload']][0]} | {r['neighbours']} | {r['load']['mean']:.2f}, "
                     f"{r['load']['max']:.2f} | " + " | ".join(f"{m:.1f}" for m in med) + " | "
                     + " | ".join(f"{m / med[0]:.2f}x" for m in med[1:]) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    cores = dl.threads.available_cpus()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--threads", nargs="+", type=int, default=sorted({1, cores}))
    p.add_argument("--neighbours", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--seconds", type=float, default=4.0, help="time per measurement")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--markdown", help="write the table here")
    args = p.parse_args(argv)
    rows = measure(args.workloads, args.threads, args.neighbours, args.seconds, args.rounds)
    table = markdown(rows, args.threads)
    print(table)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": dl.threads.info()["cpus"],
            "python": platform.python_version(), "numpy": np.__version__,
            "blas": [lib["internal_api"] + " " + str(lib["version"]) for lib in dl.threads.info()["libraries"]]}
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": rows}, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
