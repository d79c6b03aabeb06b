"""CRNN training throughput on this machine: samples per second, streamed versus in memory.

Trains the default CRNN on synthetic 10 s spectrograms (the demo's shape) two ways in the
same process: from the store with the stage's streaming batches (what train_crnn does),
and, as the reference, from one NumPy array already in memory (the fastest input Keras can
get, but memory grows with the data). Each way has its own model, warmed up by one epoch
(graph tracing); then rounds of ``--epochs`` epochs alternate between the two, so that a
shared machine's changing load falls on both, and each rate is the median over rounds. The
ratio shows what streaming costs.

    python benchmarks/crnn_throughput.py [--tracks 320] [--epochs 2] [--rounds 5] [--quick]

Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _crnn_data import make_store  # noqa: E402
from _quick import parse_args  # noqa: E402

from fmagenre.infra.params import available_cores, parse_params  # noqa: E402
from fmagenre.infra.store import RowStore  # noqa: E402
from fmagenre.models.crnn.batches import CropBatches, stream  # noqa: E402
from fmagenre.models.crnn.crops import mel_statistics  # noqa: E402
from fmagenre.models.crnn.model import build_crnn  # noqa: E402
from fmagenre.models.crnn.train import assemble, configure_tensorflow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=320)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parse_args(parser, tracks=40, epochs=1, rounds=1)
    device = configure_tensorflow(available_cores(), seed=0)
    import keras

    params = parse_params({}).model
    with tempfile.TemporaryDirectory() as tmp:
        store, table = make_store(Path(tmp), args.tracks)
        data = assemble(pd.read_parquet(store / "index.parquet"), table)
        train = data.splits["training"]
        frames, mels = RowStore.open(store).row_shape
        crop = params.crop_frames
        mean, std = mel_statistics(store, train.rows)

        def fresh_model():
            keras.utils.set_random_seed(0)
            model = build_crnn(crop, mels, len(data.classes), params, mean, std)
            model.compile(
                optimizer=keras.optimizers.Adam(params.lr), loss="categorical_crossentropy"
            )
            return model

        streamed = CropBatches(
            store,
            train.rows,
            train.labels,
            len(data.classes),
            batch_size=params.batch_size,
            crop_frames=crop,
            random_crops=True,
            seed=0,
        )
        rows = RowStore.open(store).read_rows(train.rows)
        start = (frames - crop) // 2
        x = rows[:, start : start + crop].astype(np.float32)
        y = keras.utils.to_categorical(train.labels, len(data.classes))

        fits = {
            "streamed": lambda model, epochs: model.fit(
                stream(streamed),
                steps_per_epoch=len(streamed),
                epochs=epochs,
                verbose=0,
                shuffle=False,
            ),
            "memory": lambda model, epochs: model.fit(
                x, y, batch_size=params.batch_size, epochs=epochs, verbose=0, shuffle=True
            ),
        }
        models = {name: fresh_model() for name in fits}
        for name, fit in fits.items():
            fit(models[name], 1)  # warm-up epoch: graph tracing
        rates: dict[str, list[float]] = {name: [] for name in fits}
        for _ in range(args.rounds):
            for name, fit in fits.items():
                began = time.perf_counter()
                fit(models[name], args.epochs)
                rates[name].append(len(train.rows) * args.epochs / (time.perf_counter() - began))
        streamed_rate, memory_rate = (statistics.median(rates[name]) for name in fits)

    print(
        f"CRNN ({params.variant}, {len(train.rows)} training crops of {crop} x {mels}, batch {params.batch_size}) on {device}:"
    )
    print(f"  streamed from the store (train_crnn): {streamed_rate:7.1f} samples/s")
    print(f"  from a NumPy array in memory:         {memory_rate:7.1f} samples/s")
    print(f"  streaming runs at {streamed_rate / memory_rate:.2f}x the in-memory speed")
    print(f"  (medians of {args.rounds} alternating rounds of {args.epochs} epochs)")
    print(
        f"  fastest rounds: {max(rates['streamed']):.1f} and {max(rates['memory']):.1f} samples/s"
    )
    print(
        json.dumps(
            {
                "benchmark": "crnn_throughput",
                "samples_per_second": round(streamed_rate, 1),
                "reference_samples_per_second": round(memory_rate, 1),
                "ratio_vs_reference": round(streamed_rate / memory_rate, 3),
                "reference": "the same model fitted from an in-memory NumPy array",
                # the fastest round of each: what each input gives when nothing stalls it
                "best_rounds_ratio": round(max(rates["streamed"]) / max(rates["memory"]), 3),
                "rounds_samples_per_second": [round(r, 1) for r in rates["streamed"]],
                "rounds_reference_samples_per_second": [round(r, 1) for r in rates["memory"]],
                "device": device,
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
