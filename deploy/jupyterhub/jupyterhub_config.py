"""JupyterHub for a dllab class on one machine (a lab server or a cloud VM, up to about 30 attendees).

    make hub                                  # from the repository root: installs, then starts this
    jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

Attendees log in, fetch a lab from the Assignments panel and submit it; the instructor releases,
collects and grades through nbgrader's exchange (a folder on this machine) and opens the
formgrader at /services/<course>/formgrader. README.md in this folder has the whole procedure and
the Kubernetes recipe for larger classes (config.yaml).

Every setting a class may change comes from an environment variable (defaults in brackets):

    DLLAB_HUB_IP [127.0.0.1]        where the proxy listens; 0.0.0.0 for a class, behind TLS (README)
    DLLAB_HUB_PORT [8000]           the proxy's public port: what attendees open
    DLLAB_HUB_SSL_CERT, DLLAB_HUB_SSL_KEY  certificate and key files: the proxy speaks HTTPS
    DLLAB_HUB_API_PORT [8081]       the hub's own port (127.0.0.1 only)
    DLLAB_HUB_PROXY_API_PORT [8001] the proxy's REST API (127.0.0.1 only)
    DLLAB_FORMGRADER_PORT [9999]    the formgrader service (127.0.0.1 only)
    DLLAB_HUB_STATE [deploy/jupyterhub/state]  hub database, cookie secret, attendees' homes, exchange
    DLLAB_HUB_EXCHANGE [$DLLAB_HUB_STATE/exchange]  nbgrader's exchange folder
    DLLAB_COURSE [dllab]            the course id: also the formgrader service's name
    DLLAB_COURSE_ROOT [grading/]    the instructor's nbgrader course folder (gradebook, submissions)
    DLLAB_HUB_AUTH [dummy]          authenticator: dummy (any name, no password: 127.0.0.1 only),
                                    shared-password (one class password, DLLAB_HUB_PASSWORD),
                                    native (sign-up with approval: pip install jupyterhub-nativeauthenticator),
                                    pam (the machine's Unix accounts), or an OAuthenticator (github, ...)
    DLLAB_HUB_PASSWORD              the class password for shared-password (8 characters or more)
    DLLAB_HUB_SPAWNER [isolated as root, else shared]
                                    isolated: one Unix account per attendee, made by the hub at first
                                    login (home 0700 under DLLAB_HUB_HOME_BASE), limits per attendee,
                                    the exchange and course owned by DLLAB_HUB_GRADER_USER (README.md,
                                    "Isolation"); needs root.
                                    shared: every attendee's server runs as this Unix user, in
                                    $DLLAB_HUB_STATE/home/<name>: attendees can read and change each
                                    other's work (trying it out with dummy auth; the hub says so loudly).
                                    localprocess: the machine's existing accounts (pam);
                                    systemd: jupyterhub-systemdspawner
    DLLAB_HUB_HOME_BASE [/home]     where isolated attendees' homes are made
    DLLAB_HUB_GRADER_USER [grader-<course>]  the account that owns the course and the exchange, and runs
                                    the formgrader (isolated, localprocess, systemd)
    DLLAB_HUB_NPROC_LIMIT [256]     processes and threads per attendee (isolated)
    DLLAB_HUB_INSTRUCTORS [instructor]  comma-separated: hub admins who may open the formgrader
    DLLAB_HUB_MEM_LIMIT [2.5G]      memory per attendee (isolated: a memory cgroup per attendee where
                                    the machine allows, and RLIMIT_DATA per process; systemd and
                                    Kubernetes enforce it; shared only shows it)
    DLLAB_HUB_CPU_LIMIT [1]         cores per attendee: also the BLAS threads of each kernel
    DLLAB_HUB_CULL_AFTER [3600]     stop servers idle this many seconds (0: never)
    DLLAB_HUB_CONCURRENT_SPAWN [8]  servers starting at once (measured: README.md, "Measured")
    DLLAB_HUB_PROXY                 the configurable-http-proxy command [node_modules/.bin/ here]
    DLLAB_HUB_API_TOKEN             if set, a service "dllab-admin" with this token may manage users and
                                    servers through the REST API (scripts, tests/deploy/test_hub_class.py)
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = Path(sys.executable).parent  # the environment the hub runs in also runs the servers
ROOT_USER = os.getuid() == 0


def env(name, default):
    return os.environ.get(name) or default


def port(name, default):
    value = env(name, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ValueError(f"{name}={value!r} is not a port number: set it to an integer between 1 and 65535")
    return int(value)


def names(name, default):
    return [n.strip() for n in env(name, default).split(",") if n.strip()]


COURSE = env("DLLAB_COURSE", "dllab")
COURSE_ROOT = Path(env("DLLAB_COURSE_ROOT", REPO / "grading")).resolve()
STATE = Path(env("DLLAB_HUB_STATE", HERE / "state")).resolve()
EXCHANGE = Path(env("DLLAB_HUB_EXCHANGE", STATE / "exchange")).resolve()
IP = env("DLLAB_HUB_IP", "127.0.0.1")
INSTRUCTORS = names("DLLAB_HUB_INSTRUCTORS", "instructor")
CPU_LIMIT = float(env("DLLAB_HUB_CPU_LIMIT", "1"))
THREADS = str(max(1, int(CPU_LIMIT)))

for folder in (STATE, EXCHANGE):
    folder.mkdir(parents=True, exist_ok=True)

# --- network: only the proxy's public port faces attendees -----------------------------------
c.JupyterHub.ip = IP
c.JupyterHub.port = port("DLLAB_HUB_PORT", 8000)
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port("DLLAB_HUB_API_PORT", 8081)
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port('DLLAB_HUB_PROXY_API_PORT', 8001)}"
local_proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [env("DLLAB_HUB_PROXY", str(local_proxy) if local_proxy.exists()
                                       else "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
if os.environ.get("DLLAB_HUB_SSL_CERT") or os.environ.get("DLLAB_HUB_SSL_KEY"):
    for name in ("DLLAB_HUB_SSL_CERT", "DLLAB_HUB_SSL_KEY"):
        if not Path(os.environ.get(name, "")).is_file():
            raise ValueError(f"{name}={os.environ.get(name, '')!r} is not a file: HTTPS needs both the certificate "
                             "(DLLAB_HUB_SSL_CERT) and its private key (DLLAB_HUB_SSL_KEY)")
    c.JupyterHub.ssl_cert = os.environ["DLLAB_HUB_SSL_CERT"]
    c.JupyterHub.ssl_key = os.environ["DLLAB_HUB_SSL_KEY"]

# --- state -------------------------------------------------------------------------------------
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every attendee's server
c.JupyterHub.concurrent_spawn_limit = int(env("DLLAB_HUB_CONCURRENT_SPAWN", "8"))

# --- who may log in ---------------------------------------------------------------------------
AUTH = env("DLLAB_HUB_AUTH", "dummy")
if AUTH == "dummy" and IP not in ("127.0.0.1", "localhost", "::1"):
    raise ValueError(f"DLLAB_HUB_AUTH=dummy lets anyone in without a password, and DLLAB_HUB_IP={IP!r} is "
                     "reachable from other machines: use DLLAB_HUB_AUTH=shared-password (with "
                     "DLLAB_HUB_PASSWORD), native, pam or an OAuthenticator (README.md, 'Authentication')")
c.JupyterHub.authenticator_class = AUTH
c.Authenticator.admin_users = set(INSTRUCTORS)
if AUTH == "shared-password":
    password = os.environ.get("DLLAB_HUB_PASSWORD", "")
    if len(password) < 8:
        raise ValueError("DLLAB_HUB_AUTH=shared-password needs the class password in DLLAB_HUB_PASSWORD "
                         "(8 characters or more)")
    c.SharedPasswordAuthenticator.user_password = password
    # instructors are admins: they log in with a separate, long password
    c.SharedPasswordAuthenticator.admin_password = os.environ.get("DLLAB_HUB_ADMIN_PASSWORD", "")
if AUTH in ("dummy", "shared-password", "native"):
    c.Authenticator.allow_all = True  # anyone who passes the authenticator is an attendee

# --- attendees' servers ------------------------------------------------------------------------
SPAWNER = env("DLLAB_HUB_SPAWNER", "isolated" if ROOT_USER else "shared")
SPAWNER = {"simple": "shared"}.get(SPAWNER, SPAWNER)
GRADER = env("DLLAB_HUB_GRADER_USER", f"grader-{COURSE}")
if SPAWNER == "shared" and AUTH != "dummy":
    raise ValueError(f"DLLAB_HUB_SPAWNER=shared runs every attendee as one Unix user: attendees can read, change "
                     f"and delete each other's work and submissions. It is for trying the hub out with dummy "
                     f"authentication only; for a class with DLLAB_HUB_AUTH={AUTH} run the hub as root (`sudo make "
                     "hub`), which gives each attendee their own account (README.md, 'Isolation')")
if SPAWNER == "isolated" and not ROOT_USER:
    raise ValueError("DLLAB_HUB_SPAWNER=isolated creates a Unix account per attendee: run the hub as root "
                     "(`sudo make hub`), or try it out as yourself with DLLAB_HUB_SPAWNER=shared")

c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = env("DLLAB_HUB_MEM_LIMIT", "2.5G")
c.Spawner.cpu_limit = CPU_LIMIT
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
# The attendees' Jupyter configuration: this folder's attendee/ (nbgrader: course, exchange, private
# submissions; no formgrader) and binder/attendee (JupyterLab without nbgrader's instructor panels).
# Kernels get as many BLAS threads as the attendee has cores: more only fight the neighbours.
c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": os.pathsep.join([str(HERE / "attendee"), str(REPO / "binder" / "attendee")]),
    "DLLAB_COURSE": COURSE,
    "DLLAB_HUB_EXCHANGE": str(EXCHANGE),
    "OPENBLAS_NUM_THREADS": THREADS, "OMP_NUM_THREADS": THREADS, "MKL_NUM_THREADS": THREADS,
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
}
# Who owns a submission, as the instructor's collect checks it (instructor/nbgrader_config.py)
SUBMISSION_OWNER = "any" if SPAWNER == "shared" else "account"

if SPAWNER == "isolated":
    from grading import isolation  # installed with dllab (the course's package: grading/isolation.py)

    HOME_BASE = Path(env("DLLAB_HUB_HOME_BASE", "/home")).resolve()
    if isolation.python_for_all():
        raise ValueError(isolation.python_for_all())
    # The grader owns the course (solutions, hidden tests, gradebook) and the exchange; attendees are
    # Unix accounts the hub makes, in their own group; a hub name that is no Unix name cannot log in.
    isolation.ensure_group("dllab-attendees")
    isolation.ensure_account(GRADER, HOME_BASE, system=True)
    isolation.protect_course(COURSE_ROOT, GRADER)
    isolation.prepare_exchange(EXCHANGE, COURSE, GRADER)
    # the hub's database and secrets: only root lists this folder; the exchange inside stays reachable
    STATE.chmod(0o711)
    db = STATE / "jupyterhub.sqlite"
    db.touch(mode=0o600)
    db.chmod(0o600)
    c.JupyterHub.spawner_class = isolation.spawner_class()
    c.Authenticator.username_pattern = isolation.UNIX_NAME
    c.AttendeeSpawner.home_base = str(HOME_BASE)
    c.AttendeeSpawner.attendee_group = "dllab-attendees"
    c.AttendeeSpawner.nproc_limit = int(env("DLLAB_HUB_NPROC_LIMIT", "256"))
elif SPAWNER == "shared":
    (STATE / "home").mkdir(exist_ok=True)
    EXCHANGE.chmod(0o777)  # everyone is the same user; nbgrader's release checks this mode
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(STATE / "home" / "{username}")
    c.Spawner.args = ["--allow-root"] if ROOT_USER else []
    # nbgrader files a submission under the Unix user, the same for everyone here: the attendees'
    # configuration takes the id from the hub instead (attendee/nbgrader_config.py)
    c.Spawner.environment["DLLAB_STUDENT_FROM_HUB"] = "1"
    WARNING = ("TRIAL MODE (DLLAB_HUB_SPAWNER=shared): every attendee's server runs as the same Unix user; "
               "any attendee can read, change and delete every other attendee's files and submissions. "
               "For a class, run the hub as root: `sudo make hub` (README.md, 'Isolation').")
    print("\n" + "!" * 100 + f"\n{WARNING}\n" + "!" * 100 + "\n", file=sys.stderr, flush=True)
    c.JupyterHub.template_vars = {"announcement": WARNING}
else:
    c.JupyterHub.spawner_class = SPAWNER  # localprocess (pam accounts) or systemd

# --- instructors: the formgrader as a hub service named after the course -------------------------
FORMGRADE_GROUP = f"formgrade-{COURSE}"
c.JupyterHub.load_groups = {FORMGRADE_GROUP: {"users": INSTRUCTORS}}
formgrader = {
    "name": COURSE,
    "url": f"http://127.0.0.1:{port('DLLAB_FORMGRADER_PORT', 9999)}",
    "command": [str(BIN / "jupyterhub-singleuser")] + (["--allow-root"] if ROOT_USER and SPAWNER == "shared" else []),
    "cwd": str(COURSE_ROOT),  # nbgrader reads the course's nbgrader_config.py from here
    "oauth_no_confirm": True,
    "environment": {
        "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        "JUPYTER_CONFIG_PATH": str(HERE / "instructor"),
        "DLLAB_COURSE": COURSE,
        "DLLAB_HUB_EXCHANGE": str(EXCHANGE),
        "DLLAB_SUBMISSION_OWNER": SUBMISSION_OWNER,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "OPENBLAS_NUM_THREADS": "1",
    },
}
if SPAWNER != "shared":
    # with one Unix account per attendee, the course belongs to a grader account (README.md)
    formgrader["user"] = GRADER
c.JupyterHub.services = [formgrader]
roles = [{"name": FORMGRADE_GROUP, "groups": [FORMGRADE_GROUP],
          "scopes": [f"access:services!service={COURSE}"]}]

# --- stop idle servers -------------------------------------------------------------------------
cull_after = int(env("DLLAB_HUB_CULL_AFTER", "3600"))
if cull_after > 0:
    c.JupyterHub.services.append({
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull_after}",
                    f"--cull-every={max(60, cull_after // 10)}"],
    })
    roles.append({"name": "idle-culler", "services": ["idle-culler"],
                  "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})

# --- scripts and tests drive the hub with a token of their own ---------------------------------
api_token = os.environ.get("DLLAB_HUB_API_TOKEN")
if api_token:
    c.JupyterHub.services.append({"name": "dllab-admin", "api_token": api_token})
    roles.append({"name": "dllab-admin", "services": ["dllab-admin"],
                  "scopes": ["admin:users", "admin:servers", "admin:groups", "tokens", "access:servers",
                             "list:services", "read:services"]})
c.JupyterHub.load_roles = roles
