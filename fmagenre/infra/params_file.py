"""Reading params.yaml as DVC reads it, with one clear line for each way the file can be bad.

DVC (through ruamel) reads YAML 1.2; PyYAML follows YAML 1.1, where ``1e-3`` (no dot) is a
string. The loader below reads numbers as YAML 1.2 does, so params mean the same thing to the
stages and to DVC, and refuses a key given twice (YAML loaders silently keep the last one).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from fmagenre.infra.errors import ParamsError


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but reading floats as YAML 1.2 (and DVC, via ruamel) does."""


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
    """A key given twice is refused: the value a reader of the file sees first would not be
    the one that runs."""
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


def read_params_file(path: Path) -> Any:
    """The parsed content of a params file (None when empty); ParamsError, one line, if the
    file cannot be read or is not YAML."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found (run from the project root)") from None
    except IsADirectoryError:
        raise ParamsError(f"{path} is a folder: name the params file (params.yaml)") from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise ParamsError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        return read_yaml(text)
    except DuplicateKeyError as exc:
        raise ParamsError(f"{path}: {exc}; keep one") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParamsError(f"{path}: not valid YAML{where}") from None
