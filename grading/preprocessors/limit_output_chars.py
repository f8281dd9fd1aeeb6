"""LimitOutputChars (autograde): nbgrader's line limit on outputs, plus a limit in characters."""

from __future__ import annotations

import json

from nbgrader.preprocessors import LimitOutput
from traitlets import Integer

TEXT_LIMIT_NOTE = "\n... output truncated: {n} characters dropped ...\n"


class LimitOutputChars(LimitOutput):
    """nbgrader's LimitOutput (lines), plus characters: per output and per cell, all mime types."""

    max_chars = Integer(100_000, help="Characters of output kept per cell (-1: no limit)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if cell.cell_type != "code" or self.max_chars < 0:
            return cell, resources
        budget = self.max_chars
        for output in cell.outputs:
            if output.output_type == "stream":
                text = output.text
                if len(text) > budget:
                    output.text = text[:max(budget, 0)] + TEXT_LIMIT_NOTE.format(n=len(text) - max(budget, 0))
                budget -= len(output.text)
            elif output.output_type == "error":
                output.evalue = output.evalue[:2000]
                output.traceback = [line[:2000] for line in output.traceback]
            else:
                data = output.get("data", {})
                for mime in list(data):
                    value = data[mime] if isinstance(data[mime], str) else json.dumps(data[mime])
                    if len(value) > budget:
                        del data[mime]
                        if mime == "text/plain" or not data:
                            data["text/plain"] = TEXT_LIMIT_NOTE.format(n=len(value))
                    else:
                        budget -= len(value)
        return cell, resources
