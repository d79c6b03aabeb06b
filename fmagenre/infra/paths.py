"""Where each stage reads and writes, relative to the project root (DVC runs stages there).

dvc.yaml lists the same paths as deps and outs; keep the two in step.
"""

from pathlib import Path

DATA = Path("data")
DOWNLOADS = DATA / "downloads"  # verified archives, kept so a rerun never downloads again
SYNTHETIC = DATA / "synthetic"  # the synthetic dataset's archives (synth stage)
COLLECTION = DATA / "collection.parquet"  # a labelled folder's tracks (data.subset: folder)
FMA_ROOT = DATA / "fma"  # extracted metadata and audio, FMA's own layout
TRACKS = DATA / "tracks.parquet"  # the only source of labels and split
AUDIO = DATA / "audio"  # canonical decoded audio (row store)
MANIFEST = DATA / "manifest.parquet"  # one row per track: decode status
WORK = DATA / ".work"  # resumable partial results of interrupted stages
FEATURES = DATA / "features.parquet"
SPECTROGRAMS = DATA / "spectrograms"
EMBEDDINGS = DATA / "embeddings.parquet"  # pretrained musicnn's tags and embedding per track
PATCH_EMBEDDINGS = DATA / "patch_embeddings"  # its penultimate layer per 3-s patch (RowStore)

MODELS = Path("models")
PRETRAINED = MODELS / "pretrained"  # the musicnn network (Keras 3 port) and its licence
METRICS = Path("metrics")
REPORTS = Path("reports")  # plain outputs for people: details, leaderboard, figures
MODEL_DETAILS = REPORTS / "models"  # reports/models/<name>.json: all a model's numbers
BEST_MODEL = MODELS / "best"  # a copy of the best model: the DVC artifact
