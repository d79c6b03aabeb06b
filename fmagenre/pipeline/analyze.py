"""The analyze stage: what the features and spectrograms look like, genre by genre.

Figures a person reads at a glance (titled, labelled, PNG) and the numbers behind them
(``reports/analysis.json``), all from the training split so that nothing here tunes on
validation or test: per-genre distributions of telling features, how redundant the 518
features are, a PCA view, which features carry most information about the genre, and one
typical log-mel spectrogram per genre. The feature figures are drawn by
fmagenre.features.analysis; this module adds the gallery, the numbers and the report.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.features.analysis import distributions, information, principal_components, redundancy
from fmagenre.fma.dataset import labelled_splits
from fmagenre.infra.atomic import remove, write_json, write_text
from fmagenre.infra.figures import pyplot, save_png
from fmagenre.infra.params import Params
from fmagenre.infra.store import RowStore

log = logging.getLogger(__name__)

FIGURES = {
    "distributions": "feature_distributions.png",
    "correlation": "feature_correlation.png",
    "pca": "pca.png",
    "information": "mutual_information.png",
    "gallery": "spectrogram_gallery.png",
}


def training_table(
    features: pd.DataFrame, tracks: pd.DataFrame, manifest: pd.DataFrame | None
) -> pd.DataFrame:
    """The training split's feature rows with their genre (labels from the tracks table)."""
    labelled = labelled_splits(tracks, features["track_id"], manifest)
    part = labelled.splits["training"]
    table = features.set_index("track_id").loc[part.track_ids].reset_index()
    table.insert(1, "genre", [labelled.classes[i] for i in part.labels])
    return table


def spectrogram_gallery(
    spectrograms: Path, tracks: pd.DataFrame, manifest: pd.DataFrame | None, out: Path
) -> dict[str, int]:
    """One log-mel spectrogram per genre: the training track whose mean spectrum is closest
    to the genre's median mean spectrum (a typical one, not an extreme one)."""
    import librosa

    plt = pyplot()
    store = RowStore.open(spectrograms)
    index = pd.read_parquet(Path(spectrograms) / "index.parquet")
    usable = index[index["ok"]]
    labelled = labelled_splits(tracks, usable["track_id"], manifest)
    part = labelled.splits["training"]
    row_of = usable.set_index("track_id")["row"]
    attrs = store.attrs
    buffer = np.empty(store.row_shape, dtype=store.dtype)
    profiles = np.stack(
        [
            store.read_copy(int(row_of[t]), out=buffer).astype(np.float32).mean(axis=0)
            for t in part.track_ids
        ]
    )
    chosen: dict[str, int] = {}
    genres = labelled.classes
    columns = 4
    rows = -(-len(genres) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(4.6 * columns, 3.8 * rows), squeeze=False, layout="constrained"
    )
    frames, mels = store.row_shape
    seconds = frames * attrs["hop_length"] / attrs["sr"]
    frequencies = librosa.mel_frequencies(n_mels=mels, fmin=attrs["fmin"], fmax=attrs["fmax"])
    for ax, (k, genre) in zip(axes.flat, enumerate(genres), strict=False):
        members = np.flatnonzero(part.labels == k)
        median = np.median(profiles[members], axis=0)
        best = members[np.argmin(np.linalg.norm(profiles[members] - median, axis=1))]
        track_id = int(part.track_ids[best])
        chosen[genre] = track_id
        image = store.read_copy(int(row_of[track_id]), out=buffer).astype(np.float32).T
        shown = ax.imshow(
            image,
            origin="lower",
            aspect="auto",
            cmap="magma",
            extent=(0, seconds, 0, mels),
            vmin=attrs["db_floor"],
            vmax=max(float(image.max()), attrs["db_floor"] + 1),
        )
        ticks = np.linspace(0, mels - 1, 5).astype(int)
        ax.set_yticks(ticks, [f"{frequencies[t]:.0f}" for t in ticks], fontsize=7)
        ax.set_title(f"{genre} (track {track_id})", fontsize=10)
        ax.set_xlabel("time (s)", fontsize=8)
        if k % columns == 0:
            ax.set_ylabel("frequency (Hz, mel scale)", fontsize=8)
    for ax in list(axes.flat)[len(genres) :]:
        ax.axis("off")
    fig.colorbar(shown, ax=axes, label="log-mel power (dB)", shrink=0.7)
    fig.suptitle("A typical log-mel spectrogram of each genre (training split)")
    save_png(fig, out)
    return chosen


def analyze(
    features: pd.DataFrame,
    tracks: pd.DataFrame,
    manifest: pd.DataFrame | None,
    spectrograms: Path,
    params: Params,
    *,
    figures_dir: Path,
    report: Path,
    numbers: Path,
) -> dict[str, Any]:
    """Write the figures, the numbers behind them and the report that embeds them."""
    settings = params.analyze
    table = training_table(features, tracks, manifest)
    remove(figures_dir)
    figures_dir.mkdir(parents=True)
    paths = {key: figures_dir / name for key, name in FIGURES.items()}
    results = {
        "training_tracks": int(len(table)),
        "genre_medians": distributions(table, paths["distributions"]),
        "redundancy": redundancy(table, settings.redundancy_threshold, paths["correlation"]),
        "pca": principal_components(table, settings.seed, paths["pca"]),
        "top_features": information(
            table, settings.seed, settings.top_features, paths["information"]
        ),
        "gallery_tracks": spectrogram_gallery(spectrograms, tracks, manifest, paths["gallery"]),
    }
    write_json(numbers, results)
    write_text(
        report,
        report_markdown(
            results, {k: p.relative_to(report.parent).as_posix() for k, p in paths.items()}
        ),
    )
    return results


def report_markdown(results: dict[str, Any], figures: dict[str, str]) -> str:
    red, pca, top = results["redundancy"], results["pca"], results["top_features"]
    best = ", ".join(f"`{t['feature']}`" for t in top[:3])
    lines = [
        "# What the data looks like",
        "",
        f"All figures use the training split ({results['training_tracks']} tracks); written by the `analyze` stage.",
        "",
        "## Telling features, genre by genre",
        f"![per-genre feature distributions]({figures['distributions']})",
        "",
        "Where boxes of two genres do not overlap, that one feature alone separates them.",
        "",
        "## How redundant the 518 features are",
        f"![feature group correlation]({figures['correlation']})",
        "",
        f"{red['redundant_features']} of {red['features']} features have a partner with |r| > {red['threshold']} "
        f"({red['redundant_pairs']} such pairs): `preprocess.method: filter` removes them.",
        "",
        "## Principal components",
        f"![PCA projection and explained variance]({figures['pca']})",
        "",
        f"{pca['components_for']['90%']} components keep 90% of the variance and {pca['components_for']['95%']} keep 95% "
        "(`preprocess.method: pca`); the first two already show how the genres cluster.",
        "",
        "## Which features separate genres best",
        f"![mutual information]({figures['information']})",
        "",
        f"The most informative are {best}: `preprocess.method: select_k` keeps the top k.",
        "",
        "## One typical spectrogram per genre",
        f"![spectrogram gallery]({figures['gallery']})",
        "",
        "Each is the track closest to its genre's median spectrum: rhythm shows as vertical stripes, harmony as horizontal lines.",
        "",
    ]
    return "\n".join(lines)
