"""Values as data between the judge (on the host) and the attendee's kernel (in the sandbox).

The judge calls an attendee's function by sending its arguments to the kernel and reading the
result back. Both directions carry **data only**: one ``.npz`` file holding NumPy arrays
(``allow_pickle=False``) and a JSON tree that says how they fit together. Nothing crosses as a
Python object, a pickle or a callable: whatever the attendee's code does in its kernel, the judge
receives arrays, numbers, strings and descriptions, and rebuilds from them only what it allows:

* NumPy arrays and scalars of numeric, boolean or string dtype; ``None``, bools, ints, floats,
  strings; tuples, lists and dicts of these;
* ``dllab`` objects (layers, models, datasets, tensors) as their class name and attribute values;
  the class must be defined in ``dllab`` and is rebuilt with ``cls.__new__`` (no ``__init__``,
  no attendee code);
* functions by name: dllab's and NumPy's (an activation), or an attendee function, which stays
  in the kernel (a :class:`RemoteFunction` on the judge's side);
* NumPy random generators by their bit generator's state; a generator function's results as a list.

Identity survives the trip: every array and object the judge sends gets a number; the kernel's
reply names the same number when the attendee returns or keeps one of them (``body[0] is
net[0]``), and sends the state of each after the call, so the judge's own arrays and models change
in place exactly as the attendee's function changed the kernel's copies (an answer that writes into
its input is caught by the same test as in the notebook).

``encode.py`` and ``decode.py`` run on both sides; ``serve.py`` is the kernel's side, sent into the
kernel as text with them (:func:`kernel_setup`: they import nothing from ``grading``, only each
other); ``remote.py`` is the judge's side. Code in the kernel runs in the attendee's process and may
be changed by it; that changes nothing for the judge, which trusts only the decoded data.
"""

from __future__ import annotations

from pathlib import Path

from .decode import KINDS, Decoder, array_digest, unpack
from .encode import MAX_DEPTH, MAX_NODES, MAX_REPLY_BYTES, MAX_TEXT, Encoder, WireError, pack
from .remote import RemoteError, RemoteFunction, remote_exception
from .serve import serve

KERNEL_MODULES = ("encode", "decode", "serve")  # what the kernel gets, in this order

__all__ = ["KINDS", "MAX_DEPTH", "MAX_NODES", "MAX_REPLY_BYTES", "MAX_TEXT", "Decoder", "Encoder", "RemoteError",
           "RemoteFunction", "WireError", "array_digest", "kernel_setup", "pack", "remote_exception", "serve",
           "unpack"]


def kernel_setup(name):
    """Code that installs the kernel's side of the wire in the attendee's kernel as the package ``name``
    (a fresh random name each time): ``sys.modules[name + ".serve"].serve(...)`` answers a request."""
    here = Path(__file__).resolve().parent
    sources = [(module, (here / f"{module}.py").read_text(encoding="utf-8")) for module in KERNEL_MODULES]
    return (f"import sys as _s, types as _t\n"
            f"_p = _t.ModuleType({name!r})\n_p.__path__, _p.__package__ = [], {name!r}\n_s.modules[{name!r}] = _p\n"
            f"for _n, _src in {sources!r}:\n"
            f"    _m = _t.ModuleType({name!r} + '.' + _n)\n    _m.__package__ = {name!r}\n"
            f"    _s.modules[_m.__name__] = _m\n"
            f"    exec(compile(_src, '<judge-wire ' + _n + '>', 'exec'), _m.__dict__)\n"
            f"    setattr(_p, _n, _m)\n"
            f"del _s, _t, _p, _n, _src, _m\n")
