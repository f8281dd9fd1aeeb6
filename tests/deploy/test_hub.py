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
The Kubernetes values (deploy/jupyterhub/config.yaml) are checked against the chart's schema, the
attendees' configuration and the sizing figures.

Without configurable-http-proxy (``make test`` installs it with npm into
deploy/jupyterhub/node_modules) the hub tests skip and say so.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

jupyterhub = pytest.importorskip("jupyterhub", reason="jupyterhub is not installed: `make test` installs the [hub] "
                                 "extra (pip install -e '.[hub]')")
psutil = pytest.importorskip("psutil")
requests = pytest.importorskip("requests")

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "jupyterhub"
GRADING = ROOT / "grading"
BIN = Path(sys.executable).parent
LAB = "lab1_logreg"
COURSE = "dllab"
ATTENDEES = [f"attendee{i:02d}" for i in range(1, 13)]
SOLVED = set(ATTENDEES[::2])  # half hand in the solutions, half the notebook as fetched
INSTRUCTOR = "teacher"
AT_ONCE = 4  # servers starting (and attendees acting) at once: the machine has 2 cores, shared
GRADING_WORKERS = 2  # python -m grading autograde --workers: one per core
HTTP_TIMEOUT = 120


def proxy_command():
    local = DEPLOY / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return str(local)
    return shutil.which("configurable-http-proxy")


needs_proxy = pytest.mark.skipif(
    proxy_command() is None or shutil.which("node") is None,
    reason="configurable-http-proxy (and node) not found: `make test` installs it with "
           "`npm install configurable-http-proxy@5.3.0` into deploy/jupyterhub/node_modules; "
           "without npm the hub cannot be tested here")


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def tool_env(extra=None):
    """nbgrader's tools (and the kernels' python) from this environment; one BLAS thread each."""
    env = dict(os.environ)
    for name in [k for k in env if k.startswith(("JUPYTERHUB_", "DLLAB_HUB_"))] + ["NBGRADER_EXECUTION"]:
        env.pop(name, None)
    env.update({
        "PATH": str(BIN) + os.pathsep + env.get("PATH", ""),
        "CI": "true", "MPLBACKEND": "Agg", "DLLAB_DEVICE": "cpu", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    })
    env.update(extra or {})
    return env


class Hub:
    """One JupyterHub process (and everything it starts), driven through its REST API."""

    def __init__(self, tmp: Path, spawner="shared", extra_env=None, bin_dir=BIN):
        self.tmp = tmp
        self.bin = Path(bin_dir)
        self.state = tmp / "state"
        self.exchange = tmp / "exchange"
        self.course = tmp / "course" / "grading"
        self.port, self.api_port, self.proxy_api_port, self.formgrader_port = free_ports(4)
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        self.env = tool_env({
            "DLLAB_HUB_STATE": str(self.state),
            "DLLAB_HUB_EXCHANGE": str(self.exchange),
            "DLLAB_COURSE_ROOT": str(self.course),
            "DLLAB_HUB_PORT": str(self.port),
            "DLLAB_HUB_API_PORT": str(self.api_port),
            "DLLAB_HUB_PROXY_API_PORT": str(self.proxy_api_port),
            "DLLAB_FORMGRADER_PORT": str(self.formgrader_port),
            "DLLAB_HUB_INSTRUCTORS": INSTRUCTOR,
            "DLLAB_HUB_API_TOKEN": self.token,
            "DLLAB_HUB_CONCURRENT_SPAWN": str(AT_ONCE),
            "DLLAB_HUB_PROXY": proxy_command() or "",
            "DLLAB_HUB_SPAWNER": spawner,
            **(extra_env or {}),
        })
        self.env["PATH"] = f"{self.bin}{os.pathsep}{self.env['PATH']}"
        self.log_path = tmp / "jupyterhub.log"
        self.process = None
        self.seen = {}  # pid -> psutil.Process: everything the hub started, for the final check
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {self.token}"

    # --- processes -----------------------------------------------------------------------------
    def start(self, timeout=90):
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(self.bin / "jupyterhub"), "-f", str(DEPLOY / "jupyterhub_config.py")],
                cwd=self.state, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyterhub exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                services = self.api("GET", "/services", timeout=5).json()
                if all(port_open(p) for p in (self.port, self.formgrader_port)) and \
                        {COURSE, "idle-culler", "dllab-admin"} <= set(services):
                    self.remember()
                    return time.monotonic() - t0
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the hub did not answer within {timeout} s:\n{self.log_tail()}")

    def remember(self):
        """Note the hub's descendants now (servers, kernels, services, proxy), to check that they end."""
        try:
            root = psutil.Process(self.process.pid)
            for p in [root] + root.children(recursive=True):
                self.seen.setdefault(p.pid, p)
        except psutil.NoSuchProcess:
            pass

    def alive(self):
        return [p for p in self.seen.values() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    def stop(self, timeout=120):
        """SIGTERM to the hub, which stops the servers, services and proxy; returns what outlived it."""
        if self.process is None:
            return []
        self.remember()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.process.poll()  # reap the hub if it exited after wait() gave up
        return self.alive()

    def kill_leftovers(self):
        """Whatever is still running, by PID (never by name): the fixture's last word."""
        for p in self.alive():
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(list(self.seen.values()), timeout=10)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, n=6000):
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "(no hub log)"

    # --- REST ----------------------------------------------------------------------------------
    def api(self, method, path, token=None, timeout=HTTP_TIMEOUT, **kw):
        headers = {"Authorization": f"token {token}"} if token else {}
        return self.http.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=timeout, **kw)

    def server(self, method, user, path, token=None, timeout=HTTP_TIMEOUT, **kw):
        """A request to an attendee's own server, through the proxy (as JupyterLab makes it)."""
        headers = {"Authorization": f"token {token}"} if token else {}
        return self.http.request(method, f"{self.url}/user/{user}/{path.lstrip('/')}", headers=headers,
                                 timeout=timeout, allow_redirects=False, **kw)

    def spawn(self, user, timeout=180):
        """Start ``user``'s server; seconds until the hub says it is ready."""
        t0 = time.monotonic()
        r = self.api("POST", f"/users/{user}/server")
        assert r.status_code in (201, 202), f"starting {user}'s server: {r.status_code} {r.text}"
        while time.monotonic() - t0 < timeout:
            model = self.api("GET", f"/users/{user}").json()
            server = model["servers"].get("")
            if server and server["ready"]:
                return time.monotonic() - t0, server["state"]["pid"]
            if not model.get("pending") and not server:
                raise AssertionError(f"{user}'s server failed to start:\n{self.log_tail()}")
            time.sleep(0.3)
        raise AssertionError(f"{user}'s server was not ready within {timeout} s:\n{self.log_tail()}")

    def user_token(self, user):
        r = self.api("POST", f"/users/{user}/tokens", json={"note": "test_hub"})
        assert r.status_code == 201, r.text
        return r.json()["token"]


@pytest.fixture
def hub(tmp_path):
    h = Hub(tmp_path)
    try:
        yield h
    finally:
        h.stop()
        h.kill_leftovers()


# --- the course ---------------------------------------------------------------------------------

def course_copy(course: Path):
    """The course as in the repository (its config and lab 1's source; its code is the grading package), in a
    temporary folder."""
    (course / "source").mkdir(parents=True)
    shutil.copy(GRADING / "nbgrader_config.py", course)
    for extra in (GRADING / "source").glob("*.toml"):  # e.g. jupytext's settings for the lab scripts
        shutil.copy(extra, course / "source")
    shutil.copytree(GRADING / "source" / LAB, course / "source" / LAB,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.ipynb")
                    if (GRADING / "source" / LAB / f"{LAB}.py").exists() else
                    shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


def run_bounded(argv, cwd, env, timeout):
    """Run a command to its end or its time limit; at the limit, it and everything it started is killed (by PID)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        try:
            family = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        proc.kill()
        for p in family:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(family, timeout=10)
        out, _ = proc.communicate()
        command = " ".join(map(str, argv))
        raise AssertionError(f"`{command}` ran past {timeout} s and was stopped:\n{out[-3000:]}") from None


def nbgrader(course, *args, env, timeout=600):
    t0 = time.monotonic()
    code, output = run_bounded([sys.executable, "-m", "nbgrader", *args], course, env, timeout)
    assert code == 0, f"nbgrader {' '.join(args)} failed:\n{output[-4000:]}"
    return output, time.monotonic() - t0


def solutions(source_nb):
    """Each answer cell as an attendee who knows the solution types it (nbgrader's markers removed)."""
    answers = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = "\n".join(
                line for line in cell.source.splitlines()
                if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
    assert answers, "lab 1's source has no answer cells"
    return answers


def memory(pid):
    """(RSS, PSS) in MiB of a server and its children (kernels, terminals)."""
    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
        rss = pss = 0
        for p in procs:
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        return rss / 2**20, pss / 2**20
    except psutil.NoSuchProcess:
        return float("nan"), float("nan")


def summary(values):
    values = sorted(values)
    return {"n": len(values), "min": round(values[0], 3), "median": round(values[len(values) // 2], 3),
            "max": round(values[-1], 3), "mean": round(sum(values) / len(values), 3)}


# --- the configuration alone ----------------------------------------------------------------------

def load_hub_config(monkeypatch, tmp_path, **env):
    from traitlets.config import PyFileConfigLoader

    for name in [k for k in os.environ if k.startswith("DLLAB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DLLAB_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("DLLAB_HUB_SPAWNER", "shared")  # isolated (root's default) changes accounts: test_hub_isolation
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config()


def test_hub_config_defaults_are_local_and_name_the_course(monkeypatch, tmp_path):
    c = load_hub_config(monkeypatch, tmp_path)
    assert c.JupyterHub.ip == "127.0.0.1" and c.JupyterHub.hub_ip == "127.0.0.1"
    assert c.ConfigurableHTTPProxy.api_url.startswith("http://127.0.0.1:")
    service = next(s for s in c.JupyterHub.services if s["name"] == COURSE)
    assert service["url"].startswith("http://127.0.0.1:") and Path(service["cwd"]) == GRADING
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert roles[f"formgrade-{COURSE}"]["scopes"] == [f"access:services!service={COURSE}"]
    assert c.JupyterHub.load_groups[f"formgrade-{COURSE}"]["users"] == ["instructor"]
    assert "dllab-admin" not in roles, "the REST token service exists only when DLLAB_HUB_API_TOKEN is set"
    assert any(s["name"] == "idle-culler" for s in c.JupyterHub.services)
    assert (tmp_path / "state" / "exchange").is_dir()


def test_hub_config_refuses_passwordless_login_on_a_public_address(monkeypatch, tmp_path):
    with pytest.raises(Exception, match="DLLAB_HUB_AUTH=dummy lets anyone in"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_IP="0.0.0.0")
    with pytest.raises(Exception, match="DLLAB_HUB_PASSWORD"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_IP="0.0.0.0", DLLAB_HUB_AUTH="shared-password")
    with pytest.raises(Exception, match="DLLAB_HUB_PORT='80a' is not a port number"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_PORT="80a")


def test_attendee_config_takes_the_student_id_from_the_hub_only_when_told(monkeypatch):
    from traitlets.config import PyFileConfigLoader

    def load():
        return PyFileConfigLoader("nbgrader_config.py", path=str(DEPLOY / "attendee")).load_config()

    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    monkeypatch.delenv("DLLAB_STUDENT_FROM_HUB", raising=False)
    c = load()  # one Unix account per attendee: nbgrader's own id, the account's name
    assert "student_id" not in c.CourseDirectory and c.CourseDirectory.course_id == COURSE
    assert c.ExchangeFactory.submit.__name__ == "PrivateSubmit"
    monkeypatch.setenv("DLLAB_STUDENT_FROM_HUB", "1")  # shared trial mode, Kubernetes pods
    assert load().CourseDirectory.student_id == "alice"
    monkeypatch.delenv("JUPYTERHUB_USER")
    with pytest.raises(Exception, match="JUPYTERHUB_USER is not set"):
        load()


def test_shared_mode_is_for_dummy_trials_only_and_says_so(monkeypatch, tmp_path, capfd):
    c = load_hub_config(monkeypatch, tmp_path)
    assert "TRIAL MODE" in c.JupyterHub.template_vars["announcement"]
    assert "TRIAL MODE" in capfd.readouterr().err
    assert c.Spawner.environment["DLLAB_STUDENT_FROM_HUB"] == "1"
    service = next(s for s in c.JupyterHub.services if s["name"] == COURSE)
    assert service["environment"]["DLLAB_SUBMISSION_OWNER"] == "any" and "user" not in service
    with pytest.raises(Exception, match="shared runs every attendee as one Unix user"):
        load_hub_config(monkeypatch, tmp_path, DLLAB_HUB_AUTH="shared-password", DLLAB_HUB_PASSWORD="x" * 12)


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


# --- Kubernetes: the Zero to JupyterHub values ------------------------------------------------------

def z2jh_values():
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((DEPLOY / "config.yaml").read_text())


def test_z2jh_config_follows_the_chart_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DEPLOY / "z2jh-values.schema-4.4.0.json").read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(z2jh_values()), key=lambda e: list(e.path))
    assert not errors, [f"{'.'.join(map(str, e.path))}: {e.message[:300]}" for e in errors]
    assert "chart jupyterhub 4.4.0" in (DEPLOY / "config.yaml").read_text().splitlines()[0]
    # a misspelt key is caught, so the check can fail
    broken = z2jh_values()
    broken["singleuser"]["memory"]["guarante"] = "1G"
    assert any("guarante" in e.message for e in jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_z2jh_config_mounts_the_attendees_and_instructors_settings():
    values = z2jh_values()
    user = values["singleuser"]
    files = user["extraFiles"]
    assert files["attendee-nbgrader"]["stringData"] == (DEPLOY / "attendee" / "nbgrader_config.py").read_text()
    assert files["attendee-server"]["data"] == json.loads((DEPLOY / "attendee" / "jupyter_server_config.json")
                                                          .read_text())
    assert files["instructor-nbgrader"]["stringData"] == (DEPLOY / "instructor" / "nbgrader_config.py").read_text()
    attendee_dir = str(Path(files["attendee-nbgrader"]["mountPath"]).parent)
    assert str(Path(files["attendee-server"]["mountPath"]).parent) == attendee_dir
    assert user["extraEnv"]["JUPYTER_CONFIG_PATH"].split(":")[0] == attendee_dir
    mounts = {m["name"]: m["mountPath"] for m in user["storage"]["extraVolumeMounts"]}
    assert mounts["nbgrader-exchange"] == user["extraEnv"]["DLLAB_HUB_EXCHANGE"] == "/srv/nbgrader/exchange"

    profiles = {p["slug"]: p for p in user["profileList"]}
    gpu = profiles["gpu"]["kubespawner_override"]
    assert gpu["extra_resource_limits"] == {"nvidia.com/gpu": "1"} and gpu["environment"]["DLLAB_DEVICE"] == "gpu"
    teacher = profiles["instructor"]["kubespawner_override"]
    assert teacher["environment"]["JUPYTER_CONFIG_PATH"] == str(Path(files["instructor-nbgrader"]["mountPath"]).parent)

    # the hub offers the instructor profile to the formgrade group only: run the chart's extraConfig
    from types import SimpleNamespace

    from traitlets.config import Config

    c = Config()
    c.KubeSpawner.profile_list = user["profileList"]
    exec(values["hub"]["extraConfig"]["dllab-profiles"], {"c": c})
    group = next(iter(values["hub"]["config"]["JupyterHub"]["load_groups"]))
    assert group == f"formgrade-{COURSE}"

    def offered(*groups):
        spawner = SimpleNamespace(user=SimpleNamespace(groups=[SimpleNamespace(name=g) for g in groups]))
        return [p["slug"] for p in c.KubeSpawner.profile_list(spawner)]

    assert offered() == ["cpu", "gpu"]
    assert offered(group) == ["cpu", "gpu", "instructor"]


def test_z2jh_resources_and_readme_follow_the_measured_figures():
    import sizing  # deploy/jupyterhub/sizing.py: the folder is on the tests' path (pyproject.toml)
    figures = sizing.sizing()
    user = z2jh_values()["singleuser"]
    # KubeSpawner reads "G" as GiB (JupyterHub's ByteSpecification)
    assert user["memory"] == {"guarantee": f"{figures['memory_guarantee_gib']:g}G",
                              "limit": f"{figures['memory_limit_gib']:g}G"}, figures
    assert user["cpu"] == {"guarantee": figures["cpu_guarantee"], "limit": figures["cpu_limit"]}
    assert z2jh_values()["scheduling"]["userPlaceholder"]["replicas"] == figures["placeholders"]
    needed_mib = figures["server_mib"] + max(figures["kernel_mib"].values())
    assert figures["memory_guarantee_gib"] * 1024 > needed_mib
    readme = (DEPLOY / "README.md").read_text()
    assert sizing.table(figures) in readme, "README.md's sizing table is stale: paste `python sizing.py table`"


def test_z2jh_gives_each_attendee_a_uid_the_instructors_collect_expects(monkeypatch, tmp_path):
    """Kubernetes isolation: hub.extraConfig's uid callable, run on a real hub database, gives each
    attendee a distinct uid, the one the instructor's collect (DLLAB_SUBMISSION_OWNER=uid) requires."""
    from types import SimpleNamespace

    from jupyterhub import orm
    from traitlets.config import Config, PyFileConfigLoader

    values = z2jh_values()
    c = Config()
    exec(values["hub"]["extraConfig"]["dllab-uid"], {"c": c})
    db = orm.new_session_factory("sqlite://")()
    names = ["alice", "bob", "carol-smith", "instructor-github-login"]
    for name in names:
        db.add(orm.User(name=name))
    db.commit()

    def spawner(name):
        return SimpleNamespace(user=SimpleNamespace(name=name, db=db))

    uids = {name: c.KubeSpawner.uid(spawner(name)) for name in names}
    assert len(set(uids.values())) == len(names) and all(100_000 <= u < 100_000 + 2**30 for u in uids.values())
    assert c.KubeSpawner.uid(spawner("alice")) == uids["alice"]  # the same at every start
    assert c.KubeSpawner.gid == 100 and values["singleuser"]["uid"] is None
    instructor = next(p for p in values["singleuser"]["profileList"] if p["slug"] == "instructor")
    override = instructor["kubespawner_override"]
    assert override["uid"] == override["gid"] == 2000 and 2000 not in uids.values()
    assert override["environment"]["DLLAB_SUBMISSION_OWNER"] == "uid"
    assert values["singleuser"]["extraEnv"]["DLLAB_STUDENT_FROM_HUB"] == "1"

    # the instructor's collect computes the same uid from the student id, and refuses another owner
    monkeypatch.setenv("DLLAB_SUBMISSION_OWNER", "uid")
    c = PyFileConfigLoader("nbgrader_config.py", path=str(DEPLOY / "instructor")).load_config()
    assert c.ExchangeFactory.collect.__name__ == "OwnedCollect" and c.ExchangeCollect.check_owner is True
    source = (DEPLOY / "instructor" / "nbgrader_config.py").read_text()
    scope = {"get_config": Config, "__file__": str(DEPLOY / "instructor" / "nbgrader_config.py")}
    exec(compile(source, "instructor", "exec"), scope)
    assert {name: scope["dllab_uid"](name) for name in names} == uids
    submission = tmp_path / "alice+lab1_logreg+2026-01-01 00:00:00.000000 UTC+x"
    submission.mkdir()
    (submission / "lab1_logreg.ipynb").write_text("{}")
    assert "not by alice" in scope["refusal"](submission, "alice")  # owned by this test's uid
    (submission / "lab1_logreg.ipynb").unlink()
    (submission / "lab1_logreg.ipynb").symlink_to(tmp_path)
    monkeypatch.setenv("DLLAB_SUBMISSION_OWNER", "any")
    scope = {"get_config": Config, "__file__": str(DEPLOY / "instructor" / "nbgrader_config.py")}
    exec(compile(source, "instructor", "exec"), scope)
    assert "not a plain file" in scope["refusal"](submission, "alice")
