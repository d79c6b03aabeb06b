"""The analyze stage: what the features and spectrograms look like, genre by genre.

Figures a person reads at a glance (titled, labelled, PNG) and the numbers behind them
(``reports/analysis.json``), all from the training split so that nothing here tunes on
validation or test: per-genre distributions of telling features, how redundant the 518
features are, a PCA view, which features carry most information about the genre, and one
typical log-mel spectrogram per genre.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.features.compute import FEATURE_SIZES
from fmagenre.fma.dataset import labelled_splits
from fmagenre.infra.atomic import atomic_path, remove, write_json, write_text
from fmagenre.infra.params import Params
from fmagenre.infra.store import RowStore

log = logging.getLogger(__name__)

TELLING = {
    "spectral_centroid.mean.01": "spectral centroid, mean (Hz)",
    "spectral_bandwidth.mean.01": "spectral bandwidth, mean (Hz)",
    "zcr.mean.01": "zero-crossing rate, mean",
    "rmse.mean.01": "RMS energy, mean",
    "mfcc.mean.01": "MFCC 1, mean (loudness)",
    "mfcc.mean.02": "MFCC 2, mean (spectral slope)",
    "mfcc.mean.03": "MFCC 3, mean",
    "mfcc.mean.04": "MFCC 4, mean",
    "chroma_cens.std.01": "chroma energy (CENS C), std",
}
FIGURES = {
    "distributions": "feature_distributions.png",
    "correlation": "feature_correlation.png",
    "pca": "pca.png",
    "information": "mutual_information.png",
    "gallery": "spectrogram_gallery.png",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
    _plt().close(fig)


def training_table(
    features: pd.DataFrame, tracks: pd.DataFrame, manifest: pd.DataFrame | None
) -> pd.DataFrame:
    """The training split's feature rows with their genre (labels from the tracks table)."""
    labelled = labelled_splits(tracks, features["track_id"], manifest)
    part = labelled.splits["training"]
    table = features.set_index("track_id").loc[part.track_ids].reset_index()
    table.insert(1, "genre", [labelled.classes[i] for i in part.labels])
    return table


def distributions(table: pd.DataFrame, out: Path) -> dict[str, dict[str, float]]:
    plt = _plt()
    genres = sorted(table["genre"].unique())
    columns = [c for c in TELLING if c in table.columns]
    fig, axes = plt.subplots(3, 3, figsize=(15, 11))
    medians: dict[str, dict[str, float]] = {}
    for ax, column in zip(axes.flat, columns, strict=False):
        groups = [table.loc[table["genre"] == g, column].to_numpy() for g in genres]
        ax.boxplot(groups, showfliers=False)
        ax.set_xticks(range(1, len(genres) + 1), genres, rotation=40, ha="right", fontsize=8)
        ax.set_title(TELLING[column], fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        medians[column] = {
            g: round(float(np.median(v)), 5) for g, v in zip(genres, groups, strict=True)
        }
    for ax in list(axes.flat)[len(columns) :]:
        ax.axis("off")
    fig.suptitle(
        "Per-genre distributions of telling features (training split; boxes: quartiles, whiskers: 1.5 IQR)"
    )
    fig.tight_layout()
    _save(fig, out)
    return medians


def redundancy(table: pd.DataFrame, threshold: float, out: Path) -> dict[str, Any]:
    """Group-level mean |correlation| heatmap, and how many features have a near-duplicate."""
    plt = _plt()
    columns = [c for c in table.columns if c not in ("track_id", "genre")]
    values = table[columns].to_numpy(np.float64)
    varying = values.std(axis=0) > 0
    correlation = np.abs(np.nan_to_num(np.corrcoef(values[:, varying], rowvar=False)))
    names = np.array(columns)[varying]
    np.fill_diagonal(correlation, 0.0)
    pairs = int((np.triu(correlation, 1) > threshold).sum())
    redundant = int((correlation > threshold).any(axis=1).sum())
    groups = list(FEATURE_SIZES)
    member = np.array([name.split(".")[0] for name in names])
    grid = np.zeros((len(groups), len(groups)))
    for i, a in enumerate(groups):
        for j, b in enumerate(groups):
            block = correlation[np.ix_(member == a, member == b)]
            if i == j:
                n = block.shape[0]
                grid[i, j] = block.sum() / max(1, n * n - n)
            else:
                grid[i, j] = block.mean() if block.size else 0.0
    fig, ax = plt.subplots(figsize=(9, 7.5))
    image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(groups)), groups, rotation=45, ha="right")
    ax.set_yticks(range(len(groups)), groups)
    for (i, j), value in np.ndenumerate(grid):
        ax.text(
            j,
            i,
            f"{value:.2f}",
            ha="center",
            va="center",
            fontsize=7,
            color="white" if value < 0.5 else "black",
        )
    fig.colorbar(image, ax=ax, label="mean |Pearson correlation| between the groups' features")
    ax.set_title(
        f"Feature groups: mean absolute correlation\n{redundant} of {len(names)} features have a partner with |r| > {threshold}"
    )
    _save(fig, out)
    return {
        "threshold": threshold,
        "features": int(len(names)),
        "constant_features": int((~varying).sum()),
        "redundant_features": redundant,
        "redundant_pairs": pairs,
    }


def principal_components(table: pd.DataFrame, seed: int, out: Path) -> dict[str, Any]:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    plt = _plt()
    columns = [c for c in table.columns if c not in ("track_id", "genre")]
    scaled = StandardScaler().fit_transform(np.nan_to_num(table[columns].to_numpy(np.float64)))
    pca = PCA(svd_solver="full", random_state=seed).fit(scaled)
    projected = pca.transform(scaled)[:, :2]
    cumulative = np.cumsum(pca.explained_variance_ratio_)
    fig, (scatter, curve) = plt.subplots(1, 2, figsize=(15, 6))
    genres = sorted(table["genre"].unique())
    colours = plt.get_cmap("tab10")
    for k, genre in enumerate(genres):
        chosen = (table["genre"] == genre).to_numpy()
        scatter.scatter(
            projected[chosen, 0],
            projected[chosen, 1],
            s=14,
            alpha=0.75,
            color=colours(k % 10),
            label=genre,
        )
    scatter.set_xlabel(f"PC 1 ({pca.explained_variance_ratio_[0]:.1%} of variance)")
    scatter.set_ylabel(f"PC 2 ({pca.explained_variance_ratio_[1]:.1%} of variance)")
    scatter.set_title(
        "Training tracks on the first two principal components (standardised features)"
    )
    scatter.legend(fontsize=8, markerscale=1.5)
    curve.plot(np.arange(1, len(cumulative) + 1), cumulative, color="black")
    needed = {
        share: int(np.searchsorted(cumulative, share) + 1) for share in (0.8, 0.9, 0.95, 0.99)
    }
    for share, count in needed.items():
        curve.axhline(share, color="grey", lw=0.5, ls=":")
        curve.annotate(
            f"{share:.0%}: {count} components",
            (count, share),
            textcoords="offset points",
            xytext=(8, -12),
            fontsize=8,
        )
    curve.set_xscale("log")
    curve.set_xlabel("number of principal components")
    curve.set_ylabel("cumulative share of variance")
    curve.set_title("Explained variance")
    curve.grid(alpha=0.3)
    _save(fig, out)
    return {
        "first_ten_variance_shares": [
            round(float(v), 5) for v in pca.explained_variance_ratio_[:10]
        ],
        "components_for": {f"{int(share * 100)}%": count for share, count in needed.items()},
    }


def information(table: pd.DataFrame, seed: int, top: int, out: Path) -> list[dict[str, Any]]:
    from sklearn.feature_selection import mutual_info_classif

    plt = _plt()
    columns = [c for c in table.columns if c not in ("track_id", "genre")]
    scores = mutual_info_classif(
        np.nan_to_num(table[columns].to_numpy(np.float64)), table["genre"], random_state=seed
    )
    order = np.argsort(-scores)[:top]
    fig, ax = plt.subplots(figsize=(9, 0.35 * top + 1.5))
    ax.barh(range(len(order))[::-1], scores[order], color="tab:blue")
    ax.set_yticks(range(len(order))[::-1], [columns[i] for i in order], fontsize=8)
    ax.set_xlabel("mutual information with the genre (nats)")
    ax.set_title(f"The {top} features that tell genres apart best (training split)")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, out)
    return [
        {"feature": columns[i], "mutual_information": round(float(scores[i]), 5)} for i in order
    ]


def spectrogram_gallery(
    spectrograms: Path, tracks: pd.DataFrame, manifest: pd.DataFrame | None, out: Path
) -> dict[str, int]:
    """One log-mel spectrogram per genre: the training track whose mean spectrum is closest
    to the genre's median mean spectrum (a typical one, not an extreme one)."""
    import librosa

    plt = _plt()
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
    _save(fig, out)
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
