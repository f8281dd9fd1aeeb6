"""nbgrader in an attendee's server on the class hub: the course, the exchange, who is submitting, and
submissions that only their author and the grader can read.

JupyterHub's spawner puts this folder on JUPYTER_CONFIG_PATH (jupyterhub_config.py here; on
Kubernetes, config.yaml mounts this file into /etc/dllab/attendee). The Assignments panel reads it on
every list, fetch and submit.
"""

import os

from nbgrader.exchange.default import ExchangeSubmit

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# Who is submitting. With one Unix account per attendee (the one-machine hub run as root) nbgrader
# files a submission under that account's name, which is the hub name, and the instructor's collect
# checks that the account owns it. Where the Unix user says nothing (the hub's shared trial mode, or a
# Kubernetes pod whose uid has no name), the hub sets DLLAB_STUDENT_FROM_HUB and the id is the hub
# user; a server started outside the hub then fails here instead of submitting under a wrong name.
if os.environ.get("DLLAB_STUDENT_FROM_HUB") == "1":
    try:
        c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
    except KeyError:
        raise RuntimeError("JUPYTERHUB_USER is not set: this nbgrader configuration is for servers started by "
                           "the class hub (deploy/jupyterhub); on your own machine use `make lab`") from None

c.CourseDirectory.course_id = os.environ.get("DLLAB_COURSE", "dllab")
# the hub and the Kubernetes pods set this; nbgrader's own default is /srv/nbgrader/exchange
c.Exchange.root = os.environ.get("DLLAB_HUB_EXCHANGE", "/srv/nbgrader/exchange")


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, then the submission closed to other attendees.

    nbgrader 0.9.6 leaves a submission's folder world-writable (0777) and its files world-readable,
    hidden only by a random name in inbound/, which attendees cannot list. The hub's inbound/ is setgid
    to the grader's group, so the folder belongs to that group: at 0750 the grader still reads it, and
    another attendee who learnt its name can neither enter it nor change it. Where the folder's group is
    the attendee's own (no such inbound/), it only stops being world-writable (0755)."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        os.chmod(dest, 0o755 if os.stat(dest).st_gid in (os.getgid(), *os.getgroups()) else 0o750)


c.ExchangeFactory.submit = PrivateSubmit
