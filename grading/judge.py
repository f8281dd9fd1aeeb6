"""The judge: every autograded point is decided here, on the host, never in the attendee's kernel.

The judge holds the lab's test cells, visible and hidden, as the instructor wrote them (read from
``source/<lab>/<lab>.ipynb``, never from the hand-in) and runs them in its own namespace, in the
grading process. Each name an answer cell of the lab defines (``softmax``, ``make_mlp``...) is bound
to what the attendee's kernel holds under that name at that moment: a :class:`grading.wire.RemoteFunction`
for a function, which runs it in the sandbox on the judge's inputs and brings back data only
(``grading.wire``), or the value itself, as data. Expected values, fixtures and the checks' logic never
leave this process; hidden tests never enter the sandbox.

The same test cells teach in the notebook (the attendee runs the visible ones in their kernel) and
grade here: each lab's checks are written once. Before the tests, the judge runs the lab's cells
tagged ``parameters`` or ``judge`` (imports, data the tests read): instructor code that must not
call an answer (checked by :func:`setup_cells`).
"""

from __future__ import annotations

import ast
import contextlib
import io
import sys
import traceback
from dataclasses import dataclass

from grading.wire import Decoder, RemoteFunction, WireError, pack

MAX_OUTPUT = 20_000  # characters of a test's printed output kept


@dataclass
class Verdict:
    """The judge's result for one test cell: passed, and what the attendee is shown."""

    passed: bool
    output: str
    ename: str = ""
    evalue: str = ""


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_answer(cell):
    return cell.get("cell_type") == "code" and bool(_meta(cell).get("solution"))


def is_graded_test(cell):
    meta = _meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _bound(tree):
    """Names a cell binds at the top level of the notebook's namespace."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
    return names


def answer_names(cells):
    """Every name the lab's answer cells define: what the judge takes from the attendee's kernel."""
    names = set()
    for cell in cells:
        if is_answer(cell):
            names |= _bound(ast.parse(cell["source"]))
    return sorted(names)


def setup_cells(cells):
    """The instructor cells the judge runs before the tests: tagged ``parameters`` or ``judge``.
    Such a cell must not read an answer (the judge would run the attendee's code to set up)."""
    answers = set(answer_names(cells))
    chosen = []
    for cell in cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.get("cell_type") == "code" and tags & {"parameters", "judge"} and not is_answer(cell):
            tree = ast.parse(cell["source"])
            read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            if read & answers:
                raise ValueError(f"a cell tagged for the judge reads the answers {sorted(read & answers)}: "
                                 "the judge must not run attendee code to set up")
            chosen.append(cell["source"])
    return chosen


def test_sources(cells):
    """grade_id -> source of every autograded test cell, hidden tests included."""
    return {_meta(c)["grade_id"]: c["source"] for c in cells if is_graded_test(c)}


class _Capped(io.StringIO):
    def write(self, text):
        room = MAX_OUTPUT - self.tell()
        if room > 0:
            super().write(text[:room])
        return len(text)


class Judge:
    """Runs a lab's test cells on the host against the answers in one attendee's kernel.

    ``transport(request_bytes) -> (tree, arrays)`` carries one request to the kernel and its reply
    back (``grading.preprocessors.SandboxedExecute`` provides it; the tests use an in-process stand-in).
    """

    def __init__(self, cells, transport, handin_sources=(), on_flag=None):
        from dllab import labs
        from grading import answer_keys

        labs.use_answer_keys(answer_keys)  # this process computes every expected value, for any input
        self.cells = cells
        self.transport = transport
        self.answers = answer_names(cells)
        self.tests = test_sources(cells)
        self.namespace = {"__name__": "__main__"}
        # the hand-in's code cells, read on the host: whether each answer is the attendee's own work
        self.handin_sources = list(handin_sources)
        self.instructor_sources = {c["source"] for c in cells if c.get("cell_type") == "code" and not is_answer(c)}
        self.on_flag = on_flag or (lambda kind, detail: None)
        self._not_own = {}
        self._setup = setup_cells(cells)
        self._ready = False

    def prepare(self):
        """Run the setup cells once (imports, parameters, data the tests read)."""
        if self._ready:
            return
        out = _Capped()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            for source in self._setup:
                exec(compile(source, "<lab setup>", "exec"), self.namespace)  # noqa: S102 - instructor code
        self._ready = True

    def bind_answers(self, out):
        """Bind each answer name to what the kernel holds now (a function stays there)."""
        tree, arrays = self.transport(pack({"op": "lookup", "names": self.answers}, []))
        found = tree.get("names") if isinstance(tree, dict) else None
        if not isinstance(found, dict):
            raise WireError("the kernel's list of answers cannot be read")
        decoder = Decoder(arrays)
        for name in self.answers:
            entry = found.get(name) if isinstance(found.get(name), dict) else {"kind": "missing"}
            self.namespace.pop(name, None)
            if entry.get("kind") == "function" and self._not_own_work(name):
                self.namespace[name] = NotOwnWork(name, self._not_own[name])
            elif entry.get("kind") == "function":
                params = entry.get("parameters") if isinstance(entry.get("parameters"), list) else None
                self.namespace[name] = RemoteFunction(name, self.transport, params,
                                                      on_output=lambda text: print(text, file=out))
            elif entry.get("kind") == "value":
                self.namespace[name] = decoder.decode(entry.get("value"))

    def _not_own_work(self, name):
        """The message if the hand-in's code for ``name`` hands its work to the library or a reference."""
        from dllab.labs import own_work

        if name not in self._not_own:
            reasons = own_work.problems(name, self.handin_sources, skip=self.instructor_sources)
            self._not_own[name] = own_work.message(name, reasons) if reasons else ""
            if reasons:
                self.on_flag("not_own_work", f"{name}: {'; '.join(reasons[:3])}")
        return self._not_own[name]

    def run_test(self, grade_id):
        """Run one test cell (by grade id) here and return the :class:`Verdict`."""
        source = self.tests.get(grade_id)
        if source is None:
            return Verdict(False, "", "UnknownTest", f"the lab has no test cell {grade_id!r}")
        out = _Capped()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                self.prepare()
                self.bind_answers(out)
                exec(compile(source, f"<test {grade_id}>", "exec"), self.namespace)  # noqa: S102 - instructor code
        except Exception as error:  # noqa: BLE001 - every failure of a test is a verdict
            return Verdict(False, out.getvalue(), type(error).__name__, _message(error))
        return Verdict(True, out.getvalue())


class NotOwnWork:
    """Stands for an answer that is not the attendee's own work: every test that calls it fails with why."""

    def __init__(self, name, text):
        self.__name__ = self.__qualname__ = name
        self.text = text

    def __call__(self, *args, **kwargs):
        from dllab.labs import LabCheckError

        raise LabCheckError(self.text)


def _message(error):
    """The failure as the attendee reads it: the checks' own message, never the judge's source lines."""
    text = str(error)
    if isinstance(error, WireError):
        return f"the grader could not use your answer: {text}"
    if isinstance(error, NameError):
        return f"{text} (an answer cell that defines it did not run, or was deleted)"
    if not text and isinstance(error, AssertionError):
        return "a check failed"
    return text[:MAX_OUTPUT] or "".join(traceback.format_exception_only(type(error), error)).strip()


def load_cells(path):
    """The cells of the instructor's notebook, as plain dicts."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return [dict(cell) for cell in nb.cells]


if __name__ == "__main__":  # pragma: no cover - a quick look at what the judge would run
    cells = load_cells(sys.argv[1])
    print("answers:", ", ".join(answer_names(cells)))
    print("tests:", ", ".join(test_sources(cells)))
