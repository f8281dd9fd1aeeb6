"""Each library at its default, quiet and beside busy neighbours: dllab's adaptive thread policy
against PyTorch's default and against dllab fixed at one BLAS thread.

Workloads (random data, the labs' sizes), each a short timed training run through the path a lab
takes (dllab: ``Trainer.fit``, whose thread policy looks at the load at fit start, each epoch and
every few seconds; PyTorch: the usual hand-written loop):

* ``mlp``: MLP-400 (784-400-400-10 ReLU), batch 128, cross-entropy, SGD with momentum (lab 2);
* ``lenet``: LeNet (conv 20@5x5, pool, conv 50@5x5, pool, Dense 500, Dense 10), batch 64 (labs 3, 5);
* ``lstm``: LSTM(15) -> Dense(1), 14 steps x 2 features, batch 64, MSE, Adam (the IoT lab).

Variants, each in a fresh process (a new notebook kernel; nothing carries over):

* ``dllab``: dllab's default (no thread variable set: the adaptive policy);
* ``dllab-1``: ``DLLAB_NUM_THREADS=1`` (what ``import dllab`` chose on 2 CPUs before the policy adapted);
* ``pytorch``: PyTorch's default (``torch.get_num_threads()``: one per core).

For 0, 1 and 2 busy neighbours (processes spinning on a core, ``neighbours.py``) the variants
alternate in rounds; the load average and the CPUs other processes kept busy (``/proc/stat``) are
recorded before the run and during each condition.

    python benchmarks/bench_threads.py                                   # all, 2 rounds
    python benchmarks/bench_threads.py --models mlp --neighbours 0 1 --rounds 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from neighbours import LoadSampler, busy_neighbours  # this folder: a script's own path, or pytest's

HERE = Path(__file__).resolve().parent

THREAD_VARIABLES = ("DLLAB_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
# model: (label, batch, steps per epoch, epochs): a few hundred steps, capped in time by --max-seconds
MODELS = {"mlp": ("MLP-400, batch 128", 128, 100, 6),
          "lenet": ("LeNet, batch 64", 64, 40, 5),
          "lstm": ("LSTM(15), 14x2, batch 64", 64, 200, 5)}
VARIANTS = ("dllab", "dllab-1", "pytorch")


def data(model, steps):
    rng = np.random.default_rng(0)
    _, batch, _, _ = MODELS[model]
    n = batch * steps
    if model == "mlp":
        return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    if model == "lenet":
        return rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n)
    return rng.standard_normal((n, 14, 2)).astype(np.float32), rng.standard_normal((n, 1)).astype(np.float32)


# --- the workers: one timed run in this process ------------------------------------------------------


def run_dllab(model, max_seconds):
    import dllab as dl
    from dllab.layers.recurrent import LSTM
    from dllab.models import lenet

    _, batch, per_epoch, epochs = MODELS[model]
    dl.seed(0)
    if model == "mlp":
        net = dl.Dense(400, activation=dl.relu) >> dl.Dense(400, activation=dl.relu) >> dl.Dense(10)
        trainer = dl.Trainer(net, optimizer=dl.optim.SGD(lr=0.01, momentum=0.9), metrics=())
    elif model == "lenet":
        trainer = dl.Trainer(lenet(), optimizer=dl.optim.SGD(lr=0.01, momentum=0.9), metrics=())
    else:
        net = LSTM(15) >> dl.Dense(1)
        trainer = dl.Trainer(net, loss="mse", optimizer=dl.optim.Adam(lr=1e-3), metrics=())
    x, y = data(model, per_epoch)
    trainer.fit((x[:5 * batch], y[:5 * batch]), epochs=1, batch_size=batch, verbose=False)  # warm-up

    class Budget(dl.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if time.perf_counter() - start > max_seconds:
                trainer.stop_training = True

    start = time.perf_counter()
    history = trainer.fit((x, y), epochs=epochs, batch_size=batch, callbacks=[Budget()], verbose=False)
    elapsed = time.perf_counter() - start
    info = dl.threads.info()
    return {"steps": len(history.step_loss), "seconds": elapsed, "steps_per_s": len(history.step_loss) / elapsed,
            "threads_end": info["num_threads"], "mode": info["mode"],
            "decisions": [(d["when"], d["others_busy"], d["threads"]) for d in info["adaptive"]["recent"]]}


def run_torch(model, max_seconds):
    import torch

    _, batch, per_epoch, epochs = MODELS[model]
    torch.manual_seed(0)
    nn = torch.nn
    if model == "mlp":
        net = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
        opt, loss_fn = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9), nn.functional.cross_entropy
    elif model == "lenet":
        net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
        opt, loss_fn = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9), nn.functional.cross_entropy
    else:
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm, self.head = nn.LSTM(2, 15, batch_first=True), nn.Linear(15, 1)

            def forward(self, x):
                return self.head(self.lstm(x)[0][:, -1])

        net = Net()
        opt, loss_fn = torch.optim.Adam(net.parameters(), lr=1e-3), nn.functional.mse_loss
    x, y = (torch.from_numpy(a) for a in data(model, per_epoch))
    gen = np.random.default_rng(0)

    def epoch(count):
        order = torch.from_numpy(gen.permutation(len(x)))
        for i in range(count):
            idx = order[i * batch:(i + 1) * batch]
            loss = loss_fn(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()  # the step's read back, as dllab's Trainer does
        return count

    epoch(5)  # warm-up
    steps, start = 0, time.perf_counter()
    for _ in range(epochs):
        steps += epoch(per_epoch)
        if time.perf_counter() - start > max_seconds:
            break
    elapsed = time.perf_counter() - start
    return {"steps": steps, "seconds": elapsed, "steps_per_s": steps / elapsed, "threads_end": torch.get_num_threads()}


# --- the driver ------------------------------------------------------------------------------------


def others_busy(seconds=1.0):
    """CPUs other processes kept busy over ``seconds`` (dllab's own reading), or None."""
    from dllab.cpus import ProcStatLoad

    return ProcStatLoad(window=seconds)()


def worker(variant, model, max_seconds, timeout):
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    if variant == "dllab-1":
        env["DLLAB_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", variant, model,
                          "--max-seconds", str(max_seconds)], env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{variant} {model} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(models, neighbours, rounds, max_seconds):
    rows = []
    for n_busy in neighbours:
        budget = len(models) * len(VARIANTS) * rounds * (max_seconds + 30) + 60
        with busy_neighbours(n_busy, max_seconds=budget), LoadSampler(every=1.0) as load:
            busy_before = others_busy()
            runs = {(m, v): [] for m in models for v in VARIANTS}
            for _ in range(rounds):
                for m in models:
                    for v in VARIANTS:
                        runs[m, v].append(worker(v, m, max_seconds, timeout=max_seconds * 20 + 120))
                        r = runs[m, v][-1]
                        print(f"  {n_busy} busy, {m}, {v}: {r['steps_per_s']:.1f} steps/s "
                              f"({r['steps']} steps, {r['threads_end']} threads at the end)", flush=True)
        summary = load.summary()
        summary["others_busy_cpus_at_start"] = None if busy_before is None else round(busy_before, 2)
        for m in models:
            row = {"model": m, "neighbours": n_busy, "load": summary}
            for v in VARIANTS:
                row[v] = {"median_steps_per_s": statistics.median(r["steps_per_s"] for r in runs[m, v]),
                          "runs": runs[m, v]}
            rows.append(row)
    return rows


def threads_used(runs):
    """The thread counts dllab's policy ended its runs with, e.g. "2" or "1-2"."""
    ends = sorted({r["threads_end"] for r in runs})
    return "-".join(str(e) for e in ends)


def markdown(rows):
    lines = ["| model | busy neighbours | load avg during (mean, max) | others' CPUs at start "
             "| dllab default (threads) | dllab 1 thread | PyTorch default | default / PyTorch | default / 1 thread |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        d, one, pt = (r[v]["median_steps_per_s"] for v in VARIANTS)
        lines.append(f"| {MODELS[r['model']][0]} | {r['neighbours']} | {r['load']['mean']:.2f}, {r['load']['max']:.2f} "
                     f"| {r['load']['others_busy_cpus_at_start']} | {d:.1f} ({threads_used(r['dllab']['runs'])}) "
                     f"| {one:.1f} | {pt:.1f} | **{d / pt:.2f}x** | {d / one:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--neighbours", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=12.0, help="time cap of one timed run")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--markdown", help="write the table here")
    p.add_argument("--worker", nargs=2, metavar=("VARIANT", "MODEL"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        variant, model = args.worker
        result = run_torch(model, args.max_seconds) if variant == "pytorch" else run_dllab(model, args.max_seconds)
        print(json.dumps(result))
        return 0
    before = {"loadavg_1_5_15": [round(v, 2) for v in os.getloadavg()], "others_busy_cpus_2s": others_busy(2.0),
              "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"before the run: load average {before['loadavg_1_5_15']}, "
          f"{before['others_busy_cpus_2s']} CPUs busy with other processes", flush=True)
    rows = measure(args.models, args.neighbours, args.rounds, args.max_seconds)
    after = {"loadavg_1_5_15": [round(v, 2) for v in os.getloadavg()], "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    table = markdown(rows)
    print(table)
    import torch

    import dllab as dl

    meta = {"before": before, "after": after, "cpus": dl.threads.info()["cpus"], "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__, "torch_default_threads": torch.get_num_threads(),
            "blas": [f"{lib['internal_api']} {lib['version']}" for lib in dl.threads.info()["libraries"]],
            "args": {k: v for k, v in vars(args).items() if k != "worker"}}
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": rows}, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
