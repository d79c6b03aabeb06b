"""The map over tracks: same results on every backend, failures recorded, resumable."""

import functools
import os

import numpy as np
import pytest

from fmagenre.infra.executors import InlineExecutor
from fmagenre.infra.journal import Journal
from fmagenre.infra.params import parse_params
from fmagenre.infra.trackmap import RowSpec, TrackOutput, map_tracks, pending_chunks
from fmagenre.infra.trackrun import track_run

ROW = RowSpec((3,), "float32")


def square(item: int, fail_on: tuple[int, ...] = (), die_on: tuple[int, ...] = ()) -> TrackOutput:
    """A per-track function: a row derived from the item, or a failure on request."""
    if item in fail_on:
        raise ValueError(f"bad track {item}")
    if item in die_on:
        os._exit(3)  # the worker process dies, as a decoder segfault would kill it
    return TrackOutput(
        {"item": item, "square": item * item}, np.full(3, item * 0.5, dtype=np.float32)
    )


def run(tmp_path, name, items, compute, fn=square, executor=None, fingerprint=None):
    rows = np.full((len(items), 3), -1.0, dtype=np.float32)

    def keep(start, block):
        rows[start : start + len(block)] = block

    journal = Journal.open(tmp_path / name, fingerprint or {"test": 1})
    records = map_tracks(
        fn,
        items,
        compute=compute,
        journal=journal,
        on_rows=keep,
        row_spec=ROW,
        progress=False,
        executor=executor,
    )
    return records, rows


def compute(**kwargs):
    return parse_params({"compute": kwargs}).compute


def test_inline_pool_and_dask_give_identical_results(tmp_path):
    items = list(range(23))
    fn = functools.partial(square, fail_on=(5,))
    inline = run(tmp_path, "inline", items, compute(workers=1, chunk_size=4), fn)
    pool = run(tmp_path, "pool", items, compute(workers=2, chunk_size=3), fn)
    dask = run(tmp_path, "dask", items, compute(backend="dask", workers=2, chunk_size=5), fn)
    for records, rows in (pool, dask):
        assert records == inline[0]
        np.testing.assert_array_equal(rows, inline[1])
    records, rows = inline
    assert [r.get("item") for r in records] == [i if i != 5 else None for i in items]
    assert records[5] == {"error": "ValueError: bad track 5"}
    np.testing.assert_array_equal(rows[5], 0.0)  # a failed track's row is zeros, never stale data
    np.testing.assert_array_equal(rows[7], 3.5)


def test_a_track_that_kills_its_worker_fails_alone(tmp_path):
    items = list(range(10))
    records, rows = run(
        tmp_path,
        "die",
        items,
        compute(workers=2, chunk_size=4),
        functools.partial(square, die_on=(6,)),
    )
    assert "worker failed on this track" in records[6]["error"]
    assert [r.get("square") for r in records if "error" not in r] == [
        i * i for i in items if i != 6
    ]
    np.testing.assert_array_equal(rows[9], 4.5)


def test_workers_that_cannot_run_at_all_stop_the_run(tmp_path):
    with pytest.raises(RuntimeError, match="fail on every track"):
        run(
            tmp_path,
            "dead",
            list(range(4)),
            compute(workers=2, chunk_size=4),
            functools.partial(square, die_on=(0, 1, 2, 3)),
        )


class Interrupt:
    """A per-track function that counts calls and simulates Ctrl-C at one item."""

    def __init__(self, at=None):
        self.at, self.calls = at, []

    def __call__(self, item):
        if item == self.at:
            raise KeyboardInterrupt
        self.calls.append(item)
        return square(item)


def test_interrupted_run_resumes_without_redoing_finished_chunks(tmp_path):
    items = list(range(12))
    first = Interrupt(at=7)
    with pytest.raises(KeyboardInterrupt):
        run(
            tmp_path,
            "resume",
            items,
            compute(workers=1, chunk_size=3),
            first,
            executor=InlineExecutor(),
        )
    assert first.calls == [0, 1, 2, 3, 4, 5, 6]  # chunks [0-2] and [3-5] finished; [6-8] did not
    second = Interrupt()
    # a different chunk size on resume is fine: only uncovered positions are redone
    records, rows = run(
        tmp_path,
        "resume",
        items,
        compute(workers=1, chunk_size=5),
        second,
        executor=InlineExecutor(),
    )
    assert second.calls == [6, 7, 8, 9, 10, 11]
    assert [r["item"] for r in records] == items
    third = Interrupt()
    run(
        tmp_path,
        "resume",
        items,
        compute(workers=1, chunk_size=5),
        third,
        executor=InlineExecutor(),
        fingerprint={"test": 2},
    )
    assert third.calls == items  # another fingerprint (inputs or settings changed): start over


def test_pending_chunks_skip_covered_positions():
    covered = np.array([True, False, False, True, False, False, False, False])
    chunks = pending_chunks(list("abcdefgh"), covered, chunk_size=3)
    assert [(c.start, c.items) for c in chunks] == [
        (1, ["b", "c"]),
        (4, ["e", "f", "g"]),
        (7, ["h"]),
    ]


@pytest.mark.parametrize("damage", ["none", "store_moved_out", "shard_truncated"])
def test_a_resumed_journal_without_its_store_starts_afresh(tmp_path, damage):
    """A complete journal whose rows are gone (the run stopped after moving its store out,
    before finish) must redo the tracks, not hand back a zero-filled store marked done."""
    items = list(range(6))

    def into_store(fn):
        return track_run(
            "test",
            1,
            fn,
            items,
            identity={},
            work_dir=tmp_path / "work",
            compute=compute(workers=1, chunk_size=4),
            name="rows",
            row_spec=ROW,
            rows_per_shard=4,
            progress=False,
        )

    with pytest.raises(KeyboardInterrupt), into_store(square) as stopped:
        stopped.store.close()
        if damage == "store_moved_out":
            os.replace(stopped.store.path, tmp_path / "moved")
        elif damage == "shard_truncated":
            shard = stopped.store.path / "shard-00001.npy"
            shard.write_bytes(shard.read_bytes()[:-8])
        raise KeyboardInterrupt  # stopped before the journal is forgotten
    again = Interrupt()
    with into_store(again) as run:
        assert again.calls == ([] if damage == "none" else items)
        assert [r["item"] for r in run.records] == items
        np.testing.assert_array_equal(run.store.read(5), 2.5)
        np.testing.assert_array_equal(run.store.read(1), 0.5)
    assert not (tmp_path / "work").exists()  # a finished run forgets its work folder
