"""What the widgets share: figures as PNG bytes, showing a widget, a clock."""

from __future__ import annotations

import io
import math


def _png(fig, dpi=80) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _show(widget):
    from IPython.display import display

    display(widget)


def _clock(seconds) -> str:
    """Seconds as m:ss or h:mm:ss."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
