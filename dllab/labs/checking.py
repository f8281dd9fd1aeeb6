"""The checking every lab's visible tests use (each lab's own checks, in ``lab3_cnn.py`` and the like, build on it).

An attendee's function runs through :func:`call`, under the same conditions for every answer
(NumPy's default error state; warnings and stderr reported on stdout); a failed check on its
result names the call and shows what it returned next to what was expected: checks that teach."""

from __future__ import annotations

import contextlib
import inspect
import linecache
import os
import sys
import traceback
import warnings

import numpy as np

from .. import backend
from ..autograd import _raw


class LabCheckError(AssertionError):
    """A lab check failed; the message says what is wrong and hints why."""


def check(condition, message):
    """Raise :class:`LabCheckError` with ``message`` unless ``condition`` holds."""
    __tracebackhide__ = True
    if not bool(condition):
        raise LabCheckError(with_context(message))


def with_context(message, value=None, hint=""):
    """``message``, then the hint of the attendee's last call (see :func:`call`) unless one is given.

    When ``value`` is that call's result, the call itself is named too ("softmax(Z=array (2, 3))
    returned ..."), so that a wrong value reads like a wrong exception does.
    """
    message = message.rstrip()
    last = _LAST_CALL
    if last and value is not None and value is last.get("result"):
        message = f"{last['call']} returned a wrong result: {message}"
    hint = hint or last.get("hint", "")
    if hint and hint not in message:
        if "\n" in message:
            message += f"\nHint: {hint}"
        else:
            message += ("" if message.endswith((".", "?", ":")) else ".") + f" Hint: {hint}"
    return message


def show(a, limit=24):
    """A small array written out in full (for messages), or '' when it is too big to help."""
    a = np.asarray(a)
    if a.size == 0 or a.size > limit:
        return ""
    return np.array2string(a, precision=4, separator=", ", suppress_small=True, max_line_width=100)


def as_array(a):
    """A NumPy array of a Tensor, a CuPy array or anything array-like (for comparing with expected values)."""
    return np.asarray(backend.to_numpy(_raw(a)))


# --- running the attendee's function -------------------------------------------------------

_LIBRARY_DIRS = tuple(d + os.sep for d in {os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                             *map(os.path.abspath, (sys.prefix, sys.base_prefix, sys.exec_prefix))}
                      if d != os.path.abspath(os.sep))


def _describe(value):
    """A short description of an argument: the shape of an array, the size of a list, a small value."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and not isinstance(value, type):
        dtype = getattr(value, "dtype", None)
        kind = "array" if isinstance(value, np.ndarray) else type(value).__name__
        return f"{kind} {shape}" + (f" {dtype}" if dtype is not None and dtype != np.float64 else "")
    if isinstance(value, (bool, int, float, str, np.generic)) or value is None:
        text = repr(value.item() if isinstance(value, np.generic) else value)
        return text if len(text) <= 30 else text[:27] + "..."
    if isinstance(value, dict):
        keys = ", ".join(map(repr, list(value)[:6])) + (", ..." if len(value) > 6 else "")
        return f"dict with keys {keys}" if value else "empty dict"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_describe(v) for v in value[:3]) + (", ..." if len(value) > 3 else "")
        return f"{type(value).__name__} of {len(value)}: [{inner}]"
    try:
        size = f" of {len(value)}"
    except TypeError:
        size = ""
    return f"{type(value).__name__}{size}"


def arguments(fn, args, kwargs):
    """'name=description, ...' for a call of fn, with the parameter names when they can be bound."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        named = []
        for name, value in bound.arguments.items():
            kind = bound.signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                named += [(None, v) for v in value]
            elif kind is inspect.Parameter.VAR_KEYWORD:
                named += list(value.items())
            else:
                named.append((name, value))
    except (TypeError, ValueError):
        named = [(None, v) for v in args] + list(kwargs.items())
    return ", ".join(_describe(v) if k is None else f"{k}={_describe(v)}" for k, v in named)


def where_it_failed(error):
    """(function name, line number, source line) of the deepest frame in the attendee's code, or None.

    Frames of NumPy, the standard library, the installed packages and dllab are skipped, so the line
    is the attendee's, even when the error surfaced deep inside a library call. An error raised in
    another process (the grader calls answers in the attendee's kernel) says where in ``remote_where``.
    """
    if hasattr(error, "remote_where"):
        return error.remote_where
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = os.path.abspath(frame.filename) if not frame.filename.startswith("<") else frame.filename
        if not path.startswith(_LIBRARY_DIRS):
            line = (frame.line or linecache.getline(frame.filename, frame.lineno) or "").strip()
            return frame.name, frame.lineno, line
    return None


def _why(error):
    """What an exception usually means in these labs, in a sentence (or "")."""
    text = str(error)
    if isinstance(error, ValueError) and "could not be broadcast" in text:
        return ("two arrays whose shapes do not fit were combined elementwise (+, -, *, /): print the .shape of "
                "each operand on that line; a missing keepdims=True or a wrong size is the usual cause")
    if isinstance(error, ValueError) and "could not broadcast input array" in text:
        return ("an assignment out[...] = value got a value whose shape does not fit the place it is written to: "
                "print the shape of both sides on that line")
    if isinstance(error, ValueError) and ("must have the same shape" in text or "inhomogeneous" in text):
        return ("np.stack / np.array got pieces of different sizes: a slice near the end is shorter than the "
                "others, so check the range of your loop")
    if isinstance(error, ValueError) and "matmul" in text:
        return "the inner sizes of a matrix product @ do not agree: (a, b) @ (b, c); print both shapes"
    if isinstance(error, IndexError):
        return "an index runs past the end of an axis: check the range of your loop and which axis you index"
    if isinstance(error, NameError):
        return "a name is not defined: a typo, or a cell that defines it was not run"
    if isinstance(error, TypeError) and "NoneType" in text:
        return "a value is None: does every function you call `return` its result?"
    if isinstance(error, (KeyError, AttributeError, TypeError)):
        return "check what the arguments are (their types and shapes are listed above)"
    return ""


def call(fn, *args, hint="", **kwargs):
    """Run the attendee's ``fn(*args, **kwargs)`` and return its result; an exception becomes a lesson.

    A raw NumPy error from inside the attendee's function ("operands could not be broadcast
    together ...") says little about the exercise. Here it becomes a :class:`LabCheckError` that
    names the function and the shapes of its arguments, repeats the original error in one line,
    shows the attendee's line that raised, says what such an error usually means and adds ``hint``
    (what this test's inputs need). The original exception stays chained (``raise ... from``), so
    the full traceback is still there, and a test cell that calls this still fails.
    """
    __tracebackhide__ = True
    _LAST_CALL.clear()
    from .own_work import message, problems_of_function

    reasons = problems_of_function(fn)  # the grader reads the hand-in the same way, and gives such an answer 0
    if reasons:
        raise LabCheckError(message(_name(fn), reasons))
    notes = []
    try:
        with fair_conditions(fn) as notes:
            result = fn(*args, **kwargs)
    except LabCheckError:
        raise
    except Exception as error:
        raise LabCheckError(_failure_message(fn, args, kwargs, error, hint)) from error
    finally:
        for note in notes:
            print(note)
    _LAST_CALL.update(result=result, call=f"{_name(fn)}({arguments(fn, args, kwargs)})", hint=hint)
    return result


# NumPy's own default error handling: an answer is judged the same whatever np.seterr the notebook set
_DEFAULT_ERRSTATE = {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}

# the attendee's last call through call(): a failed check on its result shows the call and its hint
_LAST_CALL: dict = {}


def _name(fn):
    return getattr(fn, "__name__", None) or type(fn).__name__


@contextlib.contextmanager
def fair_conditions(fn):
    """Run an answer as every answer is run: NumPy's default error state, warnings and stderr on stdout.

    A warning (an overflow in np.exp, a library's advice) or a progress bar written to stderr
    would make nbgrader score the test cell 0 although every check passed; here each warning
    becomes one line on stdout, printed after the call. Yields the list those lines go into.
    """
    notes = []
    with np.errstate(**_DEFAULT_ERRSTATE), warnings.catch_warnings(record=True) as caught, \
            contextlib.redirect_stderr(sys.stdout):
        warnings.simplefilter("always")
        try:
            yield notes
        finally:
            for w in caught:
                notes.append(f"note: {_name(fn)} warned: {w.category.__name__}: {w.message} "
                             "(a warning costs no points; only a failed check does)")


def _failure_message(fn, args, kwargs, error, hint=""):
    name = getattr(fn, "__name__", None) or type(fn).__name__
    first = (str(error).strip().splitlines() or [""])[0].strip()
    if len(first) > 200:
        first = first[:197] + "..."
    lines = [f"{name}({arguments(fn, args, kwargs)}) raised {type(error).__name__}" + (f": {first}" if first else "")]
    where = where_it_failed(error)
    if where:
        lines.append(f"  in {where[0]}, line {where[1]}" + (f": {where[2]}" if where[2] else ""))
    if isinstance(error, NotImplementedError):
        lines.append(f"{name} is not written yet: replace `raise NotImplementedError()` in its cell with your "
                     "code, run that cell, then this one.")
        return "\n".join(lines)
    why = _why(error)
    if why:
        lines.append(f"This usually means {why}.")
    if hint:
        lines.append(f"Hint: {hint}")
    return "\n".join(lines)


def run_model(model, x, what, hint=""):
    """``model(x)`` for a model an answer built; the library's own error (a ShapeError, say) becomes a lesson
    that names the model's layers and the input, instead of a traceback into dllab."""
    __tracebackhide__ = True
    try:
        return model(x)
    except LabCheckError:
        raise
    except Exception as error:  # noqa: BLE001 - any error of the built model is the lesson
        layers = getattr(model, "layers", None)
        chain = " >> ".join(type(layer).__name__ for layer in layers) if layers else type(model).__name__
        shape = tuple(getattr(x, "shape", ()))
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise LabCheckError(with_context(
            f"{what} ({chain}) fails on an input of shape {shape}: {type(error).__name__}: {first}", hint=hint)) \
            from error


def check_shape(value, shape, name, hint=""):
    """``value`` must be an array of ``shape``."""
    __tracebackhide__ = True
    a = returned(value, name, hint)
    shape = tuple(shape)
    if a.shape != shape:
        extra = ""
        if a.shape == shape[::-1] and len(shape) == 2:
            extra = " (it is transposed)"
        elif a.size == int(np.prod(shape)):
            extra = " (same number of entries, wrong arrangement)"
        raise LabCheckError(with_context(f"{name} should have shape {shape}, got {a.shape}{extra}.", value, hint))


def returned(value, name, hint=""):
    """``value`` as a NumPy array; a :class:`LabCheckError` if it is None (a function that forgot its `return`)."""
    __tracebackhide__ = True
    if value is None:
        raise LabCheckError(with_context(f"{name} is None: did you forget a `return`?", hint=hint))
    return as_array(value)


def worst_index(diff):
    """The index of the largest entry of ``diff`` as a tuple of ints (where a message points)."""
    i = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return tuple(int(k) for k in i)


def check_close(value, expected, name, hint="", rtol=1e-5, atol=1e-7):
    """``value`` must equal ``expected`` up to rounding; the message names the worst entry.

    When both are small, the message shows them in full: what the function returned next to what
    was expected.
    """
    __tracebackhide__ = True
    a, e = returned(value, name, hint).astype(np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        check_shape(value, e.shape, name, hint)
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        first = tuple(int(k) for k in bad)
        raise LabCheckError(with_context(f"{name} contains nan or inf (first at index {first}).", value, hint))
    diff = np.abs(a - e)
    if np.any(diff > atol + rtol * np.abs(e)):
        if a.ndim == 0:
            raise LabCheckError(with_context(f"{name} is {float(a):.6g}, expected {float(e):.6g}.", value, hint))
        i = worst_index(diff)
        message = (f"{name} is wrong: at index {i} it is {a[i]:.6g}, expected {e[i]:.6g} "
                   f"(largest difference {diff.max():.2g}).")
        got, want = show(a), show(e)
        if got and want:
            message += f"\n  got:      {got.replace(chr(10), chr(10) + ' ' * 12)}" \
                       f"\n  expected: {want.replace(chr(10), chr(10) + ' ' * 12)}"
        raise LabCheckError(with_context(message, value, hint))


def check_gradient(analytic, numeric, name, batch_size=None, hint="", rtol=1e-4, atol=1e-6):
    """Compare a hand-written gradient with the numerical one and say what kind of mistake it looks like.

    Recognises: a missing return, wrong shape or transposition, nan, the wrong sign,
    a factor of the batch size (a sum instead of a mean, or dividing twice), zeros.
    """
    __tracebackhide__ = True
    if analytic is None:
        raise LabCheckError(f"the gradient {name} is None: did you forget to return it?")
    a, n = as_array(analytic).astype(np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        if a.ndim == 2 and a.shape == n.shape[::-1]:
            raise LabCheckError(
                f"the gradient {name} has shape {a.shape} but the parameter has shape {n.shape}: it is "
                f"transposed. A gradient always has its parameter's shape; for a weight matrix it is "
                f"(inputs of the layer).T @ δ. {hint}".rstrip())
        raise LabCheckError(f"the gradient {name} has shape {a.shape} but the parameter has shape {n.shape}: "
                            f"a gradient always has its parameter's shape. {hint}".rstrip())
    if not np.all(np.isfinite(a)):
        raise LabCheckError(f"the gradient {name} contains nan or inf. {hint}".rstrip())
    diff = np.abs(a - n)
    if not np.any(diff > atol + rtol * np.abs(n)):
        return float(diff.max()) if diff.size else 0.0
    worst = float(diff.max())
    scale = float(np.dot(n.ravel(), n.ravel()))
    ratio = float(np.dot(a.ravel(), n.ravel()) / scale) if scale > 0 else float("nan")
    close = np.allclose
    if not np.any(a) and np.any(n):
        why = "it is all zeros: is it computed and returned?"
    elif close(a, -n, rtol=1e-3, atol=atol * 10):
        why = "it has the wrong sign (at the output, δ = P − Y: prediction minus target, not Y − P)"
    elif batch_size and batch_size > 1 and close(a, n * batch_size, rtol=1e-3, atol=atol * 10):
        why = (f"it is {batch_size}× too large, exactly the batch size: the loss is a mean over the batch, "
               "so divide by N once")
    elif batch_size and batch_size > 1 and close(a * batch_size, n, rtol=1e-3, atol=atol * 10):
        why = f"it is {batch_size}× too small, exactly the batch size: did you divide by N twice?"
    elif np.isfinite(ratio) and abs(ratio - 1) > 0.05 and close(a, ratio * n, rtol=1e-3, atol=atol * 10):
        why = f"it is the right direction but {ratio:.3g}× the right size: look for a missing or extra factor"
    else:
        i = worst_index(diff)
        why = f"at index {i} it is {a[i]:.6g}, the numerical one is {n[i]:.6g}"
    raise LabCheckError(with_context(f"the gradient {name} differs from the numerical one by {worst:.1e}: {why}.",
                                      hint=hint))


def check_target(name, value, target, run, what="on the test set"):
    """Print whether a run reached its target; a missed target fails a full run.

    ``value`` and ``target`` are fractions (printed as percentages); higher is better.
    ``what`` says what the value is measured on. Returns nothing, so that a cell may end
    with it.
    """
    __tracebackhide__ = True
    line = f"{name}: {value:.2%} {what} (target {target:.0%})"
    if value >= target:
        print(line + " - target reached")
    elif run.full:
        raise LabCheckError(line + ": target missed in a full run. Train longer (raise epochs) or check the "
                                   "learning rate.")
    else:
        print(line + " - a small run; set full = True and run all cells to reach the target")


LESSON_SHOWN = "lesson shown"
LESSON_MISSED = "lesson NOT shown by this run"


def lesson(claim, holds, evidence, run=None):
    """State a lab's lesson and whether this run's figures show it.

    ``claim`` is the lesson in words ("transfer beats training from scratch with 10 labels per
    digit"), ``holds`` whether the measured figures agree, ``evidence`` the figures themselves
    ("from scratch 61.2 %, new head 83.5 %"). Each lab ends a comparison with one of these; at the
    default and the full size the lesson must hold (tests/labs/test_lab_lessons.py runs every lab at its default
    size and fails on a line that starts with LESSON_MISSED). While nbgrader grades a notebook the
    training is shortened, so a lesson that does not show is only reported. Returns ``holds``.
    """
    if holds:
        print(f"{LESSON_SHOWN}: {claim} ({evidence})")
    else:
        note = ("training is shortened while grading" if run is not None and run.graded else
                "with other sizes or seeds the figures move; the default and the full run show it")
        print(f"{LESSON_MISSED}: {claim} ({evidence}); {note}")
    return bool(holds)
