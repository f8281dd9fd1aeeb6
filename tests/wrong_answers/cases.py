"""The two kinds of case of the wrong-answer corpus."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Wrong:
    function: str  # the grade_id of the answer cell
    why: str  # the mistake, for the test id
    source: str  # the whole answer cell, with the mistake
    message: tuple  # phrases the failure message must contain
    visible: bool = True  # must fail in the visible test cell (not only in the hidden one)


@dataclass
class Noisy:
    """A right answer that warns, writes to stderr or changes NumPy's error state: it must pass."""

    function: str
    why: str
    source: str
