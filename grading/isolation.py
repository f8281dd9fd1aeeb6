"""One Unix account per attendee on the one-machine class hub (deploy/jupyterhub/jupyterhub_config.py imports this).

The hub runs as root. On an attendee's first login its spawner creates a Unix account of the same
name (member of the attendees' group, home of mode 0700) and starts the attendee's server as that
account, with per-attendee limits: a memory and a process cgroup where the machine lets the hub
create one (cgroup v1 or v2, nested under the hub's own), and always RLIMIT_NPROC (processes and
threads of the account) and RLIMIT_DATA (memory of each process). The course folder and nbgrader's
exchange belong to the grader account, with nbgrader's own modes:

    <exchange>/                 grader, 1777   nbgrader's tools need it writable; sticky, as /tmp
    <exchange>/<course>/        grader, 0755
        outbound/               grader, 0755   released labs: everyone reads
        inbound/                grader, 3733   write and enter, not list (setgid: submissions get the
                                               grader's group; sticky: only the owner renames or deletes)
        feedback/               grader, 0711   enter, not list: each attendee opens their own file by its hash

The same layout on a shared volume (Kubernetes, README.md) comes from the command line:

    python -m grading.isolation exchange /srv/nbgrader/exchange --course dllab --owner 2000:2000
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import resource
import subprocess
import sys
from pathlib import Path

UNIX_NAME = r"^[a-z_][a-z0-9_-]{0,31}$"
ROOT_MODE = 0o1777  # nbgrader's tools refuse a root they cannot write; sticky: no one removes another's entry
MODES = {"": 0o755, "outbound": 0o755, "inbound": 0o3733, "feedback": 0o711}


def ensure_group(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(["groupadd", name], check=True, capture_output=True)
        return grp.getgrnam(name).gr_gid


def in_group(user, group):
    entry, gid = pwd.getpwnam(user), grp.getgrnam(group)
    return entry.pw_gid == gid.gr_gid or user in gid.gr_mem


def ensure_account(name, home_base, group=None, system=False):
    """The Unix account ``name`` (created if missing, home of mode 0700); refuses an existing account
    outside ``group``: a hub login must never become root, a service or the grader."""
    if not re.match(UNIX_NAME, name):
        raise ValueError(f"{name!r} cannot be a Unix account name (lower-case letters, digits, '-' and '_', "
                         "32 characters at most, not starting with a digit)")
    try:
        existing = pwd.getpwnam(name)
    except KeyError:
        existing = None
    if existing is None:
        home = Path(home_base) / name
        argv = ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                "--user-group", "-K", "HOME_MODE=0700", "-K", "UMASK=077"]
        if group:
            argv += ["--groups", group]
        if system:
            argv.append("--system")
        argv.append(name)
        done = subprocess.run(argv, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"useradd {name} failed: {done.stderr.strip()}")
    elif group and not in_group(name, group):
        raise PermissionError(f"the Unix account {name!r} exists and is not in the {group!r} group: "
                              "the hub does not start servers as accounts it did not create for attendees")
    entry = pwd.getpwnam(name)
    home = Path(entry.pw_dir)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    home.chmod(0o700)
    return entry


def remove_account(name):
    """useradd's opposite, for tests: the account, its group and its home."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return
    subprocess.run(["userdel", "--remove", name], capture_output=True)


def reachable_by_all(path):
    """Whether every account may reach ``path`` (o+x on each folder above it, o+r on it)."""
    path = Path(os.path.realpath(path))
    for folder in path.parents:
        if not folder.stat().st_mode & 0o001:
            return False
    return bool(path.stat().st_mode & 0o004)


def python_for_all():
    """None if every account can run this Python environment, else what stops them."""
    import sysconfig

    for path in (sys.executable, sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]):
        if not reachable_by_all(path):
            return (f"{os.path.realpath(path)} is out of other accounts' reach (a folder above it is not o+x, "
                    "e.g. /root): attendees' servers could not start. Make the environment from a Python that "
                    "every account can run (e.g. `/usr/bin/python3 -m venv .venv`, or pyenv under /opt)")
    return None


def owner_ids(owner):
    """'name', 'uid' or 'uid:gid' -> (uid, gid)."""
    user, _, group = str(owner).partition(":")
    if user.isdigit():
        uid = int(user)
        gid = int(group) if group else uid
    else:
        entry = pwd.getpwnam(user)
        uid, gid = entry.pw_uid, (grp.getgrnam(group).gr_gid if group else entry.pw_gid)
    return uid, gid


def prepare_exchange(root, course, owner):
    """nbgrader's exchange for one course, owned by the grader (see the module's docstring)."""
    uid, gid = owner_ids(owner)
    root = Path(root)
    for sub in [None, ""] + [k for k in MODES if k]:
        path = root if sub is None else root / course / sub
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, uid, gid)
        path.chmod(ROOT_MODE if sub is None else MODES[sub])


def protect_course(course_root, owner):
    """The course folder (solutions, hidden tests, gradebook, hand-ins) to the grader only: all of it owned
    by the grader, the folder itself 0700 (the files inside keep their modes: release_feedback copies
    a feedback file's mode into the exchange, where its attendee must read it)."""
    uid, gid = owner_ids(owner)
    course_root = Path(course_root)
    for path in [course_root] + sorted(course_root.rglob("*")):
        if path.is_symlink():
            continue
        os.chown(path, uid, gid)
    course_root.chmod(0o700)


# --- per-attendee limits ---------------------------------------------------------------------------

def _own_cgroup(controller):
    """Where this process sits in a cgroup v1 controller's hierarchy (or v2 for controller '')."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller == "" and names == "") or controller in names.split(","):
            return path.lstrip("/")
    return None


def make_cgroups(name, mem_bytes, pids):
    """Per-attendee cgroups (memory, pids) under the hub's own; [(cgroup.procs file)] or [] where the
    machine does not let the hub make them."""
    base = Path("/sys/fs/cgroup")
    made = []
    try:
        if (base / "cgroup.controllers").exists():  # cgroup v2
            parent = base / (_own_cgroup("") or "")
            group = parent / f"dllab-{name}"
            group.mkdir(exist_ok=True)
            if mem_bytes:
                (group / "memory.max").write_text(str(mem_bytes))
            if pids:
                (group / "pids.max").write_text(str(pids))
            made.append(group)
        else:  # cgroup v1
            for controller, setting, value in (("memory", "memory.limit_in_bytes", mem_bytes),
                                               ("pids", "pids.max", pids)):
                own = _own_cgroup(controller)
                if not value or own is None or not (base / controller).is_dir():
                    continue
                group = base / controller / own / f"dllab-{name}"
                group.mkdir(exist_ok=True)
                (group / setting).write_text(str(value))
                made.append(group)
    except OSError as e:
        print(f"dllab: no cgroup for {name} ({e}); only per-process limits apply", file=sys.stderr)
        remove_cgroups(made)
        return []
    return made


def remove_cgroups(groups):
    for group in groups:
        try:
            Path(group).rmdir()
        except OSError:
            pass


def limited_preexec(setuid_fn, cgroups, mem_bytes, nproc):
    """A preexec_fn: join the attendee's cgroups, set the limits, then become the attendee."""
    procs = [str(Path(g) / "cgroup.procs") for g in cgroups]

    def preexec():
        for path in procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)
        if nproc:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if mem_bytes:
            resource.setrlimit(resource.RLIMIT_DATA, (mem_bytes, mem_bytes))
        setuid_fn()

    return preexec


def spawner_class():
    """LocalProcessSpawner that creates the attendee's account and applies the limits (imported late:
    this module's command line needs no JupyterHub)."""
    from jupyterhub.spawner import LocalProcessSpawner
    from traitlets import Integer, Unicode

    class AttendeeSpawner(LocalProcessSpawner):
        home_base = Unicode("/home", help="where attendees' homes are made").tag(config=True)
        attendee_group = Unicode("dllab-attendees", help="the group of the accounts the hub made").tag(config=True)
        nproc_limit = Integer(256, help="processes and threads per attendee (0: none)").tag(config=True)
        use_cgroups = Unicode("auto", help="auto: per-attendee cgroups where the machine allows; off").tag(config=True)

        _cgroups = ()

        async def start(self):
            ensure_group(self.attendee_group)
            ensure_account(self.user.name, self.home_base, self.attendee_group)
            if self.use_cgroups != "off":
                self._cgroups = make_cgroups(self.user.name, self.mem_limit or 0, self.nproc_limit)
            self.log.info("%s: Unix account %s, limits: memory %s per %s, %s processes, cgroups %s",
                          self.user.name, pwd.getpwnam(self.user.name).pw_uid, self.mem_limit,
                          "attendee" if any("memory" in str(g) or "unified" in str(g) for g in self._cgroups)
                          else "process", self.nproc_limit, [str(g) for g in self._cgroups] or "none")
            return await super().start()

        def make_preexec_fn(self, name):
            return limited_preexec(super().make_preexec_fn(name), self._cgroups, self.mem_limit or 0,
                                   self.nproc_limit)

        async def stop(self, now=False):
            await super().stop(now=now)
            remove_cgroups(self._cgroups)
            self._cgroups = ()

    return AttendeeSpawner


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description="nbgrader's exchange with per-attendee permissions")
    sub = parser.add_subparsers(dest="what", required=True)
    ex = sub.add_parser("exchange", help="make (or fix) the exchange folders and their modes")
    ex.add_argument("root")
    ex.add_argument("--course", default="dllab")
    ex.add_argument("--owner", required=True, help="the grader: name, uid or uid:gid")
    args = parser.parse_args(argv)
    prepare_exchange(args.root, args.course, args.owner)
    for sub_ in [""] + [k for k in MODES if k]:
        path = Path(args.root) / args.course / sub_
        st = path.stat()
        print(f"{oct(st.st_mode & 0o7777)} {st.st_uid}:{st.st_gid} {path}")


if __name__ == "__main__":
    main()
