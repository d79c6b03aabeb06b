"""Reading decoded audio in workers: fresh after decode replaces the store, flat in memory."""

import os
from pathlib import Path

import numpy as np

from fmagenre.audio.decoding import INT16_SCALE
from fmagenre.audio.rows import AudioRow, read_audio
from fmagenre.infra.atomic import remove
from fmagenre.infra.store import RowStore


def make_store(path: Path, value: int) -> None:
    store = RowStore.create(path, rows=3, row_shape=(5,), dtype="int16", rows_per_shard=2)
    store.write(0, np.full((3, 5), value, np.int16))
    store.close()


def open_files_under(folder: Path) -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    return [t for t in targets if t.startswith(str(folder))]


def test_a_replaced_store_is_read_afresh_and_the_old_one_let_go(tmp_path):
    """A long-lived worker must not keep serving the audio of a store decode has replaced."""
    audio = tmp_path / "audio"
    make_store(audio, 100)
    item = AudioRow(7, 2, str(audio.resolve()))
    np.testing.assert_array_equal(read_audio(item), np.float32(100 / INT16_SCALE))
    # decode reruns: the new store is built aside, the old one removed, the new moved in
    make_store(tmp_path / "new", 7)
    remove(audio)
    os.replace(tmp_path / "new", audio)
    np.testing.assert_array_equal(read_audio(item), np.float32(7 / INT16_SCALE))
    # the old store's deleted shards are not held open (their disk space is freed)
    assert not [t for t in open_files_under(tmp_path) if t.endswith("(deleted)")]


def test_rows_are_read_without_memory_maps(tmp_path):
    """Mapped rows stay resident in the worker and grow it to the size of the store."""
    audio = tmp_path / "audio"
    make_store(audio, 3)
    for row in range(3):
        np.testing.assert_array_equal(
            read_audio(AudioRow(row, row, str(audio))), np.float32(3 / INT16_SCALE)
        )
    maps = Path("/proc/self/maps").read_text()
    assert str(audio) not in maps
