"""Where the code runs: in a Jupyter kernel (widgets and live figures can be shown) or not."""

from __future__ import annotations


def in_notebook() -> bool:
    """True inside a Jupyter kernel (widgets can be shown), False in a terminal or a script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")
