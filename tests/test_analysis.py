"""analyze: figures and numbers that reflect the data, from the training split only."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fmagenre.features.compute import feature_columns
from fmagenre.infra.params import parse_params
from fmagenre.infra.store import RowStore
from fmagenre.pipeline.analyze import FIGURES, analyze

GENRES = ["Folk", "Pop", "Rock"]


@pytest.fixture
def inputs(tmp_path):
    """518 noise features except a planted informative one and a planted duplicate; a store
    where each genre's spectrograms light a different band."""
    rng = np.random.default_rng(0)
    n = 90
    labels = np.arange(n) % 3
    values = rng.normal(size=(n, 518)).astype(np.float32)
    columns = feature_columns()
    informative = columns.index("mfcc.mean.03")
    values[:, informative] = labels * 5 + rng.normal(0, 0.3, n)
    values[:, columns.index("mfcc.median.03")] = values[:, informative] * 2 + 1  # a near-duplicate
    features = pd.DataFrame(values, columns=columns)
    features.insert(0, "track_id", np.arange(n) + 10)
    split = np.where(
        np.arange(n) < 60, "training", np.where(np.arange(n) < 75, "validation", "test")
    )
    tracks = pd.DataFrame(
        {"track_id": np.arange(n) + 10, "genre_top": [GENRES[g] for g in labels], "split": split}
    )
    store = RowStore.create(
        tmp_path / "spec",
        n,
        (40, 16),
        "float16",
        64,
        attrs={"sr": 22050, "hop_length": 512, "fmin": 0.0, "fmax": 11025.0, "db_floor": -80.0},
    )
    rows = rng.normal(-60, 2, size=(n, 40, 16)).astype(np.float16)
    for i, label in enumerate(labels):
        rows[i, :, 2 + 5 * label : 5 + 5 * label] += 40
    store.write(0, rows)
    store.close()
    pd.DataFrame({"track_id": np.arange(n) + 10, "row": np.arange(n), "ok": True}).to_parquet(
        tmp_path / "spec" / "index.parquet"
    )
    return features, tracks, tmp_path / "spec"


def test_analysis_writes_figures_numbers_and_report(inputs, tmp_path):
    features, tracks, store = inputs
    params = parse_params({"analyze": {"top_features": 5, "redundancy_threshold": 0.95}})
    results = analyze(
        features,
        tracks,
        None,
        store,
        params,
        figures_dir=tmp_path / "reports" / "analysis",
        report=tmp_path / "reports" / "analysis.md",
        numbers=tmp_path / "metrics" / "analysis.json",
    )
    for name in FIGURES.values():
        assert (tmp_path / "reports" / "analysis" / name).read_bytes()[:4] == b"\x89PNG"
    assert results["training_tracks"] == 60  # only the training split is analysed
    top = [row["feature"] for row in results["top_features"]]
    assert top[0] in ("mfcc.mean.03", "mfcc.median.03") and {
        "mfcc.mean.03",
        "mfcc.median.03",
    } <= set(top[:2])
    assert (
        results["redundancy"]["redundant_pairs"] == 1
        and results["redundancy"]["redundant_features"] == 2
    )
    medians = results["genre_medians"]["mfcc.mean.03"]
    assert medians["Folk"] < medians["Pop"] < medians["Rock"]
    assert set(results["gallery_tracks"]) == set(GENRES)
    assert json.loads((tmp_path / "metrics" / "analysis.json").read_text()) == json.loads(
        json.dumps(results)
    )
    report = (tmp_path / "reports" / "analysis.md").read_text()
    assert all(f"(analysis/{name})" in report for name in FIGURES.values())
    assert "2 of 518 features have a partner with |r| > 0.95" in report
