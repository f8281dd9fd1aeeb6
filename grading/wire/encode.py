"""The wire's encoder: values -> (JSON tree, arrays) -> one message (``pack``). Runs on both sides."""

from __future__ import annotations

import importlib
import inspect
import io
import json

import numpy as np

MAX_REPLY_BYTES = 256 * 2**20  # a reply file, and the arrays in it once inflated
MAX_NODES = 200_000  # values in one message
MAX_DEPTH = 60  # nesting of containers and objects
MAX_ITEMS = 10_000  # items taken from an iterator an answer returns
MAX_TEXT = 20_000  # characters of an answer's printed output or error message kept
FUNCTION_MODULES = ("dllab", "numpy", "math")  # functions passed by name come only from these
RNG_BITS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
# exceptions an attendee's error is shown as (its type name is kept, its base taken from this list)
EXCEPTIONS = ("NotImplementedError", "ZeroDivisionError", "FloatingPointError", "OverflowError", "ArithmeticError",
              "IndexError", "KeyError", "LookupError", "TypeError", "ValueError", "AttributeError", "NameError",
              "UnboundLocalError", "AssertionError", "RecursionError", "MemoryError", "RuntimeError")


class WireError(ValueError):
    """A message that is not what the protocol allows (too big, too deep, an unknown kind)."""


def _array_ok(a):
    return a.dtype.kind in "biufcU" and not a.dtype.hasobject


def _is_tensor(cls):
    return any(c.__name__ == "Tensor" and c.__module__ == "dllab.autograd" for c in cls.__mro__)


def _is_dllab_class(cls):
    return isinstance(cls, type) and (cls.__module__ == "dllab" or cls.__module__.startswith("dllab."))


def _function_name(fn):
    """'module:qualname' for a function importable from an allowed module, else None."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)) or "<" in qualname:
        return None
    if module.split(".")[0] not in FUNCTION_MODULES:
        if isinstance(fn, np.ufunc):
            module = "numpy"
        else:
            return None
    try:
        found = _resolve(module, qualname)
    except (ImportError, AttributeError, WireError):
        return None
    return f"{module}:{qualname}" if found is fn else None


def _resolve(module, qualname):
    if module.split(".")[0] not in FUNCTION_MODULES:
        raise WireError(f"functions from {module!r} cannot be sent")
    value = importlib.import_module(module)
    for part in qualname.split("."):
        if part.startswith("__"):
            raise WireError(f"{qualname!r} is not a function name that can be sent")
        value = getattr(value, part)
    return value


class Encoder:
    """Turns values into (JSON tree, arrays). ``ids`` numbers the arrays and objects seen so far,
    shared with the decoder of the other direction so that identity survives a round trip."""

    def __init__(self, ids=None, remote_name=None, unchanged=None):
        self.ids = ids if ids is not None else {}  # id(value) -> number
        self.keep = []  # values numbered here stay alive while the numbers are in use
        self.next_id = max(self.ids.values(), default=-1) + 1
        self.arrays = []
        self.sent = set()  # numbers already written in full in this message
        self.remote_name = remote_name  # fn -> name, for functions that stay on the other side
        self.unchanged = unchanged or (lambda number, value: False)
        self.nodes = 0

    def number(self, value):
        key = id(value)
        if key not in self.ids:
            self.ids[key] = self.next_id
            self.next_id += 1
            self.keep.append(value)
        return self.ids[key]

    def encode(self, value, depth=0):
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise WireError("the value is too large or too deeply nested to send")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value if abs(value) < 2**63 else {"big": str(value)}
        if isinstance(value, float):
            return value if np.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.generic):
            return {"scalar": self._array(np.asarray(value))}
        if isinstance(value, tuple):
            return {"tuple": [self.encode(v, depth + 1) for v in value]}
        if inspect.isroutine(value) or isinstance(value, np.ufunc) or (
                self.remote_name and callable(value) and not _is_dllab_class(type(value))):
            name = self.remote_name(value) if self.remote_name else None
            if name is not None:
                return {"remote": name}
            found = _function_name(value)
            if found is None:
                raise WireError(f"the function {getattr(value, '__qualname__', value)!r} cannot be sent: only "
                                "dllab's and NumPy's functions, and the notebook's own, can be")
            return {"function": found}
        if not _is_dllab_class(type(value)) and hasattr(value, "__next__") and hasattr(value, "__iter__"):
            items = []
            for item in value:
                if len(items) >= MAX_ITEMS:
                    raise WireError(f"the iterator gave more than {MAX_ITEMS} items")
                items.append(self.encode(item, depth + 1))
            return {"iterator": items}
        number = self.number(value)
        if number in self.sent or self.unchanged(number, value):
            return {"ref": number}
        self.sent.add(number)
        if isinstance(value, list):  # numbered: an answer may append to the caller's list
            return {"list": [self.encode(v, depth + 1) for v in value], "id": number}
        if isinstance(value, dict):  # numbered: an answer may keep its state in the caller's dict
            return {"dict": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()],
                    "id": number}
        if isinstance(value, np.ndarray):
            if not _array_ok(value):
                raise WireError(f"an array of dtype {value.dtype} cannot be sent (numbers, booleans or text only)")
            return {"array": self._array(value), "id": number}
        if isinstance(value, np.random.Generator):
            state = value.bit_generator.state
            return {"rng": self.encode(state, depth + 1), "id": number}
        cls = type(value)
        if _is_dllab_class(cls) and _is_tensor(cls):
            return {"tensor": f"{cls.__module__}:{cls.__qualname__}", "id": number,
                    "data": self.encode(value.data, depth + 1), "grad": self.encode(value.grad, depth + 1),
                    "requires_grad": bool(value.requires_grad), "name": self.encode(value.name, depth + 1)}
        if _is_dllab_class(cls) and hasattr(value, "__dict__") and not inspect.isroutine(value):
            state = {k: self.encode(v, depth + 1) for k, v in vars(value).items()}
            return {"object": f"{cls.__module__}:{cls.__qualname__}", "state": state, "id": number}
        raise WireError(f"a {cls.__module__}.{cls.__qualname__} cannot be sent: the grader reads arrays, numbers, "
                        "text, lists, tuples, dicts and dllab's own layers, models and datasets")

    def _array(self, a):
        self.arrays.append(a if a.flags.c_contiguous else np.array(a, order="C"))
        return len(self.arrays) - 1


def pack(tree, arrays):
    """One message as bytes: the arrays and the JSON tree in an uncompressed .npz."""
    buffer = io.BytesIO()
    named = {f"a{i}": a for i, a in enumerate(arrays)}
    named["tree"] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    np.savez(buffer, **named)
    return buffer.getvalue()
