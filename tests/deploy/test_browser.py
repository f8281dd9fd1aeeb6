"""The labs in a real browser: JupyterLab on localhost, driven by headless Chromium through Playwright.

Runs all cells of tests/deploy/notebooks/widgets_smoke.ipynb, then checks that no cell failed, that the
training dashboard's progress bar and the other widgets rendered, and that the digit pad takes a
mouse stroke and shows class probabilities. Then lab 1: the release notebook (Run All must run the
set-up cells cleanly and stop only at the first unanswered exercise) and the same lab with the
instructor's answers (grading/source; every cell must run without an error, and the lab's training
dashboard, optimizer explorer and digit pad must render, the pad classifying a drawn stroke).

Needs Debian's Chromium (/usr/bin/chromium; `make test` installs it when run as root) and the
playwright package (in the dev extra); without them the tests skip and say so. Playwright never
downloads a browser here: it is pointed at the system's Chromium. Screenshots go to
artifacts/browser/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
SMOKE = ROOT / "tests" / "deploy" / "notebooks" / "widgets_smoke.ipynb"
LAB1 = ROOT / "labs" / "lab1_logreg" / "lab1_logreg.ipynb"  # the release notebook attendees open
LAB1_SOLVED = ROOT / "grading" / "source" / "lab1_logreg" / "lab1_logreg.ipynb"  # where the answers come from
SOLVED_NAME = "lab1_logreg_with_answers.ipynb"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]


def _chromium():
    for candidate in (os.environ.get("DLLAB_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _require_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (it is in dllab's dev extra: `make test` installs it)")
    if _chromium() is None:
        pytest.skip("Chromium was not found at /usr/bin/chromium: install Debian's chromium "
                    "(`apt-get install chromium`; `make test` does it when run as root), or set DLLAB_CHROMIUM")
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        pytest.skip("JupyterLab is not installed (it is in dllab's dev extra)")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(folder: Path):
    """User settings for a predictable JupyterLab: no autosave, every cell in the DOM. The news prompt is left to
    the environment's own settings (binder/jupyterlab-overrides.json, which make lab and make test install):
    test_no_jupyter_news_prompt checks that attendees never see it."""
    settings = {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for plugin, values in settings.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _write_solved(path):
    """The attendees' notebook with the instructor's answers typed into its answer cells: what a finished
    attendee runs (visible tests only, their expected values from the stored answers)."""
    import nbformat

    release = nbformat.read(LAB1, as_version=4)
    source = nbformat.read(LAB1_SOLVED, as_version=4)
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in source.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = "\n".join(line for line in answers[grade_id].splitlines() if "### " not in line)
    nbformat.write(release, path)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """JupyterLab on 127.0.0.1 (random port and token) serving a scratch copy of the notebooks."""
    _require_browser()
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # only this run's screenshots
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "root"
    root.mkdir()
    shutil.copy(SMOKE, root / SMOKE.name)  # a copy: the browser's edits never touch the repository
    if LAB1.exists():
        shutil.copytree(LAB1.parent, root / LAB1.parent.name)
    if LAB1_SOLVED.exists() and LAB1.exists():
        _write_solved(root / SOLVED_NAME)
    _write_settings(tmp / "settings")
    port, token = _free_port(), os.urandom(12).hex()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), PYTHONUNBUFFERED="1")
    env.pop("MPLBACKEND", None)
    log = open(tmp / "jupyterlab.log", "w")  # noqa: SIM115 - closed in the teardown below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
         f"--LabApp.user_settings_dir={tmp / 'settings'}", f"--LabApp.workspaces_dir={tmp / 'workspaces'}"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("JupyterLab did not start:\n" + (tmp / "jupyterlab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"base": base, "token": token, "root": root, "log": tmp / "jupyterlab.log"}
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser(lab_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open_notebook(browser, lab_server, relpath):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    workspace = Path(relpath).stem  # a workspace of its own: no tabs left over from another page
    page.goto(f"{lab_server['base']}/lab/workspaces/{workspace}/tree/{relpath}?reset&token={lab_server['token']}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=90_000)
    # wait until the kernel is connected and idle: the status bar reads "Python 3 (ipykernel) | Idle"
    page.wait_for_function("() => (document.querySelector('#jp-main-statusbar')?.innerText || '').includes('| Idle')",
                           timeout=90_000)
    return page


_ERRORS_JS = """() => [...document.querySelectorAll(
    ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error'],"
  + ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
  .map(e => e.innerText).filter(t => t.includes("Traceback") || t.includes("Error"))"""


def _errors(page):
    """Texts of the outputs that show an exception (JupyterLab renders tracebacks as stderr)."""
    return [t for t in page.evaluate(_ERRORS_JS) if "Traceback" in t]


def _prompts(page):
    return page.eval_on_selector_all(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt",
                                     "els => els.map(e => e.textContent.trim())")


def _run_all(page, timeout_s):
    """Run → Run All Cells from the menu bar; wait until every code cell has run, or one failed.

    Returns the input prompts ("[3]:" ran, "[ ]:" did not run).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(3):  # the first click can land before the notebook is ready to run; then try again
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell "
                ".jp-InputPrompt')].some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))", timeout=15_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    deadline = time.monotonic() + timeout_s
    prompts = []
    while time.monotonic() < deadline:
        time.sleep(0.5)
        prompts = _prompts(page)
        running = any("*" in p for p in prompts)
        waiting = any(p in ("", "[ ]:") for p in prompts)
        if prompts and not running and (not waiting or _errors(page)):
            return prompts
    _shot(page, "timeout.png")
    raise AssertionError(f"the notebook did not finish within {timeout_s} s; prompts: {prompts}")


def _assert_no_errors(page, name):
    errors = _errors(page)
    assert not errors, f"{name}: cells raised errors:\n" + "\n---\n".join(e[:1500] for e in errors)


def _shot(target, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / name))


def _check_dashboard(page, epochs_text, prefix):
    """The training dashboard rendered: a progress bar, a finished status line, a curve image."""
    dashboard = page.locator(".dllab-dashboard").first
    dashboard.wait_for(state="visible", timeout=30_000)
    progress = dashboard.locator(".widget-progress, .widget-hprogress").first
    progress.wait_for(state="visible")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dllab-dashboard')].some(d => d.innerText.includes('done in'))",
        timeout=30_000)
    status = dashboard.inner_text()
    assert epochs_text in status and "samples/s" in status, status
    assert dashboard.locator("img").first.evaluate("img => img.naturalWidth") > 100, "no learning-curve figure"
    dashboard.scroll_into_view_if_needed()
    _shot(dashboard, f"{prefix}_dashboard.png")


def _check_digit_pad(page, prefix):
    """Draw a 7 on the digit pad with the mouse: ten probabilities adding up to 100 % must appear."""
    pad = page.locator(".dllab-digitpad").first
    pad.wait_for(state="visible", timeout=30_000)
    canvas = pad.locator("canvas.dllab-pad-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] > 100, f"the pad's canvas is missing or tiny: {box}"

    # a "7": the bar from left to right, then the stem down and to the left
    def at(fx, fy):
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    page.mouse.move(*at(0.25, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.75, 0.2), steps=12)
    page.mouse.move(*at(0.45, 0.85), steps=16)
    page.mouse.up()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dllab-digitpad .dllab-prob-value')]"
        ".some(e => e.textContent.trim().length > 0)", timeout=30_000)
    values = [float(t.replace("%", "")) for t in pad.locator(".dllab-prob-value").all_inner_texts()]
    assert len(values) == 10, values
    assert abs(sum(values) - 100) < 1.5, f"the probabilities do not add up to 100 %: {values}"
    assert pad.locator(".dllab-pad-hint").inner_text().startswith("prediction:")
    seen = pad.locator("canvas.dllab-pad-seen").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data)"
        ".filter((v, i) => i % 4 == 0 && v > 128).length")
    assert seen > 20, f"'the model sees' shows {seen} bright pixels: the preprocessed image did not arrive"
    _shot(pad, f"{prefix}_digitpad_after_stroke.png")
    _shot(page, f"{prefix}_page_after_stroke.png")

    pad.locator(".dllab-pad-clear").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dllab-digitpad .dllab-prob-value')].every(e => !e.textContent.trim())",
        timeout=15_000)


NEWS_PROMPT = "Would you like to get notified about official Jupyter news?"
NEWS_SETTINGS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "dllab.json"


def test_every_launch_gets_the_setting_that_turns_the_news_prompt_off():
    """make lab, make hub and make test install binder/jupyterlab-overrides.json into the .venv's JupyterLab
    settings (the instructor's `jupyter lab` in grading/ runs from that .venv too); Binder's postBuild (also the
    hub image's) installs the same file. The Makefile defines `test` and `.PHONY` once each."""
    overrides = json.loads((ROOT / "binder" / "jupyterlab-overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"  # a string in the schema
    makefile = (ROOT / "Makefile").read_text()
    assert "LABNEWS = $(VENV)/share/jupyter/lab/settings/overrides.d/dllab.json" in makefile
    rules = {line.split(":", 1)[0]: line.split(":", 1)[1].split() for line in makefile.splitlines()
             if line.split(":", 1)[0] in ("lab", "hub", "test", ".PHONY") and ":" in line and "=" not in line}
    for target in ("lab", "hub", "test"):
        assert "$(LABNEWS)" in rules[target], f"make {target} does not install the JupyterLab settings"
    assert [line.split(":")[0] for line in makefile.splitlines()].count("test") == 1, "the Makefile defines test twice"
    assert [line.split(":")[0] for line in makefile.splitlines()].count(".PHONY") == 1
    assert rules["test"][:4] == ["$(STAMP)", "chromium", "bubblewrap", "hub-proxy"]
    post = (ROOT / "binder" / "postBuild").read_text()
    assert 'cp binder/jupyterlab-overrides.json "$settings/overrides.d/dllab.json"' in post


def test_no_jupyter_news_prompt(browser, lab_server):
    """JupyterLab's first-start question about Jupyter news, which 200 attendees would each click away, never shows:
    the environment's settings (binder/jupyterlab-overrides.json: fetchNews "false") answer it."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab_server['base']}/lab/workspaces/news?reset&token={lab_server['token']}")
        page.wait_for_selector(".jp-DirListing-item", timeout=90_000)  # the application is restored
        deadline = time.monotonic() + 6  # the prompt comes within a second or two of the restore
        while time.monotonic() < deadline:
            shown = page.evaluate("t => document.body.innerText.includes(t)", NEWS_PROMPT)
            if shown:
                _shot(page, "news_prompt.png")
                where = (f"{NEWS_SETTINGS} (installed by make lab and make test from binder/jupyterlab-overrides.json)"
                         if not NEWS_SETTINGS.exists() else f"{NEWS_SETTINGS} is there but did not take effect")
                pytest.fail(f"JupyterLab asked {NEWS_PROMPT!r}: the setting that turns it off is missing: {where}")
            time.sleep(0.5)
    finally:
        page.close()


def test_widgets_smoke_notebook_in_chromium(browser, lab_server):
    page = _open_notebook(browser, lab_server, SMOKE.name)
    try:
        _run_all(page, timeout_s=120)
        _shot(page, "smoke_after_run_all.png")
        _assert_no_errors(page, SMOKE.name)

        _check_dashboard(page, "epoch 3/3", "smoke")

        explorer = page.locator(".dllab-explorer").first
        explorer.wait_for(state="visible")
        assert explorer.locator(".widget-slider").count() >= 4, "the explorer's sliders did not render"
        explorer.scroll_into_view_if_needed()
        _shot(explorer, "smoke_explorer.png")

        _check_digit_pad(page, "smoke")
    finally:
        page.close()


def _first_answer_cell(notebook: Path):
    """Index (among code cells) of the first cell an attendee must fill in (nbgrader "solution")."""
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            return i
    return len(cells)


@pytest.mark.skipif(not LAB1.exists(), reason=f"lab 1 ({LAB1.relative_to(ROOT)}) is not written yet")
def test_lab1_release_notebook_in_chromium(browser, lab_server):
    """What an attendee sees: Run All runs the set-up cells cleanly and stops at the first exercise."""
    relpath = f"{LAB1.parent.name}/{LAB1.name}"
    page = _open_notebook(browser, lab_server, relpath)
    try:
        prompts = _run_all(page, timeout_s=90)
        stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        if stderr.count():
            stderr.first.scroll_into_view_if_needed()
        _shot(page, "lab1_release_after_run_all.png")
        first = _first_answer_cell(LAB1)
        assert all(p.strip("[]:").isdigit() for p in prompts[:first + 1]), \
            f"cells before the first exercise did not all run: {prompts}"
        errors = _errors(page)
        assert all("NotImplementedError" in e for e in errors), (
            f"{relpath}: the only error expected before the attendee's answers is an unanswered exercise's "
            "NotImplementedError, got:\n" + "\n---\n".join(e[:1500] for e in errors))
    finally:
        page.close()


@pytest.mark.skipif(not LAB1_SOLVED.exists(), reason=f"{LAB1_SOLVED.relative_to(ROOT)} is not written yet")
def test_lab1_with_answers_runs_clean_in_chromium(browser, lab_server):
    """Lab 1 as attendees get it, with the instructor's answers typed in (CI-sized by its parameters'
    defaults): every cell runs, no errors, with no answer key at hand."""
    page = _open_notebook(browser, lab_server, SOLVED_NAME)
    try:
        prompts = _run_all(page, timeout_s=150)
        _shot(page, "lab1_answers_after_run_all.png")
        training = page.locator(".jp-CodeCell", has_text="trainer.fit(")
        if training.count():
            training.first.scroll_into_view_if_needed()
            _shot(page, "lab1_answers_training_cell.png")
        _assert_no_errors(page, SOLVED_NAME)
        assert all(p.strip("[]:").isdigit() for p in prompts), f"not every cell ran: {prompts}"
        images = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img").count()
        assert images >= 3, f"expected the lab's figures in the outputs, found {images} images"
        # the lab's own widgets: the training dashboard, the optimizer explorer, the digit pad
        _check_dashboard(page, "epoch 5/5", "lab1")
        explorer = page.locator(".dllab-explorer").first
        explorer.wait_for(state="visible")
        assert explorer.locator(".widget-slider").count() >= 4, "lab 1's explorer did not render its sliders"
        _check_digit_pad(page, "lab1")
    finally:
        page.close()
