"""The weights file: a model's ``state_dict`` as an ``.npz``, written atomically and read back with care.

``Module.save`` and ``Module.load`` call these. They are apart from Module because they are about
the file, not the model: a crash while saving never leaves half a file (a temporary file in the
same folder, moved into place with ``os.replace``); loading something that is not a dllab weights
file says what it is instead (an ``.npy``, a pickle, an empty file). A few plain values may be
stored beside the weights (keys starting with :data:`INFO`): the Trainer's ``Checkpoint`` records
there which value it monitored and its best, read back by :func:`checkpoint_info`.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from dllab.layers import Dense
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = save(Dense(2, in_features=3), Path(folder.name) / "best.npz",
    ...             info={"monitor": "val_loss", "mode": "min", "best": 0.25})
    >>> load(Dense(2), path).W.shape, checkpoint_info(path)
    ((3, 2), {'monitor': 'val_loss', 'mode': 'min', 'best': 0.25})
    >>> folder.cleanup()
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

INFO = "__info__."  # the keys of a saved .npz that are not weights but what the file records about itself


def save(model, path, info=None):
    """Write ``model``'s weights to an ``.npz`` file atomically; returns the path.

    info: a few plain values (strings, numbers) stored beside the weights under keys starting
    with ``INFO``; :func:`load` skips them.
    """
    path = Path(path)
    state = model.state_dict()
    if not state:
        raise ValueError(f"{model!r} has no weights yet: layers create them on their first call; run "
                         "the model on a batch (model(x[:1])) or train it before saving")
    state.update({INFO + key: np.asarray(value) for key, value in (info or {}).items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **state)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load(model, path):
    """Load weights written by :func:`save` into ``model``; returns the model."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no weights file at {path}; save one first with model.save(path)")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the .npz file that model.save wrote in it")
    with open(path, "rb") as fh:
        head = fh.read(6)
    not_ours = f"{path} is not a dllab weights file (the .npz that model.save writes): "
    if head.startswith(b"\x93NUMPY"):
        raise ValueError(not_ours + "it holds one array saved with np.save (an .npy file), not the named "
                         "weights of a model; save models with model.save(path)")
    if not head.startswith(b"PK"):
        kind = "it is empty" if not head else f"it is not a zip archive (it starts with {head!r})"
        raise ValueError(not_ours + kind)
    try:
        with np.load(path) as data:
            state = {k: data[k] for k in data.files if not k.startswith(INFO)}  # the weights alone
    except Exception as exc:
        reason = ("it holds pickled Python objects, not the plain arrays model.save writes"
                  if "allow_pickle" in str(exc) else f"a zip archive numpy cannot read as .npz ({exc})")
        raise ValueError(not_ours + reason) from exc
    return model.load_state_dict(state)


def checkpoint_info(path):
    """What a checkpoint file records about itself: ``{"monitor", "mode", "best"}``, or None for a
    file without that record (written by ``model.save``), a missing file or one that is not an .npz."""
    keys = ("monitor", "mode", "best")
    try:
        with np.load(path) as data:
            if not all(INFO + key in data.files for key in keys):
                return None
            return {"monitor": str(data[INFO + "monitor"]), "mode": str(data[INFO + "mode"]),
                    "best": float(data[INFO + "best"])}
    except (OSError, ValueError, zipfile.BadZipFile):  # no file, or not one np.load can read: nothing recorded
        return None


__all__ = ["INFO", "save", "load", "checkpoint_info"]
