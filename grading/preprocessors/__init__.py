"""The course's nbgrader preprocessors, one per file (``nbgrader_config.py`` puts each in its step).

* ``RestoreMetadata`` (autograde, sanitising, before nbgrader's OverwriteCells): the nbgrader
  metadata of every cell is rebuilt from the gradebook, so an edited flag, points value or grade id
  is put back instead of failing that attendee; of duplicated cells (a copy-pasted test or answer)
  the first copy keeps its id and the others become plain cells; a graded cell whose id was edited
  or removed is matched back by its text or position.
* ``ReportEditedCells`` (autograde, sanitising): nbgrader's OverwriteCells, naming who edited a
  read-only cell (a test cell that differs only by its hidden tests, cut from the release, is not an edit).
* ``SandboxedExecute`` (autograde): the hand-in's kernel in a bubblewrap sandbox, its test cells
  decided by the judge on the host.
* ``LimitOutputChars`` (autograde): nbgrader's line limit, plus a limit in characters.
* ``HideHiddenTests`` (feedback): hidden-test source cut from the cells *and* scrubbed from every
  output of the notebook (a printed ``In``, a traceback, ``linecache``...).

Their events go to the integrity log (``grading.events``).
"""

from .hide_hidden_tests import HideHiddenTests
from .limit_output_chars import LimitOutputChars
from .report_edited_cells import ReportEditedCells
from .restore_metadata import RestoreMetadata
from .sandboxed_execute import SandboxedExecute

__all__ = ["HideHiddenTests", "LimitOutputChars", "ReportEditedCells", "RestoreMetadata", "SandboxedExecute"]
