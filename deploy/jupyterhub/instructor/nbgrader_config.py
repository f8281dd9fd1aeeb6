"""nbgrader for the instructor on the class hub: the exchange, added to the course's own configuration.

The course folder (grading/ in the repository, or DLLAB_COURSE_ROOT) keeps its nbgrader_config.py:
course id, source and release folders, time limits, feedback. This file adds what the hub needs.
The formgrader service gets this folder on JUPYTER_CONFIG_PATH (jupyterhub_config.py); in a shell:

    cd grading
    JUPYTER_CONFIG_PATH=../deploy/jupyterhub/instructor nbgrader release_assignment lab1_logreg
    JUPYTER_CONFIG_PATH=../deploy/jupyterhub/instructor nbgrader collect lab1_logreg
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

STATE = Path(os.environ.get("DLLAB_HUB_STATE") or Path(__file__).resolve().parent.parent / "state")

c.CourseDirectory.course_id = os.environ.get("DLLAB_COURSE", "dllab")
c.Exchange.root = os.environ.get("DLLAB_HUB_EXCHANGE") or str(STATE / "exchange")
# On one machine the attendees' servers all run as the hub's Unix user, so a submission's files are
# not owned by the attendee they are filed under; each attendee's id comes from the hub (see
# ../attendee/nbgrader_config.py), not from the file's owner.
c.CollectApp.check_owner = False
