"""End to end: real `dvc repro` of the pipeline on a tiny synthetic dataset (conftest's
session-wide ``pipeline`` project; every test leaves it as it found it)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from dvc_project import STAGES, TINY_PARAMS, ran_stages

from fmagenre.infra.store import RowStore

pytestmark = pytest.mark.e2e


@pytest.fixture()
def project(pipeline):
    return pipeline


def test_every_stage_ran_and_wrote_its_outputs(project):
    root = project.root
    tracks = pd.read_parquet(root / "data" / "tracks.parquet")
    assert len(tracks) == 8 * 6
    assert set(tracks["split"]) == {"training", "validation", "test"}
    manifest = pd.read_parquet(root / "data" / "manifest.parquet")
    assert manifest["track_id"].tolist() == tracks["track_id"].tolist()
    decode = json.loads((root / "reports" / "decode.json").read_text())
    assert decode["tracks"] == 48
    assert decode["status"]["missing"] == 1 and decode["status"]["silent"] == 1
    usable = json.loads((root / "reports" / "manifest.json").read_text())
    assert 0 < usable["unusable"] <= 5 and usable["usable"] == manifest["usable"].sum()
    store = RowStore.open(root / "data" / "audio")
    assert len(store) == 48 and store.row_shape == (4 * 22050,)
    usable_rows = manifest.loc[manifest["usable"], "row"]
    assert all(store.read(int(row)).any() for row in usable_rows)
    features = pd.read_parquet(root / "data" / "features.parquet")
    assert features["track_id"].tolist() == manifest.loc[manifest["usable"], "track_id"].tolist()
    assert features.shape[1] == 1 + 518
    spectrograms = RowStore.open(root / "data" / "spectrograms")
    index = pd.read_parquet(root / "data" / "spectrograms" / "index.parquet")
    assert len(spectrograms) == len(index) == len(features)
    assert spectrograms.row_shape == (1 + 4 * 22050 // 512, 128)
    embeddings = pd.read_parquet(root / "data" / "embeddings.parquet")
    assert embeddings["track_id"].tolist() == features["track_id"].tolist()
    tags = embeddings.iloc[:, 1:51].to_numpy()
    assert embeddings.shape[1] == 1 + 450 and ((tags >= 0) & (tags <= 1)).all()
    assert (root / "models" / "pretrained" / "LICENSE.md").exists()
    assert (root / "models" / "musicnn" / "musicnn.keras").exists()
    for model in ("rf", "svm", "gbdt", "crnn", "musicnn", "ensemble"):
        used = json.loads((root / "models" / model / "params.json").read_text())
        assert used["data"]["subset"] == "synthetic"
        report = json.loads((root / "reports" / "models" / f"{model}.json").read_text())
        assert report["test"]["accuracy"] is not None
        val = json.loads((root / "metrics" / "val.json").read_text())
        test = json.loads((root / "metrics" / "test.json").read_text())
        assert test[model] == report["test"]["macro_f1"]
        assert val[model] == report["validation"]["macro_f1"]
        own_file = {"crnn": "model.keras", "ensemble": "ensemble.json"}.get(model, "model.skops")
        assert (root / "models" / model / own_file).exists()
        assert (root / "metrics" / model / "predictions.csv").exists()
    best = json.loads((root / "models" / "best.json").read_text())["model"]
    assert best in ("rf", "svm", "gbdt", "crnn", "musicnn", "ensemble")
    assert (root / "reports" / "compare.png").exists()
    leaderboard = (root / "reports" / "leaderboard.md").read_text()
    assert "(best)" in leaderboard and "| musicnn embeddings" in leaderboard
    assert leaderboard.count("\n| ") == 2 + 6  # header, rule and six models
    # the artifact: the best model's own files
    assert sorted(p.name for p in (root / "models" / "best").iterdir()) == sorted(
        p.name for p in (root / "models" / best).iterdir()
    )
    curves = pd.read_csv(root / "metrics" / "crnn" / "curves.csv")
    assert set(curves["measure"]) == {"loss", "accuracy", "macro-F1"}
    assert set(curves["split"]) == {"training", "validation"} and curves["epoch"].min() == 1
    analysis = json.loads((root / "reports" / "analysis.json").read_text())
    assert analysis["training_tracks"] > 0 and len(analysis["top_features"]) == 20
    assert (
        "![spectrogram gallery](analysis/spectrogram_gallery.png)"
        in (root / "reports" / "analysis.md").read_text()
    )


def test_second_repro_runs_nothing(project):
    assert project.repro() == []
    status = project.dvc("status").stdout
    assert "up to date" in status


def test_changing_audio_sr_reruns_decode_and_what_depends_on_it(project):
    project.set_params(audio={**TINY_PARAMS["audio"], "sr": 16000})
    assert project.repro() == [
        stage for stage in STAGES[STAGES.index("decode") :] if stage != "pretrained"
    ]
    assert RowStore.open(project.root / "data" / "audio").attrs["sr"] == 16000
    project.set_params(audio=TINY_PARAMS["audio"])
    # back to the original settings: every stage's outputs come back from DVC's run-cache
    assert project.repro() == []
    assert "up to date" in project.dvc("status").stdout


def test_decode_min_seconds_and_max_bad_fraction_decode_nothing_again(project):
    project.set_params(decode={**TINY_PARAMS["decode"], "min_seconds": 3.9})
    assert project.repro("manifest") == ["manifest"]
    stale = set(json.loads(project.dvc("status", "--json").stdout))
    # the models see the new manifest; decoding, features and spectrograms are untouched
    # (the last two are made for every track with audio, whatever its length)
    assert stale == {
        "train_rf",
        "train_svm",
        "train_gbdt",
        "train_crnn",
        "train_musicnn",
        "analyze",
    }
    fewer = pd.read_parquet(project.root / "data" / "manifest.parquet")["usable"].sum()
    project.set_params(decode={**TINY_PARAMS["decode"], "max_bad_fraction": 0.0})
    failed = project.dvc("repro", check=False)
    assert failed.returncode != 0 and ran_stages(failed.stdout + failed.stderr) == ["manifest"]
    assert "above decode.max_bad_fraction = 0.0" in failed.stderr
    project.set_params(decode=TINY_PARAMS["decode"])
    assert project.repro() == []  # the manifest comes back from the run-cache
    assert pd.read_parquet(project.root / "data" / "manifest.parquet")["usable"].sum() > fewer
    assert "up to date" in project.dvc("status").stdout


def test_spectrogram_params_rerun_the_crnn_side_only(project):
    project.set_params(spectrogram={"n_mels": 64})
    assert project.repro() == ["spectrograms", "train_crnn", "train_ensemble", "compare", "analyze"]
    assert RowStore.open(project.root / "data" / "spectrograms").row_shape[1] == 64
    project.set_params(spectrogram={"n_mels": 128})
    project.repro()


def test_features_params_never_rerun_spectrograms(project):
    project.set_params(features={"source": "official"})
    status = project.dvc("status").stdout
    assert "features" in status and "spectrograms" not in status.split("features")[0]
    assert "spectrograms:" not in status
    project.set_params(features={"source": "computed"})


def test_svm_params_rerun_train_svm_and_compare_only_and_metrics_diff_shows_it(project):
    project.set_params(svm={"C": [0.01], "gamma": ["scale"]})
    assert project.repro() == ["train_svm", "train_ensemble", "compare"]
    diff = json.loads(project.dvc("metrics", "diff", "--json").stdout)
    assert (
        {"metrics/val.json"}
        <= set(diff)
        <= {"metrics/val.json", "metrics/test.json", "metrics/compare.json"}
    )
    assert set(diff["metrics/val.json"]) == {"svm"}  # the SVM's figures alone move
    assert set(diff.get("metrics/test.json", {})) <= {"svm"}
    params_diff = json.loads(project.dvc("params", "diff", "--json").stdout)
    assert "svm.C" in params_diff["params.yaml"]
    project.set_params(svm=TINY_PARAMS["svm"])
    assert project.repro() == []


def test_musicnn_params_rerun_train_musicnn_and_compare_only(project):
    project.set_params(musicnn={**TINY_PARAMS["musicnn"], "C": [0.01]})
    assert project.repro() == ["train_musicnn", "train_ensemble", "compare"]
    used = json.loads((project.root / "models" / "musicnn" / "params.json").read_text())
    assert used["chosen"]["C"] == 0.01
    project.set_params(musicnn=TINY_PARAMS["musicnn"])
    assert project.repro() == []


def test_musicnn_pooling_reruns_train_musicnn_and_compare_only(project):
    """The embeddings stage writes the clip and the patch rows whatever the pooling, so
    switching it embeds nothing again; the clip model reads clip rows back at predict."""
    pooling = project.params()["musicnn"]["pooling"]
    other = "clip" if pooling == "patch" else "patch"
    project.set_params(musicnn={"pooling": other})
    try:
        assert project.repro() == ["train_musicnn", "train_ensemble", "compare"]
        used = json.loads((project.root / "models" / "musicnn" / "params.json").read_text())
        assert used["input"]["pooling"] == other
    finally:
        project.set_params(musicnn={"pooling": pooling})
    assert project.repro() == []  # DVC's run cache gives the earlier outputs back


def test_preprocess_params_rerun_only_the_feature_models_and_compare(project):
    project.set_params(preprocess={"method": "pca", "pca_components": 0.9})
    assert project.repro() == ["train_rf", "train_svm", "train_gbdt", "train_ensemble", "compare"]
    used = json.loads((project.root / "models" / "rf" / "params.json").read_text())
    assert "principal components" in used["features_used"]
    project.set_params(preprocess={"method": "none", "pca_components": 0.95})
    assert project.repro() == []


def test_plots_render_every_models_confusion_matrix(project, tmp_path):
    project.dvc("plots", "show", "--out", str(tmp_path / "plots"))
    html = (tmp_path / "plots" / "index.html").read_text()
    for title in ("Random Forest", "SVM (RBF)", "CatBoost", "CRNN", "musicnn embeddings"):
        assert f"{title}, test split" in html  # one confusion matrix per model (dvc.yaml titles)
    assert html.count('"field": "actual"') >= 5 and html.count('"field": "predicted"') >= 5
    assert "CRNN training curves (crops)" in html and '"field": "split"' in html
    assert "Per-genre F1 on the test split, every model" in html
    assert (
        "compare.png" in html
        and "spectrogram_gallery.png" in html
        and "feature_correlation.png" in html
    )


def test_compute_params_invalidate_nothing(project):
    project.set_params(compute={**TINY_PARAMS["compute"], "workers": 1, "chunk_size": 3})
    assert project.repro() == []
    project.set_params(compute=TINY_PARAMS["compute"])


def test_invalid_params_stop_with_one_clear_line(project):
    original = project.params()
    project.set_params(audio={**TINY_PARAMS["audio"], "sr": "high"})
    try:
        result = project.run("python", "-m", "stages.decode", check=False)
    finally:
        project.set_params(**original)
    assert result.returncode == 2
    assert "[decode] error: params.yaml: audio.sr = 'high' is not allowed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("model", ["rf", "svm", "crnn", "musicnn", "ensemble"])
def test_predict_applies_exactly_what_training_applied(project, model):
    """predict on a test track's own MP3 gives the probabilities and the genre the pipeline
    reported for it (the SVM's genre is its SVC's decision, shown first)."""
    root = project.root
    reported = pd.read_csv(root / "metrics" / model / "predictions.csv").iloc[0]
    path = (
        pd.read_parquet(root / "data" / "tracks.parquet")
        .set_index("track_id")
        .loc[reported["track_id"], "path"]
    )
    out = project.run(
        "python",
        "-m",
        "fmagenre",
        "predict",
        path,
        "--model",
        model,
        "--format",
        "json",
        "--top-k",
        "8",
        "--quiet",
    )
    (row,) = json.loads(out.stdout)
    predicted = {p["genre"]: p["probability"] for p in row["predictions"]}
    for genre, probability in predicted.items():
        assert probability == pytest.approx(reported[f"p_{genre}"], abs=2e-5), genre
    assert row["predictions"][0]["genre"] == reported["predicted"]


def test_predict_a_folder_with_the_best_model(project):
    folder = project.root / "data" / "fma" / "fma_synthetic"
    out = project.run(
        "python",
        "-m",
        "fmagenre",
        "predict",
        str(folder),
        "--quiet",
        "--format",
        "csv",
        check=False,
    )
    rows = out.stdout.strip().splitlines()[1:]
    assert len(rows) == 47  # 48 tracks, one of them missing on disk
    assert out.returncode == 1  # the no-audio and silent faults cannot be classified
    best = json.loads((project.root / "models" / "best.json").read_text())["model"]
    assert all(f",{best}," in row for row in rows)
    # a model of the synthetic demo says that its genres are not music, once
    assert out.stderr.count("not real music genres") == 1 and "fmagenre tag" in out.stderr


def test_training_again_reproduces_the_metrics_exactly(project):
    """Nothing machine- or clock-dependent is a metric: a faithful rerun diffs to nothing."""
    # compare too: the models' macro-F1 are its metrics
    for stage in ("train_gbdt", "train_crnn", "train_musicnn", "train_ensemble", "compare"):
        project.dvc("repro", "--force", "--single-item", stage)
    assert project.dvc("metrics", "diff").stdout.strip() == ""
    assert project.dvc("metrics", "diff", "--json").stdout.strip() in ("", "{}")
    # the training curves too: plain numbers by epoch, no timestamps
    assert project.git("status", "--porcelain", "metrics").stdout == ""
    # CatBoost stamps each model with a new id, so models/gbdt's hash moved: back to the commit
    project.git("checkout", "--", "dvc.lock")
    project.dvc("checkout")
