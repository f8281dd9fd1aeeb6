"""The judge and its wire (grading/judge.py, grading/wire.py): data only across the boundary.

The kernel's side of the protocol (``wire.serve``) runs here in-process on a plain namespace, the
way the sandboxed kernel runs it on the notebook's; every message still goes through files and
``wire.unpack``. The end-to-end grading of hostile hand-ins is in tests/grading/test_grading_corpus.py.
"""

from __future__ import annotations

import contextlib
import io
import linecache
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

import dllab as dl
from dllab import labs
from grading import judge, wire

GRADING = Path(__file__).resolve().parents[2] / "grading"


def local_transport(user_ns, folder):
    """The sandbox's transport, with the kernel's side run here on ``user_ns``."""
    count = iter(range(10**6))

    def transport(request):
        n = next(count)
        req, rep = Path(folder) / f"{n}.in", Path(folder) / f"{n}.out"
        req.write_bytes(request)
        wire.serve(str(req), str(rep), user_ns)
        return wire.unpack(rep.read_bytes())

    return transport


@pytest.fixture
def remote(tmp_path):
    """remote(source) -> (namespace, name -> RemoteFunction) for functions defined by ``source``."""
    def make(source):
        ns = {"__name__": "__main__", "np": np, "dl": dl}
        name = f"/tmp/ipykernel_0/{abs(hash(source))}.py"  # as IPython keeps a cell's lines, for tracebacks
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
        exec(compile(source, name, "exec"), ns)
        transport = local_transport(ns, tmp_path)

        def function(name):  # as the judge binds it: parameters from the kernel's lookup
            tree, _ = transport(wire.pack({"op": "lookup", "names": [name]}, []))
            return wire.RemoteFunction(name, transport, tree["names"][name].get("parameters"))
        return ns, function
    return make


def test_the_kernels_side_installs_without_the_grading_package(tmp_path):
    """What the sandbox sends into the kernel (grading.wire.kernel_setup) imports nothing from grading: run
    in a Python where ``import grading`` fails, it answers a call."""
    encoder = wire.Encoder()
    tree = {"op": "call", "fn": "double", "args": encoder.encode([np.arange(3.0)]), "kwargs": encoder.encode({})}
    (tmp_path / "r.in").write_bytes(wire.pack(tree, encoder.arrays))
    program = (f"import sys\nsys.modules['grading'] = None\n{wire.kernel_setup('_wire_abc')}\n"
               f"sys.modules['_wire_abc.serve'].serve({str(tmp_path / 'r.in')!r}, {str(tmp_path / 'r.out')!r}, "
               "{'double': lambda x: 2 * x})\n")
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    reply, arrays = wire.unpack((tmp_path / "r.out").read_bytes())
    assert np.array_equal(wire.Decoder(arrays).decode(reply["result"]), [0.0, 2.0, 4.0])


# ---- values across the wire --------------------------------------------------------------------------
def roundtrip(value):
    enc = wire.Encoder()
    tree = enc.encode(value)
    t, arrays = wire.unpack(wire.pack(tree, enc.arrays))
    return wire.Decoder(arrays).decode(t)


def test_plain_values_arrays_and_scalars_round_trip():
    value = {"a": np.arange(6, dtype=np.int32).reshape(2, 3), "b": (1, 2.5, None, True, "ü"), "c": [np.float32(3)],
             "d": np.array(7.0), "e": float("nan"), "f": 2**70, "g": np.array(["x", "yz"])}
    back = roundtrip(value)
    assert back["a"].dtype == np.int32 and np.array_equal(back["a"], value["a"])
    assert back["b"] == value["b"] and isinstance(back["b"], tuple)
    assert isinstance(back["c"][0], np.float32) and back["c"][0] == 3
    assert back["d"].shape == () and back["d"] == 7.0
    assert np.isnan(back["e"]) and back["f"] == 2**70 and list(back["g"]) == ["x", "yz"]


def test_a_model_is_rebuilt_from_dllab_classes_and_computes_the_same():
    dl.seed(0)
    net = dl.Flatten() >> dl.Dense(4, activation=dl.relu) >> dl.Dense(3)
    x = dl.Tensor(np.random.default_rng(0).random((2, 1, 2, 3)).astype(np.float32))
    want = net(x).numpy()
    back = roundtrip(net)
    assert type(back) is dl.Sequential and [type(m) for m in back] == [type(m) for m in net]
    assert back[1].activation is dl.relu
    np.testing.assert_array_equal(back(x).numpy(), want)


def test_a_random_generator_goes_on_where_it_was():
    rng = np.random.default_rng(5)
    rng.random(3)
    back = roundtrip(rng)
    assert np.array_equal(back.random(4), rng.random(4))


@pytest.mark.parametrize("value, why", [
    (np.array([object()], dtype=object), "dtype"),
    (lambda x: x, "cannot be sent"),
    (open, "cannot be sent"),
    (Path("/etc"), "cannot be sent"),
])
def test_what_is_not_data_is_refused_when_sending(value, why):
    with pytest.raises(wire.WireError, match=why):
        wire.Encoder().encode(value)


def message(tree, arrays=()):
    return wire.pack(tree, list(arrays))


@pytest.mark.parametrize("tree, why", [
    ({"object": "os:system", "state": {}, "id": 0}, "dllab's own classes"),
    ({"object": "subprocess:Popen", "state": {}, "id": 0}, "dllab's own classes"),
    ({"function": "os:system"}, "cannot be sent"),
    ({"function": "builtins:eval"}, "cannot be sent"),
    ({"function": "dllab:__class__.__subclasses__"}, "not a function name"),
    ({"object": "dllab.layers.dense:Dense", "state": {"__class__": 1}, "id": 0}, "not allowed"),
    ({"ref": 12}, "reference to nothing"),
    ({"array": 3, "id": 0}, "not in the message"),
    ({"tensor": "dllab.autograd:Tensor", "id": 0, "data": 1, "grad": None}, "not an array"),
    ({"rng": {"dict": [[{"_": 1}, 1]], "id": 1}, "id": 0}, "unknown"),
])
def test_a_reply_that_is_not_allowed_data_is_refused(tree, why):
    t, arrays = wire.unpack(message(tree))
    with pytest.raises(wire.WireError, match=why):
        wire.Decoder(arrays).decode(t)


def test_deep_nesting_and_pickles_and_zip_tricks_are_refused():
    deep = {"tuple": []}
    for _ in range(wire.MAX_DEPTH + 5):
        deep = {"tuple": [deep]}
    t, arrays = wire.unpack(message(deep))
    with pytest.raises(wire.WireError, match="deeply nested"):
        wire.Decoder(arrays).decode(t)
    buffer = io.BytesIO()  # an object array stored with pickle
    np.savez(buffer, tree=np.frombuffer(b'{"array": 0, "id": 0}', dtype=np.uint8), a0=np.array([1, "x", None]))
    with pytest.raises(wire.WireError):
        wire.unpack(buffer.getvalue())
    with pytest.raises(wire.WireError, match="MiB"):
        wire.unpack(b"x" * 2000, limit=1000)
    bomb = io.BytesIO()  # inflates far beyond the limit
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("tree.npy", b"\0" * 5_000_000)
    with pytest.raises(wire.WireError, match="inflate"):
        wire.unpack(bomb.getvalue(), limit=1_000_000)
    with pytest.raises(wire.WireError, match="cannot be read"):
        wire.unpack(b"PK\x03\x04 not a zip")


# ---- calling an answer in the kernel -----------------------------------------------------------------
def test_results_and_in_place_changes_come_back_as_the_callers_own_objects(remote):
    _, fn = remote('''
def scale(x, state, out):
    x *= 2                      # writes into the caller's array
    state["v"] = state.get("v", 0) + 1
    out.append(len(out))
    return x                    # the caller's own array, not a copy
def freeze(model):
    for p in model.parameters():
        p.requires_grad = False
    return model
def split(model, cut):
    return dl.Sequential(*model.layers[:cut]), dl.Sequential(*model.layers[cut:])
''')
    x, state, out = np.ones(3), {}, []
    got = fn("scale")(x, state, out)
    assert got is x and np.array_equal(x, [2, 2, 2]) and state == {"v": 1} and out == [0]
    net = dl.Flatten() >> dl.Dense(4) >> dl.Dense(2)
    net(dl.Tensor(np.zeros((1, 1, 2, 2), np.float32)))
    assert fn("freeze")(net) is net and not any(p.requires_grad for p in net.parameters())
    body, head = fn("split")(net, 2)
    assert body[0] is net[0] and head[0] is net[2] and body[1].W is net[1].W


def test_an_answers_error_comes_back_with_its_type_and_the_attendees_line(remote):
    _, fn = remote('''
def softmax(Z):
    E = np.exp(Z)
    return E / E.sum(axis=1)
def todo(x):
    raise NotImplementedError()
''')
    with pytest.raises(labs.LabCheckError) as info:
        labs.call(fn("softmax"), np.ones((2, 3)))
    text = str(info.value)
    assert "softmax(Z=array (2, 3)) raised ValueError" in text
    assert "in softmax, line 4: return E / E.sum(axis=1)" in text and "could not be broadcast" in text
    with pytest.raises(labs.LabCheckError, match="todo is not written yet"):
        labs.call(fn("todo"), 1)


def test_an_answer_returning_an_object_the_grader_cannot_read_fails_its_test(remote):
    _, fn = remote('''
class Echo:
    def __array__(self, dtype=None, copy=None):
        import inspect
        return inspect.stack()[1].frame.f_locals["expected"]
def softmax(Z):
    return Echo()
''')
    with pytest.raises(labs.LabCheckError, match="cannot read"):
        labs.call(fn("softmax"), np.ones((2, 3)))


# ---- the judge on a whole lab ------------------------------------------------------------------------
LAB = "lab1_logreg"


def run_lab(cells, answers, folder):
    """Run the lab's cells as a kernel would (answers replaced), the judge at each graded test."""
    ns = {"__name__": "__main__"}
    the_judge = judge.Judge(cells, local_transport(ns, folder))
    verdicts = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        if judge.is_graded_test(cell):
            gid = cell["metadata"]["nbgrader"]["grade_id"]
            verdicts[gid] = the_judge.run_test(gid)
            continue
        source = answers(cell) if judge.is_answer(cell) else cell["source"]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with contextlib.suppress(Exception):
                exec(compile(source, "<cell>", "exec"), ns)
    return verdicts


@pytest.fixture(scope="module")
def lab_cells():
    path = GRADING / "source" / LAB / f"{LAB}.ipynb"
    return [dict(c) for c in nbformat.read(path, as_version=4).cells]


def test_the_judge_passes_the_solution_and_fails_a_blank_notebook(lab_cells, tmp_path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    honest = run_lab(lab_cells, lambda c: c["source"], tmp_path)
    assert honest and all(v.passed for v in honest.values()), {k: v.evalue for k, v in honest.items() if not v.passed}
    assert any(k.endswith("_hidden") for k in honest)
    blank = run_lab(lab_cells, lambda c: "def _():\n    raise NotImplementedError()\n" + "\n".join(
        f"{n} = lambda *a, **k: _()" for n in judge._bound(__import__("ast").parse(c["source"]))), tmp_path)
    assert not any(v.passed for v in blank.values())
    assert "is not written yet" in blank["test_softmax"].evalue


def test_the_judge_reads_no_test_from_the_hand_in(lab_cells):
    tests = judge.test_sources(lab_cells)
    assert "BEGIN HIDDEN TESTS" in tests["test_softmax_hidden"]
    assert judge.setup_cells(lab_cells) and not any("BEGIN SOLUTION" in s for s in judge.setup_cells(lab_cells))
    assert {"softmax", "sgd_epoch", "sigmoid"} <= set(judge.answer_names(lab_cells))


def test_a_setup_cell_may_not_call_an_answer():
    cells = [{"cell_type": "code", "source": "def f(x):\n    return x\n",
              "metadata": {"nbgrader": {"solution": True, "grade_id": "f"}}},
             {"cell_type": "code", "source": "y = f(1)\n", "metadata": {"tags": ["judge"]}}]
    with pytest.raises(ValueError, match="must not run attendee code"):
        judge.setup_cells(cells)


# ---- the host's side of the files ----------------------------------------------------------------------
class _Reader:
    max_reply_mb = 1


@pytest.fixture
def read_reply():
    from grading.judge_calls import JudgeCalls

    return lambda path: JudgeCalls._read_reply(_Reader(), path)


def test_the_reply_file_is_read_only_if_it_is_a_plain_file_under_the_limit(tmp_path, read_reply):
    good = tmp_path / "good.out"
    good.write_bytes(b"data")
    assert read_reply(good) == b"data"
    secret = tmp_path / "secret"
    secret.write_text("the instructor's file")
    (tmp_path / "link.out").symlink_to(secret)
    fifo = tmp_path / "fifo.out"
    os.mkfifo(fifo)  # opening it for reading would block the grader
    big = tmp_path / "big.out"
    big.write_bytes(b"x" * (2 * 2**20))
    for path in (tmp_path / "link.out", fifo, big, tmp_path / "missing.out"):
        with pytest.raises(wire.WireError):
            read_reply(path)


def test_the_scan_flags_kernel_tricks_but_not_a_model_put_in_evaluation_mode():
    from grading import scan

    def flags(code):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        return {what for _, what, _ in scan.scan(nb)}

    assert flags("body.eval()\nmodel.eval()\npattern = re.compile('x')\n") == set()
    assert "dynamic code" in flags("eval('1 + 1')")
    for trick in ("sys.displayhook(1)", "get_ipython().set_custom_exc((Exception,), f)", "sys.settrace(t)",
                  "np.__class__ = Fake", "kernel.session.send = f", "import threading", "inspect.stack()",
                  "vars(labs)['check'] = f", "globals()['check'] = f", "ip.showtraceback = f"):
        assert "changes how the kernel runs or reports cells" in flags(trick), trick
