"""The train_ensemble stage's logic: the sixth model, from the five trainers' outputs.

Each member left a probability table (models/evaluation.probability_table): its
probabilities on the tracks it was chosen on, each predicted by a model that never trained
on that track (``heldout``), and on the test split. The ensemble's weights are fitted on the
held-out rows every member has, its own figure is computed out of fold on those rows
(models/ensemble.py), and the weights refitted on all of them give its test predictions.

The model folder carries a copy of every member's folder, so that it is self-contained like
the others (compare copies the best model's folder, and predict reads only that).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.infra.atomic import atomic_path, write_json
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import Params
from fmagenre.models.ensemble import (
    ENSEMBLE_FILE,
    MEMBERS_FOLDER,
    average,
    fit_weights,
    out_of_fold,
)
from fmagenre.models.evaluation import (
    HELDOUT,
    TEST,
    Selection,
    model_outputs,
    model_report,
    predictions_table,
    probability_table,
    write_model_outputs,
)
from fmagenre.models.files import model_bytes
from fmagenre.models.names import training_stage

log = logging.getLogger(__name__)

NAME = "ensemble"


def read_member(
    name: str, details_dir: Path, metrics_dir: Path
) -> tuple[dict[str, Any], pd.DataFrame]:
    """A member's report and probability table, or one line naming the stage to run."""
    outputs = model_outputs(metrics_dir, name, details_dir)
    for path in (outputs.details, outputs.probabilities):
        if not path.is_file():
            raise UserError(
                f"ensemble: {path} is missing: run `dvc repro {training_stage(name)}` first, "
                "or leave the model out of ensemble.members"
            )
    return json.loads(outputs.details.read_text(encoding="utf-8")), pd.read_parquet(
        outputs.probabilities
    )


def aligned(
    tables: dict[str, pd.DataFrame], role: str, classes: list[str]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The track ids of ``role`` rows every member has (in the first member's order), and each
    member's probabilities on them."""
    columns = [f"p_{genre}" for genre in classes]
    by_member = {
        name: table[table["role"] == role].set_index("track_id")[columns]
        for name, table in tables.items()
    }
    first = next(iter(by_member.values()))
    common = set(first.index)
    for frame in by_member.values():
        common &= set(frame.index)
    track_ids = np.array([t for t in first.index if t in common], dtype=np.int64)
    return track_ids, [frame.loc[track_ids].to_numpy(np.float64) for frame in by_member.values()]


def save_ensemble(
    model_dir: Path, models_dir: Path, weights: dict[str, float], classes: list[str], params: Params
) -> None:
    """The ensemble's model folder: a copy of each member's folder (``weights``' keys, in
    order, under ``models_dir``), the members and weights, the genres and the params."""
    with atomic_path(Path(model_dir)) as staged:  # the folder changes as a whole (see model_files)
        staged.mkdir()
        for name in weights:
            shutil.copytree(Path(models_dir) / name, staged / MEMBERS_FOLDER / name)
        write_json(staged / ENSEMBLE_FILE, {"members": list(weights), "weights": weights})
        write_json(staged / "classes.json", classes)
        write_json(
            staged / "params.json",
            {
                "model": NAME,
                "params": {
                    "ensemble": params.ensemble.model_dump(mode="json"),
                    "train": params.train.model_dump(mode="json"),
                },
                "weights": weights,
                "data": {"subset": params.data.subset},
            },
        )


def train_ensemble(
    tracks: pd.DataFrame,
    params: Params,
    *,
    models_dir: Path,
    model_dir: Path,
    metrics_dir: Path,
    details_dir: Path,
) -> dict[str, Any]:
    """Fit, score out of fold, save and report the ensemble of ``params.ensemble.members``."""
    began = time.perf_counter()
    members = list(params.ensemble.members)
    read = {name: read_member(name, details_dir, metrics_dir) for name in members}
    reports = {name: report for name, (report, _) in read.items()}
    classes = reports[members[0]]["classes"]
    for name, report in reports.items():
        if report["classes"] != classes:
            raise UserError(
                f"ensemble: {name} was trained on other genres ({', '.join(report['classes'])}) "
                f"than {members[0]} ({', '.join(classes)}): retrain the models on the same data"
            )
    tables = {name: table for name, (_, table) in read.items()}
    heldout_ids, heldout = aligned(tables, HELDOUT, classes)
    test_ids, test = aligned(tables, TEST, classes)
    table = tracks.set_index("track_id")
    index = {genre: i for i, genre in enumerate(classes)}
    y_heldout = table.loc[heldout_ids, "genre_top"].map(index).to_numpy(np.int64)
    y_test = table.loc[test_ids, "genre_top"].map(index).to_numpy(np.int64)
    if len(heldout_ids) < 2:
        raise UserError(
            f"ensemble: the members share {len(heldout_ids)} held-out track(s); at least 2 are "
            "needed to fit and score the weights"
        )
    folded = out_of_fold(
        heldout,
        y_heldout,
        table.loc[heldout_ids, "artist_id"].to_numpy(np.int64),
        params.ensemble.folds,
        params.train.seed,
    )
    weights = fit_weights(heldout, y_heldout)
    fit_seconds = time.perf_counter() - began
    test_proba = average(test, weights) if len(test_ids) else np.zeros((0, len(classes)))
    by_member = {name: round(float(w), 6) for name, w in zip(members, weights, strict=True)}

    model_dir = Path(model_dir)
    save_ensemble(model_dir, models_dir, by_member, classes, params)
    report = model_report(
        NAME,
        classes,
        (y_heldout, folded.probabilities),
        (y_test, test_proba),
        # what it costs to have it: every member trained, then the weights
        train_seconds=sum(r["train_seconds"] for r in reports.values()) + fit_seconds,
        predict_ms_per_track=sum(r["predict_ms_per_track"] for r in reports.values()),
        model_bytes=sum(model_bytes(p.parent) for p in model_dir.rglob("classes.json")),
        counts={
            "validation": int(len(heldout_ids)),
            "test": int(len(test_ids)),
            "members": {name: r["counts"] for name, r in reports.items()},
        },
        selection=Selection(
            "cv",
            folded.folds,
            int(len(heldout_ids)),
            "weights fitted on the members' held-out tracks, so scored out of fold there",
        ),
        details={
            "members": members,
            "weights": by_member,
            "validation_is": f"out of fold: {folded.folds} folds of the members' held-out tracks",
            "fold_weights": folded.fold_weights,
            "fit_seconds": round(fit_seconds, 3),
        },
    )
    write_model_outputs(
        metrics_dir,
        NAME,
        report,
        predictions_table(test_ids, y_test, test_proba, classes),
        details_dir,
        probability_table((heldout_ids, folded.probabilities), (test_ids, test_proba), classes),
    )
    log.info(
        "ensemble of %s: weights %s; out-of-fold validation macro-F1 %.3f, test accuracy %.3f",
        ", ".join(members),
        by_member,
        report["validation"]["macro_f1"],
        report["test"]["accuracy"] or 0,
    )
    return report
