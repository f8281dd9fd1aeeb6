"""nbgrader for the instructor on the class hub: the exchange, added to the course's own configuration,
and a collect that takes only what each attendee really handed in.

The course folder (grading/ in the repository, or DLLAB_COURSE_ROOT) keeps its nbgrader_config.py:
course id, source and release folders, time limits, feedback. This file adds what the hub needs.
The formgrader service gets this folder on JUPYTER_CONFIG_PATH (jupyterhub_config.py); in a shell, as
the grader account that owns the course and the exchange:

    cd grading
    JUPYTER_CONFIG_PATH=../deploy/jupyterhub/instructor nbgrader release_assignment lab1_logreg
    JUPYTER_CONFIG_PATH=../deploy/jupyterhub/instructor nbgrader collect lab1_logreg

DLLAB_SUBMISSION_OWNER says who must own a submission filed under student S:
    account [default]  the Unix account S (one machine, one account per attendee)
    uid                uid dllab_uid(S), the uid config.yaml gives S's pod (Kubernetes)
    any                no check: the hub's shared trial mode, where one Unix user owns everything
"""

import glob
import hashlib
import os
import pwd
import stat
from pathlib import Path

from nbgrader.exchange.default import ExchangeCollect

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

STATE = Path(os.environ.get("DLLAB_HUB_STATE") or Path(__file__).resolve().parent.parent / "state")

c.CourseDirectory.course_id = os.environ.get("DLLAB_COURSE", "dllab")
c.Exchange.root = os.environ.get("DLLAB_HUB_EXCHANGE") or str(STATE / "exchange")
c.ExchangeCollect.check_owner = True

OWNER_RULE = os.environ.get("DLLAB_SUBMISSION_OWNER", "account")
if OWNER_RULE not in ("account", "uid", "any"):
    raise ValueError(f"DLLAB_SUBMISSION_OWNER={OWNER_RULE!r}: account, uid or any")


def dllab_uid(name):
    """The uid of attendee ``name``'s pod on Kubernetes (config.yaml's hub.extraConfig has the same)."""
    return 100_000 + int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") % 2**30


def refusal(path, student):
    """Why the submission at ``path``, filed under ``student``, is not theirs to hand in; None if it is."""
    st = os.lstat(path)
    if OWNER_RULE == "account":
        try:
            expected = pwd.getpwnam(student).pw_uid
        except KeyError:
            return f"there is no Unix account {student!r}"
    elif OWNER_RULE == "uid":
        expected = dllab_uid(student)
    else:
        expected = None
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [""] + dirnames + filenames:
            entry = os.path.join(dirpath, name) if name else dirpath
            est = os.lstat(entry)
            if not (stat.S_ISDIR(est.st_mode) or stat.S_ISREG(est.st_mode)):
                return f"{entry} is not a plain file or folder (a link, a pipe, a device)"
            if expected is not None and est.st_uid != expected:
                return f"{entry} is owned by uid {est.st_uid}, not by {student} ({expected})"
            if expected is None and est.st_uid != st.st_uid:
                return f"{entry} has another owner than the submission"
    return None


class OwnedCollect(ExchangeCollect):
    """nbgrader's collect, where a submission that its student does not own (or that holds links, pipes
    or devices) is refused and reported, and never hides that student's own, older, submission.

    nbgrader 0.9.6 only warns (check_owner) and still collects the newest submission filed under a name,
    whoever made it: an attendee could hand in a notebook as a classmate, or a link that the grader's
    collect would follow into the course's solutions."""

    _refusals = None

    def _refusal(self, record):
        if self._refusals is None:
            self._refusals = {}
        name = record["filename"]
        if name not in self._refusals:
            self._refusals[name] = refusal(os.path.join(self.inbound_path, name), record["username"])
        return self._refusals[name]

    def _sort_by_timestamp(self, records):
        # genuine submissions first (newest first), refused ones after them
        return sorted(records, key=lambda r: (self._refusal(r) is None, r["timestamp"]), reverse=True)

    def init_src(self):
        super().init_src()
        student = self.coursedir.student_id or "*"
        for path in sorted(glob.glob(os.path.join(self.inbound_path, f"{student}+{self.coursedir.assignment_id}+*"))):
            record = self._path_to_record(path)
            why = self._refusal(record)
            if why:
                self.log.error("Refused %s (filed under %s): %s", record["filename"], record["username"], why)
        self.src_records = [r for r in self.src_records if not self._refusal(r)]

    def copy_files(self):
        # the owner is checked above; nbgrader's own check looks up names, which only 'account' has
        check_owner, self.check_owner = self.check_owner, self.check_owner and OWNER_RULE == "account"
        try:
            super().copy_files()
        finally:
            self.check_owner = check_owner


c.ExchangeFactory.collect = OwnedCollect
