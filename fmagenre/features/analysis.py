"""What FMA's 518 features look like on the training split, genre by genre: one figure each.

Per-genre distributions of telling features, how redundant the features are, a PCA view,
which features carry most information about the genre. Each function draws its figure
and returns the numbers behind it (the analyze stage writes them to analysis.json).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.features.compute import FEATURE_SIZES
from fmagenre.infra.figures import pyplot, save_png

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


def distributions(table: pd.DataFrame, out: Path) -> dict[str, dict[str, float]]:
    plt = pyplot()
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
    save_png(fig, out)
    return medians


def redundancy(table: pd.DataFrame, threshold: float, out: Path) -> dict[str, Any]:
    """Group-level mean |correlation| heatmap, and how many features have a near-duplicate."""
    plt = pyplot()
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
    save_png(fig, out)
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

    plt = pyplot()
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
    save_png(fig, out)
    return {
        "first_ten_variance_shares": [
            round(float(v), 5) for v in pca.explained_variance_ratio_[:10]
        ],
        "components_for": {f"{int(share * 100)}%": count for share, count in needed.items()},
    }


def information(table: pd.DataFrame, seed: int, top: int, out: Path) -> list[dict[str, Any]]:
    from sklearn.feature_selection import mutual_info_classif

    plt = pyplot()
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
    save_png(fig, out)
    return [
        {"feature": columns[i], "mutual_information": round(float(scores[i]), 5)} for i in order
    ]
