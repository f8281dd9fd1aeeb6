"""Warnings that point at the attendee's line, not at the library's."""

from __future__ import annotations

import sys
import warnings

_INTERNAL = ("dllab", "contextlib")  # contextlib: no_grad and friends wrap calls


def warn_at_caller(message, category=UserWarning):
    """``warnings.warn`` with the stack level of the first caller outside dllab."""
    frame, level = sys._getframe(1), 2  # stacklevel 2: the frame that called this function
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
