"""The wire's decoder: one message -> (JSON tree, arrays) (``unpack``) -> values. Runs on both sides."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import zipfile

import numpy as np

from .encode import MAX_DEPTH, MAX_NODES, MAX_REPLY_BYTES, RNG_BITS, WireError, _array_ok, _is_dllab_class, _resolve


def unpack(data, limit=MAX_REPLY_BYTES):
    """(tree, arrays) from a message; refuses anything that could inflate past ``limit`` or hold pickles."""
    if len(data) > limit:
        raise WireError(f"the message is {len(data) / 2**20:.0f} MiB, more than {limit // 2**20} MiB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > MAX_NODES or sum(i.file_size for i in infos) > limit:
                raise WireError("the message would inflate past its limit")
            offsets = sorted((i.header_offset, i.compress_size) for i in infos)
            if any(a[0] + a[1] > b[0] for a, b in zip(offsets, offsets[1:])):
                raise WireError("the message has overlapping members")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            tree = json.loads(bytes(npz["tree"]).decode())
            arrays = [npz[f"a{i}"] for i in range(len(npz.files) - 1)]
    except WireError:
        raise
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, RecursionError, UnicodeDecodeError) as err:
        raise WireError(f"the message cannot be read: {type(err).__name__}: {str(err)[:200]}") from None
    if any(not _array_ok(a) for a in arrays):
        raise WireError("the message holds an array of a kind that is not allowed")
    return tree, arrays


KINDS = ("big", "float", "scalar", "tuple", "list", "dict", "ref", "array", "rng", "remote", "function", "tensor",
         "object", "iterator")  # what a node of the tree may be, by its first key in this order


class Decoder:
    """Rebuilds values from (JSON tree, arrays). ``known`` maps numbers to the values they stood for
    when this side sent them: such a value is updated in place (its new state) and returned itself."""

    def __init__(self, arrays, known=None, remote=None):
        self.arrays = arrays
        self.known = known if known is not None else {}  # number -> value
        self.remote = remote  # name -> a stand-in for a function that stays on the other side
        self.nodes = 0

    def decode(self, node, depth=0):
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise WireError("the message is too large or too deeply nested")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list) or not isinstance(node, dict) or len(node) == 0:
            raise WireError("a value of an unknown form")
        kind = next((k for k in KINDS if k in node), None)
        if kind is None:
            raise WireError("a value of an unknown kind")
        if kind == "big":
            return int(str(node["big"])[:100])
        if kind == "float":
            return float({"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(node["float"], "nan"))
        if kind == "scalar":
            return self._array(node["scalar"])[()]
        if kind in ("tuple", "iterator"):
            items = [self.decode(v, depth + 1) for v in self._list(node[kind])]
            return tuple(items) if kind == "tuple" else iter(items)
        if kind in ("list", "dict"):  # the caller's own list or dict is changed in place, as the answer changed it
            number = node.get("id")
            old = self.known.get(number) if isinstance(number, int) else None
            container = old if type(old) is (list if kind == "list" else dict) else ([] if kind == "list" else {})
            if isinstance(number, int):
                self.known[number] = container
            if kind == "list":
                container[:] = [self.decode(v, depth + 1) for v in self._list(node["list"])]
                return container
            items = {}
            for pair in self._list(node["dict"]):
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise WireError("a dict entry of an unknown form")
                key = self.decode(pair[0], depth + 1)
                if not isinstance(key, (str, int, float, bool, tuple, type(None), np.generic)):
                    raise WireError("a dict key of an unknown kind")
                items[key] = self.decode(pair[1], depth + 1)
            container.clear()
            container.update(items)
            return container
        if kind == "ref":
            if node["ref"] not in self.known:
                raise WireError("a reference to nothing that was sent")
            return self.known[node["ref"]]
        if kind == "remote":
            if self.remote is None:
                raise WireError("a notebook function where none may be")
            return self.remote(str(node["remote"]))
        if kind == "function":
            module, _, qualname = str(node["function"]).partition(":")
            value = _resolve(module, qualname)
            if isinstance(value, type) or not callable(value):
                raise WireError(f"{node['function']!r} is not a function")
            return value
        number = node.get("id")
        if not isinstance(number, int):
            raise WireError("an array or object without its number")
        old = self.known.get(number)
        if kind == "array":
            new = self._array(node["array"])
            if isinstance(old, np.ndarray) and old.shape == new.shape and old.dtype == new.dtype:
                if old.flags.writeable and not np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"):
                    old[...] = new
                return old
            self.known[number] = new
            return new
        if kind == "rng":
            state = self.decode(node["rng"], depth + 1)
            if not isinstance(state, dict) or state.get("bit_generator") not in RNG_BITS:
                raise WireError("a random generator of an unknown kind")
            rng = old if isinstance(old, np.random.Generator) else np.random.Generator(
                getattr(np.random, state["bit_generator"])())
            try:
                rng.bit_generator.state = state
            except (TypeError, ValueError, KeyError) as err:
                raise WireError(f"a random generator's state cannot be set: {err}") from None
            self.known[number] = rng
            return rng
        cls = self._class(node.get("tensor") or node.get("object"))
        if kind == "tensor":
            obj = old if type(old) is cls else cls.__new__(cls)
            self.known[number] = obj
            obj.data = self._array_value(node["data"], depth)
            grad = self.decode(node["grad"], depth + 1)
            obj.grad = grad if grad is None or isinstance(grad, np.ndarray) else None
            obj.requires_grad = bool(node.get("requires_grad"))
            name = self.decode(node.get("name"), depth + 1)
            obj.name = name if isinstance(name, (str, type(None))) else None
            obj._fn = None
            return obj
        if kind == "object":
            obj = old if type(old) is cls else cls.__new__(cls)
            self.known[number] = obj
            state = node.get("state")
            if not isinstance(state, dict):
                raise WireError("an object without its state")
            new = {}
            for key, value in state.items():
                if not isinstance(key, str) or key.startswith("__"):
                    raise WireError(f"an attribute name {key!r} that is not allowed")
                new[key] = self.decode(value, depth + 1)
            vars(obj).clear()
            vars(obj).update(new)
            return obj
        raise WireError("a value of an unknown kind")

    def _list(self, value):
        if not isinstance(value, list):
            raise WireError("a list of an unknown form")
        return value

    def _array(self, index):
        if not isinstance(index, int) or not 0 <= index < len(self.arrays):
            raise WireError("a reference to an array that is not in the message")
        return self.arrays[index]

    def _array_value(self, node, depth):
        value = self.decode(node, depth + 1)
        if not isinstance(value, np.ndarray):
            raise WireError("a tensor whose data is not an array")
        return value

    @staticmethod
    def _class(name):
        module, _, qualname = str(name).partition(":")
        if not (module == "dllab" or module.startswith("dllab.")) or "<" in qualname:
            raise WireError(f"objects of {name!r} cannot be received: only dllab's own classes")
        cls = importlib.import_module(module)
        for part in qualname.split("."):
            if part.startswith("_") and part != qualname.split(".")[-1]:
                raise WireError(f"{name!r} is not a class that can be received")
            cls = getattr(cls, part)
        if not _is_dllab_class(cls) or issubclass(cls, BaseException):
            raise WireError(f"{name!r} is not one of dllab's classes")
        return cls


def array_digest(a):
    return hashlib.blake2b(a.tobytes(), digest_size=16).hexdigest() + str(a.shape) + a.dtype.str
