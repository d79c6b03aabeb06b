"""The CRNN: both designs build, batches stream deterministically, clips are predicted over full coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fmagenre.infra.params import parse_params
from fmagenre.infra.store import RowStore

pytest.importorskip("keras")

from fmagenre.models.crnn.batches import CropBatches, prepared_ahead, stream  # noqa: E402
from fmagenre.models.crnn.crops import crop_starts, mel_statistics, predict_clips  # noqa: E402
from fmagenre.models.crnn.model import build_crnn  # noqa: E402
from fmagenre.models.crnn.train import assemble, configure_tensorflow, fit_crnn  # noqa: E402

FRAMES, MELS, CLASSES = 80, 24, 3
TINY = {
    "epochs": 4,
    "batch_size": 8,
    "crop_frames": 32,
    "conv_filters": [4, 8],
    "gru_units": 4,
    "patience": 4,
    "lr": 0.01,
}


@pytest.fixture(scope="module", autouse=True)
def tensorflow():
    configure_tensorflow(threads=2, seed=0)


@pytest.fixture(scope="module")
def spectrograms(tmp_path_factory):
    """A store where each class lights up its own band of mels, plus index and tracks tables."""
    root = tmp_path_factory.mktemp("spec")
    rng = np.random.default_rng(0)
    n = 60
    labels = np.arange(n) % CLASSES
    rows = rng.normal(-50, 3, size=(n, FRAMES, MELS)).astype(np.float16)
    for i, label in enumerate(labels):
        rows[i, :, 4 + 6 * label : 8 + 6 * label] += 25
    store = RowStore.create(root / "store", n, (FRAMES, MELS), "float16", 16)
    store.write(0, rows)
    store.close()
    pd.DataFrame({"track_id": np.arange(n) + 100, "row": np.arange(n), "ok": True}).to_parquet(
        root / "store" / "index.parquet"
    )
    split = np.where(
        np.arange(n) % 5 < 3, "training", np.where(np.arange(n) % 5 == 3, "validation", "test")
    )
    tracks = pd.DataFrame(
        {
            "track_id": np.arange(n) + 100,
            "genre_top": [f"g{label}" for label in labels],
            "split": split,
        }
    )
    return root / "store", tracks, rows


def test_crop_starts_cover_the_whole_clip():
    assert crop_starts(100, 32) == [0, 32, 64, 68]
    assert crop_starts(96, 32) == [0, 32, 64]
    assert crop_starts(20, 32) == [0]


@pytest.mark.parametrize("variant", ["parallel", "sequential"])
def test_both_designs_build_and_output_probabilities(variant):
    params = parse_params({"model": {**TINY, "variant": variant}}).model
    model = build_crnn(
        32, MELS, CLASSES, params, np.zeros(MELS, np.float32), np.ones(MELS, np.float32)
    )
    out = model.predict_on_batch(
        np.random.default_rng(0).normal(size=(5, 32, MELS)).astype(np.float32)
    )
    assert out.shape == (5, CLASSES) and np.allclose(np.asarray(out).sum(axis=1), 1, atol=1e-5)
    assert model.get_layer("bigru") is not None and model.name == f"crnn_{variant}"


def crop_batches(store, random_crops: bool = True) -> CropBatches:
    """Crops of 20 rows in batches of 8, seeded: random (training) or centred (validation)."""
    return CropBatches(
        store,
        np.arange(20),
        np.arange(20) % CLASSES,
        CLASSES,
        batch_size=8,
        crop_frames=32,
        random_crops=random_crops,
        seed=3,
    )


def test_batches_are_reproducible_and_reshuffled_each_epoch(spectrograms):
    store, _, rows = spectrograms
    first, again = crop_batches(store), crop_batches(store)
    x1, y1 = first[0]
    x2, y2 = again[0]
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2) and x1.shape == (8, 32, MELS)
    first.on_epoch_end()
    assert not np.array_equal(first[0][0], x1)  # a new order and new crops next epoch
    fixed = crop_batches(store, random_crops=False)
    np.testing.assert_array_equal(
        fixed[0][0][1], rows[1, 24:56].astype(np.float32)
    )  # centre crop, in order


def test_the_stream_is_every_epoch_of_the_batches_in_order(spectrograms):
    """What Keras trains on (the endless tf.data stream, prepared on a thread) is exactly
    epoch 0's batches, then epoch 1's: reading ahead changes neither order nor crops."""
    store, _, _ = spectrograms
    expected = crop_batches(store)
    wanted = []
    for _ in range(2):
        wanted += [expected[i] for i in range(len(expected))]
        expected.on_epoch_end()
    streamed = list(stream(crop_batches(store)).take(len(wanted)).as_numpy_iterator())
    assert len(streamed) == 6 and streamed[2][0].shape == (4, 32, MELS)  # 20 rows: 8 + 8 + 4
    for (x, y), (want_x, want_y) in zip(streamed, wanted, strict=True):
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(y, want_y)
    assert not np.array_equal(streamed[0][0], streamed[3][0])  # epoch 1 is not epoch 0 again


def test_prepared_ahead_keeps_order_raises_errors_and_stops_its_thread():
    import threading

    def numbers(fail_at=None):
        for n in range(100):
            if n == fail_at:
                raise OSError("the disk went away")
            yield n

    assert list(prepared_ahead(numbers(), ahead=3)) == list(range(100))
    with pytest.raises(OSError, match="the disk went away"):
        list(prepared_ahead(numbers(fail_at=7), ahead=3))
    before = set(threading.enumerate())
    early = prepared_ahead(numbers(), ahead=2)
    assert [next(early) for _ in range(3)] == [0, 1, 2]
    (worker,) = (t for t in threading.enumerate() if t not in before and t.name == "crnn-batches")
    early.close()  # a consumer that stops early (a fit that ends) ends the thread too
    assert not worker.is_alive()


def test_mel_statistics_match_numpy(spectrograms):
    store, _, rows = spectrograms
    mean, std = mel_statistics(store, np.arange(10))
    data = rows[:10].astype(np.float64).reshape(-1, MELS)
    np.testing.assert_allclose(mean, data.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std, data.std(axis=0), rtol=1e-4)


def test_training_learns_and_is_reproducible(spectrograms):
    store, tracks, _ = spectrograms
    index = pd.read_parquet(store / "index.parquet")
    data = assemble(index, tracks)
    params = parse_params({"model": TINY})
    first = fit_crnn(store, data, params, verbose=0)
    test = data.splits["test"]
    proba = predict_clips(first.model, store, test.rows, first.crop_frames, 8)
    assert proba.shape == (len(test.rows), CLASSES)
    assert (proba.argmax(axis=1) == test.labels).mean() > 0.6  # chance is 1/3
    configure_tensorflow(threads=2, seed=0)
    second = fit_crnn(store, data, params, verbose=0)
    np.testing.assert_allclose(
        predict_clips(second.model, store, test.rows, first.crop_frames, 8), proba, atol=1e-5
    )
    assert len(first.history["val_loss"]) == first.epochs_run
    assert {"loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1"} <= set(first.history)


def test_a_clip_prediction_is_the_mean_over_its_crops(spectrograms):
    store, _, rows = spectrograms
    params = parse_params({"model": TINY}).model
    model = build_crnn(
        32, MELS, CLASSES, params, np.zeros(MELS, np.float32), np.ones(MELS, np.float32)
    )
    clip = predict_clips(model, store, np.array([5]), 32, 8)[0]
    crops = np.stack([rows[5, s : s + 32].astype(np.float32) for s in crop_starts(FRAMES, 32)])
    np.testing.assert_allclose(
        clip, np.asarray(model.predict_on_batch(crops)).mean(axis=0), atol=1e-6
    )
