"""``python -m fmagenre params``: check params.yaml and show the values every stage will use;
``--schema``: print the file's JSON schema instead (for an editor's completion and checks)."""

from __future__ import annotations

import argparse
import json

import yaml

from fmagenre.infra.params import PARAMS_FILE, json_schema, load_params


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", default=str(PARAMS_FILE), help="params file (default: %(default)s)"
    )
    parser.add_argument(
        "--schema",
        action="store_true",
        help="print the JSON schema of params.yaml (types, bounds, defaults) and check nothing",
    )


def run(args: argparse.Namespace) -> int:
    if args.schema:
        print(json.dumps(json_schema(), indent=2))
        return 0
    params = load_params(args.file, complete=True)
    print(yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False), end="")
    return 0
