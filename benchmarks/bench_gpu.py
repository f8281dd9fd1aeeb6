"""GPU training speed: dllab on the GPU against dllab on the CPU and PyTorch on the same GPU.

Three workloads, each forward + backward + optimizer update, float32, timed in alternating
rounds after a warm-up, the batches already on the device (no host-to-device copy timed):

* LeNet (the DIGITS lab network) on real MNIST batches, SGD with momentum, batch 256;
* the solar lab's LSTM (hidden 32, 14 steps, 2 features) -> Dense(1), MSE, Adam, batch 256;
* a larger LSTM (hidden 256, 50 steps, 64 features), where the GPU has work to do.

Each timed round ends by reading the last loss back to the host, which waits for the GPU to
finish the round; the same for both libraries. PyTorch runs with its defaults
(cuDNN convolutions and LSTM; `torch.backends.cudnn.benchmark` off, as a notebook has it) and
with cudnn.benchmark on; the ratio is taken against the faster one. dllab's matrix products
go to cuBLAS through CuPy in full float32 (no TF32).

    python benchmarks/bench_gpu.py                         # everything; writes nothing
    python benchmarks/bench_gpu.py --json out.json --markdown out.md
    python benchmarks/bench_gpu.py --devices cpu --steps 3 --cpu-steps 2   # a smoke run without a GPU

Without a usable GPU, asking for it (the default) stops at once with the reason (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np
from bench_lenet import mnist_batches, torch_lenet  # this folder: a script's own path, or pytest's

import dllab as dl
from dllab import backend
from dllab.layers import Dense
from dllab.layers.recurrent import LSTM
from dllab.models import lenet

WORKLOADS = {
    "lenet": {"what": "LeNet, SGD momentum 0.9, MNIST", "batch": 256},
    "lstm_solar": {"what": "LSTM(32) -> Dense(1), Adam, 14 steps x 2 features", "batch": 256,
                   "hidden": 32, "steps": 14, "features": 2},
    "lstm_large": {"what": "LSTM(256) -> Dense(1), Adam, 50 steps x 64 features", "batch": 256,
                   "hidden": 256, "steps": 50, "features": 64},
}


def make_batches(name, count, seed=0):
    """``count`` (x, y) NumPy batches for a workload: real MNIST for LeNet, random sequences else."""
    spec = WORKLOADS[name]
    if name == "lenet":
        return mnist_batches(spec["batch"], count, seed)
    rng = np.random.default_rng(seed)
    shape = (spec["batch"], spec["steps"], spec["features"])
    return [(rng.standard_normal(shape).astype(np.float32),
             rng.standard_normal((spec["batch"], 1)).astype(np.float32)) for _ in range(count)]


class _Runner:
    """One timed round: forward, loss, backward, update per batch; the last loss read at the end."""

    def before_round(self):
        pass

    def round(self, batches):
        self.before_round()
        loss = None
        for x, y in batches:
            loss = self.loss(self.forward(x), y)
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return float(loss.item())


# --- dllab ----------------------------------------------------------------------------------------


class DllabRunner(_Runner):
    def __init__(self, workload, device):
        self.device = device
        self.name = f"dllab {device}"
        backend.set_device(device)
        dl.seed(0)
        spec = WORKLOADS[workload]
        if workload == "lenet":
            self.model, self.loss = lenet(), dl.cross_entropy
        else:
            self.model, self.loss = LSTM(spec["hidden"]) >> Dense(1), dl.mse
        self.forward = self.model
        self.workload = workload

    def prepare(self, batches):
        backend.set_device(self.device)
        moved = [(dl.Tensor(backend.to_device(x)), backend.to_device(y)) for x, y in batches]
        if not hasattr(self, "opt"):
            self.model(moved[0][0][:1])  # build the lazily sized layers before the optimizer reads them
            self.opt = (dl.optim.SGD(self.model, lr=0.01, momentum=0.9) if self.workload == "lenet"
                        else dl.optim.Adam(self.model, lr=1e-3))
            self.model.train()
        return moved

    def before_round(self):
        backend.set_device(self.device)


# --- PyTorch --------------------------------------------------------------------------------------


class TorchRunner(_Runner):
    def __init__(self, workload, device, cudnn_benchmark=False):
        import torch

        self.torch = torch
        self.device = device
        self.cudnn_benchmark = cudnn_benchmark
        self.name = f"pytorch {device}" + (" (cudnn.benchmark)" if cudnn_benchmark else "")
        torch.manual_seed(0)
        nn = torch.nn
        spec = WORKLOADS[workload]
        dev = torch.device("cuda" if device == "gpu" else "cpu")
        if workload == "lenet":
            model = torch_lenet(nn).to(dev)
            self.forward = model
            self.loss = nn.functional.cross_entropy
            self.opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        else:
            lstm = nn.LSTM(spec["features"], spec["hidden"], batch_first=True).to(dev)
            head = nn.Linear(spec["hidden"], 1).to(dev)
            self.forward = lambda x: head(lstm(x)[0][:, -1])
            self.loss = nn.functional.mse_loss
            self.opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=1e-3)
        self.dev = dev

    def prepare(self, batches):
        t = self.torch
        return [(t.from_numpy(x).to(self.dev), t.from_numpy(y).to(self.dev)) for x, y in batches]

    def before_round(self):
        self.torch.backends.cudnn.benchmark = self.cudnn_benchmark


# --- timing ---------------------------------------------------------------------------------------


def bench(workload, devices, steps, cpu_steps, rounds, warmup, torch_ok):
    """samples/s (median round) of each runner on one workload."""
    runners = []
    for device in devices:
        runners.append(DllabRunner(workload, device))
        if torch_ok:
            runners.append(TorchRunner(workload, device))
            if device == "gpu":
                runners.append(TorchRunner(workload, device, cudnn_benchmark=True))
    batch = WORKLOADS[workload]["batch"]
    need = warmup + max(steps, cpu_steps)
    host = make_batches(workload, need)
    plan = []
    for r in runners:
        n = steps if r.device == "gpu" else cpu_steps
        data = r.prepare(host[: warmup + n])
        r.round(data[:warmup])  # kernels compiled, allocator and cuDNN warmed up
        plan.append((r, data[warmup:]))
    rates = {r.name: [] for r in runners}
    losses = {}
    for k in range(rounds):
        for r, data in plan:
            t = time.perf_counter()
            losses[r.name] = r.round(data)
            rates[r.name].append(len(data) * batch / (time.perf_counter() - t))
        line = ", ".join(f"{name} {v[-1]:,.0f}" for name, v in rates.items())
        print(f"  {workload} round {k + 1}: {line} samples/s", flush=True)
    result = {"workload": workload, **WORKLOADS[workload],
              "samples_per_s": {n: round(statistics.median(v), 1) for n, v in rates.items()},
              "per_round": {n: [round(x, 1) for x in v] for n, v in rates.items()},
              "final_loss": losses}
    s = result["samples_per_s"]
    ratios = {}
    if "dllab gpu" in s:
        peers = [v for n, v in s.items() if n.startswith("pytorch gpu")]
        if peers:
            ratios["dllab gpu / pytorch gpu"] = round(s["dllab gpu"] / max(peers), 3)
        if "dllab cpu" in s:
            ratios["dllab gpu / dllab cpu"] = round(s["dllab gpu"] / s["dllab cpu"], 1)
    if "dllab cpu" in s and "pytorch cpu" in s:
        ratios["dllab cpu / pytorch cpu"] = round(s["dllab cpu"] / s["pytorch cpu"], 3)
    result["ratios"] = ratios
    return result


def environment():
    env = {"python": platform.python_version(), "numpy": np.__version__, "cpus": os.cpu_count(),
           "gpu": backend.gpu_description() if backend.gpu_available() else None}
    try:
        import cupy

        env["cupy"] = cupy.__version__
    except ImportError:
        env["cupy"] = None
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_cuda"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version() if torch.cuda.is_available() else None
    except ImportError:
        env["torch"] = None
    return env


def markdown(env, results):
    lines = [f"GPU: {env['gpu'] or 'none'}; CuPy {env['cupy']}, PyTorch {env['torch']} "
             f"(CUDA {env.get('torch_cuda')}, cuDNN {env.get('cudnn')}), NumPy {env['numpy']}, "
             f"{env['cpus']} CPUs", ""]
    names = sorted({n for r in results for n in r["samples_per_s"]})
    lines.append("| workload | batch | " + " | ".join(names) + " | ratios |")
    lines.append("| --- | --- | " + " | ".join("---" for _ in names) + " | --- |")
    for r in results:
        cells = [f"{r['samples_per_s'][n]:,.0f}" if n in r["samples_per_s"] else "–" for n in names]
        ratios = "; ".join(f"{k} **{v}**" for k, v in r["ratios"].items()) or "–"
        lines.append(f"| {r['what']} | {r['batch']} | " + " | ".join(cells) + f" | {ratios} |")
    lines.append("")
    lines.append("samples/s, median of the timed rounds; a round ends by reading its last loss to the host.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--devices", nargs="+", choices=("gpu", "cpu"), default=["gpu", "cpu"])
    parser.add_argument("--steps", type=int, default=50, help="timed steps per round on the GPU")
    parser.add_argument("--cpu-steps", type=int, default=10, help="timed steps per round on the CPU")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--no-torch", action="store_true", help="time dllab only")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--markdown", help="write a results table to this Markdown file")
    args = parser.parse_args(argv)

    if "gpu" in args.devices and not backend.gpu_available():
        print(f"bench_gpu: no usable GPU ({backend.gpu_unavailable_reason()}); "
              "run it where `dllab doctor` says the GPU is usable, or pass --devices cpu", file=sys.stderr)
        return 2
    torch_ok = not args.no_torch
    if torch_ok:
        try:
            import torch

            if "gpu" in args.devices and not torch.cuda.is_available():
                print("PyTorch sees no GPU: timing dllab only on the GPU")
                torch_ok = False
        except ImportError:
            print("PyTorch is not installed: timing dllab only (pip install torch for the comparison)")
            torch_ok = False
    env = environment()
    print(json.dumps(env))
    results = [bench(w, args.devices, args.steps, args.cpu_steps, args.rounds, args.warmup, torch_ok)
               for w in args.workloads]
    table = markdown(env, results)
    print()
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"env": env, "results": results}, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
