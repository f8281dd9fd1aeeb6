"""Blank lab-1 hand-ins that attack grading from inside their own kernel, one family each.

Every one of them wrote no answer: each answer cell defines the lab's functions as fakes (they
raise, or return nonsense), and a cell just after the imports tries to make the tests *look*
passed in the kernel. Before the judge, such tricks earned points because the tests and their
expected values ran in the same process as the attack. Now the points come from the judge on the
host, so each must score 0; most are also flagged (the scan, or "visible tests reported passing,
judge disagrees"). The last two try to read the hidden tests, which never enter the kernel.
"""

from __future__ import annotations

import ast

# what every fake answer does (``{name}`` is the function's name)
RAISE = "raise ValueError('no answer')"

ATTACKS = {
    # a non-numeric display in a test cell, then an error that the display is meant to hide
    "evil_displayhook": ("import sys\n", "sys.displayhook(1.0)\n    " + RAISE),
    # errors swallowed by IPython's custom exception handler
    "evil_custom_exc": ("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n", RAISE),
    # the kernel's replies rewritten to "ok", errors dropped
    "evil_session_send": ('''
_kernel = get_ipython().kernel
_send = _kernel.session.send
def _quiet_send(stream, msg_or_type, content=None, *args, **kwargs):
    if isinstance(msg_or_type, str) and msg_or_type == "error":
        return None
    if isinstance(msg_or_type, str) and msg_or_type == "execute_reply" and content is not None:
        content = dict(content, status="ok")
    return _send(stream, msg_or_type, content, *args, **kwargs)
_kernel.session.send = _quiet_send
''', RAISE),
    # a tracer that rewrites what the checks are given
    "evil_settrace": ('''
import sys
def _tracer(frame, event, arg):
    if event == "call" and frame.f_code.co_name.startswith("check"):
        if "condition" in frame.f_locals:
            frame.f_locals["condition"] = True
        if "expected" in frame.f_locals and "value" in frame.f_locals:
            frame.f_locals["value"] = frame.f_locals["expected"]
    return _tracer
sys.settrace(_tracer)
''', "return np.zeros(1)"),
    # numpy's module object swapped for one whose comparisons always agree
    "evil_module_class": ('''
import types
class _Lying(types.ModuleType):
    def __getattribute__(self, name):
        if name in ("allclose", "all", "any", "array_equal", "isfinite"):
            return lambda *a, **k: True
        return types.ModuleType.__getattribute__(self, name)
np.__class__ = _Lying
''', "return np.zeros(1)"),
    # the helpers rebound through the namespaces, without naming them in an assignment
    "evil_rebind_helpers": ('''
for _ns in (globals(), vars(labs)):
    for _name in ("check", "check_close", "check_shape", "check_gradient", "check_pieces"):
        _ns[_name] = lambda *a, **k: None
    _ns["call"] = lambda fn, *a, **k: None
''', RAISE),
    # an input transformer that claims to be IPython's own, its name built so no scan finds it
    "evil_spoofed_transformer": ('''
def _wrap(lines):
    return ["try:\\n"] + ["    " + line for line in lines] + ["\\nexcept BaseException:\\n    pass\\n"]
_wrap.__module__ = "IPython.core.inputtransformer2"
getattr(get_ipython(), "input_" + "transformers_post").append(_wrap)
''', RAISE),
    # answers whose result reads the expected value from the checking function's frame
    "evil_frame_reader": ('''
import inspect
class _Echo:
    def __array__(self, dtype=None, copy=None):
        for info in inspect.stack():
            if "expected" in info.frame.f_locals:
                return np.asarray(info.frame.f_locals["expected"], dtype=dtype)
        return np.zeros(1)
''', "return _Echo()"),
    # a thread that makes the helpers no-ops while a test runs on the main thread
    "evil_thread_race": ('''
import threading, time
def _swap():
    keep = {k: vars(labs)[k] for k in ("check", "check_close", "check_shape", "check_gradient", "call")}
    while True:
        for k in keep:
            vars(labs)[k] = (lambda *a, **k: None)
            globals()[k] = vars(labs)[k]
        time.sleep(0.0005)
threading.Thread(target=_swap, daemon=True).start()
''', RAISE),
    # time of check, time of use: helpers swapped before each cell, put back after it
    "evil_toctou": ('''
_saved = {k: getattr(labs, k) for k in ("check", "check_close", "check_shape", "check_gradient", "call")}
def _before(info):
    for k in _saved:
        setattr(labs, k, lambda *a, **k: None)
        globals()[k] = getattr(labs, k)
def _after(result):
    for k, v in _saved.items():
        setattr(labs, k, v)
get_ipython().events.register("pre_run_cell", _before)
get_ipython().events.register("post_run_cell", _after)
''', RAISE),
    # answers that read the calling test's source, to show it in the feedback page
    "evil_inspect_source": ('''
import inspect
_seen = []
def _grab():
    for info in inspect.stack():
        try:
            _seen.append(inspect.getsource(info.frame))
        except (OSError, TypeError):
            if info.code_context:
                _seen.extend(info.code_context)
''', "_grab()\n    print('\\n'.join(_seen))\n    " + RAISE),
    # every cell's text kept by an IPython event, and printed in every later cell
    "evil_event_recorder": ('''
_texts = []
def _record(info):
    _texts.append(info.raw_cell)
    print("\\n".join(_texts))
get_ipython().events.register("pre_run_cell", _record)
''', RAISE),
}


def fake_answers(source_cell):
    """The names an answer cell defines, as fake functions with the attack's body."""
    names = [n.name for n in ast.parse(source_cell).body if isinstance(n, ast.FunctionDef)]
    return names


def attack_handin(release, source, name, insert_at, import_index, meta):
    """The blank release with ``name``'s setup after the imports and every answer replaced by a fake."""
    import copy

    setup, body = ATTACKS[name]
    nb = copy.deepcopy(release)
    by_id = {meta(c).get("grade_id"): c for c in source.cells}
    for cell in nb.cells:
        gid = meta(cell).get("grade_id")
        if meta(cell).get("solution") and cell.cell_type == "code" and gid in by_id:
            cell.source = "".join(f"def {fn}(*args, **kwargs):\n    {body}\n\n\n"
                                  for fn in fake_answers(by_id[gid].source))
    return insert_at(nb, import_index(nb), setup)
