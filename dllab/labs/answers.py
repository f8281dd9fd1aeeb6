"""The expected values the labs' visible tests compare with, stored as data.

A test computes what an answer should give with ``labs.reference_sgd_epoch(...)``,
``labs.conv2d_reference(...)`` and the like: each lab's module (``dllab.labs.lab1_logreg`` ...) makes
its own with :func:`served`. The code behind those names (the answer keys) stays with the grader; the
notebooks get, in ``stored_answers.npz``, only what each call gives for the visible tests' own inputs,
found by a digest of the arguments. Called with any other input in a notebook, they say so
(:class:`NoStoredAnswer`): they cannot do an attendee's work. While grading, the judge installs the
real answer keys (:func:`use_answer_keys`) and the same tests run on any input, hidden tests included.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..autograd import _raw

STORE = Path(__file__).with_name("stored_answers.npz")

# the names the labs' tests call, each an answer key on the grading side: filled by served() as the labs'
# modules are imported (importing dllab.labs imports them all)
ANSWER_KEYS: list[str] = []


class NoStoredAnswer(LookupError):
    """A served answer asked about inputs that are not a visible test's own."""


_keys = None  # the grading side's module of answer keys, while the judge grades
_recorder = None  # name, digest, value -> None: fills the store (grading/answer_keys.py)
_store = None


def use_answer_keys(module, recorder=None):
    """Compute every served answer with ``module``'s functions (the judge does this); ``recorder``, if given,
    is told each call's digest and value (that is how the store is written). ``None`` goes back to the store."""
    global _keys, _recorder
    _keys, _recorder = module, recorder


def digest(value):
    """A digest of a call's arguments that is the same on every machine for the same test inputs.

    Floats are rounded to 9 significant digits first, so that a last-bit difference between two
    BLAS libraries in how a fixture was computed does not change the key. A class or function counts by
    its top-level package and its name, so that moving it between a package's modules does not either."""
    h = hashlib.sha256()

    def feed(v):
        v = _raw(v) if hasattr(v, "requires_grad") else v
        if isinstance(v, np.ndarray) or isinstance(v, np.generic):
            a = np.asarray(v)
            if a.dtype.kind in "fc":
                a = np.asarray(a, dtype=np.float64)
                a = np.where(a == 0, 0.0, a)  # -0.0 and 0.0 alike
                with np.errstate(all="ignore"):
                    scale = 10.0 ** (8 - np.floor(np.log10(np.abs(np.where(a == 0, 1, a)))))
                    a = np.round(a * scale) / scale
            h.update(f"a{a.dtype.kind}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
        elif isinstance(v, float):
            feed(np.float64(v))
        elif isinstance(v, (bool, int, str, type(None))):
            h.update(repr(v).encode())
        elif isinstance(v, (list, tuple)):
            h.update(f"{type(v).__name__}{len(v)}(".encode())
            for item in v:
                feed(item)
            h.update(b")")
        elif isinstance(v, dict):
            h.update(b"{")
            for key in sorted(v, key=repr):
                feed(key)
                feed(v[key])
            h.update(b"}")
        elif isinstance(v, np.random.Generator):
            h.update(json.dumps(v.bit_generator.state, sort_keys=True, default=str).encode())
        elif isinstance(v, type) or callable(v):  # by its package and name: dllab.optim.SGD wherever optim keeps it
            package = (getattr(v, "__module__", None) or "").split(".")[0]
            h.update(f"{package}:{getattr(v, '__qualname__', repr(v))}".encode())
        else:
            raise NoStoredAnswer(f"no stored answer can be found for an argument of type {type(v).__name__}")

    feed(value)
    return h.hexdigest()[:32]


def _load():
    global _store
    if _store is None:
        _store = {}
        if STORE.exists():
            with np.load(STORE, allow_pickle=False) as z:
                index = json.loads(bytes(z["index"]).decode())
                arrays = [z[f"a{i}"] for i in range(len(z.files) - 1)]
            _store = {key: (tree, arrays) for key, tree in index.items()}
    return _store


def _tree(value, arrays):
    """A stored value as JSON and arrays: arrays, numbers, strings, tuples, lists and dicts of them."""
    if isinstance(value, (np.ndarray, np.generic)):
        arrays.append(np.asarray(value))
        return {"a": len(arrays) - 1, "scalar": isinstance(value, np.generic)}
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [_tree(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[_tree(k, arrays), _tree(v, arrays)] for k, v in value.items()]}
    return _tree(np.asarray(_raw(value)), arrays)


def _value(tree, arrays):
    if not isinstance(tree, dict):
        return tree
    if "a" in tree:
        a = arrays[tree["a"]]
        return a[()] if tree.get("scalar") else a.copy()
    if "list" in tree:
        return [_value(v, arrays) for v in tree["list"]]
    if "tuple" in tree:
        return tuple(_value(v, arrays) for v in tree["tuple"])
    return {_value(k, arrays): _value(v, arrays) for k, v in tree["dict"]}


def write_store(entries, path=STORE):
    """Write ``{key: value}`` as the store (keys are ``name:digest``)."""
    arrays, index = [], {}
    for key in sorted(entries):
        index[key] = _tree(entries[key], arrays)
    named = {f"a{i}": a for i, a in enumerate(arrays)}
    named["index"] = np.frombuffer(json.dumps(index, sort_keys=True).encode(), dtype=np.uint8)
    tmp = Path(path).with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **named)
    tmp.replace(path)


def _course_keys():
    """The answer keys of the course this notebook runs in, if it runs in one (the instructor's own
    notebooks in grading/source/<lab>/): the module named by ``DLLAB_ANSWER_KEYS`` (e.g.
    ``grading.answer_keys``), or ``grading.answer_keys`` when a folder at or above the working folder is
    the ``grading`` package's course (it holds ``nbgrader_config.py``). An attendee's copy has neither."""
    import importlib
    import importlib.util
    import os

    name = os.environ.get("DLLAB_ANSWER_KEYS", "").strip()
    if name:
        if name.endswith(".py") or "/" in name or os.sep in name:
            raise ValueError(f"DLLAB_ANSWER_KEYS={name!r} looks like a file; it names a module to import, "
                             "e.g. DLLAB_ANSWER_KEYS=grading.answer_keys")
        return importlib.import_module(name)
    spec = importlib.util.find_spec("grading")
    if spec is None or not spec.submodule_search_locations:
        return None
    course = Path(next(iter(spec.submodule_search_locations))).resolve()
    for folder in [Path.cwd(), *list(Path.cwd().parents)[:3]]:
        if folder.resolve() == course and (folder / "nbgrader_config.py").is_file():
            return importlib.import_module("grading.answer_keys")
    return None


_looked = False


def _answer(name, args, kwargs):
    global _keys, _looked
    if _keys is None and not _looked:
        _looked = True
        _keys = _course_keys()
    if _keys is not None:
        key = digest((args, kwargs)) if _recorder is not None else None  # before the call: it may use an rng
        value = getattr(_keys, name)(*args, **kwargs)
        if _recorder is not None:
            _recorder(name, key, value)
        return value
    found = _load().get(f"{name}:{digest((args, kwargs))}")
    if found is None:
        raise NoStoredAnswer(
            f"labs.{name} knows only the expected values of the labs' own visible tests, and these inputs are "
            "not one of them: it cannot compute an answer. Write the function yourself; the test cells check it.")
    return _value(*found)


def served(name):
    """The function ``labs.<name>``: the expected values of answer key ``name``, read from the store for the
    visible tests' own inputs (or computed by the answer keys while grading). Each lab's module makes its own."""
    if name not in ANSWER_KEYS:  # a module imported again serves the same names
        ANSWER_KEYS.append(name)

    def expected(*args, **kwargs):
        return _answer(name, args, kwargs)

    expected.__name__ = expected.__qualname__ = name
    expected.__doc__ = f"What a test compares with (``{name}`` of the answer keys); see dllab.labs.answers."
    return expected
