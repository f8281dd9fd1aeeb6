"""Hidden tests: the source as attendees got it, and every line of them scrubbed from outputs."""

from __future__ import annotations

import html
import json

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def released(source):
    """A cell's source as attendees got it: the ### BEGIN/END HIDDEN TESTS region cut out."""
    kept, inside = [], False
    for line in source.split("\n"):
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def hidden_lines(nb, min_length=6):
    """Every line (stripped) of every hidden-test region of the notebook, longest first."""
    lines = set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if BEGIN in line:
                inside = True
            elif END in line:
                inside = False
            elif inside and len(line.strip()) >= min_length:
                lines.add(line.strip())
    return sorted(lines, key=len, reverse=True)


def _scrub_text(text, secrets):
    for line in secrets:
        for form in {line, repr(line)[1:-1], html.escape(line), html.escape(line, quote=False),
                     json.dumps(line)[1:-1]}:
            if form in text:
                text = text.replace(form, "[hidden test]")
    return text


def scrub_output(output, secrets):
    if output.get("output_type") == "stream":
        output["text"] = _scrub_text(output["text"], secrets)
    elif output.get("output_type") == "error":
        output["evalue"] = _scrub_text(output.get("evalue", ""), secrets)
        output["traceback"] = [_scrub_text(t, secrets) for t in output.get("traceback", [])]
    else:
        data = output.get("data", {})
        for mime, value in list(data.items()):
            if isinstance(value, str):
                data[mime] = _scrub_text(value, secrets)
            elif isinstance(value, list):
                data[mime] = [_scrub_text(v, secrets) if isinstance(v, str) else v for v in value]

