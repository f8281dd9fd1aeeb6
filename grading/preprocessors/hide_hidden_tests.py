"""HideHiddenTests (feedback): hidden tests cut from the cells and scrubbed from every output."""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests

from ..hidden import hidden_lines, scrub_output


class HideHiddenTests(ClearHiddenTests):
    """Keep hidden tests out of the feedback: drop their source, shorten their errors, and scrub
    every line of them from every output of the notebook.

    A failing hidden test keeps only its message (``LabCheckError: ...``), which says what was
    wrong; the traceback would quote the test's code. A hand-in that prints ``In``, reads
    ``linecache`` or echoes a test's source some other way gets ``[hidden test]`` in its place.
    """

    def preprocess(self, nb, resources):
        self._secrets = hidden_lines(nb)
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                scrub_output(output, self._secrets)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        had_hidden = self.begin_test_delimeter in cell.source
        cell, resources = super().preprocess_cell(cell, resources, index)
        if had_hidden and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources
