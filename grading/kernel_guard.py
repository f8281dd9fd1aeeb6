"""Kernel-side guard of a graded notebook: runs INSIDE the sandboxed kernel, never on the host.

``sandbox.SandboxedExecute`` sends this file's text to the kernel (as a user expression, so it
is neither in the cell history nor in ``linecache``) before the first cell of the hand-in runs.
``install`` then snapshots what the tests rely on while nothing of the attendee has run yet:
NumPy's and ``dllab``'s namespaces and the code of their functions, the builtins, and IPython's
input/AST transformers, event callbacks and the methods of the shell and kernel classes.

Before every graded test cell the host calls the returned ``restore(names)``: everything
snapshotted is put back (a rebound ``np.allclose``, a patched ``check.__code__``, an input
transformer that wraps cells in ``try``/``except``, a ``pre_run_cell`` hook ...), and the
helper names the tests use (``labs``, ``check``, ``check_close``, ``np`` ...) are bound again to
the original objects in the attendee's namespace. It returns the list of what it had to repair,
which the host puts in the integrity report.

This is tamper *resistance*, not a proof: code running in the same process can always find and
defeat the guard. The sandbox bounds the damage (scores are computed on the host, the course is
out of reach), and ``integrity.scan`` flags hand-ins that try.
"""


def install(token, preload=("numpy", "dllab", "dllab.labs")):
    import builtins
    import importlib
    import sys
    import types

    modules = {}
    for name in preload:
        try:
            modules[name] = importlib.import_module(name)
        except Exception:  # a lab without dllab still gets its NumPy guarded
            pass
    # the submodules of what was preloaded (numpy.linalg, dllab.labs, dllab.gradcheck, ...)
    for name, module in list(sys.modules.items()):
        if module is not None and any(name == p or name.startswith(p + ".") for p in ("numpy", "dllab")):
            modules[name] = module

    def functions(namespace):
        return [v for v in list(namespace.values()) if isinstance(v, types.FunctionType)]

    snapshot = {name: dict(vars(module)) for name, module in modules.items()}
    builtins_snapshot = dict(vars(builtins))
    code = {}
    for namespace in list(snapshot.values()) + [builtins_snapshot]:
        for f in functions(namespace):
            code[f] = (f.__code__, f.__defaults__, f.__kwdefaults__)
        for v in list(namespace.values()):  # methods of the classes the helpers define
            if isinstance(v, type) and v.__module__.split(".")[0] in ("dllab",):
                for m in functions(vars(v)):
                    code[m] = (m.__code__, m.__defaults__, m.__kwdefaults__)

    from IPython import get_ipython

    shell = get_ipython()
    classes = [c for c in type(shell).__mro__ + type(shell.kernel).__mro__ if c is not object]
    class_snapshot = {c: dict(vars(c)) for c in classes}
    shell_attrs = set(vars(shell))
    kernel_attrs = set(vars(shell.kernel))
    transformers = {k: list(getattr(shell, k)) for k in
                    ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
                    if hasattr(shell, k)}
    events = {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()}
    shell_methods = {k: getattr(shell, k) for k in ("run_cell", "run_cell_async", "run_ast_nodes",
                                                     "run_code", "transform_cell", "showtraceback",
                                                     "_showtraceback", "ev", "user_expressions")
                     if k in vars(shell)}

    trusted = ("IPython", "ipykernel", "matplotlib", "matplotlib_inline", "ipywidgets", "comm", "tqdm",
               "dllab", "traitlets", "jupyter_client")

    def is_trusted(obj):
        """A callback or transformer of the Jupyter stack (kept), not one the notebook made (removed)."""
        obj = getattr(obj, "__func__", obj)
        module = getattr(obj, "__module__", None) or type(obj).__module__
        return isinstance(module, str) and module.split(".")[0] in trusted

    def is_code(v):
        return callable(v) or isinstance(v, (types.ModuleType, staticmethod, classmethod, property))

    def put_back(obj, saved, label, repaired):
        """Functions, classes and modules back in place; data (a module's state) is left alone."""
        current = vars(obj)
        for k, v in saved.items():
            if not is_code(v):
                continue
            if current.get(k, saved) is not v:
                try:
                    setattr(obj, k, v)
                    repaired.append(f"{label}.{k}")
                except (AttributeError, TypeError):
                    pass

    def restore(names=()):
        repaired = []
        for name, module in modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                repaired.append(f"sys.modules[{name!r}]")
            put_back(module, snapshot[name], name, repaired)
        put_back(builtins, builtins_snapshot, "builtins", repaired)
        for f, (c, d, kd) in code.items():
            if f.__code__ is not c or f.__defaults__ is not d or f.__kwdefaults__ is not kd:
                f.__code__, f.__defaults__, f.__kwdefaults__ = c, d, kd
                repaired.append(f"{f.__module__}.{f.__qualname__}.__code__")
        for cls, saved in class_snapshot.items():
            put_back(cls, saved, cls.__name__, repaired)
        for obj, saved_attrs, label in ((shell, shell_attrs, "shell"), (shell.kernel, kernel_attrs, "kernel")):
            for k in [k for k, v in vars(obj).items() if k not in saved_attrs and callable(v) and not is_trusted(v)]:
                delattr(obj, k)  # an instance attribute shadowing a method
                repaired.append(f"{label}.{k}")
        for k, v in shell_methods.items():
            if vars(shell).get(k) is not v:
                setattr(shell, k, v)
                repaired.append(f"shell.{k}")
        for k, saved in transformers.items():
            current = getattr(shell, k)
            kept = [t for t in current if t in saved or is_trusted(t)]
            if len(kept) != len(current):
                current[:] = kept
                repaired.append(f"shell.{k}")
        for name, callbacks in shell.events.callbacks.items():
            saved = events.get(name, [])
            kept = [cb for cb in callbacks if cb in saved or is_trusted(cb)]
            if len(kept) != len(callbacks):
                callbacks[:] = kept
                repaired.append(f"shell.events[{name!r}]")
        # the names the tests use, bound again to the originals
        ns = shell.user_ns
        labs = modules.get("dllab.labs")
        originals = {"np": modules.get("numpy"), "numpy": modules.get("numpy"), "dl": modules.get("dllab"),
                     "dllab": modules.get("dllab"), "labs": labs}
        for name in names:
            original = originals.get(name)
            if original is None and labs is not None:
                original = snapshot["dllab.labs"].get(name)
            if original is not None and name in ns and ns[name] is not original:
                ns[name] = original
                repaired.append(f"the name {name!r}")
        return repaired

    setattr(sys, token, restore)
    return "installed"
