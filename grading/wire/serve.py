"""The kernel's side of the wire: runs inside the sandbox, in the attendee's process.

Sent into the kernel as text with the encoder and the decoder (``grading.wire.kernel_setup``); it
imports nothing from ``grading``. Code here may be changed by the attendee's code; that changes
nothing for the judge, which trusts only the decoded data.
"""

from __future__ import annotations

import inspect
import io
import os

import numpy as np

from .decode import Decoder, array_digest, unpack
from .encode import EXCEPTIONS, MAX_TEXT, Encoder, _is_dllab_class, pack


def serve(request_path, reply_path, user_ns):
    """Answer one request of the judge: look up names, or call an attendee's function."""
    import contextlib
    import warnings

    with open(request_path, "rb") as f:
        tree, arrays = unpack(f.read())
    known = {}
    remote = lambda name: user_ns[name]  # noqa: E731 - the notebook's own function, by name
    decoder = Decoder(arrays, known, remote=remote)
    reply = {}
    if tree.get("op") == "lookup":
        found, encoder = {}, Encoder()
        for name in tree["names"]:
            value = user_ns.get(name, _MISSING)
            if value is _MISSING:
                found[name] = {"kind": "missing"}
            elif inspect.isroutine(value) or (callable(value) and not _is_dllab_class(type(value))):
                found[name] = {"kind": "function", "parameters": _parameters(value)}
            else:
                try:
                    found[name] = {"kind": "value", "value": encoder.encode(value)}
                except Exception as err:  # noqa: BLE001 - reported to the judge as data
                    found[name] = {"kind": "unreadable", "why": str(err)[:300]}
        write(reply_path, {"names": found}, encoder.arrays)
        return
    fn = user_ns.get(tree["fn"])
    args = decoder.decode(tree["args"])
    kwargs = decoder.decode(tree["kwargs"])
    digests = {n: array_digest(v) for n, v in known.items() if isinstance(v, np.ndarray)}
    out, notes = io.StringIO(), []
    try:
        if fn is None:
            raise NameError(f"name {tree['fn']!r} is not defined")
        with np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"), \
                warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(out):
            warnings.simplefilter("always")
            result = fn(*args, **kwargs)
            result = list(result) if inspect.isgenerator(result) else result
        notes = [f"{w.category.__name__}: {w.message}"[:300] for w in caught]
        reply["result"] = result
    except BaseException as err:  # noqa: BLE001 - the attendee's error goes back as data
        if isinstance(err, KeyboardInterrupt):
            raise
        from dllab.labs.checking import where_it_failed  # the attendee's line, found as the notebook finds it

        inside = err.__traceback__.tb_next if err.__traceback__ is not None else None  # below serve's own frame
        where = where_it_failed(err.with_traceback(inside)) if inside is not None else None
        where = [where[0], where[1], where[2][:300]] if where else None
        reply["error"] = {"type": type(err).__name__[:80],
                          "bases": [c.__name__ for c in type(err).__mro__ if c.__name__ in EXCEPTIONS][:3],
                          "message": str(err)[:MAX_TEXT], "where": where}
    ids = {id(v): n for n, v in known.items()}
    unchanged = lambda n, v: isinstance(v, np.ndarray) and digests.get(n) == array_digest(v)  # noqa: E731
    names = {id(v): k for k, v in user_ns.items()
             if inspect.isfunction(v) and getattr(v, "__module__", "") == "__main__"}
    encoder = Encoder(ids, remote_name=lambda f: names.get(id(f)), unchanged=unchanged)
    message = {"out": out.getvalue()[:MAX_TEXT], "notes": notes[:20]}
    try:
        message["args"] = encoder.encode(args)
        message["kwargs"] = encoder.encode(kwargs)
        if "result" in reply:
            message["result"] = encoder.encode(reply["result"])
        else:
            message["error"] = reply["error"]
    except Exception as err:  # noqa: BLE001 - an answer the grader cannot read
        message.pop("result", None)
        message["error"] = {"type": "TypeError", "bases": ["TypeError"], "where": None,
                            "message": f"{tree['fn']} returned something the grader cannot read: {err}"}
        encoder = Encoder()
        message["args"], message["kwargs"] = None, None
    write(reply_path, message, encoder.arrays)


_MISSING = object()


def _parameters(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [[p.name, int(p.kind), p.default is not inspect.Parameter.empty] for p in sig.parameters.values()]


def write(path, tree, arrays):
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(pack(tree, arrays))
    os.replace(tmp, path)
