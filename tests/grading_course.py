"""A temporary nbgrader course laid out like the repository, and grading/README.md's commands to run in it."""

from __future__ import annotations

import html
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
GRADING = ROOT / "grading"
SCRIPTS = ("nbgrader_config.py", "release.py", "grade.py", "integrity.py", "sandbox.py", "kernel_guard.py")
STEPS = {"release": "python release.py", "collect": "python grade.py collect",
         "autograde": "python grade.py autograde", "feedback": "nbgrader generate_feedback",
         "report": "python grade.py report", "export": "nbgrader export"}


def meta(cell):
    return cell.metadata.get("nbgrader", {})


def readme_commands():
    """The instructor's commands of grading/README.md's steps 1-7, by step."""
    text = (GRADING / "README.md").read_text()
    text = text[text.index("## 1. Release"):]
    lines = [line.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.DOTALL) for line in block.splitlines()]
    found = {}
    for step, prefix in STEPS.items():
        match = [line for line in lines if line.startswith(prefix)]
        assert match, f"grading/README.md has no `{prefix} ...` command"
        found[step] = match[0]
    return found


def environment(tmp: Path) -> dict:
    """The kernel 'python3' is this Python (a spec first on JUPYTER_PATH); nbgrader's tools on PATH."""
    spec = tmp / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (dllab tests)", "language": "python"}))
    env = dict(os.environ)
    env.pop("NBGRADER_EXECUTION", None)
    env.update({
        "JUPYTER_PATH": str(tmp / "jupyter"),
        "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        "CI": "true", "MPLBACKEND": "Agg", "DLLAB_DEVICE": "cpu",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    return env


def make_course(tmp: Path, labs):
    """grading/ (config, scripts, the labs' sources) next to labs/, in ``tmp``."""
    course = tmp / "grading"
    (course / "source").mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy(GRADING / name, course)
    for extra in (GRADING / "source").glob("*.toml"):
        shutil.copy(extra, course / "source")
    for lab in labs:
        shutil.copytree(GRADING / "source" / lab, course / "source" / lab,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
    return course, environment(tmp)


def run_readme(command, course, env, extra=(), check=True):
    argv = shlex.split(command)
    argv = [sys.executable] + argv[1:] if argv[0] == "python" else [sys.executable, "-m", "nbgrader"] + argv[1:]
    result = subprocess.run(argv + list(extra), check=False, cwd=course, env=env, capture_output=True, text=True,
                            timeout=900)
    output = result.stdout + result.stderr
    if check:
        assert result.returncode == 0, f"`{command}` failed:\n{output[-4000:]}"
    return output


def release_and_source(course, lab):
    release = nbformat.read(course.parent / "labs" / lab / f"{lab}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / lab / f"{lab}.ipynb", as_version=4)
    return release, source


def student_solution(source):
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def solutions_of(source_nb):
    return {meta(c)["grade_id"]: student_solution(c.source) for c in source_nb.cells if meta(c).get("solution")}


def text_of(html_doc):
    """What a reader sees in an HTML page: tags stripped (code is split into many spans), entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_doc))


def hidden_lines(source_nb):
    lines = []
    for cell in source_nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "### END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25:
                lines.append(line.strip())
    return lines
