"""The examples in dllab's docstrings run, and give what they show (doctest over every module).

Each module of the package is imported and its ``>>>`` examples run with the module's own
names in scope, as ``python -m doctest`` would. Modules that need CuPy import it only
inside the functions a GPU reaches, so every module imports here without a GPU.
"""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import dllab

MODULES = sorted(m.name for m in pkgutil.walk_packages(dllab.__path__, "dllab."))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# every family of ops and layers shows at least one runnable example
FAMILIES = [
    "dllab.autograd",
    "dllab.functional.activations", "dllab.functional.basic", "dllab.functional.batchnorm",
    "dllab.functional.conv", "dllab.functional.dropout", "dllab.functional.losses",
    "dllab.functional.pool", "dllab.functional.recurrent", "dllab.functional.recurrent.common",
    "dllab.functional.recurrent.gru_rnn", "dllab.functional.recurrent.lstm_sequence",
    "dllab.functional.reference", "dllab.functional.reference.batchnorm", "dllab.functional.reference.conv",
    "dllab.functional.reference.pool", "dllab.functional.reference.recurrent",
    "dllab.layers.checkpoint", "dllab.layers.conv", "dllab.layers.dense", "dllab.layers.init",
    "dllab.layers.module", "dllab.layers.recurrent",
]


def examples(module_name):
    """The module and its docstrings that hold at least one example."""
    module = importlib.import_module(module_name)
    return module, [t for t in doctest.DocTestFinder().find(module, module_name) if t.examples]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name):
    """Every module imports without a GPU; its examples, where it has some, pass."""
    _, tests = examples(module_name)
    report = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    state = np.get_printoptions()
    try:
        for test in tests:
            dllab.seed(0)  # examples that draw random numbers see the same ones every run
            runner.run(test, out=report.append)
    finally:
        np.set_printoptions(**state)
    assert runner.failures == 0, (
        f"{runner.failures} of {runner.tries} examples in {module_name} failed:\n" + "".join(report))


@pytest.mark.parametrize("module_name", FAMILIES)
def test_every_op_and_layer_family_has_an_example(module_name):
    _, tests = examples(module_name)
    assert tests, (
        f"{module_name} has no docstring example: add one (a '>>>' line and its output) to the module "
        "or to a public function's docstring"
    )


def test_the_family_list_names_every_op_and_layer_module():
    """A new module under functional/ or layers/ joins FAMILIES, so it gets an example too."""
    ops_and_layers = {m for m in MODULES if m.startswith(("dllab.functional.", "dllab.layers."))}
    assert ops_and_layers <= set(FAMILIES), f"add to FAMILIES: {sorted(ops_and_layers - set(FAMILIES))}"
