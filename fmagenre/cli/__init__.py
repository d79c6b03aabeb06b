"""``python -m fmagenre <command>``: the user-facing commands besides the DVC stages.

Each command lives in its own module exposing ``configure(parser)`` and ``run(args) -> int``;
they are imported only when chosen, so ``--help`` stays fast and a command's heavy
dependencies (TensorFlow, librosa) load only when needed. Logging is set up here, once,
for every command: the library's ``[command] message`` lines on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from fmagenre import __version__
from fmagenre.infra.errors import UserError, missing_package_message
from fmagenre.infra.logs import configure_logging

COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("fmagenre.cli.synth", "write a synthetic dataset in FMA's layout"),
    "params": ("fmagenre.cli.params", "validate params.yaml and print every value"),
    "predict": ("fmagenre.cli.predict", "classify audio files with a trained model"),
    "features": ("fmagenre.cli.features", "FMA's 518 features of audio files, as a table"),
    "tag": (
        "fmagenre.cli.tag",
        "tag audio files with the pretrained musicnn network (no training)",
    ),
    "serve": ("fmagenre.cli.serve", "a local page and JSON API to classify and tag your files"),
    "experiments": (
        "fmagenre.cli.experiments",
        "every experiment's macro-F1 by model and split, beside its params (dvc exp show)",
    ),
    "warmup": ("fmagenre.cli.warmup", "compile librosa's numba code once (after installing)"),
}


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader stopped early (`fmagenre params --schema | head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except ModuleNotFoundError as exc:
        if not exc.name or exc.name.split(".")[0] == "fmagenre":
            raise  # a bug of this package, not a missing install
        # run by a python without the project's packages (the venv not activated)
        print(f"error: {missing_package_message(exc.name, sys.executable)}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog=_prog(), description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"fmagenre {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = _chosen_command(argv if argv is not None else sys.argv[1:])
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module_name).configure(command_parser)
    args = parser.parse_args(argv)
    configure_logging(args.command)  # once, for every command
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        from fmagenre.infra.disk import disk_full_message, is_disk_full

        if isinstance(exc, BrokenPipeError) or not is_disk_full(exc):
            raise
        print(f"error: {disk_full_message(exc)}: free space and run again", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _prog() -> str:
    """How the user called us: the `fmagenre` console script or `python -m fmagenre`."""
    return "python -m fmagenre" if sys.argv[0].endswith("__main__.py") else "fmagenre"


def _chosen_command(argv: list[str]) -> str | None:
    return next((arg for arg in argv if arg in COMMANDS), None)
