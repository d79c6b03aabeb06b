"""The compare stage's logic: every trained model side by side, and the best one named.

The best model is the one with the highest *validation* macro-F1 (ties: the first in
fmagenre.models.names, then by name), never the best on test: test numbers are reported, not used to
choose, or they would stop being an honest estimate.

Models are the details files found in ``reports/models/`` (evaluation.write_model_outputs),
whatever their number: a new model needs no change here. Its DVC metrics are the figures
experiments are compared by: every model's macro-F1 in one file per split
(``metrics/val.json``, ``metrics/test.json``, keyed by model) and the best model's name
(``metrics/compare.json``). One file per split keeps ``dvc metrics show`` a row per split and
a column per model; ``dvc exp show`` then names a column by file and key
(``metrics/val.json:crnn``), which ``fmagenre experiments`` shortens. The ranked leaderboard with accuracy,
log loss, timings and sizes is a report (``reports/leaderboard.md`` and ``.json``);
``metrics/compare/per_genre.csv`` feeds the plot that overlays every model's per-genre F1.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.infra.atomic import atomic_path, write_json, write_text
from fmagenre.infra.figures import pyplot
from fmagenre.models.intervals import accuracy_interval
from fmagenre.models.names import MODEL_NAMES, title

COMPARE_METRICS = "compare.json"  # the best model
SPLIT_METRICS = {"validation": "val.json", "test": "test.json"}  # macro-F1 by model

log = logging.getLogger(__name__)


def model_order(name: str) -> tuple[int, str]:
    """Known models first, in MODEL_NAMES' order; any other after them, by name."""
    return (MODEL_NAMES.index(name) if name in MODEL_NAMES else len(MODEL_NAMES), name)


def load_reports(details_dir: Path) -> dict[str, dict[str, Any]]:
    """The details of every model that has been trained, in model_order."""
    paths = sorted(Path(details_dir).glob("*.json"), key=lambda path: model_order(path.stem))
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}


def leaderboard(reports: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ordered by validation macro-F1, best first; ties keep the order of ``reports``."""
    rows = []
    for rank_key, (name, report) in enumerate(reports.items()):
        rows.append(
            {
                "model": name,
                "title": title(name),
                "validation_macro_f1": report["validation"]["macro_f1"],
                "validation_accuracy": report["validation"]["accuracy"],
                "test_accuracy": report["test"]["accuracy"],
                "test_accuracy_interval": _as_list(accuracy_interval(report["confusion"])),
                "test_macro_f1": report["test"]["macro_f1"],
                "test_log_loss": report["test"]["log_loss"],
                "test_top2_accuracy": report["test"]["top2_accuracy"],
                "train_seconds": report["train_seconds"],
                "predict_ms_per_track": report["predict_ms_per_track"],
                "model_megabytes": round(report["model_bytes"] / 1e6, 2),
                "validation_tracks": report["counts"].get("validation"),
                "chosen_by": chosen_by(report.get("selection")),
                "test_tracks": report["counts"].get("test"),
                "_order": rank_key,
            }
        )
    rows.sort(key=lambda row: (-(row["validation_macro_f1"] or 0.0), row["_order"]))
    for row in rows:
        del row["_order"]
    return rows


def compared_figures(rows: list[dict[str, Any]], best: str) -> dict[str, dict[str, Any]]:
    """compare's DVC metrics files by name: the best model, then each split's macro-F1 by
    model (models in model_order, not by rank, so that a column stays in its place across
    experiments)."""
    ordered = sorted(rows, key=lambda row: model_order(row["model"]))
    return {
        COMPARE_METRICS: {"best": best},
        **{
            name: {row["model"]: row[f"{split}_macro_f1"] for row in ordered}
            for split, name in SPLIT_METRICS.items()
        },
    }


def chosen_by(selection: dict[str, Any] | None) -> str:
    """The protocol a report names, for people: "5-fold cv (430 tracks)", "validation (50
    tracks)"; "n/a" for a report that names none."""
    if not selection:
        return "n/a"
    if selection["protocol"] == "cv":
        return f"{selection['folds']}-fold cv ({selection['tracks']} tracks)"
    return f"validation ({selection['tracks']} tracks)"


def _cell(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _as_list(interval: tuple[float, float] | None) -> list[float] | None:
    """As leaderboard.json holds it (JSON has no tuples)."""
    return None if interval is None else list(interval)


def _accuracy_cell(value: float | None, interval: list[float] | None) -> str:
    if value is None or interval is None:
        return _cell(value, 3)
    return f"{value:.3f} ({interval[0]:.2f}–{interval[1]:.2f})"


def same_tracks(rows: list[dict[str, Any]]) -> bool:
    """Whether every model was scored on as many validation and test tracks.

    Models lose tracks their own input lacks (a features row, a spectrogram); when those
    differ, the ranking compares scores on different tracks, which compare must say.
    """
    return len({(row["validation_tracks"], row["test_tracks"]) for row in rows}) == 1


def leaderboard_markdown(rows: list[dict[str, Any]], best: str) -> str:
    lines = [
        "# Leaderboard",
        "",
        "Chosen by validation macro-F1; the test split is only reported. Beside test accuracy,",
        "its 95 % bootstrap interval over the test tracks: how far the figure could move on",
        "another draw of as many test tracks. Chosen by: the validation split, or k-fold",
        "cross-validation over training+validation (out-of-fold figure): two different figures.",
        "",
        "| model | chosen by | validation macro-F1 | test accuracy (95 % interval) | test macro-F1 | test top-2 | train time (s) | size (MB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        mark = " **(best)**" if row["model"] == best else ""
        cells = [
            f"{row['title']}{mark}",
            row["chosen_by"],
            _cell(row["validation_macro_f1"], 3),
            _accuracy_cell(row["test_accuracy"], row["test_accuracy_interval"]),
            _cell(row["test_macro_f1"], 3),
            _cell(row["test_top2_accuracy"], 3),
            _cell(row["train_seconds"], 1),
            _cell(row["model_megabytes"], 2),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if not same_tracks(rows):
        lines += [
            "",
            "Note: the models were scored on different numbers of tracks (validation/test: "
            + ", ".join(
                f"{row['title']} {row['validation_tracks']}/{row['test_tracks']}" for row in rows
            )
            + "), because some tracks lack one model's input; see each model's counts.",
        ]
    return "\n".join(lines) + "\n"


def per_genre_table(reports: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Long format (model, genre, f1): one plot draws any number of models from it."""
    rows = [
        {"model": title(name), "genre": genre, "f1": scores["f1"]}
        for name, report in reports.items()
        for genre, scores in report["per_genre"].items()
    ]
    return pd.DataFrame(rows, columns=["model", "genre", "f1"])


def compare(
    details_dir: Path,
    *,
    models_dir: Path,
    metrics_dir: Path,
    leaderboard_md: Path,
    leaderboard_json: Path,
    per_genre_csv: Path,
    figure: Path,
    best_json: Path,
    best_dir: Path,
) -> dict[str, Any]:
    """Write the leaderboard, the figures, the name of the best model and a copy of it;
    return the leaderboard's content."""
    from fmagenre.infra.errors import UserError

    reports = load_reports(details_dir)
    if not reports:
        raise UserError(f"no model details in {details_dir}: run the train stages first")
    rows = leaderboard(reports)
    best = rows[0]["model"]
    consistent = same_tracks(rows)
    if not consistent:
        log.warning(
            "the models were scored on different numbers of validation/test tracks: %s",
            ", ".join(f"{r['model']} {r['validation_tracks']}/{r['test_tracks']}" for r in rows),
        )
    summary = {
        "best": best,
        "chosen_by": "validation macro_f1",
        "same_tracks": consistent,
        "models": {
            row["model"]: {
                "rank": rank,
                **{k: v for k, v in row.items() if k not in ("model", "title")},
            }
            for rank, row in enumerate(rows, start=1)
        },
    }
    for name, figures in compared_figures(rows, best).items():
        write_json(metrics_dir / name, figures)
    write_json(leaderboard_json, summary)
    write_text(leaderboard_md, leaderboard_markdown(rows, best))
    with atomic_path(per_genre_csv) as tmp:
        per_genre_table(reports).to_csv(tmp, index=False)
    write_json(
        best_json,
        {
            "model": best,
            "validation_macro_f1": rows[0]["validation_macro_f1"],
            "classes": reports[best]["classes"],
        },
    )
    with atomic_path(best_dir) as tmp:
        shutil.copytree(Path(models_dir) / best, tmp)
    draw_figure(reports, best, figure)
    log.info(
        "best model by validation macro-F1: %s (%.3f); its test accuracy %s",
        best,
        rows[0]["validation_macro_f1"],
        _cell(rows[0]["test_accuracy"], 3),
    )
    return summary


def draw_figure(reports: dict[str, dict[str, Any]], best: str, out: Path) -> None:
    """Per-genre test F1 of each model, and the best model's test confusion matrix."""
    plt = pyplot()
    classes = reports[best]["classes"]
    fig, (bars, matrix) = plt.subplots(
        1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    width = 0.8 / len(reports)
    x = np.arange(len(classes))
    for i, (name, report) in enumerate(reports.items()):
        f1 = [report["per_genre"].get(genre, {}).get("f1", 0.0) for genre in classes]
        bars.bar(x + (i - (len(reports) - 1) / 2) * width, f1, width, label=title(name))
    bars.set_xticks(x, classes, rotation=35, ha="right")
    bars.set_ylim(0, 1.12)
    bars.set_ylabel("F1 on the test split")
    bars.set_title("Per-genre F1, every model")
    bars.legend(loc="upper center", ncol=len(reports), fontsize=8, frameon=False)
    bars.grid(axis="y", alpha=0.3)

    counts = np.asarray(reports[best]["confusion"], dtype=int)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    matrix.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (row, col), value in np.ndenumerate(counts):
        matrix.text(
            col,
            row,
            str(value),
            ha="center",
            va="center",
            fontsize=8,
            color="white" if rates[row, col] > 0.6 else "black",
        )
    matrix.set_xticks(range(len(classes)), classes, rotation=35, ha="right")
    matrix.set_yticks(range(len(classes)), classes)
    matrix.set_xlabel("predicted genre")
    matrix.set_ylabel("true genre")
    matrix.set_title(f"{title(best)} (best on validation): test confusion")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
