"""The params loader: every bad value stops with one line naming the key and what is allowed."""

import difflib
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from dvc_project import committed_params
from pydantic import ValidationError

from fmagenre.infra.errors import ParamsError
from fmagenre.infra.params import Params, load_params, parse_params
from fmagenre.infra.params_file import read_yaml


@pytest.fixture()
def project_params(tmp_path) -> Path:
    """The committed params.yaml (never the workspace's, which experiments rewrite)."""
    path = tmp_path / "committed" / "params.yaml"
    path.parent.mkdir()
    path.write_text(committed_params(), encoding="utf-8")
    return path


def test_project_params_file_is_valid_and_complete(project_params):
    params = load_params(project_params)
    raw = yaml.safe_load(project_params.read_text())
    # every section of the schema is spelled out in the project's file, so DVC can track it
    assert set(raw) == set(Params.model_fields)
    assert params.audio.sr == raw["audio"]["sr"]


@pytest.mark.parametrize(
    "override", ["model.lr=0.003", "svm.C=[0.5]", "rf.n_estimators=100", "gbdt.depth=4"]
)
def test_dvc_set_param_changes_only_the_line_it_sets(tmp_path, project_params, override):
    # `dvc exp run -S` rewrites params.yaml with its own YAML writer; the project's layout is
    # one that writer keeps, so an experiment's diff is the changed value and nothing else
    from dvc.utils.hydra import apply_overrides

    copy = tmp_path / "params.yaml"
    copy.write_text(project_params.read_text())
    apply_overrides(copy, [override])
    before = project_params.read_text().splitlines()
    after = copy.read_text().splitlines()
    added = [line[2:] for line in difflib.ndiff(before, after) if line.startswith("+ ")]
    removed = [line[2:] for line in difflib.ndiff(before, after) if line.startswith("- ")]
    key, value = override.split(".")[1].split("=")
    assert len(added) == 1 and value.strip("[]") in added[0], added
    # what went is the old value only: its line or its list items, no comment, no blank line
    assert all(line.lstrip().startswith((f"{key}:", "- ")) for line in removed), removed
    assert load_params(copy) != load_params(project_params)


def test_params_yaml_spells_out_every_key_and_its_values_are_the_models_defaults(project_params):
    # params.yaml is the single source of the defaults: the model's own (used by commands
    # and tests that run without the file) must be the same values, key for key
    raw = yaml.safe_load(project_params.read_text())
    for name, section in Params.model_fields.items():
        assert set(raw[name]) == set(section.annotation.model_fields), name
    assert load_params(project_params) == Params()


def test_sections_are_immutable():
    params = parse_params({})
    with pytest.raises(ValidationError, match="frozen"):
        params.audio.sr = 16000  # type: ignore[misc]


def test_one_value_stands_for_a_list_of_one():
    params = parse_params({"gbdt": {"depth": 4}, "rf": {"max_depth": None}})
    assert params.gbdt.depth == (4,) and params.rf.max_depth == (None,)
    with pytest.raises(ParamsError, match="an integer >= 1 and <= 16, or a non-empty list of them"):
        parse_params({"gbdt": {"depth": [4, 0]}})


def test_missing_keys_take_defaults():
    params = parse_params({"audio": {"sr": 16000}})
    assert params.audio.sr == 16000
    assert params.audio.duration == Params().audio.duration
    assert params.compute == Params().compute


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"audio": {"sr": 16000, "rate": 1}},
            "unknown key 'audio.rate' (allowed in audio: sr, duration, crop)",
        ),
        ({"audo": {}}, "unknown key 'audo'"),
        (
            {"audio": {"sr": "fast"}},
            "audio.sr = 'fast' is not allowed (allowed: an integer >= 8000 and <= 192000)",
        ),
        ({"audio": {"sr": 100}}, "audio.sr = 100 is not allowed"),
        ({"audio": {"sr": 22050.0}}, "audio.sr = 22050.0"),
        (
            {"data": {"subset": "tiny"}},
            "data.subset = 'tiny' is not allowed (allowed: one of 'small', 'medium', 'large', 'full', 'synthetic', 'folder')",
        ),
        (
            {"decode": {"max_bad_fraction": 1.5}},
            "decode.max_bad_fraction = 1.5 is not allowed (allowed: a number >= 0 and <= 1)",
        ),
        (
            {"synth": {"faults": "yes"}},
            "synth.faults = 'yes' is not allowed (allowed: true or false)",
        ),
        ({"compute": {"workers": True}}, "compute.workers = True"),
        (
            {"features": {"sample_rate": 44100}},
            "features.sample_rate = 44100 is not allowed (allowed: one of 'native', 'decoded')",
        ),
        ({"compute": 3}, "compute must be a mapping of keys"),
        (
            {"musicnn": {"classifier": ["logistic", "knn"]}},
            "musicnn.classifier = ['logistic', 'knn'] is not allowed (allowed: one of 'logistic', 'svm', 'mlp', or a non-empty list of them)",
        ),
        ({"musicnn": {"C": [1.0, 0]}}, "musicnn.C = [1.0, 0] is not allowed"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(raw, expected):
    with pytest.raises(ParamsError) as info:
        parse_params(raw)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_integers_are_accepted_where_numbers_are_expected():
    assert parse_params({"audio": {"duration": 10}}).audio.duration == 10.0


def test_exponent_floats_read_as_dvc_reads_them(tmp_path):
    # PyYAML alone reads `1e-3` as a string; DVC (YAML 1.2) reads it as 0.001
    written = tmp_path / "params.yaml"
    written.write_text("model:\n  lr: 1e-3\n  l2: 5E-5\nsvm:\n  C: [1e1, 0.5]\n")
    params = load_params(written)
    assert params.model.lr == 0.001 and params.model.l2 == 5e-5
    assert list(params.svm.C) == [10.0, 0.5]
    written.write_text("data:\n  url_base: 1e-3\n")
    with pytest.raises(ParamsError, match="data.url_base = 0.001 is not allowed"):
        load_params(written)


def test_load_params_reports_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("audio: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML at line"):
        load_params(bad)
    with pytest.raises(ParamsError, match="file not found"):
        load_params(tmp_path / "absent.yaml")


def test_params_command_prints_validated_values(tmp_path, capsys):
    from fmagenre.cli import main

    good = tmp_path / "params.yaml"
    project = committed_params()  # the command wants every section
    good.write_text(project.replace("sr: 22050", "sr: 16000"))
    assert main(["params", "--file", str(good)]) == 0
    assert "sr: 16000" in capsys.readouterr().out
    good.write_text(project.replace("sr: 22050", "sr: -1"))
    assert main(["params", "--file", str(good)]) == 2
    assert "audio.sr = -1 is not allowed" in capsys.readouterr().err


# values the loader refuses and values it takes; the printed schema must say the same
SCHEMA_CASES = [
    ({"audio": {"sr": "fast"}}, False),
    ({"audio": {"sr": 100}}, False),
    ({"audio": {"rate": 1}}, False),
    ({"audo": {}}, False),
    ({"synth": {"faults": "yes"}}, False),
    ({"compute": {"workers": True}}, False),
    ({"model": {"dropout": 1.0}}, False),
    ({"rf": {"max_features": ["sqrt", 2.0]}}, False),
    ({"gbdt": {"depth": []}}, False),
    ({"musicnn": {"classifier": ["logistic", "knn"]}}, False),
    ({"audio": {"sr": 16000, "duration": 30}}, True),
    ({"gbdt": {"depth": 4}, "rf": {"max_depth": None, "max_features": ["log2", 0.5]}}, True),
    ({"svm": {"C": [10.0, 0.5], "gamma": 0.01}}, True),
    ({"spectrogram": {"fmax": 8000}}, True),
]


@pytest.mark.parametrize(("raw", "valid"), SCHEMA_CASES)
def test_the_printed_json_schema_agrees_with_the_loader(raw, valid, project_params, capsys):
    from fmagenre.cli import main

    assert main(["params", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    assert not list(validator.iter_errors(read_yaml(project_params.read_text())))
    assert validator.is_valid(raw) == valid
    if valid:
        parse_params(raw)
    else:
        with pytest.raises(ParamsError):
            parse_params(raw)
    # an editor shows what each key means and its default
    audio = schema["$defs"]["AudioParams"]["properties"]["duration"]
    assert audio["default"] == Params().audio.duration and "zero-padded" in audio["description"]
