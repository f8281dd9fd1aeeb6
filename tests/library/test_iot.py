"""Tests for dllab.data.timeseries and the IoT solar data (dllab.data.iot)."""

import csv
import shutil
from collections import defaultdict

import numpy as np
import pytest

import dllab.data as data
from dllab.data import (
    DataError,
    DataWarning,
    Normalizer,
    iot_solar,
    normalize,
    read_solar_csv,
    windows,
)
from dllab.data.files import DEFAULT_DATA_DIR, REGISTRY

SOLAR_CSV = DEFAULT_DATA_DIR / "iot-solar" / "solar.csv"
HEADER = "time,solar.current,solar.total\n"


@pytest.fixture(autouse=True)
def default_data_dir(monkeypatch):
    monkeypatch.delenv("DLLAB_DATA", raising=False)


@pytest.fixture(scope="module")
def solar():
    return iot_solar()


@pytest.fixture(scope="module")
def rows_by_local_date():
    """Oracle: the shipped rows grouped by the first 10 characters, with the csv module."""
    days = defaultdict(list)
    with open(SOLAR_CSV, newline="") as f:
        for row in csv.DictReader(f):
            days[row["time"][:10]].append((float(row["solar.current"]),
                                           float(row["solar.total"])))
    return days


# ---------------------------------------------------------------- windows

def test_windows_on_a_sine():
    t = np.arange(100)
    series = np.sin(0.1 * t)
    X, y = windows(series, lookback=10, horizon=3, stride=2)
    count = (100 - 10 - 3) // 2 + 1
    assert X.shape == (count, 10, 1) and y.shape == (count, 3)
    assert X.dtype == np.float32 and y.dtype == np.float32
    for i in (0, 7, count - 1):
        np.testing.assert_allclose(X[i, :, 0], series[2 * i:2 * i + 10], rtol=1e-6)
        np.testing.assert_allclose(y[i], series[2 * i + 10:2 * i + 13], rtol=1e-6)
    assert X.flags.c_contiguous and not np.shares_memory(X, series)


def test_windows_multiple_features_and_target():
    t = np.arange(30, dtype=np.float64)
    series = np.stack([np.sin(t), 100 + t], axis=1)  # (T, 2)
    X, y = windows(series, lookback=5, target=1)
    assert X.shape == (25, 5, 2) and y.shape == (25, 1)
    np.testing.assert_array_equal(y[:, 0], 100 + t[5:])
    np.testing.assert_allclose(X[3, :, 0], np.sin(t[3:8]), rtol=1e-6)
    X_exact, y_exact = windows(np.arange(6), lookback=5)
    assert X_exact.shape == (1, 5, 1) and y_exact.tolist() == [[5.0]]


def test_windows_errors():
    with pytest.raises(ValueError, match="length 5 is too short for lookback 4 \\+ horizon 2"):
        windows(np.arange(5), lookback=4, horizon=2)
    for bad in ({"lookback": 0}, {"lookback": 3, "horizon": 0}, {"lookback": 2.5},
                {"lookback": 3, "stride": 0}):
        with pytest.raises(ValueError, match=">= 1"):
            windows(np.arange(20), **bad)
    with pytest.raises(ValueError, match="NaN"):
        windows(np.array([1.0, 2.0, np.nan, 4.0, 5.0]), lookback=2)
    with pytest.raises(ValueError, match="shape"):
        windows(np.zeros((4, 4, 4)), lookback=2)
    with pytest.raises(ValueError, match="target"):
        windows(np.zeros((10, 2)), lookback=2, target=2)


# ---------------------------------------------------------------- Normalizer

def test_normalizer_uses_train_statistics_and_inverts():
    rng = np.random.default_rng(0)
    train, test = rng.normal(5, 2, (200, 3)), rng.normal(50, 1, (20, 3))
    norm = Normalizer("zscore").fit(train)
    train_n, test_n = norm.transform(train), norm.transform(test)
    np.testing.assert_allclose(train_n.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(train_n.std(axis=0), 1, atol=1e-5)
    assert test_n.mean() > 10  # test data is not re-centred: no leakage
    np.testing.assert_allclose(norm.inverse_transform(test_n), test, rtol=1e-5)
    a, b, fitted = normalize(train, test, method="minmax")
    assert a.min() == 0 and a.max() == 1 and b.shape == test.shape
    np.testing.assert_allclose(fitted.inverse(b), test, rtol=1e-5)
    by_max = Normalizer("max").fit(np.array([0.0, 2.0, 4.0]))
    np.testing.assert_allclose(by_max.transform(np.array([1.0, 4.0])), [0.25, 1.0])
    with pytest.raises(RuntimeError, match="fit"):
        Normalizer().transform(train)
    with pytest.raises(ValueError):
        Normalizer("log")


# ---------------------------------------------------------------- the shipped CSV

def test_read_solar_csv_matches_source_md():
    record = read_solar_csv()
    assert len(record["time"]) == 25369 and record["skipped_rows"] == 0
    assert record["has_offset"].sum() == 17400
    assert len(np.unique(record["date"])) == 1047
    assert record["current"].max() == pytest.approx(2596.67, abs=0.01)
    assert record["total"].max() == 19100.0 and record["total"].min() == 0.0
    assert str(record["time"][0]) == "2013-12-01T07:00:00"
    assert str(record["time"][-1]) == "2016-12-01T12:00:00"
    assert (np.diff(record["time"]).astype(int) > 0).all()  # local times strictly increase


def test_iot_solar_shapes_and_chronological_split(solar):
    assert (len(solar.x_train), len(solar.x_val), len(solar.x_test)) == (832, 104, 104)
    for split in ("train", "val", "test"):
        x, y = getattr(solar, f"x_{split}"), getattr(solar, f"y_{split}")
        lengths = getattr(solar, f"len_{split}")
        assert x.shape == (len(x), 14, 2) and x.dtype == np.float32
        assert y.shape == (len(x), 1) and y.dtype == np.float32
        assert lengths.min() >= 8 and lengths.max() <= 14
        for day, length in zip(x, lengths):  # zeros after the real readings
            assert not day[length:].any()
    dates = np.concatenate([solar.dates_train, solar.dates_val, solar.dates_test])
    assert (np.diff(dates).astype(int) > 0).all()
    assert str(dates[0]) == "2013-12-01" and str(dates[-1]) == "2016-12-01"
    assert solar.skipped_rows == 0
    assert solar.lengths["val"] is solar.len_val


def test_iot_solar_normalised_by_train_max(solar, rows_by_local_date):
    train_days = {str(d) for d in solar.dates_train}
    train_rows = np.array([r for d in train_days for r in rows_by_local_date[d]])
    np.testing.assert_allclose(solar.scale, train_rows.max(axis=0))
    assert solar.y_train.max() == 1.0
    assert solar.x_train[..., 0].max() <= 1.0 and solar.x_train[..., 1].max() <= 1.0
    np.testing.assert_allclose(solar.to_watt_hours(solar.y_train).max(), train_rows[:, 1].max(),
                               rtol=1e-6)


def test_iot_solar_days_are_local_dates(solar, rows_by_local_date):
    kept = {d: rows for d, rows in rows_by_local_date.items() if len(rows) >= 8}
    assert len(kept) == 1040 and len(rows_by_local_date) == 1047
    dates = np.concatenate([solar.dates_train, solar.dates_val, solar.dates_test])
    x = np.concatenate([solar.x_train, solar.x_val, solar.x_test])
    y = solar.to_watt_hours(np.concatenate([solar.y_train, solar.y_val, solar.y_test]))[:, 0]
    lengths = np.concatenate([solar.len_train, solar.len_val, solar.len_test])
    assert sorted(kept) == [str(d) for d in dates]
    for i, date in enumerate(dates):
        rows = np.array(kept[str(date)])
        assert lengths[i] == min(14, len(rows))
        # the target is the max over the whole local day, evening readings included
        assert y[i] == pytest.approx(rows[:, 1].max(), rel=1e-6)
        np.testing.assert_allclose(x[i, :lengths[i]] * solar.scale, rows[:lengths[i]],
                                   rtol=1e-6)
    # 19:30-07:00 is 02:30 UTC of the next day, yet it belongs to its local day
    summer = list(dates.astype(str)).index("2014-07-01")
    assert y[summer] == pytest.approx(max(t for _, t in kept["2014-07-01"]), rel=1e-6)


def test_truncated_gives_equal_lengths(solar):
    short = solar.truncated()
    assert short.x_train.shape == (832, 8, 2) and (short.len_test == 8).all()
    np.testing.assert_array_equal(short.x_val, solar.x_val[:, :8])
    assert solar.truncated(3).x_test.shape == (104, 3, 2)
    with pytest.raises(ValueError, match="min_steps"):
        solar.truncated(9)


def test_iot_solar_checksum_checked(tmp_path, monkeypatch):
    folder = tmp_path / "iot-solar"
    folder.mkdir()
    text = SOLAR_CSV.read_text().replace("1815.0,5330.0", "1815.0,5331.0")
    (folder / "solar.csv").write_text(text)
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path))
    with pytest.raises(DataError, match=REGISTRY["iot-solar"]["solar.csv"]):
        iot_solar()
    shutil.copy(SOLAR_CSV, folder / "solar.csv")
    assert len(iot_solar().x_test) == 104


# ---------------------------------------------------------------- small synthetic CSVs

def day_rows(date, start_hour, count, offset="", total_step=100.0):
    """`count` half-hourly readings from start_hour; total grows by total_step per reading."""
    rows = []
    for k in range(count):
        minutes = start_hour * 60 + 30 * k
        stamp = f"{date} {minutes // 60:02d}:{minutes % 60:02d}:00{offset}"
        rows.append(f"{stamp},{10.0 * (k + 1)},{total_step * (k + 1)}\n")
    return rows


def write_csv(path, rows, header=HEADER):
    path.write_text(header + "".join(rows))
    return path


def test_dst_switch_and_mixed_offsets_stay_local_days(tmp_path):
    mixed_day = (day_rows("2014-11-02", 7, 4, "-07:00")  # DST ends: offset rows first ...
                 + day_rows("2014-11-02", 9, 8)[:8])     # ... then rows without offset
    rows = (day_rows("2014-03-08", 8, 20)                # standard time, no offset, to 17:30
            + day_rows("2014-03-09", 9, 22, "-07:00")    # DST starts: to 19:30-07:00 = 02:30 UTC
            + mixed_day
            + day_rows("2014-11-03", 7, 3))              # too short: dropped
    path = write_csv(tmp_path / "dst.csv", rows)
    record = read_solar_csv(path)
    assert record["has_offset"].sum() == 22 + 4
    solar = iot_solar(path, steps=14, min_steps=8, split=(1, 0, 0))
    assert [str(d) for d in solar.dates_train] == ["2014-03-08", "2014-03-09", "2014-11-02"]
    assert solar.len_train.tolist() == [14, 14, 12]  # the mixed day is one day of 4 + 8 rows
    totals = solar.to_watt_hours(solar.y_train)[:, 0]
    # each target is its local day's own maximum: no evening reading moved to the next day
    np.testing.assert_allclose(totals, [2000.0, 2200.0, 800.0])
    assert len(solar.x_val) == 0 and len(solar.x_test) == 0


def test_malformed_rows_are_skipped_and_counted(tmp_path):
    rows = day_rows("2015-01-01", 8, 10) + day_rows("2015-01-02", 8, 10)
    bad = ["2015-01-02 13:30:00,1.0\n",                  # too few fields
           "2015-01-02 14:00:00,1.0,2.0,3.0\n",          # too many fields
           "2015-01-02 14:30:00,abc,2.0\n",              # not a number
           "2015-13-45 25:00:00,1.0,2.0\n",              # not a time
           "2015-01-02T15:00:00,1.0,2.0\n",              # wrong time format
           "2015-01-02 15:30:00+7,1.0,2.0\n",            # malformed offset
           "2015-01-02 16:00:00,nan,2.0\n",              # NaN
           "\n"]                                         # blank: not a row, not counted
    path = write_csv(tmp_path / "bad.csv", rows[:12] + bad + rows[12:])
    with pytest.warns(DataWarning, match="skipped 7 malformed"):
        record = read_solar_csv(path)
    assert record["skipped_rows"] == 7 and record["skipped_lines"][0] == 14
    with pytest.warns(DataWarning):
        solar = iot_solar(path, split=(0.5, 0, 0.5))
    assert solar.skipped_rows == 7
    assert solar.len_train.tolist() == [10] and solar.len_test.tolist() == [10]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03binary", "binary"),
    (bytes(range(256)), "binary"),
    (b"date,power\n2015-01-01,3\n", "lacks the column"),
    (HEADER.encode() + b"garbage\nmore garbage\n", "no valid data rows"),
])
def test_not_the_solar_csv(tmp_path, content, message):
    path = tmp_path / "wrong.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        iot_solar(path)
    assert str(path) in str(info.value)


def test_bad_arguments(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_solar_csv(tmp_path / "absent.csv")
    with pytest.raises(ValueError, match="min_steps"):
        iot_solar(min_steps=15, steps=14)
    with pytest.raises(ValueError, match="split"):
        iot_solar(split=(0.5, 0.5))
    few = write_csv(tmp_path / "few.csv", day_rows("2015-01-01", 8, 5))
    with pytest.raises(DataError, match="min_steps=8"):
        iot_solar(few)


def test_package_exports_iot_names():
    for name in ("iot_solar", "read_solar_csv", "SolarData", "windows", "Normalizer",
                 "normalize"):
        assert name in data.__all__ and hasattr(data, name)


def test_csv_with_a_byte_order_mark_and_a_folder_path(tmp_path):
    rows = day_rows("2015-01-01", 8, 10) + day_rows("2015-01-02", 8, 10)
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "".join(rows)).encode())  # as Excel saves UTF-8
    assert len(read_solar_csv(path)["total"]) == 20
    with pytest.raises(DataError, match="is a folder: give the path of the solar CSV"):
        iot_solar(tmp_path)


def test_solar_dataset_trains_through_the_trainer(solar):
    """SolarData.dataset(): padded days with lengths go through fit/evaluate/predict as they are."""
    import dllab as dl
    from dllab.layers.recurrent import LSTM

    train, test = solar.dataset("train"), solar.dataset("test")
    assert (train.lengths == solar.len_train).all() and "lengths 8..14" in repr(train)
    dl.seed(0)
    model = LSTM(8) >> dl.Dense(1)
    trainer = dl.Trainer(model, loss="mse", optimizer=dl.optim.Adam(lr=1e-2), metrics=("mse",))
    history = trainer.fit(train, epochs=3, batch_size=64, verbose=False)
    assert history["loss"][-1] < history["loss"][0]
    pred = trainer.predict(test)
    # the lengths matter: the same days read as full 14-step sequences give other forecasts
    assert not np.allclose(pred, model(dl.Tensor(solar.x_test)).data)
    np.testing.assert_allclose(pred, trainer.predict((solar.x_test, solar.len_test)))
    mse = float(((pred - solar.y_test) ** 2).mean())
    assert trainer.evaluate(test)["loss"] == pytest.approx(mse, rel=1e-5)
    with pytest.raises(TypeError, match=r"tuple of 3 items; for padded sequences pass \(\(x, lengths\), y\)"):
        trainer.fit((solar.x_train, solar.y_train, solar.len_train), verbose=False)
    with pytest.raises(ValueError, match="split must be"):
        solar.dataset("validation")


# ---------------------------------------------------------------- daily_sequences


def test_daily_sequences_by_hand():
    """Rows out of order, a long day cut to `steps` (its target still the whole day's max), a short
    day dropped (its rows -1 in day_of_row), zero padding, chronological days."""
    from dllab.data.iot import daily_sequences

    rows = [  # (local time, current W, total Wh so far that day)
        ("2021-03-02T09:00:00", 5.0, 10.0),
        ("2021-03-01T10:00:00", 2.0, 4.0),
        ("2021-03-01T09:00:00", 1.0, 1.0),
        ("2021-03-03T12:00:00", 9.0, 99.0),   # a day of one reading: dropped (min_steps=2)
        ("2021-03-02T10:00:00", 6.0, 20.0),
        ("2021-03-02T11:00:00", 7.0, 30.0),
        ("2021-03-02T12:00:00", 8.0, 45.0),   # the 4th reading of a 3-step day: cut, but counts for the max
    ]
    record = {
        "time": np.array([t for t, _, _ in rows], dtype="datetime64[s]"),
        "date": np.array([t[:10] for t, _, _ in rows], dtype="datetime64[D]"),
        "current": np.array([c for _, c, _ in rows]),
        "total": np.array([w for _, _, w in rows]),
    }
    dates, x, lengths, targets, day_of_row = daily_sequences(record, steps=3, min_steps=2)
    np.testing.assert_array_equal(dates, np.array(["2021-03-01", "2021-03-02"], dtype="datetime64[D]"))
    np.testing.assert_array_equal(x, [[[1.0, 1.0], [2.0, 4.0], [0.0, 0.0]],
                                      [[5.0, 10.0], [6.0, 20.0], [7.0, 30.0]]])
    np.testing.assert_array_equal(lengths, [2, 3])
    np.testing.assert_array_equal(targets, [4.0, 45.0])
    np.testing.assert_array_equal(day_of_row, [1, 0, 0, -1, 1, 1, 1])
    assert x.dtype == np.float64 and lengths.dtype == np.int64 and day_of_row.dtype == np.int64
    with pytest.raises(DataError, match="no day has at least min_steps=5 readings"):
        daily_sequences(record, steps=3, min_steps=5)
