"""One typed loader for params.yaml, shared by every stage.

Each section of params.yaml is a frozen dataclass below. A field's type (``int``, ``float``,
``str``, ``bool``, ``Literal[...]``, ``X | None``, ``list[X]``) and its optional
``Range`` say what is allowed; the loader checks every key of the file against them, so a
typo or a bad value stops a stage before it does any work, with one line that names the
key and what it accepts. Keys missing from the file take the defaults written here.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml

from fmagenre.infra.errors import ParamsError

PARAMS_FILE = Path("params.yaml")


@dataclass(frozen=True)
class Range:
    """Inclusive (ge/le) or exclusive (gt/lt) numeric bounds for a field."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def admits(self, value: float) -> bool:
        return not (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
            or (self.lt is not None and value >= self.lt)
        )

    def describe(self) -> str:
        parts = []
        if self.ge is not None:
            parts.append(f">= {_fmt(self.ge)}")
        if self.gt is not None:
            parts.append(f"> {_fmt(self.gt)}")
        if self.le is not None:
            parts.append(f"<= {_fmt(self.le)}")
        if self.lt is not None:
            parts.append(f"< {_fmt(self.lt)}")
        return " and ".join(parts)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


Positive = Range(gt=0)
NonNegative = Range(ge=0)
Fraction = Range(ge=0, le=1)


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------

Subset = Literal["small", "medium", "large", "full", "synthetic"]


@dataclass(frozen=True)
class DataParams:
    """Which FMA subset the pipeline runs on, and where it is downloaded from."""

    subset: Subset = "synthetic"
    url_base: str = "https://os.unil.cloud.switch.ch/fma/"


@dataclass(frozen=True)
class SynthParams:
    """Size and seed of the synthetic dataset used when data.subset is 'synthetic'."""

    tracks_per_genre: Annotated[int, Range(ge=2, le=100_000)] = 40
    clip_seconds: Annotated[float, Range(ge=1, le=600)] = 30.0
    seed: Annotated[int, NonNegative] = 2026
    faults: bool = True


@dataclass(frozen=True)
class AudioParams:
    """The canonical audio every later stage reads: mono, fixed rate and length."""

    sr: Annotated[int, Range(ge=8000, le=192_000)] = 22050
    duration: Annotated[float, Range(ge=1, le=3600)] = 30.0
    crop: Literal["start", "center"] = "center"


@dataclass(frozen=True)
class DecodeParams:
    """What makes a decoded track usable, and how many unusable tracks stop the stage."""

    max_bad_fraction: Annotated[float, Fraction] = 0.05
    min_seconds: Annotated[float, NonNegative] = 3.0


@dataclass(frozen=True)
class ComputeParams:
    """How per-track work runs. It never changes what is computed, so no stage depends on it."""

    backend: Literal["local", "dask"] = "local"
    workers: Annotated[int, NonNegative] = 0
    scheduler: str = ""
    chunk_size: Annotated[int, Range(ge=1, le=100_000)] = 16

    @property
    def worker_count(self) -> int:
        """workers, with 0 meaning every core this process may use."""
        return self.workers or available_cores()


def available_cores() -> int:
    """Cores this process may run on (respects affinity masks, unlike os.cpu_count)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class FeaturesParams:
    """Where the 518 FMA features come from."""

    # computed: from the audio; official: FMA's precomputed fma_metadata/features.csv
    source: Literal["computed", "official"] = "computed"
    # computed only. native: FMA's definition, each file decoded again at its own rate (what
    # features.csv holds); decoded: the decode stage's audio at audio.sr (faster, another kind)
    sample_rate: Literal["native", "decoded"] = "native"

    @property
    def defined_at(self) -> str:
        """The rate the features mean: FMA computed features.csv at each clip's native rate,
        so a model trained on official features needs native-rate features at predict."""
        return "native" if self.source == "official" else self.sample_rate


@dataclass(frozen=True)
class SpectrogramParams:
    """Log-mel spectrograms for the CRNN: one [frames x n_mels] float16 array per track."""

    n_mels: Annotated[int, Range(ge=8, le=512)] = 128
    n_fft: Annotated[int, Range(ge=64, le=16384)] = 2048
    hop_length: Annotated[int, Range(ge=16, le=16384)] = 512
    fmin: Annotated[float, NonNegative] = 0.0
    fmax: Annotated[float, Positive] | None = None  # None: half the sample rate
    db_floor: Annotated[
        float, Range(ge=-200, le=0)
    ] = -80.0  # dB (power re 1.0); quieter bins are clipped


@dataclass(frozen=True)
class TrainParams:
    """Shared by the feature-based models."""

    seed: Annotated[int, NonNegative] = 2026


@dataclass(frozen=True)
class PreprocessParams:
    """Feature reduction inside every feature-based model's pipeline (fitted on training only)."""

    method: Literal["none", "filter", "select_k", "pca"] = "none"
    variance_threshold: Annotated[float, NonNegative] = (
        0.0  # filter: drop features this (un)varying
    )
    correlation_threshold: Annotated[float, Range(gt=0, le=1)] = (
        0.95  # filter: one of each pair above
    )
    k: Annotated[int, Range(ge=1, le=100_000)] = (
        100  # select_k: features kept, by mutual information
    )
    pca_components: Annotated[float, Positive] = (
        0.95  # pca: variance share (< 1) or component count
    )


@dataclass(frozen=True)
class RFParams:
    """Random Forest; every combination of the listed values is a candidate, chosen on validation."""

    n_estimators: list[Annotated[int, Range(ge=1, le=100_000)]] = field(
        default_factory=lambda: (500,)
    )
    max_features: list[Literal["sqrt", "log2"] | Annotated[float, Range(gt=0, le=1)]] = field(
        default_factory=lambda: ("sqrt", 0.1)
    )
    max_depth: list[Annotated[int, Range(ge=1, le=1000)] | None] = field(
        default_factory=lambda: (None,)
    )
    min_samples_leaf: list[Annotated[int, Range(ge=1, le=10_000)]] = field(
        default_factory=lambda: (1, 3)
    )


@dataclass(frozen=True)
class SVMParams:
    """SVC with an RBF kernel on standardised features; candidates chosen on validation."""

    C: list[Annotated[float, Positive]] = field(default_factory=lambda: (1.0, 10.0))
    gamma: list[Literal["scale", "auto"] | Annotated[float, Positive]] = field(
        default_factory=lambda: ("scale",)
    )


@dataclass(frozen=True)
class GBDTParams:
    """CatBoost gradient-boosted trees, early-stopped on the validation split."""

    iterations: Annotated[int, Range(ge=1, le=100_000)] = 1500
    learning_rate: list[Annotated[float, Range(gt=0, le=1)]] = field(
        default_factory=lambda: (0.08,)
    )
    depth: list[Annotated[int, Range(ge=1, le=16)]] = field(default_factory=lambda: (6,))
    l2_leaf_reg: list[Annotated[float, Positive]] = field(default_factory=lambda: (3.0,))
    border_count: Annotated[int, Range(ge=2, le=65535)] = 32  # histogram bins per feature
    early_stopping_rounds: Annotated[int, Range(ge=1, le=100_000)] = 100


@dataclass(frozen=True)
class MusicnnParams:
    """The fifth model: a light classifier on the pretrained musicnn embeddings (train_musicnn);
    every combination is a candidate, chosen on validation."""

    classifier: list[Literal["logistic", "svm"]] = field(
        default_factory=lambda: ("logistic", "svm")
    )
    C: list[Annotated[float, Positive]] = field(default_factory=lambda: (0.1, 1.0, 10.0))
    max_iter: Annotated[int, Range(ge=10, le=100_000)] = 2000  # logistic regression's solver


@dataclass(frozen=True)
class ModelParams:
    """The CRNN on log-mel spectrograms (train_crnn). ``lr`` is what `dvc exp run -S model.lr=...` sets."""

    variant: Literal["parallel", "sequential"] = "parallel"
    lr: Annotated[float, Range(gt=0, le=1)] = 1e-3
    epochs: Annotated[int, Range(ge=1, le=1000)] = 40
    batch_size: Annotated[int, Range(ge=1, le=4096)] = 32
    crop_frames: Annotated[int, Range(ge=8, le=100_000)] = 256  # frames per training crop (~6 s)
    conv_filters: list[Annotated[int, Range(ge=1, le=1024)]] = field(
        default_factory=lambda: (16, 32, 64, 64)
    )
    kernel_size: Annotated[int, Range(ge=1, le=15)] = 3
    gru_units: Annotated[int, Range(ge=1, le=1024)] = 64
    dropout: Annotated[float, Range(ge=0, lt=1)] = 0.3
    l2: Annotated[float, NonNegative] = 1e-4
    patience: Annotated[int, Range(ge=1, le=1000)] = (
        8  # epochs without val_loss progress before stopping
    )
    lr_patience: Annotated[int, Range(ge=1, le=1000)] = (
        3  # epochs without progress before lr is halved
    )
    seed: Annotated[int, NonNegative] = 2026


@dataclass(frozen=True)
class AnalyzeParams:
    """The analyze stage's figures."""

    redundancy_threshold: Annotated[float, Range(gt=0, le=1)] = (
        0.95  # |r| above which two features are redundant
    )
    top_features: Annotated[int, Range(ge=1, le=518)] = 20  # features shown by mutual information
    seed: Annotated[int, NonNegative] = 2026


@dataclass(frozen=True)
class Params:
    """The whole of params.yaml."""

    data: DataParams = field(default_factory=DataParams)
    synth: SynthParams = field(default_factory=SynthParams)
    audio: AudioParams = field(default_factory=AudioParams)
    decode: DecodeParams = field(default_factory=DecodeParams)
    compute: ComputeParams = field(default_factory=ComputeParams)
    features: FeaturesParams = field(default_factory=FeaturesParams)
    spectrogram: SpectrogramParams = field(default_factory=SpectrogramParams)
    train: TrainParams = field(default_factory=TrainParams)
    preprocess: PreprocessParams = field(default_factory=PreprocessParams)
    rf: RFParams = field(default_factory=RFParams)
    svm: SVMParams = field(default_factory=SVMParams)
    gbdt: GBDTParams = field(default_factory=GBDTParams)
    musicnn: MusicnnParams = field(default_factory=MusicnnParams)
    model: ModelParams = field(default_factory=ModelParams)
    analyze: AnalyzeParams = field(default_factory=AnalyzeParams)


# --------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but reading floats as YAML 1.2 (and DVC, via ruamel) does.

    PyYAML follows YAML 1.1, where ``1e-3`` (no dot) is a string; DVC reads the same file
    as the float 0.001. Params must mean the same thing to both.
    """


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _no_duplicate_keys(loader: _Yaml12Loader, node: yaml.MappingNode, deep: bool = False) -> Any:
    """A key given twice is refused: YAML loaders silently keep the last one, so the value
    a reader of the file sees first would not be the one that runs."""
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise DuplicateKeyError(key, seen[key], key_node.start_mark.line + 1)
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


class DuplicateKeyError(yaml.YAMLError):
    def __init__(self, key: Any, first: int, again: int):
        super().__init__(f"key '{key}' is given twice (lines {first} and {again})")
        self.key, self.first, self.again = key, first, again


_Yaml12Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicate_keys)


def read_yaml(text: str) -> Any:
    """Parse YAML text the way DVC does (YAML 1.2 numbers); a key given twice is an error."""
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


# Sections DVC reads as stage dependencies (all but compute.*): a file without one of them
# would be called valid by `python -m fmagenre params` and fail later, in `dvc repro`.
OPTIONAL_SECTIONS = ("compute",)


def load_params(path: Path | str = PARAMS_FILE, *, complete: bool = False) -> Params:
    """Read and validate params.yaml; raise ParamsError with one line on any problem.

    ``complete`` (``python -m fmagenre params``): the file must hold every section the stages
    depend on. Stages leave that to DVC, which refuses to run one whose params are missing.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the project root)") from None
    except IsADirectoryError:
        raise ParamsError(f"{path} is a folder: name the params file (params.yaml)") from None
    except UnicodeDecodeError as exc:
        line = _line_of(exc.object, exc.start)
        raise ParamsError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        raw = read_yaml(text)
    except DuplicateKeyError as exc:
        raise ParamsError(f"{path}: {exc}; keep one") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParamsError(f"{path}: not valid YAML{where}") from None
    if raw is None and complete:
        raise ParamsError(f"{path} is empty: every stage reads its settings from it")
    params = parse_params(raw if raw is not None else {}, source=str(path))
    if complete:
        names = [f.name for f in dataclasses.fields(Params) if f.name not in OPTIONAL_SECTIONS]
        missing = [name for name in names if not raw.get(name)]
        if missing:
            raise ParamsError(
                f"{path}: section '{missing[0]}' is missing or empty"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + "; every stage's section must be there (see the project's params.yaml)"
            )
    return params


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, position) + 1


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate an already-parsed mapping against the Params schema."""
    params = _build(Params, raw, prefix="", source=source)
    check_consistency(params, source)
    return params


def check_consistency(params: Params, source: str = "params.yaml") -> None:
    """Values each valid alone but not together, or valid in type but unusable."""
    from urllib.parse import urlparse

    url = urlparse(params.data.url_base)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ParamsError(
            f"{source}: data.url_base = {_show(params.data.url_base)} is not allowed "
            "(allowed: an http:// or https:// URL)"
        )
    spectrogram, nyquist = params.spectrogram, params.audio.sr / 2
    fmax = spectrogram.fmax if spectrogram.fmax is not None else nyquist
    if spectrogram.fmin >= fmax:
        raise ParamsError(
            f"{source}: spectrogram.fmin = {_fmt(spectrogram.fmin)} is not below spectrogram.fmax "
            f"({_fmt(fmax)} Hz{'' if spectrogram.fmax is not None else ', half of audio.sr'})"
        )
    if params.decode.min_seconds > params.audio.duration:
        raise ParamsError(
            f"{source}: decode.min_seconds = {_fmt(params.decode.min_seconds)} is more than "
            f"audio.duration = {_fmt(params.audio.duration)}: no track could be usable"
        )


def _build(cls: type, raw: Any, prefix: str, source: str) -> Any:
    where = prefix.rstrip(".") or "the top level"
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: {where} must be a mapping of keys, got {_show(raw)}")
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [key for key in raw if key not in fields]
    if unknown:
        allowed = ", ".join(fields)
        raise ParamsError(
            f"{source}: unknown key '{prefix}{unknown[0]}' (allowed in {where}: {allowed})"
        )
    values = {}
    for name, value in raw.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            values[name] = _build(
                hint, value if value is not None else {}, f"{prefix}{name}.", source
            )
        else:
            values[name] = _check(value, hint, f"{prefix}{name}", source)
    return cls(**values)


def _check(value: Any, hint: Any, key: str, source: str) -> Any:
    ok, converted = _convert(value, hint)
    if not ok:
        raise ParamsError(
            f"{source}: {key} = {_show(value)} is not allowed (allowed: {describe(hint)})"
        )
    return converted


def _convert(value: Any, hint: Any) -> tuple[bool, Any]:
    """Return (accepted, value as the field stores it)."""
    origin = get_origin(hint)
    if origin is Annotated:
        base, *extras = get_args(hint)
        ok, converted = _convert(value, base)
        ranges = [extra for extra in extras if isinstance(extra, Range)]
        if (
            ok
            and isinstance(converted, (int, float))
            and not all(r.admits(converted) for r in ranges)
        ):
            return False, value
        return ok, converted
    if origin is Literal:
        return (value in get_args(hint) and not isinstance(value, bool)), value
    if origin in (Union, types.UnionType):
        for option in get_args(hint):
            ok, converted = _convert(value, option)
            if ok:
                return True, converted
        return False, value
    if origin is list:
        # one value stands for a list of one: `depth: 6` is `depth: [6]`
        (item_hint,) = get_args(hint)
        listed = value if isinstance(value, list) else [value]
        if not listed:
            return False, value
        items = [_convert(item, item_hint) for item in listed]
        if not all(ok for ok, _ in items):
            return False, value
        return True, tuple(converted for _, converted in items)
    if hint is type(None):
        return value is None, value
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return True, float(value)
        return False, value
    if hint is str:
        return isinstance(value, str), value
    raise TypeError(f"unsupported params type {hint!r}")  # a schema bug, not user input


def describe(hint: Any) -> str:
    """Say in words what a field accepts, for error messages and docs."""
    origin = get_origin(hint)
    if origin is Annotated:
        base, *extras = get_args(hint)
        bounds = " and ".join(extra.describe() for extra in extras if isinstance(extra, Range))
        return f"{describe(base)} {bounds}".strip()
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(describe(option) for option in get_args(hint))
    if origin is list:
        return f"{describe(get_args(hint)[0])}, or a non-empty list of them"
    names = {
        type(None): "null",
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
    }
    return names.get(hint, repr(hint))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_dict(section: Any) -> dict[str, Any]:
    """A section as plain data (lists, not tuples), e.g. to record the params a model used."""

    def plain(value: Any) -> Any:
        if isinstance(value, tuple):
            return [plain(item) for item in value]
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return value

    return plain(dataclasses.asdict(section))
