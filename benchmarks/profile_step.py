"""Where one dllab training step spends its time: CPU time and page faults per op (issue 27).

Runs ``Trainer.fit`` on bench_threads.py's models (random data, the labs' sizes) with every
``Function``'s forward and backward and the optimizer wrapped in a timer, and prints per step:
process CPU time (robust on a shared machine, unlike wall time), minor page faults (each is a
4 KB page the kernel had to map and zero: a freshly allocated large array pays one per page)
and what is left for the Trainer and the autograd walk.

    python benchmarks/profile_step.py lenet                 # one BLAS thread (the default here)
    python benchmarks/profile_step.py mlp --steps 300
    python benchmarks/profile_step.py lenet --allocator-defaults  # glibc gives freed memory back: faults

``import dllab`` tells glibc to keep freed arrays with the process (``dllab/memory.py``: M_MMAP_THRESHOLD
32 MB, M_TRIM_THRESHOLD 128 MB); ``--allocator-defaults`` (``DLLAB_KEEP_FREED_MEMORY=0``) keeps glibc's
defaults, and the difference is what the page faults of the step's fresh arrays cost (about a fifth
of LeNet's step on our 2-CPU machine).
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import sys
import time

from bench_threads import MODELS, data  # this folder: a script's own path, or pytest's


def usage():
    """(process CPU seconds, minor page faults) so far."""
    return time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed(cls, name, table):
    """Wrap cls.name so that each call adds its CPU time and page faults to table["cls.name"]."""
    method = getattr(cls, name)

    def wrapper(self, *args, **kwargs):
        cpu, faults = usage()
        out = method(self, *args, **kwargs)
        cpu2, faults2 = usage()
        row = table[f"{cls.__name__}.{name}"]
        row[0], row[1], row[2] = row[0] + cpu2 - cpu, row[1] + faults2 - faults, row[2] + 1
        return out

    setattr(cls, name, wrapper)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", choices=["mlp", "lenet"])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", default="1", help="DLLAB_NUM_THREADS (CPU time then counts every thread)")
    p.add_argument("--allocator-defaults", action="store_true", help="DLLAB_KEEP_FREED_MEMORY=0")
    args = p.parse_args(argv)
    os.environ["DLLAB_NUM_THREADS"] = args.threads
    if args.allocator_defaults:
        os.environ["DLLAB_KEEP_FREED_MEMORY"] = "0"

    import dllab as dl
    from dllab.autograd import Function
    from dllab.models import lenet
    from dllab.optim import Optimizer

    table = collections.defaultdict(lambda: [0.0, 0, 0])
    pending = [Function]
    while pending:  # every op class of dllab.functional, imported by `import dllab`
        cls = pending.pop()
        pending += cls.__subclasses__()
        for name in ("forward", "backward"):
            if name in vars(cls) and cls is not Function:
                timed(cls, name, table)
    timed(Optimizer, "step", table)

    _, batch, _, _ = MODELS[args.model]
    dl.seed(0)
    if args.model == "mlp":
        net = dl.Dense(400, activation=dl.relu) >> dl.Dense(400, activation=dl.relu) >> dl.Dense(10)
    else:
        net = lenet()
    trainer = dl.Trainer(net, optimizer=dl.optim.SGD(lr=0.01, momentum=0.9), metrics=())
    x, y = data(args.model, args.steps)
    trainer.fit((x[:5 * batch], y[:5 * batch]), epochs=1, batch_size=batch, verbose=False)  # warm-up
    table.clear()
    cpu, faults = usage()
    trainer.fit((x, y), epochs=1, batch_size=batch, verbose=False)
    cpu2, faults2 = usage()

    n = args.steps
    print(f"{args.model}, {args.threads} thread(s), {n} steps: {(cpu2 - cpu) / n * 1e3:.2f} ms CPU and "
          f"{(faults2 - faults) / n:.0f} page faults per step (load average {os.getloadavg()[0]:.2f})")
    print(f"{'':28s} {'ms/step':>8s} {'faults':>7s} {'calls':>6s}")
    for key, (seconds, count, calls) in sorted(table.items(), key=lambda kv: -kv[1][0]):
        print(f"{key:28s} {seconds / n * 1e3:8.3f} {count / n:7.0f} {calls / n:6.0f}")
    rest = (cpu2 - cpu - sum(row[0] for row in table.values())) / n
    print(f"{'rest: Trainer, autograd walk':28s} {rest * 1e3:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
