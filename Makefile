# dllab: two commands do all the set-up.
#   make demo   - create .venv, install dllab, train a short MNIST demo
#   make test   - create .venv, install dllab + test tools, run the whole test suite
# Everything installs into .venv next to this file; nothing is downloaded at run time.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-dev

.PHONY: demo test bench accuracy doctor lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch (CPU, 2.13.0) is the test oracle and the benchmark peer; it installs from a local wheel.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e ".[dev,bench]"
	touch $@

demo: $(STAMP)
	$(PY) -m dllab.cli demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

doctor: $(STAMP)
	$(PY) -m dllab.cli doctor

bench: $(STAMP)
	$(PY) benchmarks/bench_core.py

accuracy: $(STAMP)
	$(PY) benchmarks/accuracy_core.py

lint: $(STAMP)
	$(PY) -m ruff check dllab tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
