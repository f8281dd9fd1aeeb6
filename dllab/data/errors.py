"""The one exception type of ``dllab.data``.

``DataError`` subclasses ``OSError``, like the standard library's
``gzip.BadGzipFile``: a missing, damaged or wrongly formatted data file is a
problem with the files on disk, so ``except OSError`` catches it together with
permission errors and the like. Its message always names the file.
"""


class DataError(OSError):
    """A data file is missing, fails its SHA-256 check, or cannot be parsed.

    Raised for: a missing shipped file, a checksum mismatch, a corrupt gzip
    stream, a bad or truncated IDX file, and a file that is not the expected
    CSV. The message names the path and says how to restore the file.
    """


class DataWarning(UserWarning):
    """Something was wrong with the data but loading went on: skipped rows, a bad cache file."""
