"""Where the data files live, and how we know they are the right ones.

Every file the repository ships under ``assets/data/<dataset>/`` is listed in
``REGISTRY`` with its SHA-256 (the same sums as in that folder's SOURCE.md).
Loaders ask for a file through :func:`verified_path`, which checks the sum
before the file is read, so a damaged or swapped file fails loudly with a
:class:`DataError` instead of training a model on garbage.

Two environment variables move things around:

- ``DLLAB_DATA``: the folder that holds ``mnist/``, ``fashion-mnist/`` and
  ``iot-solar/`` (default: the repository's ``assets/data``).
- ``DLLAB_CACHE``: where parsed arrays are cached as ``.npz`` files
  (default: ``~/.cache/dllab``).
"""

import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import DataError

# dataset name -> {file name: SHA-256}; copied from assets/data/<name>/SOURCE.md
REGISTRY = {
    "mnist": {
        "train-images-idx3-ubyte.gz":
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz":
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz":
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz":
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz":
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz":
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz":
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz":
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    "iot-solar": {
        "solar.csv":
            "7005e69180d22d9599cb77b8e2b2b56a2f797b6286c115a5586b687b8b4b1c19",
    },
    "digit-photos": {
        "digit_photos.npz":
            "ba5460712f2e5d73d66c5dc0de377b92b75b70308932cf8aac26b5c1cbc9f24c",
    },
    "lenet-digits-0-4": {  # lab 5's trained source network (made by make_weights.py in its folder)
        "lenet_digits_0-4.npz":
            "05108bf8270c0f94765e2be2073ba58637e2fa08c347e1c3a59b10c77572a289",
    },
}

# The shipped data folder, found from this file: dllab/data/files.py -> repo root.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "assets" / "data"


def data_dir():
    """The folder that holds one sub-folder per dataset.

    Returns ``Path($DLLAB_DATA)`` if that variable is set and non-empty, else
    the repository's ``assets/data``.
    """
    env = os.environ.get("DLLAB_DATA")
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR


def cache_dir():
    """The folder for cached arrays: ``$DLLAB_CACHE`` if set, else ``~/.cache/dllab``.

    The folder is not created here; writers create it when they need it.
    """
    env = os.environ.get("DLLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dllab"


def sha256_file(path):
    """SHA-256 of a file's bytes, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        # 1 MiB chunks: constant memory however large the file is
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def npz_bytes(arrays):
    """The .npz of ``arrays`` (name -> array) with a fixed timestamp on every entry and no pickles,
    so that the same arrays always give the same bytes (np.savez stamps the clock): how the shipped
    files made by a script in assets/data are written."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in arrays.items():
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entry.getvalue())
    return buffer.getvalue()


def write_or_check(path, data, check=False):
    """Write ``data`` to ``path`` atomically, or with ``check`` compare it with the file there.

    For the scripts that remake a shipped file: returns 0, or 1 when ``check`` finds the file missing
    or different (the message names both SHA-256).
    """
    path = Path(path)
    if check:
        shipped = sha256_file(path) if path.is_file() else "(missing)"
        if shipped != hashlib.sha256(data).hexdigest():
            print(f"{path} differs from this run: shipped sha256 {shipped}", file=sys.stderr)
            return 1
        print(f"{path.name} matches")
        return 0
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        tmp.write(data)
    Path(tmp.name).replace(path)
    print(f"wrote {path}")
    return 0


def _check_name(name):
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; the shipped ones are {sorted(REGISTRY)}")


def shipped_path(name, filename):
    """Path of a registered file inside :func:`data_dir` (not checked)."""
    _check_name(name)
    if filename not in REGISTRY[name]:
        raise ValueError(f"{filename!r} is not a file of dataset {name!r}; "
                         f"its files are {sorted(REGISTRY[name])}")
    return data_dir() / name / filename


def _restore_hint(name, filename):
    """How to get a good copy back; shown at the end of every file error."""
    hint = (f"To restore it: run `git checkout -- assets/data/{name}/{filename}` in the "
            f"repository, or copy it again from the origin given in "
            f"assets/data/{name}/SOURCE.md")
    if os.environ.get("DLLAB_DATA"):
        hint += (f" (DLLAB_DATA is set to {os.environ['DLLAB_DATA']!r}; put a good copy there "
                 f"or unset DLLAB_DATA to use the repository's files)")
    else:
        hint += ", or set DLLAB_DATA to a folder that holds good copies"
    return hint + "."


def check_file(name, filename):
    """Check one registered file: returns ``(path, ok, message)``, never raises."""
    path = shipped_path(name, filename)
    expected = REGISTRY[name][filename]
    if not path.is_file():
        where = ""
        env = os.environ.get("DLLAB_DATA")
        if env and not data_dir().is_dir():
            where = (f" DLLAB_DATA={env!r} is not a folder: unset it to use the shipped data, or point "
                     "it at a folder with one sub-folder per dataset.")
        return path, False, (f"{path}: file is missing (expected sha256 {expected}).{where} "
                             f"{_restore_hint(name, filename)}")
    actual = sha256_file(path)
    if actual != expected:
        return path, False, (f"{path}: SHA-256 mismatch, the file is damaged or not the "
                             f"shipped one.\n  expected {expected}\n  actual   {actual}\n"
                             f"{_restore_hint(name, filename)}")
    return path, True, f"{path}: OK (sha256 {expected[:12]}...)"


def verified_path(name, filename):
    """Path of a registered file after checking its SHA-256.

    Raises:
        DataError: the file is missing or its SHA-256 differs from ``REGISTRY``;
            the message names the path, both sums and how to restore the file.
    """
    path, ok, message = check_file(name, filename)
    if not ok:
        raise DataError(message)
    return path


def verify(name=None):
    """Check the SHA-256 of shipped files (used by ``dllab doctor``).

    Args:
        name: a dataset name from ``REGISTRY`` (``"mnist"``, ``"fashion-mnist"``,
            ``"iot-solar"``), or None for all of them.

    Returns:
        A list of ``(path, ok, message)`` tuples, one per file; ``ok`` is a bool
        and ``message`` a one-line verdict (several lines with sums when not ok).
    """
    names = sorted(REGISTRY) if name is None else [name]
    results = []
    for dataset in names:
        _check_name(dataset)
        for filename in REGISTRY[dataset]:
            results.append(check_file(dataset, filename))
    return results
