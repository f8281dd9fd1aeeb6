"""The course's nbgrader plugins, one per file (``nbgrader_config.py`` names them).

* ``NotebooksOnlyExtractor`` (zip_collect): archives and hand-in folders are unpacked keeping only
  the notebooks, so nothing handed in beside one (a shadow ``dllab/`` package, a script) is ever
  written into the course.
* ``IntegrityCsvExport`` (export): the CSV gets ``integrity`` and ``integrity_notes`` columns from
  the last integrity report, so a flagged 0 is never a bare 0.
"""

from .integrity_csv_export import IntegrityCsvExport
from .notebooks_only_extractor import NotebooksOnlyExtractor

__all__ = ["IntegrityCsvExport", "NotebooksOnlyExtractor"]
