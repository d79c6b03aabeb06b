"""A trained model read back from its folder: the fitted model, its genres and the recipe of
its input (what training computed from the audio, so predict computes the same).

Read as one version of the folder (fmagenre.models.files), without running code from the
files; a missing or damaged file is one line naming it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.audio.clip import DecodeSettings
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import DecodeParams
from fmagenre.models.files import FolderSnapshot, load_keras, load_pipeline, read_consistently
from fmagenre.models.names import MODEL_NAMES, training_stage

SYNTHETIC_NOTE = (
    "this model was trained on the synthetic demo dataset: its genres are made-up recipes, not "
    "real music genres. For real music, `python -m fmagenre tag FILE` gives pretrained musicnn's "
    "tags; train on the real FMA (data.subset: small) or on your own labelled music "
    "(data.subset: folder)"
)


@dataclass(frozen=True)
class InputRecipe:
    """How to turn an audio file into the model's input, as saved at training time."""

    # "features", "log_mel", "musicnn" (its embedding row), "tags" (musicnn's tags) or
    # "ensemble" (the rows of its members' distinct recipes, flattened end to end)
    kind: str
    audio: DecodeSettings
    spectrogram: dict[str, Any] | None = None
    # a file with less real audio than this is not classified: training left such tracks out
    min_seconds: float = DecodeParams().min_seconds
    # features only: "native" (FMA's definition, the file at its own rate) or "decoded"
    # (the decode stage's audio at audio.sr): what the model's features were computed from
    features_rate: str = "decoded"
    min_seconds_source: str = "decode.min_seconds"  # named when a file is too short
    for_model: bool = True  # False: features only, no model (the too-short line says so)
    network: str | None = None  # the musicnn network (.keras) of kinds musicnn and tags
    patches: int = 0  # kind musicnn: 0, the clip row; else the patch row of this many patches
    parts: tuple[InputRecipe, ...] = ()  # ensemble only: each input its members need, once


@dataclass(frozen=True)
class EnsembleModel:
    """The members, each with the position of its input among the recipe's parts, and the
    weights of their probabilities."""

    members: list[LoadedModel]
    part_of: list[int]
    weights: np.ndarray

    def probabilities(self, rows: np.ndarray, parts: tuple[InputRecipe, ...]) -> np.ndarray:
        from fmagenre.models.ensemble import average
        from fmagenre.models.predict import row_spec

        specs = [row_spec(part) for part in parts]
        ends = np.cumsum([int(np.prod(spec.shape)) for spec in specs])
        inputs = [
            rows[:, end - int(np.prod(spec.shape)) : end]
            .reshape(len(rows), *spec.shape)
            .astype(spec.dtype)
            for spec, end in zip(specs, ends, strict=True)
        ]
        return average(
            [
                member.probabilities(inputs[part])
                for member, part in zip(self.members, self.part_of, strict=True)
            ],
            self.weights,
        )


@dataclass
class LoadedModel:
    name: str
    classes: list[str]
    recipe: InputRecipe
    model: Any
    crop_frames: int | None = None
    notes: list[str] = field(default_factory=list)

    def probabilities(self, rows: np.ndarray, batch_size: int = 64) -> np.ndarray:
        if self.recipe.kind == "tags":  # the rows hold musicnn's tag probabilities already
            from fmagenre.models.musicnn.embedding import TAGS

            return rows[:, TAGS].astype(np.float64)
        if self.recipe.kind == "ensemble":
            return self.model.probabilities(rows, self.recipe.parts)
        if self.recipe.kind in ("features", "musicnn"):
            from fmagenre.models.classic import predict_proba

            return predict_proba(self.model, rows, len(self.classes))
        from fmagenre.models.crnn.crops import clip_probabilities

        return clip_probabilities(
            self.model, iter(rows), len(rows), self.crop_frames, batch_size
        ).astype(np.float64)

    def labels(self, rows: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """The model's own decision per row (the SVM's is its SVC's, not the most probable
        genre under its calibrated probabilities), as the metrics report scores it."""
        if self.recipe.kind == "features":
            from fmagenre.models.classic import predict_labels

            return predict_labels(self.model, rows)
        return probabilities.argmax(axis=1)


def resolve_model_name(models_dir: Path, which: str) -> str:
    if which != "best":
        return which
    best = Path(models_dir) / "best.json"
    if not best.exists():
        raise UserError(
            f"{best} not found: no model has been chosen yet; run the pipeline (`dvc repro` or `make demo`), "
            "or name a model with --model rf|svm|gbdt|crnn|musicnn|ensemble"
        )
    try:
        return str(json.loads(best.read_text(encoding="utf-8"))["model"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise UserError(
            f"{best} is damaged ({type(exc).__name__}): rerun `dvc repro -f compare`, or name a "
            "model with --model rf|svm|gbdt|crnn|musicnn|ensemble"
        ) from None


def load_model(models_dir: Path, which: str = "best") -> LoadedModel:
    """The trained model ``which`` (or the one compare chose), with its input recipe.

    Read as one version of its folder (see fmagenre.models.files), without running code from
    the files; a missing or damaged file is one line naming it.
    """
    name = resolve_model_name(models_dir, which)
    if name not in MODEL_NAMES:
        raise UserError(f"unknown model {name!r} (allowed: best, {', '.join(MODEL_NAMES)})")
    return read_consistently(
        Path(models_dir) / name, training_stage(name), functools.partial(_build_any, name)
    )


def _build_any(name: str, snapshot: FolderSnapshot) -> LoadedModel:
    return _build_ensemble(snapshot) if name == "ensemble" else _build_model(name, snapshot)


def _build_ensemble(snapshot: FolderSnapshot) -> LoadedModel:
    """The members from the copies inside the ensemble's folder (read through its one
    handle), their distinct inputs as the recipe's parts."""
    from fmagenre.models.ensemble import ENSEMBLE_FILE, MEMBERS_FOLDER

    saved = snapshot.json(ENSEMBLE_FILE)
    try:
        names = [str(name) for name in saved["members"]]
        weights = np.array([float(saved["weights"][name]) for name in names])
    except (KeyError, TypeError, ValueError) as exc:
        raise snapshot.damaged(
            ENSEMBLE_FILE, f"no members and weights: {type(exc).__name__} {exc}"
        ) from None
    members, parts, part_of = [], [], []
    for name in names:
        with snapshot.subfolder(f"{MEMBERS_FOLDER}/{name}") as inner:
            member = _build_model(name, inner)
        if member.recipe not in parts:
            parts.append(member.recipe)
        members.append(member)
        part_of.append(parts.index(member.recipe))
    classes = snapshot.json("classes.json")
    if any(member.classes != classes for member in members):
        raise snapshot.damaged("classes.json", "the members were trained on other genres")
    first = members[0]
    recipe = InputRecipe(
        "ensemble", first.recipe.audio, min_seconds=first.recipe.min_seconds, parts=tuple(parts)
    )
    return LoadedModel(
        "ensemble", classes, recipe, EnsembleModel(members, part_of, weights), notes=first.notes
    )


def _build_model(name: str, snapshot: FolderSnapshot) -> LoadedModel:
    used = snapshot.json("params.json")
    try:
        saved = used["input"]
        audio = saved["audio"]
        settings = DecodeSettings(int(audio["sr"]), float(audio["duration"]), str(audio["crop"]))
        min_seconds = float(saved.get("min_seconds", DecodeParams().min_seconds))
        crop_frames = int(used["crop_frames"]) if name == "crnn" else None
        spectrogram = dict(saved["spectrogram"]) if name == "crnn" else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise snapshot.damaged(
            "params.json",
            f"the model's input settings are missing or wrong: {type(exc).__name__} {exc}",
        ) from None
    classes = snapshot.json("classes.json")
    if not (
        isinstance(classes, list)
        and classes
        and all(isinstance(genre, str) for genre in classes)
        and len(set(classes)) == len(classes)
    ):
        raise snapshot.damaged("classes.json", "not a list of distinct genre names")
    data = used.get("data")
    notes = [SYNTHETIC_NOTE] if isinstance(data, dict) and data.get("subset") == "synthetic" else []
    if name == "crnn":
        model = load_keras(snapshot)
        outputs = int(model.output_shape[-1])
        loaded = LoadedModel(
            name,
            classes,
            InputRecipe("log_mel", settings, spectrogram, min_seconds),
            model,
            crop_frames=crop_frames,
            notes=notes,
        )
    else:
        model = load_pipeline(snapshot)
        outputs = int(np.max(model.classes_)) + 1  # a model may not have seen every class
        if name == "musicnn":
            recipe = InputRecipe(
                "musicnn",
                settings,
                min_seconds=min_seconds,
                network=str(bundled_network(snapshot)),
                patches=pooled_patches(model),
            )
        else:
            recipe = InputRecipe(
                "features", settings, min_seconds=min_seconds, features_rate=saved_rate(saved)
            )
        loaded = LoadedModel(name, classes, recipe, model, notes=notes)
    if (outputs != len(classes)) if name == "crnn" else (outputs > len(classes)):
        raise snapshot.damaged(
            "classes.json", f"{len(classes)} genres for a model with {outputs} outputs"
        )
    return loaded


def bundled_network(snapshot: FolderSnapshot) -> Path:
    """The musicnn network a musicnn model carries (the workers load it by path, in Keras'
    safe mode), checked here to be a whole Keras archive so a damaged one is one line."""
    import io
    import zipfile

    from fmagenre.models.musicnn import NETWORK_FILE

    if not zipfile.is_zipfile(io.BytesIO(snapshot.read(NETWORK_FILE))):
        raise snapshot.damaged(
            NETWORK_FILE, "not a Keras archive; the file is truncated or foreign"
        )
    return snapshot.folder / NETWORK_FILE


def pooled_patches(pipeline: Any) -> int:
    """The patch count of a patch-pooled model's rows (0: it reads clip rows), from the model
    itself, so the row predict builds is the one it was fitted on."""
    from fmagenre.models.pooling import PatchPooled

    last = pipeline.steps[-1][1]
    return last.max_patches if isinstance(last, PatchPooled) else 0


def saved_rate(saved_input: dict[str, Any]) -> str:
    """The rate a feature model's features were computed at. Models saved before it was
    recorded were trained either on FMA's features.csv (native rate) or on the decoded audio."""
    if "features_sample_rate" in saved_input:
        return str(saved_input["features_sample_rate"])
    return "native" if saved_input.get("features_source") == "official" else "decoded"
