"""dllab.labs.call: an error inside the attendee's function becomes a lesson that points at their line, explains
the common errors and describes the arguments; the visible tests call answers through it; probe layers and
check_target."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from labs_helpers import (
    SOURCES,
    answer_keys_installed,  # noqa: F401 - an autouse fixture
    lab_id,
    message,
    nbgrader_meta,
    read,
)

import dllab as dl
from dllab import labs

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
