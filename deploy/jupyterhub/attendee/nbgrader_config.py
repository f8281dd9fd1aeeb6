"""nbgrader in an attendee's server on the class hub: the course, the exchange, and who is submitting.

JupyterHub's spawner puts this folder on JUPYTER_CONFIG_PATH (jupyterhub_config.py here; on
Kubernetes, config.yaml mounts this file into /etc/jupyter). The Assignments panel reads it on
every list, fetch and submit.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# Who is submitting. nbgrader 0.9.6 files a submission under the Unix user name (it reads
# JUPYTERHUB_USER only when that name is "jovyan"): when attendees share one Unix user, every
# hand-in would carry the same id and `nbgrader collect` would keep only the newest, silently.
# The hub names the attendee in JUPYTERHUB_USER; this is set first so that a server started
# outside the hub fails to load the rest (no exchange) instead of submitting under a wrong name.
try:
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
except KeyError:
    raise RuntimeError("JUPYTERHUB_USER is not set: this nbgrader configuration is for servers started by "
                       "the class hub (deploy/jupyterhub); on your own machine use `make lab`") from None

c.CourseDirectory.course_id = os.environ.get("DLLAB_COURSE", "dllab")
# the hub and the Kubernetes pods set this; nbgrader's own default is /srv/nbgrader/exchange
c.Exchange.root = os.environ.get("DLLAB_HUB_EXCHANGE", "/srv/nbgrader/exchange")
