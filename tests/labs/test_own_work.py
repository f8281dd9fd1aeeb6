"""Answers that are the attendee's own (issue: no points for calling the library's or the answer keys' code).

For every graded function of the five labs: the lab's own solution is its own work, and answers
that hand the work to dllab, to one of the tests' references or to a copy imported from elsewhere
are named, by the grader (the judge, reading the hand-in's cells) and by the visible test (in the
notebook). The three cases found by hand are graded end to end through the judge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import numpy as np
import pytest

from dllab import labs
from dllab.labs import own_work

ROOT = Path(__file__).resolve().parents[2]
from test_judge import local_transport  # noqa: E402

from grading import judge  # noqa: E402

LABS = ("lab1_logreg", "lab2_mlp", "lab3_cnn", "lab4_lstm", "lab5_transfer")


def lab_cells(lab):
    nb = jupytext.read(ROOT / "grading" / "source" / lab / f"{lab}.py")
    return [dict(c, source=c.source) for c in nb.cells]


def answers():
    """(lab, function name, answer cell source) for every graded function."""
    out = []
    for lab in LABS:
        for cell in lab_cells(lab):
            if judge.is_answer(cell) and cell["cell_type"] == "code":
                for node in ast.parse(cell["source"]).body:
                    if isinstance(node, ast.FunctionDef):
                        out.append((lab, node.name, cell["source"]))
    return out


ANSWERS = answers()


def test_every_graded_function_is_covered():
    names = {name for _, name, _ in ANSWERS}
    assert names == own_work.ANSWERS and own_work.LIBRARY_ALLOWED <= names


@pytest.mark.parametrize("lab, name, source", ANSWERS, ids=[f"{lab}-{name}" for lab, name, _ in ANSWERS])
def test_the_labs_own_solution_is_its_own_work(lab, name, source):
    given = [c["source"] for c in lab_cells(lab) if c["cell_type"] == "code" and not judge.is_answer(c)]
    assert own_work.problems(name, given + [source], skip=set(given)) == []


def delegations(name):
    """Answers that hand ``name``'s work to someone else, by how they do it."""
    cases = {
        "answer key": f"def {name}(*args, **kwargs):\n    return labs.reference_sgd_epoch(*args, **kwargs)\n",
        "answer key imported": f"from dllab.labs import lstm_step_reference as {name}\n",
        "answers module": f"import dllab.labs.answers as keys\n\ndef {name}(*a):\n"
                          "    return keys.conv2d_reference(*a)\n",
        "grader": f"from answer_keys import {name}\n",
    }
    if name not in own_work.LIBRARY_ALLOWED:
        cases.update({
            "library op": f"def {name}(x, *args, **kwargs):\n"
                          "    return dl.functional.conv2d(dl.Tensor(x), *args).numpy()\n",
            "library alias in another cell": f"def {name}(x, *args):\n    return _helper(x, *args)\n",
            "library import": f"from dllab.functional import softmax as {name}\n",
            "copy from another module": f"from my_answers import {name}\n",
            "dynamic lookup": f"def {name}(*args):\n    return getattr(np, 'x')(*args)\n",
            "torch": f"import torch\n\ndef {name}(x):\n    return torch.tensor(x).numpy()\n",
        })
    return cases


HELPER = "_helper = dl.functional.conv2d\n"


@pytest.mark.parametrize("name", sorted({n for _, n, _ in ANSWERS}))
def test_every_way_of_handing_the_work_on_is_named(name):
    for how, source in delegations(name).items():
        found = own_work.problems(name, [source, HELPER])
        assert found, (name, how)
        text = own_work.message(name, found)
        assert name in text and "no points" in text, text


def test_honest_use_of_the_library_and_of_pythons_own_modules():
    honest = {
        "make_mlp": "def make_mlp(hidden=(400, 400), classes=10):\n    model = dl.Flatten()\n"
                    "    for h in hidden:\n        model = model >> dl.Dense(h) >> dl.relu\n"
                    "    return model >> dl.Dense(classes)\n",
        "softmax": "import sys\nimport warnings\n\ndef softmax(Z):\n    warnings.warn('slow')\n"
                   "    print('debug', file=sys.stderr)\n    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
                   "    return E / E.sum(axis=1, keepdims=True)\n",
        "fine_tune": "def fine_tune(model, data, epochs, body_lr, head_lr, batch_size=64, seed=0):\n"
                     "    body = dl.optim.SGD(model[:-1], lr=body_lr)\n    return body\n",
    }
    for name, source in honest.items():
        assert own_work.problems(name, [source]) == []


def test_the_visible_test_says_it_first(tmp_path):
    """In the notebook, labs.call reads the function's own source and says what the grader will."""
    path = tmp_path / "cell.py"
    path.write_text("import dllab as dl\n_c = dl.functional.conv2d\n\n\ndef conv2d(x, w, b):\n"
                    "    return _c(dl.Tensor(x), dl.Tensor(w), dl.Tensor(b)).numpy()\n\n\n"
                    "def softmax(Z):\n    E = np.exp(Z - Z.max(axis=1, keepdims=True))\n"
                    "    return E / E.sum(axis=1, keepdims=True)\n")
    ns = {"__name__": "__main__", "np": np}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    with pytest.raises(labs.LabCheckError, match="conv2d must do its own work in NumPy.*_c .dllab.functional"):
        labs.call(ns["conv2d"], np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.zeros(1))
    assert labs.call(ns["softmax"], np.zeros((1, 2))).shape == (1, 2)


# ---- the three cases found by hand, through the judge ----------------------------------------------------
CASES = {
    "lab1_logreg": ("sgd_epoch", "from dllab.labs import reference_sgd_epoch\n\n"
                    "def sgd_epoch(X, y, W, b, lr, batch_size, rng):\n"
                    "    return reference_sgd_epoch(X, y, W, b, lr, batch_size, rng)\n",
                    ["test_sgd_epoch", "test_sgd_epoch_hidden"]),
    "lab4_lstm": ("lstm_step", "def lstm_step(x_t, h, c, W_x, W_h, b):\n"
                  "    return labs.lstm_step_reference(x_t, h, c, W_x, W_h, b)\n",
                  ["test_lstm_step", "test_lstm_step_hidden"]),
    "lab3_cnn": ("conv2d", "def conv2d(x, w, b, stride=1, padding=0):\n    return dl.functional.conv2d(dl.Tensor(x), "
                 "dl.Tensor(w), dl.Tensor(b), stride=stride, padding=padding).numpy()\n",
                 ["test_conv2d_single", "test_conv2d", "test_conv2d_hidden"]),
}


@pytest.mark.parametrize("lab", sorted(CASES))
def test_delegating_answers_score_nothing_in_grading(lab, tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    name, cheat, tests = CASES[lab]
    cells = lab_cells(lab)
    handin = []
    for cell in cells:
        if cell["cell_type"] != "code" or judge.is_graded_test(cell):
            continue
        if judge.is_answer(cell) and f"def {name}(" in cell["source"]:
            handin.append(cell["source"] + "\n\n" + cheat)  # the right answer, then the cheat over it
        elif judge.is_answer(cell) or "judge" in cell["metadata"].get("tags", []) or \
                "parameters" in cell["metadata"].get("tags", []):
            handin.append(cell["source"])
    kernel = {"__name__": "__main__"}
    for source in handin:
        exec(compile(source, "<cell>", "exec"), kernel)
    flags = []
    the_judge = judge.Judge(cells, local_transport(kernel, tmp_path), handin_sources=handin,
                            on_flag=lambda kind, detail: flags.append((kind, detail)))
    verdicts = {gid: the_judge.run_test(gid) for gid in tests}
    graded = verdicts[tests[-1]], verdicts[tests[-2]]
    assert not any(v.passed for v in graded), {k: v.evalue for k, v in verdicts.items()}
    assert all("no points" in v.evalue and name in v.evalue for v in graded)
    assert ("not_own_work", flags[0][1]) in flags and any(d.startswith(name + ":") for _, d in flags), flags
    assert all(d.startswith(name + ":") for _, d in flags), "other answers are judged on their own"
