"""Lab 4 (an LSTM forecaster): the answers its visible tests compare with.

``lstm_step_reference`` and ``lstm_forward_reference`` serve the expected values of one LSTM step and
of the loop over padded sequences; ``lstm_step_mistakes`` and ``lstm_forward_mistakes`` those of the
usual mistakes, so that a test can name the one it sees (see :mod:`dllab.labs.answers`). The lab's
other checks are the generic ones of :mod:`dllab.labs.checking`.
"""

from __future__ import annotations

from .answers import served

# what the package re-exports: labs.<name> in the notebook
__all__ = ["lstm_forward_mistakes", "lstm_forward_reference", "lstm_step_mistakes", "lstm_step_reference"]

lstm_step_reference = served("lstm_step_reference")
lstm_step_mistakes = served("lstm_step_mistakes")
lstm_forward_reference = served("lstm_forward_reference")
lstm_forward_mistakes = served("lstm_forward_mistakes")
