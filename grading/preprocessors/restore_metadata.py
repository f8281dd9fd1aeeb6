"""RestoreMetadata (autograde, sanitising): every cell's nbgrader metadata rebuilt from the gradebook."""

from __future__ import annotations

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from ..events import EventLog
from ..hidden import released


class RestoreMetadata(NbGraderPreprocessor):
    """Rebuild every cell's nbgrader metadata from the gradebook; repair duplicates and lost ids."""

    def preprocess(self, nb, resources):
        nbg = resources["nbgrader"]
        self.events = EventLog.for_resources(resources, self)
        self.events.reset()
        with Gradebook(nbg["db_url"]) as gb:
            notebook = gb.find_notebook(nbg["notebook"], nbg["assignment"])
            source = {c.name: c for c in notebook.source_cells}
            order = [c.name for c in notebook.source_cells]
            expected = {}
            for name, cell in source.items():
                meta = {"cell_type": cell.cell_type, "grade": False, "grade_id": name, "locked": bool(cell.locked),
                        "schema_version": 3, "solution": False, "task": False}
                expected[name] = meta
            for cell in notebook.grade_cells:
                expected[cell.name].update(grade=True, points=float(cell.max_score))
            for cell in notebook.solution_cells:
                expected[cell.name]["solution"] = True
            for cell in notebook.task_cells:
                expected[cell.name].update(task=True, points=float(cell.max_score))
            texts = {name: (source[name].source, released(source[name].source)) for name in source}
            kinds = {name: source[name].cell_type for name in source}

        seen, unknown = set(), []
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            gid = meta.get("grade_id") if isinstance(meta, dict) else None
            if gid in expected and gid not in seen:
                seen.add(gid)
                if {k: meta.get(k) for k in expected[gid]} != expected[gid]:
                    self.events.add("metadata_restored", f"cell {gid!r}: nbgrader flags restored")
                self._set(cell, expected[gid])
            elif gid in expected:  # a copy: the first one is the original
                del cell.metadata["nbgrader"]
                self.events.add("duplicate_removed", f"a second cell with id {gid!r} became a plain cell")
            elif meta is not None or any(cell.source in texts[n] for n in texts if n not in seen):
                unknown.append(index)
        missing = [n for n in order if n not in seen]
        # a lost id: first by identical text (a locked cell), then by position among the unknown cells
        for index in list(unknown):
            cell = nb.cells[index]
            match = next((n for n in missing if kinds[n] == cell.cell_type and expected[n]["locked"]
                          and cell.source in texts[n]), None)
            if match is not None:
                self._set(cell, expected[match])
                missing.remove(match)
                unknown.remove(index)
                self.events.add("metadata_restored", f"cell {match!r}: lost id restored (same text)")
        for index in list(unknown):
            cell = nb.cells[index]
            if "nbgrader" not in cell.metadata:
                continue
            match = next((n for n in missing if kinds[n] == cell.cell_type), None)
            if match is not None:
                self._set(cell, expected[match])
                missing.remove(match)
                self.events.add("metadata_restored", f"cell {match!r}: edited id restored (by position)")
            else:
                del cell.metadata["nbgrader"]
                self.events.add("metadata_restored", "a cell with an unknown grade id became a plain cell")
        for name in missing:
            self.events.add("cell_missing", f"cell {name!r} was missing and was put back from the source")
        return nb, resources

    @staticmethod
    def _set(cell, meta):
        old = cell.metadata.get("nbgrader", {})
        cell.metadata["nbgrader"] = dict(meta, **({"checksum": old["checksum"]} if "checksum" in old else {}))
