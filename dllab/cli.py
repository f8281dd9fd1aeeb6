"""The ``dllab`` command: ``doctor`` (is everything in place?), ``data`` (verify the data), ``demo``."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time


def _version(module):
    try:
        return importlib.import_module(module).__version__
    except Exception as exc:  # not installed, or broken
        return f"not available ({type(exc).__name__})"


def doctor(args=None) -> int:
    """Print versions, the backend, whether a GPU is usable and whether the data verifies."""
    import dllab
    from dllab import backend, data

    ok = True
    print(f"dllab       {dllab.__version__}")
    print(f"python      {platform.python_version()} ({sys.executable})")
    for mod in ("numpy", "matplotlib", "tqdm", "ipywidgets", "cupy"):
        print(f"{mod:<11} {_version(mod)}")
    try:
        device = backend.get_device()
    except backend.DeviceError as exc:
        print(f"device      ERROR: {exc}")
        device, ok = None, False
    if device:
        print(f"device      {device}  (DLLAB_DEVICE selects cpu|gpu|auto)")
    if backend.gpu_available():
        print(f"gpu         usable: {backend.gpu_description()}")
        from dllab import kernels

        print("kernels     self-test against NumPy:")
        for name, good, detail in kernels.self_test():
            print(f"  {'ok ' if good else 'BAD'} {name:<14} {detail}")
            ok &= good
    else:
        print(f"gpu         not usable: {backend.gpu_unavailable_reason()}")
    dllab.threads.adapt("dllab doctor")  # one look at the load now, as fit() takes at its start
    threads = dllab.threads.info()
    libraries = ", ".join(f"{lib['internal_api']} {lib['num_threads']}" for lib in threads["libraries"])
    print(f"threads     {threads['num_threads'] or 'left to the environment'} ({threads['source']}; "
          f"DLLAB_NUM_THREADS=n to choose); {libraries or 'no BLAS library loaded'}")
    policy = {"adaptive": "adaptive: fit() looks at the load at its start and each epoch and switches between "
                          "1 thread and the free CPUs (dl.set_num_threads(n) fixes it)",
              "fixed": "fixed: fit() does not adapt it (dl.set_num_threads(None) or DLLAB_NUM_THREADS=auto to adapt)",
              "environment": "the BLAS/OpenMP variables decide; dllab sets nothing (DLLAB_NUM_THREADS=auto to adapt)"}
    print(f"            {policy[threads['mode']]}")
    memory = dllab.memory.info()
    print(f"memory      {'kept for reuse' if memory['applied'] else 'allocator defaults'}: {memory['reason']}")
    print(f"data        {data.data_dir()}")
    for _path, good, message in data.verify():
        print(f"  {'ok ' if good else 'BAD'} {message}")
        ok &= good
    print("all good" if ok else "problems found (see above)")
    return 0 if ok else 1


def verify_data(args=None) -> int:
    from dllab import data

    bad = [m for _, good, m in data.verify() if not good]
    for m in bad:
        print(m)
    print(f"{'all data files verified' if not bad else f'{len(bad)} problem(s)'} in {data.data_dir()}")
    return 1 if bad else 0


def demo(args=None) -> int:
    """Train logistic regression and a small fully connected net on MNIST for one epoch each."""
    import dllab as dl
    from dllab.data import mnist

    epochs = getattr(args, "epochs", 1) or 1
    t0 = time.perf_counter()
    train, test = mnist(subset=getattr(args, "subset", None))
    print(f"loaded {train!r} and {test!r} in {time.perf_counter() - t0:.1f}s")
    dl.seed(0)
    models = {
        "logistic regression": (dl.Flatten() >> dl.Dense(10), dl.optim.SGD(lr=0.1)),
        "fully connected 400-400": (
            dl.Flatten() >> dl.Dense(400, activation=dl.relu) >> dl.Dense(400, activation=dl.relu) >> dl.Dense(10),
            dl.optim.SGD(lr=0.05, momentum=0.9),
        ),
    }
    for name, (model, opt) in models.items():
        print(f"\n{name}: {model.__class__.__name__} trained for {epochs} epoch(s) with {opt!r}")
        trainer = dl.Trainer(model, loss=dl.cross_entropy, optimizer=opt)
        trainer.fit(train, epochs=epochs, batch_size=128)
        result = trainer.evaluate(test)
        print(f"{name}: test accuracy {result['accuracy']:.2%}  (test loss {result['loss']:.4f})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dllab", description="dllab: the deep-learning lab library")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="versions, device, GPU and data checks").set_defaults(fn=doctor)
    sub.add_parser("data", help="verify the shipped data sets' checksums").set_defaults(fn=verify_data)
    p = sub.add_parser("demo", help="train logistic regression and an MLP on MNIST")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--subset", type=int, default=None,
                   help="train on N class-balanced training images (default: all 60000)")
    p.set_defaults(fn=demo)
    args = parser.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
