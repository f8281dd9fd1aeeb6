"""The class hub's default set-up on one machine keeps attendees apart, tried by an attendee who attacks.

The hub runs as root with deploy/jupyterhub's configuration and DLLAB_HUB_SPAWNER=isolated (root's
default): each attendee's server runs as a Unix account the hub makes at first login (home 0700),
the course and nbgrader's exchange belong to a grader account. Two attendees, dlt-ann and dlt-bob,
are created through the REST API; each fetches lab 1 and submits through their own server's REST
endpoints, as the Assignments panel does (ann with the solutions). Then dlt-bob, as his own Unix
account (runuser), tries what a classmate would: list inbound/, read, change, rename or delete ann's
submission (even knowing its random name), read her home, her feedback and her server's
environment, signal her server, read the course and the hub's database, write into outbound/,
forge a submission under ann's name and hand in a link into the course's solutions. Every attempt
must fail, except the forging, which the instructor's collect must refuse: ann's own submission is
collected intact and graded (python -m grading autograde, full marks), bob's genuine one too (zero),
as the grader account; ann fetches her feedback. The per-attendee limits are read from the kernel
(/proc/<pid>/limits, cgroups where the machine allows them), and a hub name that is an existing
account outside the attendees' group (here the grader) is refused.

Every account and group the test makes is named dlt-* (or is the hub's dllab-attendees group, made by
the hub when it did not exist) and removed at the end. Needs root, useradd and runuser, and the
proxy (`make hub-proxy`).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from hub_helpers import COURSE, DEPLOY, LAB, Hub, course_copy, needs_proxy, run_bounded, solutions, tool_env

pytest.importorskip("jupyterhub")
from grading import isolation  # noqa: E402 - the hub's accounts and modes (grading/isolation.py)

pytestmark = [
    needs_proxy,
    pytest.mark.skipif(os.geteuid() != 0 or not all(shutil.which(t) for t in ("useradd", "userdel", "runuser")),
                       reason="per-attendee Unix accounts need root, useradd and runuser (CI runs as root)"),
]

ANN, BOB, GRADER, TEACHER = "dlt-ann", "dlt-bob", "dlt-grader", "dlt-teacher"
PYTHON = [sys.executable]  # the public environment's python, once the fixture has made it
GROUP = "dllab-attendees"
MEM = "2G"
NPROC = 300
FUTURE = "2099-01-01 00:00:00.000000 UTC"


def public_environment(base: Path):
    """This Python environment, runnable by every account: itself where it is, else (its interpreter is
    out of reach, e.g. pyenv under /root) a venv at ``base`` from a system Python of the same version
    that reads this environment's packages, settings and data."""
    if isolation.python_for_all() is None:
        return Path(sys.executable).parent
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = shutil.which(version, path="/usr/local/bin:/usr/bin")
    if system is None or not isolation.reachable_by_all(system):
        pytest.skip(f"this environment's Python is out of other accounts' reach and there is no system {version}")
    venv = base / "venv"
    subprocess.run([system, "-m", "venv", "--without-pip", str(venv)], check=True)
    main = Path(sys.prefix)
    site = venv / "lib" / version / "site-packages"
    packages = main / "lib" / version / "site-packages"
    (site / "dlt-main-env.pth").write_text(f"import site; site.addsitedir({str(packages)!r})\n")
    for name in ("etc", "share"):
        if (main / name).exists():
            (venv / name).symlink_to(main / name)
    for script in (main / "bin").iterdir():
        if script.is_file() and not (venv / "bin" / script.name).exists():
            lines = script.read_bytes().split(b"\n", 1)
            if len(lines) == 2 and lines[0].startswith(b"#!") and b"python" in lines[0]:
                target = venv / "bin" / script.name
                target.write_bytes(b"#!" + str(venv / "bin" / "python").encode() + b"\n" + lines[1])
                target.chmod(0o755)
    return venv / "bin"


def as_user(user, argv, cwd, env, timeout=300):
    """``argv`` as the Unix account ``user`` (runuser), with exactly ``env`` and the account's HOME."""
    env = dict(env, HOME=pwd.getpwnam(user).pw_dir, USER=user, LOGNAME=user,
               PATH=f"{Path(PYTHON[0]).parent}{os.pathsep}{env.get('PATH', '')}")
    return run_bounded(["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()], *argv],
                       cwd, env, timeout)


def attack(user, checks: dict, cwd):
    """Run each snippet of ``checks`` as ``user``: {name: 'denied' | 'ALLOWED ...'} (OSError = denied)."""
    script = textwrap.dedent("""
        import json, os, shutil, sys
        results = {}
        for name, code in json.loads(sys.argv[1]).items():
            try:
                exec(code, {"os": os, "shutil": shutil})
                results[name] = "ALLOWED"
            except PermissionError as e:
                results[name] = "denied"
            except OSError as e:
                results[name] = f"denied ({e.__class__.__name__})"
        print("RESULTS" + json.dumps(results))
    """)
    code, out = as_user(user, [PYTHON[0], "-c", script, json.dumps(checks)], cwd, tool_env(), 120)
    assert code == 0, out
    return json.loads(out.split("RESULTS", 1)[1])


@pytest.fixture
def isolated_hub():
    group_existed = True
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        group_existed = False
    for name in (ANN, BOB, GRADER):
        try:
            pwd.getpwnam(name)
            pytest.fail(f"the Unix account {name} exists already (a previous run's?): `userdel -r {name}`")
        except KeyError:
            pass
    base = Path(tempfile.mkdtemp(prefix="dlt-hub-", dir="/tmp"))
    base.chmod(0o755)  # attendees reach the exchange and their homes below it; pytest's tmp_path is 0700
    (base / "home").mkdir(mode=0o755)
    bin_dir = public_environment(base)
    hub = Hub(base, spawner="isolated", bin_dir=bin_dir, extra_env={
        "DLLAB_HUB_HOME_BASE": str(base / "home"), "DLLAB_HUB_GRADER_USER": GRADER,
        "DLLAB_HUB_INSTRUCTORS": TEACHER, "DLLAB_HUB_MEM_LIMIT": MEM, "DLLAB_HUB_NPROC_LIMIT": str(NPROC)})
    hub.python = str(bin_dir / "python")
    try:
        yield hub
    finally:
        hub.stop()
        hub.kill_leftovers()
        for name in (ANN, BOB, GRADER):
            isolation.remove_account(name)
        if not group_existed:
            subprocess.run(["groupdel", GROUP], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_attendees_cannot_read_or_change_each_others_work(isolated_hub):
    hub = isolated_hub
    PYTHON[0] = hub.python
    t_test = time.monotonic()
    figures = {}

    # the course as root, before the hub hands it to the grader account
    course_copy(hub.course)
    code, out = run_bounded([sys.executable, "-m", "grading", "release", LAB], hub.course, tool_env(), 300)
    assert code == 0, out
    answers = solutions(nbformat.read(hub.course / "source" / LAB / f"{LAB}.ipynb", as_version=4))

    figures["hub_start_s"] = round(hub.start(), 2)
    grader = pwd.getpwnam(GRADER)
    course_mode = hub.course.stat()
    assert course_mode.st_uid == grader.pw_uid and stat.S_IMODE(course_mode.st_mode) == 0o700
    inbound = hub.exchange / COURSE / "inbound"
    feedback = hub.exchange / COURSE / "feedback"
    outbound = hub.exchange / COURSE / "outbound"
    for path, mode in ((hub.exchange, 0o1777), (inbound, 0o3733), (outbound, 0o755), (feedback, 0o711)):
        st = path.stat()
        assert (st.st_uid, oct(stat.S_IMODE(st.st_mode))) == (grader.pw_uid, oct(mode)), path

    instructor_env = tool_env({"JUPYTER_CONFIG_PATH": str(DEPLOY / "instructor"),
                               "DLLAB_HUB_EXCHANGE": str(hub.exchange), "DLLAB_SUBMISSION_OWNER": "account"})

    def grader_runs(*argv, timeout=600):
        code, out = as_user(GRADER, list(argv), hub.course, instructor_env, timeout)
        assert code == 0, f"{' '.join(argv)} as {GRADER}:\n{out[-4000:]}"
        return out

    # a hub name that is an existing account outside the attendees' group never gets a server
    r = hub.api("POST", "/users", json={"usernames": [ANN, BOB, GRADER]})
    assert r.status_code == 201, r.text
    r = hub.api("POST", f"/users/{GRADER}/server")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and hub.api("GET", f"/users/{GRADER}").json().get("pending"):
        time.sleep(0.3)
    assert not (hub.api("GET", f"/users/{GRADER}").json()["servers"].get("") or {}).get("ready")
    assert f"is not in the '{GROUP}' group" in hub.log_tail(200_000), hub.log_tail()

    t0 = time.monotonic()
    pids = {user: hub.spawn(user)[1] for user in (ANN, BOB)}
    figures["two_servers_s"] = round(time.monotonic() - t0, 2)
    hub.remember()
    for user, pid in pids.items():
        account = pwd.getpwnam(user)
        st = os.stat(f"/proc/{pid}")
        assert st.st_uid == account.pw_uid, f"{user}'s server runs as uid {st.st_uid}"
        assert stat.S_IMODE(os.stat(account.pw_dir).st_mode) == 0o700
        assert GROUP in [g.gr_name for g in grp.getgrall() if user in g.gr_mem]
        # the per-attendee limits, as the kernel holds them
        limits = {line[:26].strip(): line[26:].split() for line in
                  Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]}
        assert limits["Max processes"][:2] == [str(NPROC)] * 2, limits["Max processes"]
        assert limits["Max data size"][0] == str(2 * 2**30), limits["Max data size"]
        cgroups = Path(f"/proc/{pid}/cgroup").read_text()
        if f"dllab-{user}" in cgroups:
            figures["cgroups"] = [line for line in cgroups.splitlines() if f"dllab-{user}" in line]
        else:
            assert "only per-process limits apply" in hub.log_tail(200_000), cgroups
            figures["cgroups"] = "none on this machine"

    grader_runs(PYTHON[0], "-m", "nbgrader", "release_assignment", LAB)
    assert stat.S_IMODE(hub.exchange.stat().st_mode) == 0o1777, "release changed the exchange root's mode"

    # each attendee as the Assignments panel: fetch, save, submit (ann with the solutions)
    def hand_in(user, solved):
        r = hub.server("POST", user, "assignments/fetch", json={"course_id": COURSE, "assignment_id": LAB})
        assert r.status_code == 200 and r.json()["success"], f"{user}: fetch {r.status_code} {r.text[:2000]}"
        path = f"{LAB}/{LAB}.ipynb"
        nb = hub.server("GET", user, f"api/contents/{path}?content=1").json()["content"]
        if solved:
            for cell in nb["cells"]:
                gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
                if gid in answers:
                    cell["source"] = answers[gid]
        r = hub.server("PUT", user, f"api/contents/{path}", json={"type": "notebook", "format": "json", "content": nb})
        assert r.status_code == 200, r.text[:500]
        r = hub.server("POST", user, "assignments/submit", json={"course_id": COURSE, "assignment_id": LAB})
        assert r.status_code == 200 and r.json()["success"], f"{user}: submit {r.status_code} {r.text[:2000]}"

    hand_in(ANN, True)
    hand_in(BOB, False)
    ann_sub = next(p for p in inbound.iterdir() if p.name.startswith(f"{ANN}+"))
    ann_nb = ann_sub / f"{LAB}.ipynb"
    ann_bytes = ann_nb.read_bytes()
    ann = pwd.getpwnam(ANN)
    st = ann_sub.stat()
    assert (st.st_uid, st.st_gid, oct(stat.S_IMODE(st.st_mode))) == (ann.pw_uid, grader.pw_gid, oct(0o750))

    # bob attacks, knowing even the random name of ann's submission
    ann_home = Path(ann.pw_dir)
    before = attack(BOB, {
        "list inbound": f"os.listdir({str(inbound)!r})",
        "read ann's submission": f"open({str(ann_nb)!r}, 'rb').read()",
        "read ann's submission secret": f"open({str(ann_sub / 'submission_secret.txt')!r}).read()",
        "change ann's submission": f"open({str(ann_nb)!r}, 'ab').write(b' ')",
        "replace ann's notebook": "p = os.path.expanduser('~/dlt-x'); open(p, 'w').close(); "
                                  f"os.replace(p, {str(ann_nb)!r})",
        "delete ann's notebook": f"os.unlink({str(ann_nb)!r})",
        "rename ann's submission": f"os.rename({str(ann_sub)!r}, {str(inbound / 'dlt-bob-took-it')!r})",
        "delete ann's submission": f"shutil.rmtree({str(ann_sub)!r})",
        "add to ann's submission": f"open({str(ann_sub / 'extra.ipynb')!r}, 'w').write('{{}}')",
        "list ann's home": f"os.listdir({str(ann_home)!r})",
        "read ann's notebook at home": f"open({str(ann_home / LAB / (LAB + '.ipynb'))!r}).read()",
        "read ann's server's environment (hub token)": f"open('/proc/{pids[ANN]}/environ').read()",
        "signal ann's server": f"os.kill({pids[ANN]}, 0)",
        "list the course": f"os.listdir({str(hub.course)!r})",
        "read the gradebook": f"open({str(hub.course / 'gradebook.db')!r}, 'rb').read()",
        "write into outbound": f"open({str(outbound / LAB / 'answers.ipynb')!r}, 'w').write('{{}}')",
        "list the hub's state": f"os.listdir({str(hub.state)!r})",
        "read the hub's database": f"open({str(hub.state / 'jupyterhub.sqlite')!r}, 'rb').read()",
        "list feedback": f"os.listdir({str(feedback)!r})",
    }, cwd="/")
    assert not [k for k, v in before.items() if not v.startswith("denied")], before
    # what he can do: make submissions, and file one under ann's name, or one with a link into the course
    bob_nb = Path(pwd.getpwnam(BOB).pw_dir) / LAB / f"{LAB}.ipynb"
    forged = inbound / f"{ANN}+{LAB}+{FUTURE}+forged"
    linked = inbound / f"{BOB}+{LAB}+{FUTURE}+link"
    source_nb = hub.course / "source" / LAB / f"{LAB}.ipynb"
    made = attack(BOB, {
        "forge a submission as ann": f"os.mkdir({str(forged)!r}); shutil.copy({str(bob_nb)!r}, {str(forged)!r})",
        "hand in a link into the solutions": f"os.mkdir({str(linked)!r}); "
                                             f"os.symlink({str(source_nb)!r}, {str(linked / (LAB + '.ipynb'))!r})",
    }, cwd="/")
    assert made == dict.fromkeys(made, "ALLOWED"), made
    assert ann_nb.read_bytes() == ann_bytes

    # the grader collects: the forgeries are refused, each attendee's own hand-in taken intact
    t0 = time.monotonic()
    out = grader_runs(PYTHON[0], "-m", "nbgrader", "collect", LAB)
    figures["collect_s"] = round(time.monotonic() - t0, 2)
    assert f"Refused {forged.name}" in out and f"Refused {linked.name}" in out, out[-3000:]
    collected = hub.course / "submitted" / ANN / LAB / f"{LAB}.ipynb"
    assert collected.read_bytes() == ann_bytes, "ann's collected notebook is not the one she submitted"
    bob_collected = (hub.course / "submitted" / BOB / LAB / f"{LAB}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in bob_collected and "BEGIN HIDDEN TESTS" not in bob_collected

    # python -m grading autograde as the grader; bubblewrap's sandbox where this account may make namespaces and the
    # environment is one folder (the sandbox binds sys.prefix: the stand-in venv's packages lie outside it)
    runner = [PYTHON[0], "-m", "grading", "autograde", LAB, "--workers=1"]
    if PYTHON[0] != sys.executable or shutil.which("bwrap") is None or \
            as_user(GRADER, ["bwrap", "--ro-bind", "/", "/", "true"], "/", tool_env(), 30)[0] != 0:
        runner.append("--unsafe-no-sandbox")
    t0 = time.monotonic()
    graded = grader_runs(*runner, timeout=900)
    figures["autograde_s"] = round(time.monotonic() - t0, 1)
    figures["sandbox"] = "--unsafe-no-sandbox" not in runner
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}", course_id=COURSE) as gb:
        notebook = gb.find_assignment(LAB).notebooks[0]
        auto = {c.name: c.max_score for c in notebook.grade_cells if c.cell_type == "code"}
        scores = {user: {g.name: g.auto_score for g in gb.find_submission_notebook(LAB, LAB, user).grades
                         if g.name in auto} for user in (ANN, BOB)}
    assert scores[ANN] == auto and set(scores[BOB].values()) == {0}, f"{scores}\n{graded[-4000:]}"

    # feedback: released by the grader, fetched by ann through her server, out of bob's reach
    if PYTHON[0] == sys.executable:
        grader_runs(PYTHON[0], "-m", "nbgrader", "generate_feedback", LAB)
    else:  # nbgrader's HTML clean-up (soupsieve) fails under the stand-in Python 3.11.2: as root, then handed back
        code, out = run_bounded([sys.executable, "-m", "nbgrader", "generate_feedback", LAB], hub.course,
                                instructor_env, 300)
        assert code == 0, out[-3000:]
        isolation.protect_course(hub.course, GRADER)
    grader_runs(PYTHON[0], "-m", "nbgrader", "release_feedback", LAB)
    r = hub.server("POST", ANN, "assignments/fetch_feedback", json={"course_id": COURSE, "assignment_id": LAB})
    assert r.status_code == 200 and r.json()["success"], r.json()["value"][-1500:]
    ann_feedback = sorted((ann_home / LAB / "feedback").rglob(f"{LAB}.html"))
    assert ann_feedback, "ann got no feedback"
    after = attack(BOB, {
        "list feedback": f"os.listdir({str(feedback)!r})",
        "read ann's fetched feedback": f"open({str(ann_feedback[0])!r}).read()",
        "list ann's submitted copy": f"os.listdir({str(hub.course / 'submitted' / ANN)!r})",
    }, cwd="/")
    assert after == dict.fromkeys(after, "denied"), after

    figures["attacks_denied"] = len(before) + len(after)
    figures["test_s"] = round(time.monotonic() - t_test, 1)
    print("\nisolated hub figures:", json.dumps(figures, indent=1))
