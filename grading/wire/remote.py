"""The judge's side of the wire: an attendee's function called in the kernel, its errors rebuilt here."""

from __future__ import annotations

import builtins
import inspect

from .decode import Decoder
from .encode import EXCEPTIONS, MAX_TEXT, Encoder, WireError, pack


class RemoteError(Exception):
    """Base of the exceptions an attendee's function raised in its kernel, rebuilt on the judge's side."""


def remote_exception(info):
    """An exception like the attendee's (same type name, a builtin base), carrying where it was raised."""
    if not isinstance(info, dict):
        info = {}
    bases = [b for b in info.get("bases", []) if b in EXCEPTIONS]
    base = getattr(builtins, bases[0]) if bases else RuntimeError
    name = str(info.get("type", base.__name__))
    name = name if name.isidentifier() else base.__name__
    cls = base if name == base.__name__ else type(name, (base, RemoteError), {"__module__": "attendee"})
    error = cls(str(info.get("message", ""))[:MAX_TEXT])
    where = info.get("where")
    error.remote_where = None
    if isinstance(where, list) and len(where) == 3:
        error.remote_where = (str(where[0])[:100], where[1] if isinstance(where[1], int) else 0, str(where[2])[:300])
    return error


class RemoteFunction:
    """An attendee's function on the judge's side: calling it runs it in the kernel, on data."""

    def __init__(self, name, transport, parameters=None, on_output=print):
        self.__name__ = self.__qualname__ = name
        self._transport = transport
        self._on_output = on_output
        if parameters:
            fill = _Default()
            try:
                self.__signature__ = inspect.Signature([
                    inspect.Parameter(str(n), inspect._ParameterKind(int(k)), default=fill if d else inspect._empty)
                    for n, k, d in parameters])
            except (ValueError, TypeError):
                pass

    def __repr__(self):
        return f"<your function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        ids = {}
        encoder = Encoder(ids, remote_name=lambda f: f.__name__ if isinstance(f, RemoteFunction) else None)
        tree = {"op": "call", "fn": self.__name__, "args": encoder.encode(list(args)),
                "kwargs": encoder.encode(kwargs)}
        reply, arrays = self._transport(pack(tree, encoder.arrays))
        known = {ids[id(v)]: v for v in encoder.keep}
        decoder = Decoder(arrays, known, remote=lambda name: RemoteFunction(name, self._transport,
                                                                             on_output=self._on_output))
        out = reply.get("out")
        if isinstance(out, str) and out:
            self._on_output(out.rstrip("\n"))
        for note in reply.get("notes", []) if isinstance(reply.get("notes"), list) else []:
            self._on_output(f"note: {self.__name__} warned: {str(note)[:300]} (a warning costs no points; only a "
                            "failed check does)")
        if reply.get("args") is not None:
            decoder.decode(reply["args"])
            decoder.decode(reply["kwargs"])
        if "error" in reply:
            raise remote_exception(reply["error"])
        if "result" not in reply:
            raise WireError("the reply holds neither a result nor an error")
        return decoder.decode(reply["result"])


class _Default:
    def __repr__(self):
        return "..."
