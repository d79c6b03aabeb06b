"""TensorFlow (seconds to import, hundreds of MB) loads only where a network is built or run."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import PROJECT

# The one module that needs Keras at import: its class derives from keras.utils.PyDataset.
NEEDS_KERAS = {"fmagenre.models.crnn.batches"}

PROBE = """
import importlib, pkgutil, sys
import fmagenre
for info in pkgutil.walk_packages(fmagenre.__path__, "fmagenre."):
    if info.name in NEEDS_KERAS or info.name == "fmagenre.__main__":
        continue
    importlib.import_module(info.name)
    loaded = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    if loaded:
        sys.exit(f"importing {info.name} loads {', '.join(loaded)}")
print("ok")
"""


def test_no_module_but_the_training_batches_imports_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", f"NEEDS_KERAS = {NEEDS_KERAS!r}\n{PROBE}"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


# The science and its infrastructure sit below the stages' logic and the commands: a model
# that imported a stage module would make every stage that uses the model depend on that
# stage's code, and the arrow would run the wrong way.
LOWER_PACKAGES = ("audio", "features", "fma", "infra", "models")
UPPER_PACKAGES = ("fmagenre.pipeline", "fmagenre.cli")


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every dotted name a module's source imports, relative imports made absolute, and
    ``from a import b`` counted as importing ``a.b`` too (b may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def upward_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    return sorted(
        name
        for name in imported_names(source, module, is_package)
        if any(name == upper or name.startswith(upper + ".") for upper in UPPER_PACKAGES)
    )


def test_the_layering_check_sees_every_spelling_of_an_upward_import():
    spellings = {
        "import fmagenre.pipeline.decode": "fmagenre.pipeline.decode",
        "from fmagenre.pipeline.features import checked_features": "fmagenre.pipeline.features",
        "from fmagenre import pipeline": "fmagenre.pipeline",
        "from fmagenre import cli": "fmagenre.cli",
        "from .. import pipeline": "fmagenre.pipeline",
        "from ..pipeline.decode import DecodeItem": "fmagenre.pipeline.decode",
        "from ...cli import output": "fmagenre.cli",
        "def f():\n    from fmagenre.cli.output import WRITERS": "fmagenre.cli.output",
        "importlib.import_module('fmagenre.pipeline.fetch')": "fmagenre.pipeline.fetch",
    }
    for source, name in spellings.items():
        module = "fmagenre.models.musicnn.weights" if "..." in source else "fmagenre.models.x"
        assert name in upward_imports(source, module), source
    # and what is allowed stays allowed
    assert not upward_imports(
        "from ..audio import clip\nimport sklearn.pipeline", "fmagenre.models.x"
    )
    # in fmagenre/models/__init__.py, `.` is fmagenre.models itself
    assert not upward_imports("from . import pipeline", "fmagenre.models", is_package=True)
    assert upward_imports("from .. import cli", "fmagenre.models", is_package=True)


def test_no_library_package_imports_the_stages_logic_or_the_commands():
    root = PROJECT / "fmagenre"
    checked = 0
    offenders = []
    for package in LOWER_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(PROJECT).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            module = ".".join(parts[:-1] if is_package else parts)
            found = upward_imports(path.read_text(encoding="utf-8"), module, is_package)
            offenders.extend(f"{path.relative_to(PROJECT)} imports {name}" for name in found)
            checked += 1
    assert checked > 40, f"only {checked} modules found under {LOWER_PACKAGES}"
    assert not offenders, "; ".join(offenders)
