"""The IoT solar-panel data set: readings of a home solar inverter, 2013-2016.

``solar.csv`` has one row every 30 minutes of daylight with the current power
(``solar.current``, W) and the energy produced so far that day
(``solar.total``, Wh; it restarts at 0 every morning). The lab predicts a
day's total output from its first readings, as in the CNTK 106B tutorial.

Time zones, and why we group by the local date
----------------------------------------------
The timestamps are local wall-clock time. Rows in US daylight-saving time carry
a ``-07:00`` suffix (17,400 rows); rows in standard time carry none (7,969
rows). A parser that converts the suffixed rows to UTC moves every reading
from 17:00 local onwards to the next UTC date, so a day's evening readings,
the ones with the highest ``solar.total``, are counted in the next day: its
sequence and its target change. We therefore group by the first 10
characters of the timestamp, the local date, and treat the first 19
characters as naive local time. The offset only records whether DST was in
force (``has_offset`` in ``read_solar_csv``'s result). Grouping by UTC
instead would move 4,298 readings and change 675 of the 1,047 days
(details in ``docs/data.md``).

Preprocessing done by ``iot_solar`` (and how it differs from the tutorial)
-------------------------------------------------------------------------
1. Rows that are malformed (wrong number of fields, a time or number that
   does not parse, NaN or infinite values) are skipped and counted, with a
   warning.
2. Readings are grouped into local days. Days with fewer than ``min_steps``
   (8) readings are dropped; longer days keep their first ``steps`` (14)
   readings as the input sequence, features (current, total).
3. The target is the day's total output: the maximum of ``solar.total`` over
   all readings of the day (as the tutorial does).
4. Days are split in time order: the first 80 % for training, the next 10 %
   for validation, the last 10 % for testing. The tutorial interleaved them
   (day index modulo 10); a chronological split is the honest test of a
   forecaster, which in use only ever sees the past.
5. Each column is divided by its maximum over the training days (the
   tutorial used the maximum over all days, which leaks information from
   the test days into training). The target is divided by the same scale as
   ``solar.total``; ``SolarData.to_watt_hours`` undoes it.
"""

import csv
import dataclasses
import datetime
import re
import warnings
from pathlib import Path

import numpy as np

from .batches import Dataset
from .errors import DataError, DataWarning
from .files import verified_path

COLUMNS = ("time", "solar.current", "solar.total")
# naive local time, then an optional UTC-offset suffix such as -07:00
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)([+-]\d\d:\d\d)?")


def _read_text(path):
    """The file as text; DataError for a missing, empty or binary file."""
    if Path(path).is_dir():
        raise DataError(f"{path} is a folder: give the path of the solar CSV file in it")
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    if not raw.strip():
        raise DataError(f"{path}: the file is empty; expected a CSV with header "
                        f"{','.join(COLUMNS)}")
    not_text = DataError(f"{path}: this is a binary file, not the solar CSV (expected text "
                         f"with header {','.join(COLUMNS)})")
    if b"\x00" in raw[:4096]:  # NUL bytes never occur in text
        raise not_text
    try:
        return raw.decode("utf-8-sig")  # -sig: a byte-order mark (a CSV saved by Excel) is dropped
    except UnicodeDecodeError:
        raise not_text from None


def _parse_time(text):
    """'YYYY-MM-DD HH:MM:SS' with an optional '+HH:MM'/'-HH:MM' suffix -> (local, has_offset).

    Returns None if the text is not such a timestamp.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    try:
        datetime.datetime.fromisoformat(match[1])  # rejects month 13, hour 25, ...
    except ValueError:
        return None
    return match[1], match[2] is not None


def _separator(header):
    """The field separator of a CSV from its header line: ',' or, as spreadsheets in many
    countries write them, ';' (or a tab); csv.Sniffer decides."""
    try:
        return csv.Sniffer().sniff(header, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_solar_csv(path=None):
    """Parse ``solar.csv`` into arrays, one entry per valid row, in file order.

    Args:
        path: a CSV file with the columns ``time,solar.current,solar.total``; fields may be
            separated by ',' or by ';' or a tab (then a decimal comma, 12,5, is read as 12.5).
            None means the shipped ``data_dir()/iot-solar/solar.csv``, whose
            SHA-256 is checked first.

    Returns:
        A dict of arrays of length R (the valid rows):

        - ``"time"``: datetime64[s], naive local wall-clock time;
        - ``"date"``: datetime64[D], the local date (first 10 characters);
        - ``"has_offset"``: bool, True for rows written with a ``-07:00`` suffix;
        - ``"current"``: float64, W;  ``"total"``: float64, Wh so far that day;

        and ``"skipped_rows"`` (int) and ``"skipped_lines"`` (list of the line
        numbers, 1-based, of the rows that were skipped).

    Raises:
        DataError: the file is missing, fails its checksum (shipped file),
            is empty or binary, lacks a required column, or has no valid row.
    """
    if path is None:
        path = verified_path("iot-solar", "solar.csv")
    lines = _read_text(path).splitlines()
    sep = _separator(lines[0])
    decimal_comma = sep != ","  # a CSV saved with ';' (European Excel) may write 12,5 for 12.5
    header = [name.strip() for name in lines[0].split(sep)]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise DataError(f"{path}: not the solar CSV: header {lines[0][:80]!r} (fields separated by {sep!r}) "
                        f"lacks the column(s) {missing}; expected {','.join(COLUMNS)}")
    i_time, i_current, i_total = (header.index(name) for name in COLUMNS)
    times, has_offset, current, total, skipped = [], [], [], [], []
    for line_number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue  # a blank line is not a row
        fields = line.split(sep)
        if decimal_comma:
            fields = [f.replace(",", ".") for f in fields]
        parsed = _parse_time(fields[i_time].strip()) if len(fields) == len(header) else None
        try:
            values = (float(fields[i_current]), float(fields[i_total])) if parsed else None
        except ValueError:
            values = None
        if values is None or not np.all(np.isfinite(values)):
            skipped.append(line_number)
            continue
        times.append(parsed[0])
        has_offset.append(parsed[1])
        current.append(values[0])
        total.append(values[1])
    if not times:
        raise DataError(f"{path}: no valid data rows ({len(skipped)} malformed)")
    if skipped:
        warnings.warn(f"{path}: skipped {len(skipped)} malformed row(s), first on line(s) "
                      f"{skipped[:5]}", DataWarning, stacklevel=2)
    time = np.array(times, dtype="datetime64[s]")
    return {
        "time": time,
        "date": np.array([t[:10] for t in times], dtype="datetime64[D]"),
        "has_offset": np.array(has_offset, dtype=bool),
        "current": np.array(current, dtype=np.float64),
        "total": np.array(total, dtype=np.float64),
        "skipped_rows": len(skipped),
        "skipped_lines": skipped,
    }


@dataclasses.dataclass
class SolarData:
    """The IoT solar lab data, split by time into train / validation / test days.

    Inputs are padded: ``x_*`` has shape (days, steps, 2) float32 with the
    features (current, total) divided by ``scale``; a day with fewer than
    ``steps`` readings has zeros after its last reading, and ``len_*`` (days,)
    int64 says how many steps are real (between ``min_steps`` and ``steps``).
    ``truncated(k)`` gives equal-length sequences without padding.

    Targets ``y_*`` have shape (days, 1) float32: the day's maximum
    ``solar.total`` divided by ``scale[1]``; ``to_watt_hours`` converts back.
    ``dates_*`` (days,) datetime64[D] are the local dates.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    len_train: np.ndarray
    dates_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    len_val: np.ndarray
    dates_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    len_test: np.ndarray
    dates_test: np.ndarray
    scale: np.ndarray  # (2,) float64: the divisors of (current in W, total in Wh)
    steps: int
    min_steps: int
    skipped_rows: int

    @property
    def lengths(self):
        """``{"train": len_train, "val": len_val, "test": len_test}``."""
        return {"train": self.len_train, "val": self.len_val, "test": self.len_test}

    def dataset(self, split):
        """One split ("train", "val" or "test") as a Dataset of padded sequences with their
        lengths, ready for ``Trainer.fit`` / ``evaluate`` / ``predict``."""
        if split not in ("train", "val", "test"):
            raise ValueError(f"SolarData.dataset: split must be 'train', 'val' or 'test', got {split!r}")
        return Dataset(getattr(self, f"x_{split}"), getattr(self, f"y_{split}"), f"solar-{split}",
                       lengths=getattr(self, f"len_{split}"))

    def to_watt_hours(self, y):
        """Normalised targets or predictions (any shape) -> Wh."""
        return np.asarray(y) * self.scale[1]

    def truncated(self, k=None):
        """A copy with every day cut to its first ``k`` readings (no padding).

        Args:
            k: 1 <= k <= min_steps (default min_steps), so every day has k real readings.

        Returns:
            SolarData with ``x_*`` of shape (days, k, 2) and all lengths equal to k.
        """
        k = self.min_steps if k is None else k
        if not 1 <= k <= self.min_steps:
            raise ValueError(f"k must be between 1 and min_steps={self.min_steps} (days may have "
                             f"only {self.min_steps} readings), got {k}")
        changes = {}
        for split in ("train", "val", "test"):
            x = getattr(self, f"x_{split}")
            changes[f"x_{split}"] = np.ascontiguousarray(x[:, :k])
            changes[f"len_{split}"] = np.full(len(x), k, dtype=np.int64)
        return dataclasses.replace(self, steps=k, **changes)

    def __repr__(self):
        return (f"SolarData(train={len(self.x_train)}, val={len(self.x_val)}, "
                f"test={len(self.x_test)} days, x=(days, {self.steps}, 2) float32, "
                f"y=(days, 1) float32, scale={self.scale.tolist()}, "
                f"skipped_rows={self.skipped_rows})")


def daily_sequences(record, steps=14, min_steps=8):
    """Group readings into local days and build one padded sequence per day.

    Args:
        record: the dict from ``read_solar_csv``.
        steps, min_steps: see ``iot_solar``.

    Returns:
        ``(dates, x, lengths, targets, day_of_row)``: dates (D,) datetime64[D]
        in chronological order; x (D, steps, 2) float64 raw (current, total),
        zero-padded; lengths (D,) int64; targets (D,) float64, the day's max
        total in Wh; day_of_row (R,) int64, the kept-day index of each row
        in ``record`` (-1 for rows of dropped days).
    """
    # stable sort by local time: readings in time order, each day contiguous
    order = np.argsort(record["time"], kind="stable")
    dates = record["date"][order]
    starts = np.flatnonzero(np.r_[True, dates[1:] != dates[:-1]])
    ends = np.r_[starts[1:], len(dates)]
    features = np.stack([record["current"], record["total"]], axis=1)[order]
    kept_dates, xs, lengths, targets = [], [], [], []
    day_of_row = np.full(len(order), -1, dtype=np.int64)
    for start, end in zip(starts, ends):
        if end - start < min_steps:
            continue
        day = features[start:end]
        length = min(len(day), steps)
        x = np.zeros((steps, 2))
        x[:length] = day[:length]
        day_of_row[order[start:end]] = len(xs)
        kept_dates.append(dates[start])
        xs.append(x)
        lengths.append(length)
        targets.append(day[:, 1].max())  # the whole day, not only the first `steps` readings
    if not xs:
        raise DataError(f"no day has at least min_steps={min_steps} readings")
    return (np.array(kept_dates, dtype="datetime64[D]"), np.stack(xs),
            np.array(lengths, dtype=np.int64), np.array(targets), day_of_row)


def iot_solar(path=None, steps=14, min_steps=8, split=(0.8, 0.1, 0.1)):
    """Load and preprocess the IoT solar data for the LSTM lab.

    Args:
        path: the CSV; None means the shipped file (SHA-256 checked).
        steps: readings per day kept as the input sequence (the first ones).
        min_steps: days with fewer readings are dropped.
        split: fractions of the days, in time order, for (train, val, test);
            val and test get ``round(fraction * days)`` each, train the rest.

    Returns:
        ``SolarData``: x (days, steps, 2) float32 padded with zeros, lengths,
        y (days, 1) float32, dates, ``scale`` and ``skipped_rows``. With the
        shipped file: 1040 days -> 832 / 104 / 104.

    Raises:
        DataError: see ``read_solar_csv``; or no day has min_steps readings.
        ValueError: bad steps / min_steps / split.
    """
    if not 1 <= min_steps <= steps:
        raise ValueError(f"need 1 <= min_steps <= steps, got min_steps={min_steps}, steps={steps}")
    if len(split) != 3 or min(split) < 0 or abs(sum(split) - 1) > 1e-9:
        raise ValueError(f"split must be three fractions (train, val, test) summing to 1, "
                         f"got {split}")
    record = read_solar_csv(path)
    dates, x, lengths, targets, day_of_row = daily_sequences(record, steps, min_steps)
    n_val, n_test = round(split[1] * len(dates)), round(split[2] * len(dates))
    n_train = len(dates) - n_val - n_test
    if n_train < 1:
        raise DataError(f"{path}: only {len(dates)} usable days, too few to split {split}")
    # scale: each column's max over every reading of the training days (not the test days)
    train_rows = (day_of_row >= 0) & (day_of_row < n_train)
    scale = np.array([record["current"][train_rows].max(), record["total"][train_rows].max()])
    scale = np.where(scale > 0, scale, 1.0)  # an all-zero column stays as it is
    x = (x / scale).astype(np.float32)
    y = (targets / scale[1]).astype(np.float32)[:, None]
    bounds = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val),
              "test": slice(n_train + n_val, len(dates))}
    fields = {}
    for name, part in bounds.items():
        fields.update({f"x_{name}": x[part], f"y_{name}": y[part],
                       f"len_{name}": lengths[part], f"dates_{name}": dates[part]})
    return SolarData(**fields, scale=scale, steps=steps, min_steps=min_steps,
                     skipped_rows=record["skipped_rows"])
