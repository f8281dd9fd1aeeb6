"""The hub tests' machinery (also used by test_hub_isolation.py): JupyterHub, psutil and requests or a skip, the
course's names and the class's size, configurable-http-proxy or a skip that says so, free ports, the tools'
environment, Hub (a real JupyterHub on 127.0.0.1 with a temporary state folder), a temporary copy of the course,
commands run with a time bound, nbgrader, the solutions, memory figures and their summary."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

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
