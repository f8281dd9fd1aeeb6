"""dllab.data's files: checksums, the data and cache folders, IDX reading and writing, the messages about missing
or damaged files, and the solar CSV reader."""

import gzip

import numpy as np
import pytest
from data_helpers import MNIST_TEST_COUNTS, copy_dataset, fresh_memo, mnist_module, private_cache  # noqa: F401 - fixtures

import dllab.data as data
from dllab.data import DataError, read_idx, write_idx
from dllab.data.files import DEFAULT_DATA_DIR, REGISTRY

# ---------------------------------------------------------------- files and checksums

def test_verify_all_shipped_files_pass():
    results = data.verify()
    assert len(results) == sum(len(files) for files in REGISTRY.values()) == 11
    assert all(ok for _, ok, _ in results), [msg for _, ok, msg in results if not ok]


def test_verify_one_dataset_and_unknown_name():
    assert [p.name for p, _, _ in data.verify("iot-solar")] == ["solar.csv"]
    with pytest.raises(ValueError, match="mnist"):
        data.verify("cifar")


def test_data_dir_and_cache_dir_follow_environment(tmp_path, monkeypatch):
    assert data.data_dir() == DEFAULT_DATA_DIR
    assert (DEFAULT_DATA_DIR / "mnist" / "SOURCE.md").is_file()
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("DLLAB_CACHE", str(tmp_path / "c"))
    assert data.data_dir() == tmp_path / "elsewhere"
    assert data.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("DLLAB_CACHE")
    assert data.cache_dir().parts[-2:] == (".cache", "dllab")


@pytest.mark.usefixtures("fresh_memo")
def test_checksum_mismatch_names_file_and_sums(tmp_path, monkeypatch):
    folder = copy_dataset(tmp_path, "mnist")
    damaged = folder / "t10k-labels-idx1-ubyte.gz"
    content = bytearray(damaged.read_bytes())
    content[100] ^= 0xFF  # flip one byte
    damaged.write_bytes(bytes(content))
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "data"))
    expected = REGISTRY["mnist"]["t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(DataError) as info:
        data.mnist()
    message = str(info.value)
    assert str(damaged) in message
    assert expected in message
    assert data.files.sha256_file(damaged) in message
    assert "git checkout -- assets/data/mnist/t10k-labels-idx1-ubyte.gz" in message
    assert "SOURCE.md" in message and "DLLAB_DATA" in message
    verdicts = {p.name: ok for p, ok, _ in data.verify("mnist")}
    assert verdicts == {name: name != damaged.name for name in REGISTRY["mnist"]}


@pytest.mark.usefixtures("fresh_memo")
def test_missing_file_is_a_data_error(tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path))
    with pytest.raises(DataError, match="missing") as info:
        data.mnist()
    assert str(tmp_path / "mnist") in str(info.value)
    assert isinstance(info.value, OSError)  # DataError is an OSError, as documented


# ---------------------------------------------------------------- IDX

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", [".idx", ".idx.gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / f"a{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_header_of_shipped_file():
    labels = read_idx(DEFAULT_DATA_DIR / "mnist" / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(labels), MNIST_TEST_COUNTS)


def raw_idx(tmp_path, array):
    path = tmp_path / "raw.idx"
    write_idx(path, array)
    return path, bytearray(path.read_bytes())


@pytest.mark.parametrize("position, value", [(0, 1), (1, 7), (2, 0x42), (3, 0)])
def test_idx_bad_magic(tmp_path, position, value):
    path, content = raw_idx(tmp_path, np.zeros((3, 4), np.uint8))
    content[position] = value
    path.write_bytes(bytes(content))
    with pytest.raises(DataError, match="magic"):
        read_idx(path)


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_idx_truncated_payload_or_header(tmp_path, cut):
    path, content = raw_idx(tmp_path, np.zeros((3, 4), np.uint8))
    path.write_bytes(bytes(content[:-cut]) if cut < 20 else bytes(content[:6]))
    with pytest.raises(DataError, match="truncated"):
        read_idx(path)


def test_idx_extra_bytes(tmp_path):
    path, content = raw_idx(tmp_path, np.zeros((3, 4), np.uint8))
    path.write_bytes(bytes(content) + b"\0")
    with pytest.raises(DataError, match="payload is 13 bytes"):
        read_idx(path)


def test_idx_truncated_and_garbled_gzip(tmp_path):
    packed = gzip.compress(bytes(raw_idx(tmp_path, np.arange(1000, dtype=np.int32))[1]))
    path = tmp_path / "x.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)
    path.write_bytes(packed[:10] + b"\xff" * 50 + packed[60:])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)
    with pytest.raises(DataError, match="not found"):
        read_idx(tmp_path / "nothing.gz")


@pytest.mark.usefixtures("fresh_memo")
def test_missing_file_names_the_checksum_and_a_wrong_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "no-such-folder"))
    with pytest.raises(DataError, match=r"missing \(expected sha256 [0-9a-f]{64}\)") as info:
        data.mnist()
    assert "is not a folder: unset it" in str(info.value)


def test_file_messages_word_for_word(tmp_path, monkeypatch):
    """What check_file says, each way a file can be wrong: path, both sums, and how to restore it."""
    from dllab.data.files import check_file, shipped_path

    expected = REGISTRY["iot-solar"]["solar.csv"]
    restore = ("To restore it: run `git checkout -- assets/data/iot-solar/solar.csv` in the repository, or copy "
               "it again from the origin given in assets/data/iot-solar/SOURCE.md")
    path, ok, message = check_file("iot-solar", "solar.csv")  # the shipped file
    assert ok and message == f"{path}: OK (sha256 {expected[:12]}...)"

    monkeypatch.setenv("DLLAB_DATA", str(tmp_path))  # a folder that exists, without the file
    (tmp_path / "iot-solar").mkdir()
    path, ok, message = check_file("iot-solar", "solar.csv")
    assert not ok and path == tmp_path / "iot-solar" / "solar.csv"
    assert message == (f"{path}: file is missing (expected sha256 {expected}). {restore} (DLLAB_DATA is set to "
                       f"{str(tmp_path)!r}; put a good copy there or unset DLLAB_DATA to use the repository's files).")

    (tmp_path / "iot-solar" / "solar.csv").write_text("time,solar.current,solar.total\n")
    actual = data.files.sha256_file(path)
    _, ok, message = check_file("iot-solar", "solar.csv")
    assert not ok and message == (f"{path}: SHA-256 mismatch, the file is damaged or not the shipped one.\n"
                                  f"  expected {expected}\n  actual   {actual}\n{restore} (DLLAB_DATA is set to "
                                  f"{str(tmp_path)!r}; put a good copy there or unset DLLAB_DATA to use the "
                                  "repository's files).")

    monkeypatch.setenv("DLLAB_DATA", str(tmp_path / "absent"))  # not a folder at all
    path, _, message = check_file("iot-solar", "solar.csv")
    assert message == (f"{path}: file is missing (expected sha256 {expected}). DLLAB_DATA="
                       f"{str(tmp_path / 'absent')!r} is not a folder: unset it to use the shipped data, or point it "
                       f"at a folder with one sub-folder per dataset. {restore} (DLLAB_DATA is set to "
                       f"{str(tmp_path / 'absent')!r}; put a good copy there or unset DLLAB_DATA to use the "
                       "repository's files).")

    monkeypatch.delenv("DLLAB_DATA")
    monkeypatch.setattr(data.files, "DEFAULT_DATA_DIR", tmp_path / "shipped")  # no DLLAB_DATA: the hint says so
    path, _, message = check_file("iot-solar", "solar.csv")
    assert message == (f"{path}: file is missing (expected sha256 {expected}). {restore}, or set DLLAB_DATA to a "
                       "folder that holds good copies.")
    with pytest.raises(ValueError) as info:
        shipped_path("iot-solar", "wind.csv")
    assert str(info.value) == "'wind.csv' is not a file of dataset 'iot-solar'; its files are ['solar.csv']"


def test_a_semicolon_separated_solar_csv_is_recognised(tmp_path):
    from dllab.data import read_solar_csv

    rows = ["2013-12-01 07:00:00,6.3,1.69", "2013-12-01 07:30:00,44.25,11.5"]
    comma = tmp_path / "comma.csv"
    comma.write_text("time,solar.current,solar.total\n" + "\n".join(rows) + "\n")
    semi = tmp_path / "semi.csv"  # as a spreadsheet set to a decimal comma saves it
    semi.write_text("time;solar.current;solar.total\n"
                    + "\n".join(r.replace(",", ";").replace(".", ",").replace("solar,", "solar.") for r in rows)
                    + "\n")
    assert "44,25" in semi.read_text()
    a, b = read_solar_csv(comma), read_solar_csv(semi)
    for key in ("time", "current", "total"):
        np.testing.assert_array_equal(a[key], b[key])
    assert b["skipped_rows"] == 0
    other = tmp_path / "other.csv"
    other.write_text("when;power\n2013-12-01 07:00:00;6,3\n")
    with pytest.raises(data.DataError, match=r"header 'when;power' \(fields separated by ';'\) lacks the column"):
        read_solar_csv(other)
