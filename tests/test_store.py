"""RowStore: rows written in any order and across shard boundaries read back exactly."""

import numpy as np
import pytest

from fmagenre.infra.store import RowStore


def test_rows_round_trip_across_shards(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(-30000, 30000, size=(11, 7), dtype=np.int16)
    store = RowStore.create(
        tmp_path / "s", rows=11, row_shape=(7,), dtype="int16", rows_per_shard=4, attrs={"sr": 8}
    )
    # out of order, and a block that spans shards 0-1-2
    store.write(9, data[9:])
    store.write(2, data[2:9])
    store.write(0, data[:2])
    store.close()
    reopened = RowStore.open(tmp_path / "s")
    assert len(reopened) == 11 and reopened.attrs == {"sr": 8}
    assert sorted(p.name for p in (tmp_path / "s").glob("*.npy")) == [
        "shard-00000.npy",
        "shard-00001.npy",
        "shard-00002.npy",
    ]
    np.testing.assert_array_equal(reopened.read_rows(range(11)), data)
    np.testing.assert_array_equal(reopened.read_rows([10, 0, 5]), data[[10, 0, 5]])
    # each shard is a plain .npy file any NumPy can read
    np.testing.assert_array_equal(np.load(tmp_path / "s" / "shard-00002.npy"), data[8:])


def test_read_only_and_shape_checks(tmp_path):
    RowStore.create(
        tmp_path / "s", rows=3, row_shape=(2, 2), dtype="float16", rows_per_shard=2
    ).close()
    store = RowStore.open(tmp_path / "s")
    assert store.read(2).shape == (2, 2) and store.dtype == np.float16
    with pytest.raises(PermissionError):
        store.write(0, np.zeros((1, 2, 2)))
    writable = RowStore.open(tmp_path / "s", mode="r+")
    with pytest.raises(ValueError, match="do not fit"):
        writable.write(0, np.zeros((1, 3)))
    with pytest.raises(IndexError):
        writable.read(3)
    with pytest.raises(FileNotFoundError, match="not a row store"):
        RowStore.open(tmp_path)


def five_rows(tmp_path) -> tuple[np.ndarray, RowStore]:
    """A store of five 6 x 2 rows over three shards, written and opened for reading."""
    data = np.arange(5 * 6 * 2, dtype=np.float16).reshape(5, 6, 2)
    store = RowStore.create(
        tmp_path / "s", rows=5, row_shape=(6, 2), dtype="float16", rows_per_shard=2
    )
    store.write(0, data)
    store.close()
    return data, RowStore.open(tmp_path / "s")


def test_read_copy_reads_rows_without_memory_maps(tmp_path):
    data, reader = five_rows(tmp_path)
    buffer = np.empty((6, 2), dtype=np.float16)
    for row in (4, 0, 3):
        assert reader.read_copy(row, out=buffer) is buffer
        np.testing.assert_array_equal(buffer, data[row])
    np.testing.assert_array_equal(reader.read_copy(1), data[1])
    assert not reader._shards  # no shard was memory-mapped
    reader.close()


def test_read_part_reads_a_range_of_a_row_into_its_own_bytes(tmp_path):
    data, reader = five_rows(tmp_path)
    for row, start, stop in ((3, 1, 4), (4, 0, 6), (0, 5, 6), (2, 2, 2)):
        np.testing.assert_array_equal(reader.read_part(row, start, stop), data[row, start:stop])
    batch = np.zeros((2, 3, 2), dtype=np.float16)
    assert reader.read_part(1, 2, 5, out=batch[1]) is not None
    np.testing.assert_array_equal(batch[1], data[1, 2:5])
    assert not batch[0].any()  # only its own slot of the batch was written
    with pytest.raises(IndexError):
        reader.read_part(1, 4, 7)
    with pytest.raises(ValueError):
        reader.read_part(1, 0, 3, out=np.empty((2, 2), dtype=np.float16))
    assert not reader._shards
    reader.close()


def test_a_store_the_disk_cannot_hold_is_refused_before_writing(tmp_path, monkeypatch):
    """Sparse shards on a full disk would end in SIGBUS mid-run: refuse up front instead."""
    import shutil
    from collections import namedtuple

    from fmagenre.infra.errors import UserError

    usage = namedtuple("usage", "total used free")
    asked = []

    def small_disk(folder):
        asked.append(folder)
        return usage(1 << 30, (1 << 30) - (3 << 20), 3 << 20)  # 3 MiB free

    monkeypatch.setattr(shutil, "disk_usage", small_disk)
    target = tmp_path / "new" / "audio"
    with pytest.raises(UserError) as info:  # 8 rows of 1 MiB: 8 MiB
        RowStore.create(target, rows=8, row_shape=(1 << 19,), dtype="int16", rows_per_shard=2)
    message = str(info.value)
    assert str(target) in message and "0.01 GiB" in message and "0.00 GiB are free" in message
    assert asked == [tmp_path] and not target.exists()  # the existing parent was asked
    store = RowStore.create(target, rows=2, row_shape=(1 << 19,), dtype="int16", rows_per_shard=2)
    assert len(store) == 2  # 2 MiB fits in 3 MiB
