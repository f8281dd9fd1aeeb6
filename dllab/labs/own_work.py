"""Whether an answer is the attendee's own work: a static reading of the code that defines it.

Most graded functions are to be written from scratch in NumPy (softmax, conv2d, lstm_step...);
dllab already holds each of them, and the tests' expected values have names too
(``labs.reference_sgd_epoch``...). An answer that hands its work to either earns nothing, however
right its numbers. :func:`problems` reads the code cells that define an answer, and every
definition it reaches (a helper in another cell, an alias), and says what it calls that it may not:

* any answer: the tests' references (``labs.reference_*``, ``labs.*_mistakes``...) or the grader's code;
* an answer the lab writes from scratch (all but :data:`LIBRARY_ALLOWED`): dllab, another deep-learning
  library, an import other than NumPy and Python's own modules (a copy of the answer from a file
  beside the notebook), or a name looked up at run time (``getattr``, ``eval``, ``globals()``...)
  that the reading cannot follow.

The grader runs it on the cells of the hand-in, outside the attendee's kernel, and gives the
function's tests 0 with the message; :func:`call` runs it in the notebook on the function's own
source, so that the visible test says the same thing before the hand-in.
"""

from __future__ import annotations

import ast
import builtins
import inspect

from .answers import ANSWER_KEYS

# answers whose lab asks for dllab's layers, models or optimizers (only the references are off limits)
LIBRARY_ALLOWED = frozenset({
    "make_mlp", "modified_lenet", "take_classes", "split_model", "extract_features", "freeze", "unfreeze",
    "with_new_head", "count_parameters", "unfreeze_top", "fine_tune",
})
# every graded function of the five labs: each is judged on its own, so reading one answer does not go
# into another (a forecast_by_hand built on a wrong lstm_step loses lstm_step's points, not its own)
ANSWERS = frozenset({
    "accuracy", "adam_step", "backward", "binary_cross_entropy", "clip_by_global_norm", "confusion_matrix",
    "conv2d", "conv2d_single", "conv_output_size", "conv_params", "count_parameters", "cross_entropy",
    "dropout_forward", "early_stopping_epoch", "extract_features", "fine_tune", "forecast_by_hand", "forward",
    "freeze", "logreg_gradients", "lstm_forward", "lstm_step", "make_mlp", "make_windows", "max_pool_backward",
    "max_pool_single", "minibatches", "modified_lenet", "most_confused", "naive_forecasts", "nearest_mean_predict",
    "neuron_gradients", "one_hot", "pad_days", "prepare_photo", "relu", "relu_grad", "rmsprop_step",
    "scale_by_train_max", "sgd_epoch", "sgd_step", "sigmoid", "sigmoid_grad", "softmax", "split_model",
    "take_classes", "unfreeze", "unfreeze_top", "with_inverted", "with_new_head",
})
LIBRARIES = frozenset({"dl", "dllab", "labs", "torch", "scipy", "sklearn", "tensorflow", "tf", "jax", "keras",
                       "cupy", "skimage", "cv2", "PIL"})
ALLOWED_MODULES = frozenset({"numpy", "math", "itertools", "functools", "collections", "operator"})
NEVER = frozenset({"grading", "answer_keys", "judge", "wire"}) | {"dllab.labs.answers"}
DYNAMIC = frozenset({"getattr", "__import__", "importlib", "globals", "vars", "eval", "exec", "compile", "locals"})


def _standard(module):
    """NumPy, or a module of Python's standard library (warnings, sys, math...), but not importlib."""
    import sys

    return module in ALLOWED_MODULES or (module in sys.stdlib_module_names and module not in DYNAMIC)


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def _top_bindings(tree):
    """name -> top-level statements of a cell that bind it (defs, assignments, imports)."""
    out = {}
    for node in tree.body:
        names = set()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
        for name in names:
            out.setdefault(name, []).append(node)
    return out


def _offences(node, from_scratch):
    """What one statement uses that the answer may not, as readable snippets."""
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Import, ast.ImportFrom)):
            module = sub.module if isinstance(sub, ast.ImportFrom) else None
            for alias in sub.names:
                full = (module or alias.name) if module else alias.name
                top = (full or "").split(".")[0]
                imported = [alias.name] if isinstance(sub, ast.ImportFrom) else []
                if top in NEVER or full in NEVER or any(n in ANSWER_KEYS for n in imported):
                    found.append(f"the grader's references (import {full})")
                elif from_scratch and (top in LIBRARIES or top == "dllab" or not _standard(top)):
                    found.append(f"{full}" + (f".{alias.name}" if module else "") +
                                 " (an import other than NumPy and Python's own modules)")
        elif isinstance(sub, ast.Attribute) and sub.attr in ANSWER_KEYS:
            found.append(f"{ast.unparse(sub)}, one of the tests' references")
        elif isinstance(sub, ast.Name) and sub.id in ANSWER_KEYS:
            found.append(f"{sub.id}, one of the tests' references")
        elif from_scratch and isinstance(sub, ast.Attribute) and _root(sub) in LIBRARIES and \
                not isinstance(getattr(sub, "_parent", None), ast.Attribute):
            found.append(ast.unparse(sub))
        elif from_scratch and isinstance(sub, ast.Name) and sub.id in LIBRARIES and \
                not isinstance(getattr(sub, "_parent", None), ast.Attribute):
            found.append(sub.id)
        elif from_scratch and isinstance(sub, ast.Name) and sub.id in DYNAMIC:
            found.append(f"{sub.id}(...) (a name looked up while running, which the grader cannot follow)")
    return found


def problems(name, sources, skip=()):
    """Why the answer ``name``, as defined by the code cells ``sources``, is not the attendee's own work:
    a list of readable reasons, empty when it is. ``skip``: texts of the lab's own given cells."""
    bindings = {}
    for text in sources:
        if text in skip:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):  # lets an attribute chain be reported once, at its outermost node
            for child in ast.iter_child_nodes(node):
                child._parent = node
        for key, nodes in _top_bindings(tree).items():
            bindings.setdefault(key, []).extend(nodes)
    from_scratch = name not in LIBRARY_ALLOWED
    seen, todo, reasons = set(), [name], []
    while todo:
        current = todo.pop()
        for node in bindings.get(current, []):
            if id(node) in seen:
                continue
            seen.add(id(node))
            reasons += _offences(node, from_scratch)
            for sub in ast.walk(node):  # follow the notebook's own names it reads
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in bindings \
                        and not hasattr(builtins, sub.id) and (sub.id == name or sub.id not in ANSWERS):
                    todo.append(sub.id)
    unique = []
    for reason in reasons:
        if reason not in unique:
            unique.append(reason)
    return unique


def message(name, reasons):
    """The teaching message for an answer that is not the attendee's own."""
    what = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
    if name in LIBRARY_ALLOWED:
        return (f"{name} calls {what}: the tests' references are for checking answers, not for giving them. "
                "Write the function with the library's layers and your own code; it earns no points otherwise.")
    return (f"{name} must do its own work in NumPy, as the lab asks, but it calls {what}. The library's version "
            "is what the lab builds up to, not a way to answer: write it with NumPy operations (it earns no "
            "points otherwise).")


def problems_of_function(fn):
    """:func:`problems` for a function defined in the notebook, read from its own source and what its
    names stand for (in the kernel, a best effort so that the visible test says it first: the grader
    also follows the helpers it calls, which the kernel cannot tell from the lab's given functions)."""
    name = getattr(fn, "__name__", None)
    if not inspect.isfunction(fn) or fn.__module__ != "__main__":
        return []
    sources, extra = [], []
    for f in (fn,):
        try:
            sources.append(inspect.getsource(f))
        except (OSError, TypeError):
            return []
        for ref in f.__code__.co_names:
            other = f.__globals__.get(ref)
            if inspect.isfunction(other) and other.__module__ == "__main__":
                continue  # the notebook's other functions: given helpers look the same here (the grader tells)
            if other is not None and not inspect.ismodule(other) and callable(other):
                module = getattr(other, "__module__", "") or ""
                if getattr(other, "__name__", "") in ANSWER_KEYS and module.startswith("dllab.labs"):
                    extra.append(f"{ref}, one of the tests' references")
                elif name not in LIBRARY_ALLOWED and module.split(".")[0] in _LIBRARY_MODULES:
                    extra.append(f"{ref} ({module}.{getattr(other, '__qualname__', ref)})")
    reasons = problems(name, [inspect.cleandoc(s) if s.startswith((" ", "\t")) else s for s in sources])
    return reasons + [r for r in extra if r not in reasons]


_LIBRARY_MODULES = frozenset({"dllab", "torch", "scipy", "sklearn", "tensorflow", "jax", "keras", "cupy", "skimage"})
