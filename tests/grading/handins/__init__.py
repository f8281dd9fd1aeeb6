"""Hostile and broken hand-ins of lab 1 (and one of lab 3), built from the release and the solutions.

Each entry of ``corpus(release, source, course)`` is ``name -> Handin``: the notebook (or raw bytes
for archives), how it is handed in, and what grading must give it. ``max_points``: the most
autograded points it may earn; ``min_points``: the least (honest work that must be kept);
``flagged``: whether the integrity report must name it (None: either).

Hand-ins are built from the lab as it is now, by grade id (never by cell index), and what each
must earn is derived from the instructor notebook's points (``Points``): a lab that gains or
loses graded cells keeps its corpus valid.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import kernel_attacks

LAB = "lab1_logreg"


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


WRONG = {
    "softmax": "def softmax(Z):\n    E = np.exp(Z)\n    return E / E.sum(axis=0, keepdims=True)\n",
    "one_hot": "def one_hot(y, num_classes=10):\n    return np.eye(num_classes)[:, y]\n",
    "cross_entropy": "def cross_entropy(P, y):\n    return float(np.log(P[np.arange(len(y)), y]).sum())\n",
    "logreg_gradients": ("def logreg_gradients(X, y, W, b):\n    P = softmax(X @ W + b)\n"
                         "    Y = np.eye(W.shape[1])[y]\n"
                         "    return cross_entropy(P, y), X.T @ (Y - P), (Y - P).sum(axis=0)\n"),
    "minibatches": ("def minibatches(n, batch_size, rng):\n"
                    "    return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]\n"),
}

# --- hostile code, each a class of attack -------------------------------------------------------
TRANSFORMER = '''
def _swallow(lines):  # every later cell: try: ... except: pass
    return ["try:\\n"] + ["    " + line for line in lines] + ["\\nexcept BaseException:\\n    pass\\n"]
get_ipython().input_transformers_post.append(_swallow)
'''
GRADEBOOK = '''
import glob, os, sqlite3
for path in glob.glob("/**/gradebook.db", recursive=True) + ["../../gradebook.db", "{course}/gradebook.db"]:
    try:
        con = sqlite3.connect(path)
        con.execute("UPDATE grade SET auto_score = 0")
        con.commit()
        print("changed", path)
    except Exception as err:
        print("no", path, err)
'''
CONFIG = '''
import os, subprocess
for path in ["../../nbgrader_config.py", "{course}/nbgrader_config.py"]:
    try:
        with open(path, "a") as f:
            f.write("\\nimport os; os.system('touch {course}/PWNED')\\n")
    except Exception as err:
        print("no", path, err)
# a detached process that waits for the grader to finish, then edits the gradebook
subprocess.Popen(["sh", "-c", "sleep 8; sqlite3 {course}/gradebook.db 'UPDATE grade SET auto_score=99'; "
                  "touch {course}/PWNED"], start_new_session=True)
'''
KILLER = '''
import os, signal
for pid in [os.getppid(), 1, -1]:
    try:
        os.kill(pid, signal.SIGTERM)
    except Exception as err:
        print("no", pid, err)
'''
PATCHER = '''
import numpy
import dllab.labs
np.allclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: True
dllab.labs.check.__code__ = (lambda *a, **k: None).__code__
check = lambda *a, **k: None
check_close = lambda *a, **k: None
labs.call = lambda f, *a, **k: None
'''
MODULES = '''
import sys, types
fake = types.ModuleType("dllab.labs")
fake.__getattr__ = lambda name: (lambda *a, **k: None)
sys.modules["dllab.labs"] = fake
import dllab
dllab.labs = fake
labs = fake
'''
LEAKER = '''
print(In)
print(_ih)
import linecache
for name, entry in list(linecache.cache.items()):
    print(name, "".join(entry[2]))
'''
SHOWTB = '''
ip = get_ipython()
ip.showtraceback = lambda *a, **k: None
ip._showtraceback = lambda *a, **k: None
'''
SEGFAULT = "import ctypes\nctypes.string_at(0)\n"
OS_EXIT = "import os\nos._exit(3)\n"
MEMORY = "hog = [bytearray(2**30) for _ in range(64)]  # 64 GiB\n"
NOINT = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n")
FLOOD = "print('x' * 50_000_000)\nfor _ in range(3000):\n    print('line')\n"
WARNER = ('import warnings\n'
          '_softmax_ok = softmax\n'
          'def softmax(Z):\n'
          '    warnings.warn("my softmax is slow")\n'
          '    import sys; print("debug: in softmax", file=sys.stderr)\n'
          '    return _softmax_ok(Z)\n')
FORKS = ('import os, time\n'
         'for _ in range(2000):\n'
         '    if os.fork() == 0:\n'
         '        time.sleep(60)\n'
         '        os._exit(0)\n')
EDITED_TEST = "# all good\nprint('softmax: all visible tests passed')\n"
SHADOW_DLLAB = "raise SystemExit('the shadow dllab package was imported')\n"
# the grading package (the judge, the answer keys), installed in the environment the kernel runs from
GRADING_CODE = '''
reached = []
try:
    import grading.answer_keys
    reached.append("imported grading.answer_keys")
except Exception as err:
    print("no grading package:", type(err).__name__)
for path in ["{grading}/answer_keys.py", "{grading}/judge.py", "{grading}/source", "{course}/nbgrader_config.py"]:
    try:
        reached.append(f"{{path}}: {{open(path).read(80) if not path.endswith('source') else len(os.listdir(path))}}")
    except Exception as err:
        print("no", path, type(err).__name__)
print("GRADING REACHED" if reached else "grading out of reach", reached)
'''


def corpus(release, source, course):
    """name -> Handin, for lab 1. ``source``: the instructor notebook (solutions, points);
    ``course``: the course folder (hostile code aims at it)."""
    points = Points(source)
    full = points.full
    solutions = {meta(c)["grade_id"]: student_solution(c.source) for c in source.cells if meta(c).get("solution")}
    perfect = with_answers(release, solutions)
    wrong = with_answers(release, WRONG)
    at = import_index(release)
    fmt = {"course": str(course), "grading": str(Path(importlib.util.find_spec("grading").origin).parent)}

    def keeps(value, **kw):  # exactly these points
        return dict(min_points=value, max_points=value, **kw)

    out = {}
    # --- honest work (the first six are the class's honest half) ---------------------------------
    out["honest_perfect"] = Handin(perfect, **keeps(full), flagged=False)
    out["honest_explorer"] = Handin(insert_after(perfect, "test_softmax", "print(softmax(np.zeros((2, 3))))"),
                                    **keeps(full), flagged=False)
    out["honest_partial"] = Handin(with_answers(release, {**solutions, "minibatches": WRONG["minibatches"]}),
                                   **keeps(points.without("minibatches")), flagged=False)
    out["honest_blank"] = Handin(release, flagged=False)
    out["honest_crashing"] = Handin(with_answers(release, {**solutions, "cross_entropy":
                                                           "print(debug_value)\n" + solutions["cross_entropy"]}),
                                    **keeps(points.without("cross_entropy")), flagged=False)
    out["honest_warning"] = Handin(insert_after(perfect, "softmax", WARNER), **keeps(full), flagged=False)
    # --- hostile (the first six are the class's hostile half) -------------------------------------
    out["evil_transformer"] = Handin(insert_at(release, at, TRANSFORMER), flagged=True)
    out["evil_gradebook"] = Handin(insert_at(wrong, at, GRADEBOOK.format(**fmt)), flagged=True)
    out["evil_patcher"] = Handin(insert_at(wrong, at, PATCHER), flagged=True)
    out["evil_config"] = Handin(insert_at(wrong, at, CONFIG.format(**fmt)), flagged=True)
    out["evil_killer"] = Handin(insert_at(release, at, KILLER), flagged=True)
    out["evil_leaker"] = Handin(append(insert_at(release, at, LEAKER), LEAKER), flagged=True)
    out["evil_grading_code"] = Handin(insert_at(wrong, at, "import os\n" + GRADING_CODE.format(**fmt)))
    # --- more classes --------------------------------------------------------------------------------
    out["evil_modules"] = Handin(insert_at(wrong, at, MODULES), flagged=True)
    out["evil_showtraceback"] = Handin(insert_at(release, at, SHOWTB), flagged=True)
    edited = with_answers(wrong, {"test_softmax": "print('all good')", "test_softmax_hidden": "pass"})
    out["evil_edited_tests"] = Handin(edited, flagged=True)
    deleted = copy.deepcopy(wrong)
    deleted.cells = [c for c in deleted.cells if not is_test(c)]
    out["evil_deleted_tests"] = Handin(deleted, flagged=True)
    out["evil_forks"] = Handin(insert_at(release, at, FORKS), flagged=True, root_only=True)
    # --- attacks from inside the kernel on how tests are run and reported: the judge decides ----------
    for name in kernel_attacks.ATTACKS:
        out[name] = Handin(kernel_attacks.attack_handin(release, source, name, insert_at, import_index, meta),
                           flagged=True)
    # an honest hand-in whose last run was out of order and saved by JupyterLab 4 (outputs, counts, ids kept)
    saved = copy.deepcopy(perfect)
    for k, cell in enumerate(c for c in saved.cells if c.cell_type == "code"):
        cell.execution_count = 100 - k
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ünïcödé ✓ output kept\n")]
    saved.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    out["honest_lab4_save"] = Handin(saved, **keeps(full), flagged=False)
    # --- honest mistakes of the round trip (tests/grading/test_grading.py) -------------------------------------
    written = {meta(c)["grade_id"]: "I do not know." for c in source.cells
               if meta(c).get("solution") and c.cell_type == "markdown"}
    out["honest_wrong"] = Handin(with_answers(wrong, written), flagged=False, how="zip")  # a zip named after them
    looping = "while True:  # waiting for something that never comes\n    pass\n\n" + solutions["minibatches"]
    out["honest_looping"] = Handin(with_answers(release, {**solutions, "minibatches": looping}),
                                   **keeps(points.without("minibatches")), flagged=True)  # a time-out is reported
    by_id = {meta(c)["grade_id"]: c for c in release.cells if meta(c).get("grade_id")}
    out["broken_edited_test"] = Handin(with_answers(release, {**solutions, "softmax": by_id["softmax"].source,
                                                              "test_softmax": EDITED_TEST}),
                                       **keeps(points.without("softmax")), flagged=True)
    # --- broken but honest: keep what was earned ---------------------------------------------------
    dup = copy.deepcopy(perfect)
    i = next(k for k, c in enumerate(dup.cells) if meta(c).get("grade_id") == "test_softmax")
    dup.cells.insert(i + 1, copy.deepcopy(dup.cells[i]))       # a pasted test
    j = next(k for k, c in enumerate(dup.cells) if meta(c).get("grade_id") == "one_hot")
    dup.cells.insert(j + 2, copy.deepcopy(dup.cells[j]))       # a pasted answer, below its test
    out["broken_duplicates"] = Handin(dup, **keeps(full), flagged=True)
    meta_edit = copy.deepcopy(perfect)
    for cell in meta_edit.cells:
        m = meta(cell)
        if m.get("grade_id") == "test_softmax":
            m.update(locked=False, points=100)
        elif m.get("grade_id") == "test_one_hot":
            m["grade"] = False
        elif m.get("grade_id") == "softmax":
            m["grade_id"] = "my_softmax"
    out["broken_metadata"] = Handin(meta_edit, **keeps(full), flagged=True)
    out["broken_exit_end"] = Handin(append(perfect, "exit()"), **keeps(full))
    # a kernel death keeps the points of the tests that ran before it
    out["broken_os_exit"] = Handin(insert_after(perfect, "test_logreg_gradients_hidden", OS_EXIT),
                                   **keeps(points.through("test_logreg_gradients_hidden")), flagged=True)
    out["broken_segfault"] = Handin(append(perfect, SEGFAULT), **keeps(full), flagged=True)
    out["broken_memory"] = Handin(append(perfect, MEMORY), **keeps(full))
    # a kernel that ignores the interrupt is stopped: the tests above the looping answer keep their points
    out["broken_noint_loop"] = Handin(with_answers(perfect, {"minibatches": NOINT}),
                                      **keeps(points.before("minibatches")), flagged=True)
    out["broken_flood"] = Handin(insert_after(perfect, "test_softmax", FLOOD), **keeps(full))
    out["broken_misnamed"] = Handin(perfect, **keeps(full), flagged=True, how="misnamed")
    out["broken_shadow_dllab"] = Handin(perfect, **keeps(full), how="zip",
                                        extra_files={"dllab/__init__.py": SHADOW_DLLAB})
    out["broken_corrupt_zip"] = Handin(how="raw_zip", raw=b"PK\x03\x04 this is not really a zip file")
    slip = io.BytesIO()
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr(f"{LAB}.ipynb", nbformat.writes(perfect))
        z.writestr("../../../zip_slip.txt", "escaped")
    out["broken_zip_slip"] = Handin(how="raw_zip", raw=slip.getvalue())
    return out


CLASS_HONEST = ["honest_perfect", "honest_explorer", "honest_partial", "honest_blank", "honest_crashing",
                "honest_warning"]
CLASS_HOSTILE = ["evil_transformer", "evil_gradebook", "evil_patcher", "evil_config", "evil_killer",
                 "evil_leaker"]
