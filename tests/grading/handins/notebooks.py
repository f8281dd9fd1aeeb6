"""Reading the lab's notebooks and building hand-ins from them: nbgrader metadata, what each autograded test is
worth and which answers it depends on (Points), the Handin record, and notebooks edited by grade id
(with_answers, insert_after, insert_at, append, import_index)."""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

import nbformat


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def is_test(cell):
    """An autograded test cell (graded, not an answer): its points come from running it."""
    return cell.cell_type == "code" and bool(meta(cell).get("grade")) and not meta(cell).get("solution")


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
          ast.GeneratorExp)


def _stored(node):
    """Names a statement binds in the notebook's namespace (not inside a def, lambda or comprehension)."""
    out, todo = set(), [node]
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
            continue
        if isinstance(n, SCOPES):
            continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in n.names}
        todo.extend(ast.iter_child_nodes(n))
    return out


def _read(node):
    """Names a statement or expression reads from the notebook's namespace: the parameters and
    locals of the functions, lambdas and comprehensions inside it excluded."""
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    local = set()
    for scope in (n for n in ast.walk(node) if isinstance(n, SCOPES)):
        local |= {n.id for n in ast.walk(scope) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        if not isinstance(scope, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            local |= {a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg)}
    return loads - local


def _flow(statements, bound, so_far):
    """Run the statements of a cell in order: ``so_far`` gathers the answers the cell's results
    depend on (a statement runs only if the ones before it did); each name a statement binds
    depends on ``so_far`` at that point. Loops, branches, ``with`` and ``try`` are entered."""
    def reads(node):
        for name in _read(node):
            so_far.update(bound.get(name, ()))

    for st in statements:
        if isinstance(st, (ast.For, ast.AsyncFor)):
            reads(st.iter)
            for name in _stored(st.target):
                bound[name] = set(so_far)
            _flow(st.body + st.orelse, bound, so_far)
        elif isinstance(st, (ast.If, ast.While)):
            reads(st.test)
            _flow(st.body + st.orelse, bound, so_far)
        elif isinstance(st, (ast.With, ast.AsyncWith)):
            for item in st.items:
                reads(item.context_expr)
                for name in _stored(item.optional_vars) if item.optional_vars else ():
                    bound[name] = set(so_far)
            _flow(st.body, bound, so_far)
        elif isinstance(st, ast.Try):
            _flow(st.body + [s for h in st.handlers for s in h.body] + st.orelse + st.finalbody, bound, so_far)
        else:
            reads(st)
            for name in _stored(st):
                bound[name] = set(so_far)


class Points:
    """What each autograded test of a lab is worth, and which answers its result depends on.

    Read from the instructor notebook (``release.notebook(lab)``): every test cell's ``points``
    and ``grade_id``, in order. A test depends on the answer cells (grade ids) that define a name
    it reads, directly or through other answers and given cells in between (a given cell that
    trains with the attendee's functions, say): an answer that is wrong, raises or is cut off
    costs the points of every test that depends on it, and only those.
    """

    def __init__(self, source):
        self.tests = [(meta(c)["grade_id"], float(meta(c)["points"])) for c in source.cells if is_test(c)]
        self.order = [meta(c).get("grade_id") for c in source.cells]
        self.depends = {}
        bound = {}  # name -> the answers its current value depends on
        for cell in source.cells:
            if cell.cell_type != "code":
                continue
            answer = {meta(cell)["grade_id"]} if meta(cell).get("solution") else set()
            try:
                statements = ast.parse(cell.source).body
            except SyntaxError:
                statements = []
            so_far = set(answer)
            _flow(statements, bound, so_far)
            if is_test(cell):
                self.depends[meta(cell)["grade_id"]] = so_far

    @property
    def full(self):
        """All autograded points."""
        return sum(p for _, p in self.tests)

    def failing(self, *broken):
        """The tests that an attendee whose answers ``broken`` (grade ids) are wrong must fail."""
        unknown = set(broken) - set(self.order)
        assert not unknown, f"no cells {sorted(unknown)} in the lab"
        return {t for t, _ in self.tests if self.depends[t] & set(broken)}

    def without(self, *broken):
        """Points earned when every answer is right except ``broken``."""
        failing = self.failing(*broken)
        return sum(p for t, p in self.tests if t not in failing)

    def before(self, grade_id):
        """Points of the tests above the cell ``grade_id`` (what is kept when the kernel stops there)."""
        stop = self.order.index(grade_id)
        return sum(p for t, p in self.tests if self.order.index(t) < stop)

    def through(self, grade_id):
        """Points of the tests above the cell ``grade_id`` and of that cell itself."""
        return self.before(grade_id) + dict(self.tests).get(grade_id, 0.0)


@dataclass
class Handin:
    nb: object = None
    max_points: float = 0
    min_points: float = 0
    flagged: bool | None = None
    how: str = "folder"          # folder | zip | misnamed | raw_zip
    raw: bytes = b""             # for raw_zip
    extra_files: dict = field(default_factory=dict)  # name -> text, handed in beside the notebook
    root_only: bool = False       # needs a per-sandbox uid (process limits)


def student_solution(source):
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def with_answers(release, answers):
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if meta(cell).get("grade_id") in answers:
            cell.source = answers[meta(cell)["grade_id"]]
    return nb


def insert_after(nb, grade_id, source):
    nb = copy.deepcopy(nb)
    index = next(i for i, c in enumerate(nb.cells) if meta(c).get("grade_id") == grade_id)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def insert_at(nb, index, source):
    nb = copy.deepcopy(nb)
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def append(nb, source):
    return insert_at(nb, len(nb.cells), source)


def import_index(nb):
    """Just after the lab's import cell: where a hand-in's own setup code would go."""
    return next(i for i, c in enumerate(nb.cells) if "import dllab" in c.source) + 1
