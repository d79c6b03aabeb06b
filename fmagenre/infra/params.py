"""One typed loader for params.yaml, shared by every stage.

Each section of params.yaml is a frozen pydantic model below, strict (``'3'`` is not 3, 1.0
is not an integer, ``true`` is not a number), bounded, and closed (a key it does not declare
is an error). A typo or a bad value stops a stage before it does any work, with one line that
names the key and what it accepts. Where a list is allowed, one value stands for a list of one.

params.yaml holds the defaults: the values written here are the same (tests/test_params.py
checks every one) and serve only code that runs without the file (commands, tests).
``python -m fmagenre params --schema`` prints the JSON schema of the file, for editors.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fmagenre.infra.errors import ParamsError
from fmagenre.infra.params_file import read_params_file
from fmagenre.infra.params_messages import Inconsistent, explain, number
from fmagenre.infra.params_types import HttpUrl, NonNegative, OneOrMany, Positive, Seed

PARAMS_FILE = Path("params.yaml")


class Section(BaseModel):
    """A section of params.yaml: strict, closed, immutable; its defaults are checked too."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        validate_default=True,
        use_attribute_docstrings=True,
    )


class SplitFractions(Section):
    """How a labelled folder without a split column is cut; FMA and the synthetic dataset
    bring their own split."""

    training: float = Field(0.8, gt=0, lt=1)
    validation: float = Field(0.1, gt=0, lt=1)
    test: float = Field(0.1, gt=0, lt=1)

    @model_validator(mode="after")
    def _whole(self) -> SplitFractions:
        total = self.training + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise Inconsistent(
                f"data.split: training + validation + test = {number(round(total, 6))}; "
                "the three fractions must add up to 1"
            )
        return self


class DataParams(Section):
    """Which dataset the pipeline runs on: an FMA subset (downloaded from url_base), the
    synthetic demo, or a labelled folder of the user's own music."""

    subset: Literal["small", "medium", "large", "full", "synthetic", "folder"] = "synthetic"
    url_base: HttpUrl = "https://os.unil.cloud.switch.ch/fma/"
    folder: str = Field("collection", min_length=1)
    """folder only: the labelled collection, absolute or relative to the project root"""
    split: SplitFractions = SplitFractions()
    """folder only, when labels.csv has no split column"""


class SynthParams(Section):
    """Size and seed of the synthetic dataset used when data.subset is 'synthetic'."""

    tracks_per_genre: int = Field(60, ge=2, le=100_000)
    clip_seconds: float = Field(10.0, ge=1, le=600)
    seed: Seed = 2026
    faults: bool = True
    """inject one no-audio, truncated, short, silent and missing track"""


class AudioParams(Section):
    """The canonical audio every later stage reads: mono, fixed rate and length."""

    sr: int = Field(22050, ge=8000, le=192_000)
    duration: float = Field(10.0, ge=1, le=3600)
    """seconds; shorter clips are zero-padded"""
    crop: Literal["start", "center"] = "center"


class DecodeParams(Section):
    """What makes a decoded track usable, and how many unusable tracks stop the stage."""

    max_bad_fraction: float = Field(0.05, ge=0, le=1)
    min_seconds: NonNegative = 3.0


class ComputeParams(Section):
    """How per-track work runs. It never changes what is computed, so no stage depends on it."""

    backend: Literal["local", "dask"] = "local"
    workers: int = Field(0, ge=0)
    """0: every available core"""
    scheduler: str = ""
    """dask only: address of an existing scheduler; '' starts a LocalCluster"""
    chunk_size: int = Field(16, ge=1, le=100_000)

    @property
    def worker_count(self) -> int:
        """workers, with 0 meaning every core this process may use."""
        return self.workers or available_cores()


def available_cores() -> int:
    """Cores this process may run on (respects affinity masks, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class FeaturesParams(Section):
    """Where the 518 FMA features come from."""

    source: Literal["computed", "official"] = "computed"
    """computed: from the audio; official: FMA's precomputed fma_metadata/features.csv"""
    sample_rate: Literal["native", "decoded"] = "native"
    """computed only. native: FMA's definition, each file decoded again at its own rate (what
    features.csv holds); decoded: the decode stage's audio at audio.sr (faster, another kind)"""

    @property
    def defined_at(self) -> str:
        """The rate the features mean: FMA computed features.csv at each clip's native rate,
        so a model trained on official features needs native-rate features at predict."""
        return "native" if self.source == "official" else self.sample_rate


class SpectrogramParams(Section):
    """Log-mel spectrograms for the CRNN: one [frames x n_mels] float16 array per track."""

    n_mels: int = Field(128, ge=8, le=512)
    n_fft: int = Field(2048, ge=64, le=16384)
    hop_length: int = Field(512, ge=16, le=16384)
    fmin: NonNegative = 0.0
    fmax: Positive | None = None
    """Hz; null: half the sample rate"""
    db_floor: float = Field(-80.0, ge=-200, le=0)
    """dB (power re 1.0); quieter bins are clipped"""


class TrainParams(Section):
    """Shared by the feature-based and embedding models (not the CRNN): their seed and how
    their candidates are chosen (docs/selection.md)."""

    seed: Seed = 2026
    selection: Literal["validation", "cv", "auto"] = "auto"
    """validation: scored on the validation split; cv: k-fold cross-validation over
    training+validation, grouped by artist; auto: cv when the validation split has fewer
    than 300 usable tracks"""
    cv_folds: int = Field(5, ge=2, le=100)
    """cv: folds (fewer, with a warning, when a genre has fewer artists)"""


class PreprocessParams(Section):
    """Feature reduction inside every feature-based model's pipeline (fitted on training only)."""

    method: Literal["none", "filter", "select_k", "pca"] = "none"
    variance_threshold: NonNegative = 0.0
    """filter: drop features whose training variance is at most this"""
    correlation_threshold: float = Field(0.95, gt=0, le=1)
    """filter: keep one feature of each pair correlated above this"""
    k: int = Field(100, ge=1, le=100_000)
    """select_k: features kept, by mutual information"""
    pca_components: Positive = 0.95
    """pca: a share of variance (< 1) or a number of components"""


class RFParams(Section):
    """Random Forest; every combination of the listed values is a candidate (train.selection chooses)."""

    n_estimators: OneOrMany[Annotated[int, Field(ge=1, le=100_000)]] = (500,)
    max_features: OneOrMany[Literal["sqrt", "log2"] | Annotated[float, Field(gt=0, le=1)]] = (
        "sqrt",
        0.1,
    )
    max_depth: OneOrMany[Annotated[int, Field(ge=1, le=1000)] | None] = (None,)
    """null: grow until leaves are pure"""
    min_samples_leaf: OneOrMany[Annotated[int, Field(ge=1, le=10_000)]] = (1, 3)


class SVMParams(Section):
    """SVC with an RBF kernel on standardised features; candidates chosen by train.selection."""

    C: OneOrMany[Positive] = (1.0, 10.0)
    gamma: OneOrMany[Literal["scale", "auto"] | Positive] = ("scale",)


class GBDTParams(Section):
    """CatBoost gradient-boosted trees, early-stopped on held-out tracks (the validation split,
    or each fold's; refitted after cross-validation with the folds' mean number of trees)."""

    iterations: int = Field(1500, ge=1, le=100_000)
    learning_rate: OneOrMany[Annotated[float, Field(gt=0, le=1)]] = (0.08,)
    depth: OneOrMany[Annotated[int, Field(ge=1, le=16)]] = (6,)
    l2_leaf_reg: OneOrMany[Positive] = (3.0,)
    border_count: int = Field(32, ge=2, le=65535)
    """histogram bins per feature"""
    early_stopping_rounds: int = Field(100, ge=1, le=100_000)


class MusicnnParams(Section):
    """The fifth model: a light classifier on the pretrained musicnn embeddings (train_musicnn);
    every combination is a candidate, chosen by train.selection."""

    classifier: OneOrMany[Literal["logistic", "svm", "mlp"]] = ("logistic", "svm", "mlp")
    C: OneOrMany[Positive] = (0.1, 1.0, 10.0)
    """logistic and svm: inverse regularisation strength"""
    hidden_units: OneOrMany[Annotated[int, Field(ge=1, le=8192)]] = (256,)
    """mlp: units of each hidden layer"""
    hidden_layers: OneOrMany[Annotated[int, Field(ge=1, le=2)]] = (1, 2)
    """mlp: hidden layers"""
    alpha: OneOrMany[Positive] = (0.001, 0.1)
    """mlp: L2 penalty"""
    max_iter: int = Field(2000, ge=10, le=100_000)
    """logistic regression's solver iterations, or the mlp's epochs, at most"""
    pooling: Literal["clip", "patch"] = "patch"
    """clip: the head learns from each track's 450-value summary; patch: from every 3-s patch's
    200 penultimate values, a track predicted by the mean of its patches' probabilities"""


MEMBER_NAMES = Literal["rf", "svm", "gbdt", "crnn", "musicnn"]


class EnsembleParams(Section):
    """The sixth model (train_ensemble): a weighted average of the members' probabilities,
    weights fitted on their held-out tracks and scored out of fold there."""

    members: OneOrMany[MEMBER_NAMES] = ("rf", "svm", "gbdt", "crnn", "musicnn")
    folds: int = Field(5, ge=2, le=100)
    """folds of the members' held-out tracks that score the ensemble out of fold"""

    @model_validator(mode="after")
    def _distinct(self) -> EnsembleParams:
        if len(set(self.members)) != len(self.members):
            raise Inconsistent(
                f"ensemble.members = {list(self.members)} names a model twice; name each once"
            )
        return self


class ModelParams(Section):
    """The CRNN on log-mel spectrograms (train_crnn). ``lr`` is what `dvc exp run -S model.lr=...` sets."""

    variant: Literal["parallel", "sequential"] = "parallel"
    lr: float = Field(1e-3, gt=0, le=1)
    epochs: int = Field(40, ge=1, le=1000)
    batch_size: int = Field(32, ge=1, le=4096)
    crop_frames: int = Field(256, ge=8, le=100_000)
    """frames per random training crop (256 = 5.9 s at hop 512)"""
    conv_filters: OneOrMany[Annotated[int, Field(ge=1, le=1024)]] = (16, 32, 64, 64)
    kernel_size: int = Field(3, ge=1, le=15)
    gru_units: int = Field(64, ge=1, le=1024)
    dropout: float = Field(0.3, ge=0, lt=1)
    l2: NonNegative = 1e-4
    patience: int = Field(8, ge=1, le=1000)
    """epochs without val_loss progress before stopping"""
    lr_patience: int = Field(3, ge=1, le=1000)
    """epochs without progress before lr is halved"""
    seed: Seed = 2026


class AnalyzeParams(Section):
    """The analyze stage's figures."""

    redundancy_threshold: float = Field(0.95, gt=0, le=1)
    """|r| above which two features are redundant"""
    top_features: int = Field(20, ge=1, le=518)
    """features shown, ranked by mutual information"""
    seed: Seed = 2026


class Params(Section):
    """The whole of params.yaml."""

    data: DataParams = DataParams()
    synth: SynthParams = SynthParams()
    audio: AudioParams = AudioParams()
    decode: DecodeParams = DecodeParams()
    compute: ComputeParams = ComputeParams()
    features: FeaturesParams = FeaturesParams()
    spectrogram: SpectrogramParams = SpectrogramParams()
    train: TrainParams = TrainParams()
    preprocess: PreprocessParams = PreprocessParams()
    rf: RFParams = RFParams()
    svm: SVMParams = SVMParams()
    gbdt: GBDTParams = GBDTParams()
    musicnn: MusicnnParams = MusicnnParams()
    model: ModelParams = ModelParams()
    ensemble: EnsembleParams = EnsembleParams()
    analyze: AnalyzeParams = AnalyzeParams()

    @model_validator(mode="before")
    @classmethod
    def _empty_section_is_defaults(cls, raw: Any) -> Any:
        """`compute:` with nothing under it (YAML's null) is the section with its defaults."""
        if isinstance(raw, dict):
            return {key: {} if value is None else value for key, value in raw.items()}
        return raw

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        problem = inconsistency(self)
        if problem:
            raise Inconsistent(problem)
        return self


def inconsistency(params: Params) -> str | None:
    """Values each valid alone but not together."""
    spectrogram, nyquist = params.spectrogram, params.audio.sr / 2
    fmax = spectrogram.fmax if spectrogram.fmax is not None else nyquist
    if spectrogram.fmin >= fmax:
        return (
            f"spectrogram.fmin = {number(spectrogram.fmin)} is not below spectrogram.fmax "
            f"({number(fmax)} Hz{'' if spectrogram.fmax is not None else ', half of audio.sr'})"
        )
    if params.decode.min_seconds > params.audio.duration:
        return (
            f"decode.min_seconds = {number(params.decode.min_seconds)} is more than "
            f"audio.duration = {number(params.audio.duration)}: no track could be usable"
        )
    return None


# Sections DVC reads as stage dependencies (all but compute.*): a file without one of them
# would be called valid by `python -m fmagenre params` and fail later, in `dvc repro`.
OPTIONAL_SECTIONS = ("compute",)


def load_params(path: Path | str = PARAMS_FILE, *, complete: bool = False) -> Params:
    """Read and validate params.yaml; raise ParamsError with one line on any problem.

    ``complete`` (``python -m fmagenre params``): the file must hold every section the stages
    depend on. Stages leave that to DVC, which refuses to run one whose params are missing.
    """
    path = Path(path)
    raw = read_params_file(path)
    if raw is None and complete:
        raise ParamsError(f"{path} is empty: every stage reads its settings from it")
    params = parse_params(raw if raw is not None else {}, source=str(path))
    if complete:
        names = [name for name in Params.model_fields if name not in OPTIONAL_SECTIONS]
        missing = [name for name in names if not raw.get(name)]
        if missing:
            raise ParamsError(
                f"{path}: section '{missing[0]}' is missing or empty"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + "; every stage's section must be there (see the project's params.yaml)"
            )
    return params


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate an already-parsed mapping against the Params schema."""
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise ParamsError(f"{source}: {explain(error, raw, Params)}") from None


def json_schema() -> dict[str, Any]:
    """The JSON schema of params.yaml (``python -m fmagenre params --schema``)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **Params.model_json_schema()}
