"""dvc.yaml declares what each stage runs: every module a stage imports is a dependency.

A stage whose code changes must rerun, so every file of this project that a stage's module
imports, directly or through other modules (at import time or inside a function), must be
one of the stage's deps, or under a declared folder. The few modules exempted below change
how a stage runs or fails, never what it writes.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]

# Infrastructure every stage uses; none of it changes a stage's outputs.
EXEMPT = {
    "stages/__init__.py": "checks that the environment is the project's (imports only)",
    "fmagenre/__init__.py": "the version string",
    **{
        f"fmagenre/{package}/__init__.py": "a package's docstring"
        for package in ("audio", "collection", "features", "fma", "infra", "models", "pipeline")
    },
    "fmagenre/infra/stage.py": "the entry wrapper: logging, one-line errors, exit status",
    "fmagenre/infra/errors.py": "exception classes",
    "fmagenre/infra/logs.py": "how log lines look and where they go",
    "fmagenre/infra/atomic.py": "how files are written (atomically), not what",
    "fmagenre/infra/disk.py": "the free-space check before large writes",
    "fmagenre/infra/native_stderr.py": "filters C libraries' log lines",
    "fmagenre/infra/lifetime.py": "worker processes and stages end with their owner",
    "fmagenre/infra/executors.py": "where the map's tasks run (compute.*), never what they give",
    "fmagenre/infra/runlock.py": "one run of a stage at a time (a lock naming its holder)",
    "fmagenre/infra/paths.py": "the paths, which dvc.yaml lists itself",
    "fmagenre/infra/params.py": (
        "the params loader: every key is spelled out in params.yaml (test_params), so its "
        "defaults never apply, and DVC tracks the values"
    ),
    "fmagenre/infra/params_file.py": "the params loader's YAML reading (DVC tracks the values)",
    "fmagenre/infra/params_types.py": "the params loader's value types (DVC tracks the values)",
    "fmagenre/infra/params_messages.py": "the params loader's one-line messages",
}


def module_file(module: str) -> Path | None:
    """The project file of a dotted module name, or None when it is not this project's."""
    base = PROJECT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """Dotted names of the project modules a file imports, at any depth of its code."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from package import module` imports a module, not only an attribute
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in ("fmagenre", "stages")}


def with_packages(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def closure(entry: str) -> set[Path]:
    """Every project file that running ``python -m entry`` imports."""
    seen: set[Path] = set()
    pending = with_packages(entry)
    while pending:
        file = module_file(pending.pop())
        if file is None or file in seen:
            continue
        seen.add(file)
        for name in imported_modules(file):
            pending.extend(with_packages(name))
    return seen


def covered(file: str, deps: list[str]) -> bool:
    return any(file == dep or file.startswith(dep.rstrip("/") + "/") for dep in deps)


STAGES = yaml.safe_load((PROJECT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_module_a_stage_imports_is_a_declared_dependency(name):
    stage = STAGES[name]
    match = re.fullmatch(r"python -m (stages\.\w+)(?: .*)?", stage["cmd"])
    assert match, f"{name}: a stage runs `python -m stages.<module>` (got {stage['cmd']!r})"
    deps = [dep if isinstance(dep, str) else next(iter(dep)) for dep in stage.get("deps", [])]
    imported = {path.relative_to(PROJECT).as_posix() for path in closure(match.group(1))}
    missing = sorted(f for f in imported - set(EXEMPT) if not covered(f, deps))
    assert not missing, f"{name} imports {missing} but does not list them in deps"
    # and the reverse: a declared code dependency that is never imported reruns the stage
    # for nothing
    code_deps = [dep for dep in deps if dep.startswith(("fmagenre/", "stages/"))]
    unused = [dep for dep in code_deps if not any(covered(f, [dep]) for f in imported)]
    assert not unused, f"{name} lists {unused} in deps but never imports them"


def test_the_exempt_modules_exist():
    assert all((PROJECT / path).is_file() for path in EXEMPT)


@pytest.mark.parametrize("name", sorted(STAGES))
def test_no_plain_output_is_left_out_of_the_cache(name):
    """DVC keeps no run-cache for a stage with a plain `cache: false` output (metrics and
    plots may be), and without it a failed stage's outputs cannot come back from the cache."""
    for out in STAGES[name].get("outs", []):
        if isinstance(out, dict):
            ((path, options),) = out.items()
            assert (options or {}).get("cache", True), f"{name}: {path} is cache: false"


def test_the_feature_model_stages_share_one_list_of_deps_and_params():
    # written once in dvc.yaml (YAML anchors): the three cannot drift apart
    text = (PROJECT / "dvc.yaml").read_text(encoding="utf-8")
    assert text.count("&classic_deps") == 1 and text.count("*classic_deps") == 2
    stages = [STAGES[f"train_{name}"] for name in ("rf", "svm", "gbdt")]
    assert all(stage["deps"] == stages[0]["deps"] for stage in stages)
    for name, stage in zip(("rf", "svm", "gbdt"), stages, strict=True):
        assert stage["cmd"] == f"python -m stages.train_classic {name}"
        assert stage["params"][0] == name and stage["params"][1] == stages[0]["params"][1]
        assert stage["outs"] == [
            f"models/{name}",
            f"reports/models/{name}.json",
            f"reports/models/{name}.probabilities.parquet",
        ]
