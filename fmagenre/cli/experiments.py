"""``fmagenre experiments``: DVC's experiment table narrowed to what a run is judged by.

compare writes every model's macro-F1 to one metrics file per split (metrics/val.json,
metrics/test.json, the same keys in both), so that ``dvc metrics show`` is a row per split.
``dvc exp show`` then names each of those columns by file and key
(``metrics/val.json:musicnn``), and ten of them do not fit a terminal. This command reads the
same table (``dvc exp show --csv``) and prints a row per experiment and split, a column per
model, beside the params asked for: about 80 columns with the five models.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import subprocess
import sys
from dataclasses import dataclass, field

from fmagenre.infra.errors import UserError

SPLIT_FILES = {"val": "metrics/val.json", "test": "metrics/test.json"}
DEFAULT_PARAMS = ("model.lr",)


@dataclass
class Experiment:
    name: str
    params: dict[str, str] = field(default_factory=dict)
    scores: dict[str, dict[str, str]] = field(default_factory=dict)  # split -> model -> F1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY",
        help="a params.yaml key to show beside the scores, e.g. svm.C (repeatable; "
        "default: model.lr)",
    )


def run(args: argparse.Namespace) -> int:
    params = tuple(args.param or DEFAULT_PARAMS)
    experiments, models = parse_table(exp_show_csv(params), params)
    print(render(experiments, models, params))
    return 0


def exp_show_csv(params: tuple[str, ...]) -> str:
    """`dvc exp show` as CSV, only the columns shown here kept (DVC of this environment)."""
    keep = "|".join(
        ["Experiment", "rev", *(re.escape(p) + "$" for p in params)]
        + [re.escape(path) + ":.*" for path in SPLIT_FILES.values()]
    )
    command = [sys.executable, "-m", "dvc", "exp", "show", "--csv", "--drop", ".*", "--keep", keep]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {result.returncode}"
        raise UserError(f"dvc exp show failed: {reason}")
    return result.stdout


def parse_table(text: str, params: tuple[str, ...]) -> tuple[list[Experiment], list[str]]:
    """The experiments of `dvc exp show --csv`, and the models in compare's own order."""
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or []
    models: list[str] = []
    for column in columns:
        path, _, model = column.partition(":")
        if path in SPLIT_FILES.values() and model not in models:
            models.append(model)
    experiments = []
    for row in reader:
        experiment = Experiment(row.get("Experiment") or row.get("rev") or "?")
        experiment.params = {key: row.get(key) or "-" for key in params}
        for split, path in SPLIT_FILES.items():
            experiment.scores[split] = {m: row.get(f"{path}:{m}") or "-" for m in models}
        experiments.append(experiment)
    return experiments, models


def render(experiments: list[Experiment], models: list[str], params: tuple[str, ...]) -> str:
    """One row per experiment and split: the experiment's name and params on its first row."""
    header = ["experiment", *params, "split", *models]
    rows = []
    for experiment in experiments:
        for index, split in enumerate(SPLIT_FILES):
            first = index == 0
            rows.append(
                [
                    experiment.name if first else "",
                    *(experiment.params[p] if first else "" for p in params),
                    split,
                    *(_figure(experiment.scores[split][m]) for m in models),
                ]
            )
    if not rows:
        return "no experiments yet: run `dvc repro` or `dvc exp run -S model.lr=3e-3`"
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines)


def _figure(value: str) -> str:
    try:
        return f"{float(value):.4f}"
    except ValueError:
        return value
