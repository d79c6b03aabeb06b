"""`fmagenre experiments` lays `dvc exp show --csv` out as a row per experiment and split and
a column per model, narrow enough for a 120-column terminal (the real command on real DVC
experiments: tests/test_dvc_e2e.py)."""

from __future__ import annotations

import csv
import io

from fmagenre.cli.experiments import SPLIT_FILES, parse_table, render
from fmagenre.models.names import MODEL_NAMES


def exp_show_csv(rows: list[dict[str, str]]) -> str:
    """What `dvc exp show --csv --keep …` prints: its own columns, then compare's metrics
    (every model of one split file, then the other's), then the params."""
    header = ["Experiment", "rev"]
    header += [f"{path}:{model}" for path in SPLIT_FILES.values() for model in MODEL_NAMES]
    header += ["model.lr"]
    out = io.StringIO()
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def scores(base: float) -> dict[str, str]:
    return {
        f"{path}:{model}": str(round(base + 0.01 * i + (0.1 if split == "val" else 0), 4))
        for split, path in SPLIT_FILES.items()
        for i, model in enumerate(MODEL_NAMES)
    }


def test_a_row_per_experiment_and_split_and_a_column_per_model():
    text = exp_show_csv(
        [
            {"Experiment": "", "rev": "workspace", "model.lr": "0.001", **scores(0.5)},
            {
                "Experiment": "a-very-long-experiment-name",
                "rev": "9817dfd",
                "model.lr": "0.01",
                **scores(0.6),
            },
            {"Experiment": "queued-one", "rev": "1234567", "model.lr": "0.0003"},  # no metrics yet
        ]
    )
    experiments, models = parse_table(text, ("model.lr",))
    assert models == list(MODEL_NAMES)
    assert [e.name for e in experiments] == [
        "workspace",
        "a-very-long-experiment-name",
        "queued-one",
    ]
    shown = render(experiments, models, ("model.lr",)).splitlines()
    assert shown[0].split() == ["experiment", "model.lr", "split", *MODEL_NAMES]
    assert max(len(line) for line in shown) <= 120
    assert len(shown) == 1 + 2 * 3
    # the second experiment's validation row: its name, its lr, then each model's figure
    second_val = shown[3].split()
    assert second_val[:3] == ["a-very-long-experiment-name", "0.01", "val"]
    assert [float(v) for v in second_val[3:]] == [
        round(0.7 + 0.01 * i, 4) for i in range(len(MODEL_NAMES))
    ]
    assert shown[4].split()[0] == "test" and float(shown[4].split()[1]) == 0.6
    assert shown[5].split()[-len(MODEL_NAMES) :] == ["-"] * len(MODEL_NAMES)


def test_no_experiment_says_what_to_run():
    experiments, models = parse_table(exp_show_csv([]), ("model.lr",))
    assert "dvc exp run" in render(experiments, models, ("model.lr",))
