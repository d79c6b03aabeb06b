"""`pip install .` makes a working package: its declared dependencies, the `fmagenre` command.

A clean install downloads or unpacks TensorFlow and the rest (minutes); this test gives a
new, empty environment read access to the locked packages of the project's own environment
instead, without network or package index, so pip must find every dependency that
pyproject.toml declares among exactly those versions, build the wheel and install it with
its console script. The full clean install is measured in README ("A real package").
"""

from __future__ import annotations

import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_pip_install_gives_the_fmagenre_command_with_its_dependencies(tmp_path):
    source = tmp_path / "source"  # pip builds in the source tree: not in the project's
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT / name, source / name)
    shutil.copytree(
        PROJECT / "fmagenre", source / "fmagenre", ignore=shutil.ignore_patterns("__pycache__")
    )

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the locked packages, read-only, where pip looks for installed distributions
    locked = sysconfig.get_paths()["purelib"]
    assert locked in site.getsitepackages()
    (Path(purelib) / "locked.pth").write_text(locked + "\n")

    install = subprocess.run(
        [
            sys.executable, "-m", "pip", "--python", str(python), "install",
            "--no-index", "--no-build-isolation", "--disable-pip-version-check",
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    command = venv / "bin" / "fmagenre"
    shown = subprocess.run(
        [command, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: fmagenre ") and "predict" in shown.stdout
    # the command runs the installed copy, with its dependencies
    where = subprocess.run(
        [python, "-c", "import fmagenre.models.predict, fmagenre; print(fmagenre.__file__)"],
        cwd=tmp_path,  # not the project folder, whose fmagenre/ would come first
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert where.returncode == 0, where.stderr[-2000:]
    assert where.stdout.strip().startswith(purelib)
    # the page of `fmagenre serve` ships with the package
    static = Path(purelib) / "fmagenre" / "serve" / "static"
    assert {p.name for p in static.iterdir()} >= {"index.html", "app.js", "app.css"}


def test_every_library_the_package_imports_is_a_declared_dependency():
    """pyproject.toml lists each distribution whose modules fmagenre imports (at any depth of
    its code), so a clean `pip install .` brings everything the package needs."""
    import ast
    import importlib.metadata
    import re
    import tomllib

    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    declared = {
        re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in project["dependencies"]
    }
    modules = set()
    for path in (PROJECT / "fmagenre").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    providers = importlib.metadata.packages_distributions()
    third_party = {
        name: {dist.lower().replace("_", "-") for dist in providers[name]}
        for name in modules - set(sys.stdlib_module_names) - {"fmagenre"}
    }
    undeclared = {name: dists for name, dists in third_party.items() if not dists & declared}
    assert not undeclared, f"imported but not in pyproject.toml's dependencies: {undeclared}"
    assert "dvc" not in declared  # the pipeline's tool, an extra: predict does not need it
