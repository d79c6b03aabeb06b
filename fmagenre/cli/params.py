"""``python -m fmagenre params``: check params.yaml and show the values every stage will use."""

from __future__ import annotations

import argparse

import yaml

from fmagenre.infra.params import PARAMS_FILE, as_dict, load_params


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--file", default=str(PARAMS_FILE), help="params file (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    params = load_params(args.file, complete=True)
    print(yaml.safe_dump(as_dict(params), sort_keys=False), end="")
    return 0
