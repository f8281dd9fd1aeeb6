"""A class on JupyterHub, end to end on this machine, with deploy/jupyterhub's own configuration.

The hub (real JupyterHub, configurable-http-proxy, the formgrader service, the idle culler) starts
on free ports of 127.0.0.1 with a temporary state folder and a temporary copy of the course. Twelve
attendees are created through the REST API and their servers started a few at a time; each does
what JupyterLab's Assignments panel does, through its own server's REST endpoints: list the
course's assignments, fetch lab 1, save the notebook through the contents API (half of them with
the solutions, half as handed out), submit. The instructor releases lab 1 into the exchange,
collects, autogrades (python -m grading autograde: each hand-in in its own sandbox, two at a time) and
exports. Then: every grade is checked (full marks or nothing for the autograded cells), every
submission is filed under its own attendee, the formgrader answers an instructor and refuses an
attendee, and after the hub is stopped none of its processes is left.

Figures (hub start, server starts, fetch/save/submit latency, memory per attendee, grading time)
are printed, and written as JSON to $DLLAB_HUB_FIGURES when that is set
(deploy/jupyterhub/measured-hub.json comes from there; deploy/jupyterhub/sizing.py reads it).

Without configurable-http-proxy (``make test`` installs it with npm into
deploy/jupyterhub/node_modules) the hub tests skip and say so. The configuration alone, and the
Kubernetes values, are checked in test_hub_config.py; the machinery is in hub_helpers.py.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from hub_helpers import (
    AT_ONCE,
    ATTENDEES,
    COURSE,
    DEPLOY,
    GRADING_WORKERS,
    HTTP_TIMEOUT,
    INSTRUCTOR,
    LAB,
    SOLVED,
    Hub,
    course_copy,
    jupyterhub,
    memory,
    nbgrader,
    needs_proxy,
    port_open,
    requests,
    run_bounded,
    solutions,
    summary,
    tool_env,
)


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path)
    try:
        yield h
    finally:
        h.stop()
        h.kill_leftovers()


# --- the class -----------------------------------------------------------------------------------

@needs_proxy
def test_class_of_twelve_on_jupyterhub(hub, tmp_path):
    from nbgrader.api import Gradebook

    figures = {"machine": {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
                           "python": platform.python_version(), "jupyterhub": jupyterhub.__version__,
                           "load_at_start": os.getloadavg()[0]},
               "attendees": len(ATTENDEES), "at_once": AT_ONCE}
    t_test = time.monotonic()

    # the instructor's course: lab 1 generated from its source, then released into the exchange
    course_copy(hub.course)
    instructor_env = tool_env({"JUPYTER_CONFIG_PATH": str(DEPLOY / "instructor"),
                               "DLLAB_HUB_EXCHANGE": str(hub.exchange),
                               "DLLAB_SUBMISSION_OWNER": "any"})  # the shared trial mode: one owner for all
    code, out = run_bounded([sys.executable, "-m", "grading", "release", LAB], hub.course, instructor_env, 300)
    assert code == 0, out
    source_nb = nbformat.read(hub.course / "source" / LAB / f"{LAB}.ipynb", as_version=4)
    answers = solutions(source_nb)

    figures["hub_start_s"] = round(hub.start(), 2)

    # 12 attendees, created through the REST API, their servers started AT_ONCE at a time
    r = hub.api("POST", "/users", json={"usernames": ATTENDEES})
    assert r.status_code == 201, r.text
    t0 = time.monotonic()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        started = dict(zip(ATTENDEES, pool.map(hub.spawn, ATTENDEES)))
    figures["all_servers_started_s"] = round(time.monotonic() - t0, 2)
    figures["server_start_s"] = summary([s for s, _ in started.values()])
    pids = {user: pid for user, (_, pid) in started.items()}
    hub.remember()
    idle = {user: memory(pid) for user, pid in pids.items()}

    # the instructor releases lab 1 into the exchange
    out, figures["release_assignment_s"] = nbgrader(hub.course, "release_assignment", LAB, env=instructor_env)
    assert (hub.exchange / COURSE / "outbound" / LAB / f"{LAB}.ipynb").exists(), out

    # each attendee: the Assignments panel's list, fetch, save (contents API) and submit
    def attend(user):
        t = {}
        t0 = time.monotonic()
        r = hub.server("GET", user, f"assignments?course_id={COURSE}")
        t["list_s"] = time.monotonic() - t0
        assert r.status_code == 200, f"{user}: assignments list {r.status_code} {r.text[:500]}"
        listed = r.json()
        assert listed["success"], listed
        assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(LAB, "released")], listed

        t0 = time.monotonic()
        r = hub.server("POST", user, "assignments/fetch", json={"course_id": COURSE, "assignment_id": LAB})
        t["fetch_s"] = time.monotonic() - t0
        assert r.status_code == 200 and r.json()["success"], f"{user}: fetch {r.status_code} {r.text[:2000]}"
        fetched = [a for a in r.json()["value"] if a["status"] == "fetched"]
        assert len(fetched) == 1, r.json()
        path = fetched[0]["notebooks"][0]["path"]
        assert path == f"{LAB}/{LAB}.ipynb", path

        t0 = time.monotonic()
        r = hub.server("GET", user, f"api/contents/{path}?content=1")
        assert r.status_code == 200, f"{user}: open {path}: {r.status_code}"
        nb = r.json()["content"]
        if user in SOLVED:
            for cell in nb["cells"]:
                gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
                if gid in answers:
                    cell["source"] = answers[gid]
        r = hub.server("PUT", user, f"api/contents/{path}", json={"type": "notebook", "format": "json", "content": nb})
        t["save_s"] = time.monotonic() - t0
        assert r.status_code == 200, f"{user}: save {r.status_code} {r.text[:500]}"

        t0 = time.monotonic()
        r = hub.server("POST", user, "assignments/submit", json={"course_id": COURSE, "assignment_id": LAB})
        t["submit_s"] = time.monotonic() - t0
        assert r.status_code == 200 and r.json()["success"], f"{user}: submit {r.status_code} {r.text[:2000]}"
        assert any(a["status"] == "submitted" for a in r.json()["value"]), r.json()
        return t

    t0 = time.monotonic()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        acted = dict(zip(ATTENDEES, pool.map(attend, ATTENDEES)))
    figures["all_attendees_list_fetch_save_submit_s"] = round(time.monotonic() - t0, 2)
    for step in ("list_s", "fetch_s", "save_s", "submit_s"):
        figures[step] = summary([t[step] for t in acted.values()])
    working = {user: memory(pid) for user, pid in pids.items()}
    figures["per_attendee"] = {user: {"server_start_s": round(started[user][0], 2),
                                      **{k: round(v, 3) for k, v in acted[user].items()},
                                      "server_rss_mib": round(idle[user][0], 1),
                                      "server_rss_after_submit_mib": round(working[user][0], 1)}
                               for user in ATTENDEES}
    figures["server_rss_mib"] = summary([rss for rss, _ in idle.values()])
    figures["server_pss_mib"] = summary([pss for _, pss in idle.values()])
    figures["server_rss_after_submit_mib"] = summary([rss for rss, _ in working.values()])
    hub.remember()

    # every hand-in is in the exchange under its own attendee's name
    inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / COURSE / "inbound").iterdir())
    assert inbound == ATTENDEES, f"submissions filed under {inbound}: the student id is not the hub user"

    # the formgrader: an instructor's token opens it, an attendee's does not
    teacher, student = hub.user_token(INSTRUCTOR), hub.user_token(ATTENDEES[0])
    formgrader = f"{hub.url}/services/{COURSE}/formgrader"
    r = requests.get(formgrader, headers={"Authorization": f"token {teacher}"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and "nbgrader" in r.text.lower(), f"instructor: {r.status_code}\n{hub.log_tail()}"
    r = requests.get(formgrader, headers={"Authorization": f"token {student}"}, timeout=HTTP_TIMEOUT,
                     allow_redirects=False)
    assert r.status_code == 403, f"an attendee reached the formgrader: {r.status_code}"
    # nor the formgrader of their own server, nor another attendee's server
    r = hub.server("GET", ATTENDEES[0], "formgrader", token=student)
    assert r.status_code == 404, f"the attendees' servers should have no formgrader: {r.status_code}"
    r = hub.server("GET", ATTENDEES[1], "api/contents", token=student)
    assert r.status_code in (403, 404), f"{ATTENDEES[0]} opened {ATTENDEES[1]}'s files: {r.status_code}"

    # the instructor collects, autogrades and exports
    out, figures["collect_s"] = nbgrader(hub.course, "collect", LAB, env=instructor_env)
    for user in ATTENDEES:
        submitted = hub.course / "submitted" / user / LAB / f"{LAB}.ipynb"
        assert submitted.exists(), f"{user}'s hand-in was not collected:\n{out[-3000:]}"
        nb = nbformat.read(submitted, as_version=4)
        cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
        solved = all(cells[gid] == text for gid, text in answers.items())
        assert solved == (user in SOLVED), f"{user}'s collected notebook is not the one {user} saved"

    # python -m grading autograde: each hand-in in its own sandbox (nbgrader's autograde), GRADING_WORKERS at a time
    runner = [sys.executable, "-m", "grading", "autograde", LAB, f"--workers={GRADING_WORKERS}"]
    if shutil.which("bwrap") is None:
        runner.append("--unsafe-no-sandbox")  # the class's own notebooks; the sandbox is tested in test_grading
    t0 = time.monotonic()
    code, out = run_bounded(runner, hub.course, instructor_env, 900)
    figures["autograde_s"] = round(time.monotonic() - t0, 1)
    assert code == 0, f"python -m grading autograde failed:\n{out[-4000:]}"
    figures["autograde_notebooks_per_min"] = round(60 * len(ATTENDEES) / figures["autograde_s"], 2)
    figures["autograde_runner"] = " ".join(["python"] + runner[1:])
    report = json.loads((hub.course / "reports" / LAB / "report.json").read_text())["students"]
    assert sorted(report) == ATTENDEES and all(r["verdict"] != "not graded" for r in report.values()), report
    _, figures["export_s"] = nbgrader(hub.course, "export", env=instructor_env)

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}", course_id=COURSE) as gb:
        notebook = gb.find_assignment(LAB).notebooks[0]
        auto = {c.name: c.max_score for c in notebook.grade_cells if c.cell_type == "code"}
        assert len(auto) >= 5, auto
        for user in ATTENDEES:
            grades = {g.name: g for g in gb.find_submission_notebook(LAB, LAB, user).grades}
            for name, points in auto.items():
                expected = points if user in SOLVED else 0
                assert grades[name].auto_score == expected, \
                    f"{user}: {name} scored {grades[name].auto_score}, expected {expected}"
    with open(hub.course / "grades.csv") as f:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f) if row["assignment"] == LAB}
    assert rows == {u: (sum(auto.values()) if u in SOLVED else 0.0) for u in ATTENDEES}, rows

    # the formgrader sees the class
    r = requests.get(f"{formgrader}/api/assignment/{LAB}", headers={"Authorization": f"token {teacher}"},
                     timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.json()["num_submissions"] == len(ATTENDEES), r.text[:500]

    # stopping the hub stops everything it started: servers, services, proxy
    hub.remember()
    assert len(hub.seen) >= len(ATTENDEES) + 4, f"only {len(hub.seen)} processes seen"
    t0 = time.monotonic()
    left = hub.stop()
    figures["hub_stop_s"] = round(time.monotonic() - t0, 2)
    assert not left, f"still running after the hub stopped: {[(p.pid, p.cmdline()) for p in left]}"
    assert hub.process.poll() is not None  # poll: wait() may have timed out just before the hub exited
    for p in (hub.port, hub.api_port, hub.proxy_api_port, hub.formgrader_port):
        assert not port_open(p), f"port {p} is still open"

    figures["processes_seen"] = len(hub.seen)
    figures["test_s"] = round(time.monotonic() - t_test, 1)
    figures["load_at_end"] = os.getloadavg()[0]
    print("\nclass hub figures:", json.dumps(figures, indent=1))
    if os.environ.get("DLLAB_HUB_FIGURES"):
        Path(os.environ["DLLAB_HUB_FIGURES"]).write_text(json.dumps(figures, indent=1) + "\n")
