"""The lab notebooks and their helpers.

* every instructor notebook in grading/source runs with papermill at CI size, its own visible and
  hidden tests passing on the solutions;
* each lab is one jupytext script (grading/source/<lab>/<lab>.py) that round-trips as a notebook, and
  labs/ is what nbgrader makes of it;
* no committed notebook carries outputs; the parameters cell and nbgrader metadata are in order;
* dllab.labs: the teaching checks, run settings, live curves and figures.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

import dllab as dl
from dllab import labs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _answer_keys():
    """These tests check the checks on any input: with the grader's answer keys, as the judge runs them
    (in a notebook, labs.<reference> answers only the visible tests' own inputs)."""
    from grading import answer_keys

    labs.use_answer_keys(answer_keys)
    yield
    labs.use_answer_keys(None)
GRADING = ROOT / "grading"
SCRIPTS = sorted((GRADING / "source").glob("*/*.py"))
SOURCES = [p.with_suffix(".ipynb") for p in SCRIPTS]  # written from the scripts by conftest.py
RELEASES = sorted((ROOT / "labs").glob("*/*.ipynb"))
CI_PARAMETERS = {"subset": 2000, "epochs": 1, "device": "cpu", "seed": 0}
# autograded + written points per lab
POINTS = {"lab1_logreg": 28, "lab2_mlp": 33, "lab3_cnn": 36, "lab4_lstm": 28, "lab5_transfer": 32}


def lab_id(path):
    return path.stem


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


# --- a kernel that is this Python ------------------------------------------------------------


def use_this_python_as_kernel(folder: Path) -> dict:
    """Environment variables that make the kernel 'python3' run this interpreter.

    A kernelspec written to ``folder`` and put first on JUPYTER_PATH wins over any other
    'python3' spec (a user's, a system one), so the notebooks always import this dllab.
    Small matrices gain nothing from BLAS threads, and on a busy 2-core machine the threads
    fight: one thread keeps the timings steady.
    """
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (dllab tests)", "language": "python"}))
    return {
        "JUPYTER_PATH": os.pathsep.join([str(folder)] + [p for p in [os.environ.get("JUPYTER_PATH")] if p]),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        "CI": "true", "MPLBACKEND": "Agg", "DLLAB_DEVICE": "cpu",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        # the instructor notebooks run their hidden tests too: they need the grader's answer keys
        "DLLAB_ANSWER_KEYS": "grading.answer_keys",
    }


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    for key, value in use_this_python_as_kernel(tmp_path / "jupyter").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


# --- the notebooks run ------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOURCES, ids=lab_id)
@pytest.mark.slow
def test_source_notebook_runs_at_ci_size(path, tmp_path, kernel_env):
    import papermill

    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), parameters=CI_PARAMETERS, kernel_name="python3",
                               cwd=str(tmp_path), progress_bar=False, log_output=False,
                               execution_timeout=300)
    nb = read(out)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"cell {cell.id}: {errors[0].ename}: {errors[0].evalue}"
        meta = nbgrader_meta(cell)
        if meta.get("grade") and "BEGIN HIDDEN TESTS" not in cell.source:
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "all visible tests passed" in text, f"{meta['grade_id']} did not report success"


@pytest.mark.parametrize("path", SCRIPTS, ids=lab_id)
def test_lab_script_round_trips_as_a_notebook(path):
    """What JupyterLab saves back after opening the script as a notebook is the same text."""
    import jupytext

    assert jupytext.writes(jupytext.read(path), fmt="py:percent") == path.read_text()


@pytest.mark.slow
def test_source_notebooks_are_stable():
    """The same script always gives the same notebook, byte for byte (stable cell ids)."""
    from grading import release

    for lab in release.all_labs():
        assert nbformat.writes(release.notebook(lab)) == nbformat.writes(release.notebook(lab))
        ids = [cell.id for cell in release.notebook(lab).cells]
        assert len(ids) == len(set(ids))


def test_lab2_forward_literals_are_what_the_reference_computes():
    """Lab 2's forward test quotes P for the test network as literals; recompute them."""
    text = (GRADING / "source" / "lab2_mlp" / "lab2_mlp.py").read_text()
    X, _, params = labs.net_fixture()
    for act, name in [("relu", "P with relu"), ("sigmoid", "P with sigmoid")]:
        literal = text.split(f'"{name}"')[0].rsplit("[[", 1)[1]
        quoted = np.array(ast.literal_eval("[[" + literal.rsplit("]]", 1)[0] + "]]"))
        P, _ = labs.reference_forward(X, params, act)
        np.testing.assert_allclose(quoted, P, atol=1e-8, err_msg=f"lab 2's {name!r} literal is stale")


@pytest.mark.slow
def test_release_is_up_to_date_with_the_sources():
    result = subprocess.run([sys.executable, str(GRADING / "release.py"), "--check"], check=False,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.stem for p in RELEASES] == [p.stem for p in SOURCES]


# --- what is committed -------------------------------------------------------------------------


@pytest.mark.parametrize("path", SOURCES + RELEASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_committed_notebooks_carry_no_outputs(path):
    nb = read(path)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {cell.id} has outputs"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", SOURCES + RELEASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_parameters_cell(path):
    cells = [c for c in read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds plain assignments only"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    assert values == {"full": False, "epochs": None, "subset": None, "device": "auto", "seed": 0}


@pytest.mark.parametrize("path", SOURCES, ids=lab_id)
def test_nbgrader_metadata(path):
    nb = read(path)
    ids, points = [], 0
    kinds = {"answer": 0, "visible": 0, "hidden": 0, "written": 0}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta:
            assert "BEGIN SOLUTION" not in cell.source and "BEGIN HIDDEN TESTS" not in cell.source
            continue
        assert meta["schema_version"] == 3 and meta["task"] is False
        ids.append(meta["grade_id"])
        if meta["grade"]:
            assert meta["points"] > 0
            points += meta["points"]
        if cell.cell_type == "markdown":
            assert meta["solution"] and meta["grade"], "written answers are solution + grade cells"
            kinds["written"] += 1
        elif meta["solution"]:
            assert not meta["grade"] and "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
            kinds["answer"] += 1
        else:
            assert meta["grade"] and meta["locked"]
            hidden = "### BEGIN HIDDEN TESTS" in cell.source
            kinds["hidden" if hidden else "visible"] += 1
            if hidden:
                assert cell.source.rstrip().endswith("### END HIDDEN TESTS")
            else:
                assert "raise AssertionError" not in cell.source and "assert " not in cell.source, \
                    "visible tests use dllab.labs checks, which explain a failure"
    assert len(ids) == len(set(ids)), "grade ids are unique"
    assert all(kinds.values()), kinds
    assert kinds["hidden"] >= 4 and kinds["written"] >= 2
    assert points == POINTS[path.stem], "grading/README.md and docs/labs.md quote the points"


@pytest.mark.parametrize("path", RELEASES, ids=lab_id)
def test_release_hides_solutions_and_hidden_tests(path):
    text = path.read_text()
    for secret in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "_rng = "):
        assert secret not in text
    nb = read(path)
    answers = [c for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    assert answers and all("raise NotImplementedError()" in c.source for c in answers)


def test_nbgrader_config():
    from traitlets.config import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(GRADING)).load_config()
    assert config.CourseDirectory.course_id == "dllab"
    assert Path(config.CourseDirectory.root) == GRADING
    assert (GRADING / config.CourseDirectory.release_directory).resolve() == ROOT / "labs"
    assert 30 <= config.Execute.timeout <= 300
    assert config.FileNameCollectorPlugin.named_regexp


def test_labs_readme_lists_every_lab():
    text = (ROOT / "labs" / "README.md").read_text()
    for path in RELEASES:
        assert f"{path.parent.name}/{path.name}" in text


# --- dllab.labs: checks that teach -------------------------------------------------------------


def message(fn, *args, **kwargs):
    with pytest.raises(labs.LabCheckError) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


def test_check_and_check_shape():
    labs.check(True, "never shown")
    assert message(labs.check, False, "row 3 sums to 1.7") == "row 3 sums to 1.7"
    assert "transposed" in message(labs.check_shape, np.zeros((3, 2)), (2, 3), "dW")
    assert "did you forget a `return`" in message(labs.check_shape, None, (2, 3), "P")
    labs.check_shape(np.zeros((2, 3)), (2, 3), "P")


def test_check_close_names_the_worst_entry():
    labs.check_close([1.0, 2.0], [1.0, 2.0 + 1e-9], "v")
    text = message(labs.check_close, [[1.0, 2.0], [3.0, 9.0]], [[1.0, 2.0], [3.0, 4.0]], "M", hint="Look.")
    assert "index (1, 1)" in text and "9" in text and "expected 4" in text and text.endswith("Look.")
    assert "nan or inf" in message(labs.check_close, [np.nan], [1.0], "p")
    assert "is 3, expected 2" in message(labs.check_close, 3.0, 2.0, "the loss")


@pytest.mark.parametrize("mistake, words", [
    (lambda g, n: -g, "wrong sign"),
    (lambda g, n: g * n, "too large, exactly the batch size"),
    (lambda g, n: g / n, "divide by N twice"),
    (lambda g, n: g.T, "transposed"),
    (lambda g, n: np.zeros_like(g), "all zeros"),
    (lambda g, n: g * 0.5, "0.5× the right size"),
    (lambda g, n: g + np.eye(*g.shape), "at index"),
])
def test_check_gradient_recognises_common_mistakes(mistake, words):
    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(4, 3))
    assert labs.check_gradient(numeric + 1e-9, numeric, "dW", batch_size=6) < 1e-8
    text = message(labs.check_gradient, mistake(numeric, 6), numeric, "dW", batch_size=6, hint="dW = X.T @ δ")
    assert words in text and "dW" in text and text.endswith("dW = X.T @ δ")


def reference_backward(X, y, params, cache, act="relu", mistake=None):
    f_grad = {"relu": lambda z: (z > 0) * 1.0,
              "sigmoid": lambda z: (s := 0.5 * (1 + np.tanh(0.5 * z))) * (1 - s)}[act]
    P = cache["P"]
    d3 = (P - np.eye(P.shape[1])[y]) / len(y)
    d2 = (d3 @ params["W3"].T) * f_grad(cache["Z2"])
    if mistake == "sign of delta2":
        d2 = -d2
    d1 = (d2 @ params["W2"].T) * f_grad(cache["Z1"])
    return {"W3": cache["A2"].T @ d3, "b3": d3.sum(0), "W2": cache["A1"].T @ d2, "b2": d2.sum(0),
            "W1": X.T @ d1, "b1": d1.sum(0)}


@pytest.mark.parametrize("act", ["relu", "sigmoid"])
def test_check_backprop_accepts_correct_and_locates_a_wrong_delta(act):
    report = labs.check_backprop(reference_backward, act=act)
    assert set(report) == {"W1", "b1", "W2", "b2", "W3", "b3"} and max(report.values()) < 1e-6
    text = message(labs.check_backprop, lambda *a: reference_backward(*a, mistake="sign of delta2"), act=act)
    assert "W2" in text and "W3, b3 are right" in text and "δ2" in text
    assert "missing" in message(labs.check_backprop, lambda *a: {"W1": 0}, act=act)


CONV_X = np.array([[1, 2, 0, 1], [0, 1, 3, 1], [2, 1, 0, 0], [1, 0, 2, 1]], dtype=float)
CONV_K = np.array([[1, 2, 0], [0, 1, -1], [-1, 0, 1]], dtype=float)


def test_conv_and_pool_references_agree_with_the_library():
    rng = np.random.default_rng(0)
    for shape, kshape in [((4, 4), (3, 3)), ((7, 5), (2, 4)), ((6, 6), (1, 1))]:
        x, k = rng.normal(size=shape), rng.normal(size=kshape)
        lib = dl.functional.conv2d(dl.Tensor(x[None, None]), dl.Tensor(k[None, None])).numpy()[0, 0]
        assert np.allclose(labs.conv2d_reference(x, k), lib)
    assert labs.conv2d_reference(CONV_X, CONV_K).tolist() == [[1, 3], [4, 8]]
    x = rng.normal(size=(6, 4))
    pooled = dl.functional.max_pool2d(dl.Tensor(x[None, None]), 2).numpy()[0, 0]
    assert np.allclose(labs.max_pool_reference(x, 2), pooled)


@pytest.mark.parametrize("mistake, words", [
    (lambda x, k: labs.conv2d_reference(x, k[::-1, ::-1]), "flips the kernel"),
    (lambda x, k: labs.conv2d_reference(x, k).T, "transposed"),
    (lambda x, k: np.zeros_like(x), "as with padding"),
    (lambda x, k: labs.conv2d_reference(np.pad(x, 2), k), "'full' size"),
    (lambda x, k: labs.conv2d_reference(x, k)[:-1, :-1], "off by one"),
    (lambda x, k: labs.conv2d_reference(x, k) + np.eye(2), "at index (0, 0) it is 2, expected 1"),
    (lambda x, k: None, "forget a `return`"),
])
def test_check_conv2d_recognises_common_mistakes(mistake, words):
    labs.check_conv2d(labs.conv2d_reference(CONV_X, CONV_K).tolist(), CONV_X, CONV_K)
    text = message(labs.check_conv2d, mistake(CONV_X, CONV_K), CONV_X, CONV_K, "conv(x, k)")
    assert words in text and text.startswith("conv(x, k)")


@pytest.mark.parametrize("mistake, words", [
    (lambda x: x.reshape(2, 2, 2, 2).mean(axis=(1, 3)), "averages"),
    (lambda x: labs.max_pool_reference(x, 2).T, "transposed"),
    (lambda x: np.lib.stride_tricks.sliding_window_view(x, (2, 2)).max(axis=(2, 3)), "one pixel at a time"),
    (lambda x: x[::2, ::2], "at index (1, 0) it is 0, expected 6, the maximum of x[2:4, 0:2]"),
    (lambda x: None, "forget a `return`"),
])
def test_check_max_pool_recognises_common_mistakes(mistake, words):
    x = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 3, 2], [2, 6, 1, 1]], dtype=float)
    labs.check_max_pool(np.array([[4, 5], [6, 3]]), x, 2)
    assert words in message(labs.check_max_pool, mistake(x), x, 2)


# --- dllab.labs.call: an error inside the attendee's function becomes a lesson ------------------


def softmax_without_keepdims(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1)


def windows_one_too_many(series, lookback, horizon=1):
    n = len(series) - lookback
    return np.stack([series[i:i + lookback] for i in range(n)]), np.stack(
        [series[i + lookback:i + lookback + horizon] for i in range(n)])


def test_call_returns_the_result():
    assert labs.call(lambda a, b=1: a + b, 2, b=3) == 5
    assert labs.call(np.zeros, (2, 3), hint="never shown").shape == (2, 3)


def test_call_turns_an_error_into_a_lesson():
    with pytest.raises(labs.LabCheckError) as info:
        labs.call(softmax_without_keepdims, np.zeros((4, 3)), hint="Use keepdims=True.")
    text = str(info.value)
    assert isinstance(info.value, AssertionError)  # a raising test cell still fails under nbgrader
    assert isinstance(info.value.__cause__, ValueError)  # the original error stays chained
    first, where, why, hint = text.splitlines()
    assert first == ("softmax_without_keepdims(Z=array (4, 3)) raised ValueError: operands could not be broadcast "
                     "together with shapes (4,3) (4,)")
    line = softmax_without_keepdims.__code__.co_firstlineno + 2
    assert where == f"  in softmax_without_keepdims, line {line}: return E / E.sum(axis=1)"  # the attendee's line
    assert why.startswith("This usually means two arrays whose shapes do not fit")
    assert hint == "Hint: Use keepdims=True."


def test_call_points_at_the_attendees_line_not_inside_numpy():
    text = message(labs.call, windows_one_too_many, np.arange(7.0), 2, horizon=2,
                   hint="N = T - lookback - horizon + 1.")
    assert text.startswith("windows_one_too_many(series=array (7,), lookback=2, horizon=2) raised ValueError: "
                           "all input arrays must have the same shape")
    line = windows_one_too_many.__code__.co_firstlineno + 2
    assert f"in windows_one_too_many, line {line}: return np.stack" in text
    assert "np.stack / np.array got pieces of different sizes" in text and text.endswith("lookback - horizon + 1.")


@pytest.mark.parametrize("error, words", [
    (IndexError("index 4 is out of bounds for axis 0 with size 4"), "runs past the end of an axis"),
    (ValueError("matmul: Input operand 1 has a mismatch in its core dimension 0"), "inner sizes of a matrix product"),
    (ValueError("could not broadcast input array from shape (3,) into shape (4,)"), "print the shape of both sides"),
    (NameError("name 'debug_value' is not defined"), "a cell that defines it was not run"),
    (TypeError("unsupported operand type(s) for -: 'NoneType' and 'float'"), "does every function you call `return`"),
    (ZeroDivisionError("division by zero"), "ZeroDivisionError: division by zero"),
])
def test_call_explains_common_errors(error, words):
    def attendee(x):
        raise error

    text = message(labs.call, attendee, 1.5, hint="The hint.")
    assert text.startswith(f"attendee(x=1.5) raised {type(error).__name__}: {error}")
    assert words in text and text.endswith("Hint: The hint.")


def test_call_describes_the_arguments():
    def scale(train, *others, key=None):
        raise RuntimeError(two_lines)

    two_lines = "first line\nsecond line"

    text = message(labs.call, scale, np.zeros((3, 2), np.float32), [np.zeros(2), 1], {"W1": 1}, key="k")
    assert text.splitlines()[0] == ("scale(train=array (3, 2) float32, list of 2: [array (2,), 1], "
                                    "dict with keys 'W1', key='k') raised RuntimeError: first line")
    assert "second line" not in text  # the original error in one line; the chained traceback has it all
    dataset = dl.data.Dataset(np.zeros((5, 1, 2, 2), np.float32), np.zeros(5, np.int64), "tiny")
    assert message(labs.call, lambda data: data.nothing, dataset).startswith("<lambda>(data=Dataset of 5) raised "
                                                                              "AttributeError")


def test_call_for_an_unwritten_answer_and_for_failed_checks():
    def unwritten(Z):
        raise NotImplementedError()

    text = message(labs.call, unwritten, np.zeros(3), hint="not for a blank answer")
    assert "unwritten is not written yet: replace `raise NotImplementedError()`" in text
    assert "not for a blank answer" not in text

    def checking(x):
        labs.check(False, "a check inside failed")

    assert message(labs.call, checking, 1) == "a check inside failed"  # passed through as it is

    def interrupted():
        raise KeyboardInterrupt  # nbgrader's cell timeout: not the attendee's mistake, not caught

    with pytest.raises(KeyboardInterrupt):
        labs.call(interrupted)


def test_check_backprop_runs_backward_through_call():
    def broken(X, y, params, cache, act="relu"):
        return {"W3": cache["A2"].T @ cache["P"].T}

    text = message(labs.check_backprop, broken)
    assert text.startswith("broken(X=array (4, 5), y=array (4,) int64, params=dict with keys 'W1', 'b1', 'W2', 'b2', "
                           "'W3', 'b3', cache=dict with keys")
    assert "raised ValueError: matmul" in text and "Hint: grads must have the shapes of params" in text


@pytest.mark.parametrize("path", SOURCES, ids=lab_id)
def test_visible_tests_call_answers_through_labs_call(path):
    """A visible test runs the attendee's functions through labs.call, so that an error inside one teaches."""
    nb = read(path)
    answers = {node.name for c in nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"
               for node in ast.parse(c.source).body if isinstance(node, ast.FunctionDef)}
    assert answers
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade") or cell.cell_type != "code" or "BEGIN HIDDEN TESTS" in cell.source:
            continue
        direct = sorted({node.func.id for node in ast.walk(ast.parse(cell.source))
                         if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in answers})
        assert not direct, f"{meta['grade_id']} calls {direct} directly: use labs.call(fn, *args, hint=...)"


def test_probe_layer_records_how_it_is_called():
    probe = labs.ProbeLayer()
    net = dl.Sequential(probe, dl.Dense(2))
    net(dl.Tensor(np.ones((3, 4), np.float32)))
    net.eval()
    with dl.no_grad():
        out = net(dl.Tensor(np.ones((2, 4), np.float32)))
    assert out.shape == (2, 2) and probe.parameters() == []
    assert probe.calls == [(3, True, True), (2, False, False)] and probe.batch_sizes == [3, 2]


def test_check_target(capsys):
    small = labs.Run(full=False, epochs=1, subset=100, quick_epochs=1, quick_subset=100, device="cpu", seed=0)
    assert labs.check_target("net", 0.5, 0.98, small) is None  # a cell may end with it
    assert "net: 50.00% on the test set (target 98%) - a small run" in capsys.readouterr().out
    full = labs.Run(full=True, epochs=20, subset=None, quick_epochs=5, quick_subset=6000, device="cpu", seed=0)
    labs.check_target("net", 0.985, 0.98, full, what="on inverted digits")
    assert "98.50% on inverted digits (target 98%) - target reached" in capsys.readouterr().out
    assert "target missed" in message(labs.check_target, "net", 0.97, 0.98, full)


# --- dllab.labs: run settings ---------------------------------------------------------------------


def test_setup_resolves_the_parameters(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    run = labs.setup(full=False, device="cpu", full_epochs=30, small_epochs=5, small_subset=6000)
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (5, 6000, 5, 6000)
    run = labs.setup(full=True, device="cpu", full_epochs=30, small_epochs=5, small_subset=6000)
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (30, None, 5, 6000)
    run = labs.setup(full=False, epochs=1, subset=2000, device="cpu")
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (1, 2000, 1, 2000)
    assert "set full = True" in str(run) and not run.graded
    # a lab with a small data set: small runs use all of it; subset counts days
    run = labs.setup(full=False, device="cpu", full_epochs=150, small_epochs=50, small_subset=None, unit="days")
    assert (run.epochs, run.subset, run.quick_epochs, run.quick_subset) == (50, None, 50, None)
    assert "all training days" in str(run) and "comparisons: all days" in str(run)
    run = labs.setup(full=False, epochs=1, subset=2000, device="cpu", small_subset=None, unit="days")
    assert (run.subset, run.quick_subset) == (2000, 2000) and "2000 training days" in str(run)


def test_setup_shortens_training_while_nbgrader_grades(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    run = labs.setup(full=True, epochs=30, device="cpu")
    assert run.graded and not run.full and run.epochs == 1 and run.subset <= 1000
    assert "graded by nbgrader" in str(run)


def test_setup_seeds_everything(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    labs.setup(seed=3, device="cpu")
    a = (np.random.rand(), dl.Dense(2)(dl.Tensor(np.ones((1, 2), np.float32))).numpy())
    labs.setup(seed=3, device="cpu")
    b = (np.random.rand(), dl.Dense(2)(dl.Tensor(np.ones((1, 2), np.float32))).numpy())
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


# --- dllab.labs: live curves and figures ----------------------------------------------------------


def test_live_curves_as_a_trainer_callback_outside_jupyter():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    live = labs.LiveCurves("test")
    trainers = {name: dl.Trainer(dl.Dense(2), optimizer=dl.optim.SGD(lr=lr)) for name, lr in [("a", 0.1), ("b", 0.5)]}
    for name, trainer in trainers.items():
        trainer.fit((x, y), epochs=2, batch_size=50, validation=(x, y), callbacks=[live.run(name, steps=8)],
                    verbose=False)
    assert set(live.runs) == {"a", "b"}
    assert len(live.runs["a"]["steps"]) == 8 and len(live.runs["a"]["epochs"]) == 2
    assert "val_accuracy" in live.runs["b"]["epochs"][-1][1]
    fig = live.figure()
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 4  # training and validation accuracy per run
    plain = labs.LiveCurves()
    trainers["a"].fit((x, y), epochs=1, batch_size=50, callbacks=[plain], verbose=False)
    assert list(plain.runs) == ["train"]


def test_live_curves_fed_by_hand():
    live = labs.LiveCurves()
    for epoch in range(2):
        for step in range(5):
            live.step(1.0 / (1 + step + 5 * epoch), epoch, step)
        live.epoch(epoch, accuracy=0.5 + epoch / 10, val_accuracy=0.4)
    live.close()
    x, losses = live._step_axis(live.runs["train"])
    assert np.allclose(x, np.arange(1, 11) / 5) and len(losses) == 10
    live.figure()


def test_summary_table_and_figures():
    h = dl.History()
    h.append({"loss": 1.0, "accuracy": 0.5, "val_loss": 0.9, "val_accuracy": 0.6})
    table = labs.summary_table({"a run with a long name": h})
    assert "a run with a long name" in table and "60.00%" in table
    images = np.random.default_rng(0).random((12, 784)).astype(np.float32)
    assert len(labs.show_digits(images, np.arange(12), np.arange(12)[::-1], ncols=5).axes) == 15
    assert len(labs.show_templates(np.random.default_rng(0).normal(size=(784, 10))).axes) == 10
    assert labs.show_confusion(np.arange(100).reshape(10, 10)).axes
    assert len(labs.progress(range(3))) == 3
