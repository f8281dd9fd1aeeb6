# dllab: two commands do all the set-up.
#   make lab    - create .venv, install dllab + JupyterLab + nbgrader, open JupyterLab on labs/
#   make test   - create .venv, install dllab + test tools, run the whole test suite
#   make demo   - create .venv, install dllab, train a short MNIST demo in the terminal
# Everything installs into .venv next to this file; nothing is downloaded at run time.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-dev
LABSTAMP = $(VENV)/.installed-lab
# JupyterLab refuses to start as root unless told; cloud GPU machines and containers often are root
ROOTFLAG = $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: demo test test-fast mutation lab chromium bubblewrap hub hub-proxy bench accuracy doctor lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch (CPU, 2.13.0) is the test oracle and the benchmark peer; it installs from a local wheel.
# binder/requirements.txt constrains the versions, so the tests, the labs and Binder run the same
# JupyterLab, nbgrader, ipywidgets and numpy.
$(STAMP): pyproject.toml binder/requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -e ".[dev,bench,hub]" -c binder/requirements.txt
	touch $@ $(LABSTAMP)

# The labs need no PyTorch: make lab installs dllab with JupyterLab and nbgrader only.
$(LABSTAMP): pyproject.toml binder/requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -e ".[dev]" -c binder/requirements.txt
	touch $@

demo: $(LABSTAMP)
	$(PY) -m dllab.cli demo

# JupyterLab's "Would you like to get notified about official Jupyter news?" (and its news and update
# checks) off for everyone who runs JupyterLab from this .venv: make lab, the class hub's servers and
# formgrader, the instructor's `jupyter lab` in grading/ (binder/postBuild installs the same file on
# Binder and in the hub's image). In overrides.d, so that an overrides.json of one's own still wins.
LABNEWS = $(VENV)/share/jupyter/lab/settings/overrides.d/dllab.json
$(LABNEWS): binder/jupyterlab-overrides.json | $(VENV)/bin/python
	mkdir -p $(dir $@)
	cp $< $@

# One BLAS thread: on a busy 2-core machine OpenBLAS's threads fight the notebook kernels the
# tests start; speed is measured by benchmarks/, never by tests. The tests need Chromium (the browser
# test), bubblewrap (grading), the hub's proxy (the hub test; hub-proxy below) and JupyterLab's settings.
test: $(STAMP) chromium bubblewrap hub-proxy $(LABNEWS)
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider --durations=25

# The edit-test loop: all but the slow tests (notebooks, nbgrader, browser, hub, Binder: marked
# slow where they are defined, all of tests/deploy), in about a minute. `make test` (CI) still runs everything.
test-fast: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -q -p no:cacheprovider -m "not slow"

# Mutation testing of the core with mutmut (docs/testing.md): minutes per module, so not part of
# make test; niced for a shared machine. MODULES="metrics optim" runs some of them.
MUTSTAMP = $(VENV)/.installed-mutation
$(MUTSTAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install -q -e ".[dev,bench,mutation]" -c binder/requirements.txt
	touch $@

mutation: $(MUTSTAMP)
	nice -n 19 $(PY) benchmarks/mutation.py $(MODULES)

# JupyterLab on labs/ with the nbgrader and widget extensions (they come with the Python packages),
# as attendees see it: binder/attendee hides nbgrader's instructor panels (grading/README.md has
# the instructor's own `jupyter lab`).
lab: $(LABSTAMP) $(LABNEWS)
	JUPYTER_CONFIG_PATH=$(CURDIR)/binder/attendee $(VENV)/bin/jupyter lab --ServerApp.root_dir=labs $(ROOTFLAG)

# The browser test drives Debian's Chromium (no browser download). Installed when we are root and
# have apt-get; never fails: without Chromium, tests/deploy/test_browser.py skips and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "chromium not found (install it as root: apt-get install chromium): the browser test will be skipped"; fi; \
	} || true

# Autograding executes each hand-in in a bubblewrap sandbox (grading/sandbox.py). Installed when we
# are root and have apt-get; without it the grading tests skip and say why.
bubblewrap:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
	      || echo "could not install bubblewrap: the grading tests will be skipped"; \
	  else echo "bwrap not found (install it as root: apt-get install bubblewrap): the grading tests will be skipped"; fi; \
	} || true

# A class hub on this machine (deploy/jupyterhub/README.md): JupyterHub, its proxy from npm in a local
# folder, the formgrader, attendees' servers. Settings: DLLAB_HUB_* variables. As root (`sudo make hub`)
# the hub makes a Unix account per attendee, the grader account, and the exchange's and course's owners
# and modes (grading/isolation.py); as anyone else it runs in trial mode, one user for all.
HUBDIR   = deploy/jupyterhub
HUBPROXY = $(HUBDIR)/node_modules/.bin/configurable-http-proxy
HUBSTAMP = $(VENV)/.installed-hub

$(HUBSTAMP): pyproject.toml binder/requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install -q -e ".[dev,hub]" -c binder/requirements.txt
	touch $@

$(HUBPROXY):
	npm install --no-save --no-package-lock --no-audit --no-fund --prefix $(HUBDIR) configurable-http-proxy@5.3.0

hub: $(HUBSTAMP) $(HUBPROXY) $(LABNEWS)
	@test "$$(id -u)" = 0 || echo "make hub: not root, so TRIAL MODE: every attendee runs as $$(id -un) and can read the others' work (sudo make hub for a class)"
	$(VENV)/bin/jupyterhub -f $(HUBDIR)/jupyterhub_config.py

# the tests need the proxy too (make test); without npm, tests/deploy/test_hub_class.py skips and says why
hub-proxy:
	@test -x $(HUBPROXY) || { command -v npm >/dev/null 2>&1 && $(MAKE) --no-print-directory $(HUBPROXY); } \
	  || echo "could not install configurable-http-proxy with npm: the hub test will be skipped"

doctor: $(LABSTAMP)
	$(PY) -m dllab.cli doctor

bench: $(STAMP)
	$(PY) benchmarks/bench_core.py

accuracy: $(STAMP)
	$(PY) benchmarks/accuracy_core.py

lint: $(STAMP)
	$(PY) -m ruff check dllab tests benchmarks grading/*.py $(dir $(wildcard grading/*/__init__.py)) grading/source deploy tools

clean:
	rm -rf $(VENV) build *.egg-info
