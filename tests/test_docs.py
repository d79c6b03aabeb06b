"""README and docs/ stay true to the repository: every relative link leads somewhere, every
command README shows exists and parses, README stays short and each docs page says first
what it covers. Docs rot silently otherwise: a moved file or a renamed flag breaks nobody's
build, only a newcomer's first five minutes."""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest

from fmagenre.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").rglob("*.md"))
MARKDOWN = [README, *PAGES]
README_MAX_LINES = 250

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _without_code(text: str) -> str:
    """Links inside code blocks and spans are examples, not links."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def _relative_links(path: Path) -> list[str]:
    text = _without_code(path.read_text(encoding="utf-8"))
    links = [a or b for a, b in LINK.findall(text)]
    return [link for link in links if not re.match(r"[a-z][a-z0-9+.-]*:", link)]


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for link in _relative_links(page):
        target, _, anchor = link.partition("#")
        resolved = (page.parent / target).resolve() if target else page
        if not resolved.exists():
            broken.append(f"{link} (no {resolved.relative_to(ROOT)})")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{link} (no heading '{anchor}' in {resolved.relative_to(ROOT)})")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_readme_is_short_and_links_every_docs_page():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    linked = {
        (README.parent / link.partition("#")[0]).resolve() for link in _relative_links(README)
    }
    top_pages = [p for p in PAGES if p.parent == ROOT / "docs"]
    assert top_pages and not [p.name for p in top_pages if p not in linked]


@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.parent.name == "docs"], ids=lambda p: p.name
)
def test_each_docs_page_starts_by_saying_what_it_covers(page):
    lines = page.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# ") and lines[1] == ""
    assert lines[2] and lines[3] and not lines[2].startswith(("#", "```", "|", "-"))


def _shown_commands() -> list[list[str]]:
    """Every command line of README's shell blocks, comments and prompts stripped."""
    commands = []
    for lang, body in FENCE.findall(README.read_text(encoding="utf-8")):
        if lang not in ("bash", "sh", "console"):
            continue
        for line in body.splitlines():
            line = line.split("  #", 1)[0].strip().removeprefix("$ ")
            for part in re.split(r"\s*&&\s*", line):
                if part and not part.startswith("#"):
                    commands.append(shlex.split(part))
    return commands


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", text, re.M))


def _parse_fmagenre(words: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="fmagenre", exit_on_error=False)
    module_name, _ = COMMANDS[words[0]]
    importlib.import_module(module_name).configure(parser)
    parser.parse_args(words[1:])


def test_every_command_readme_shows_exists_and_parses():
    from dvc.cli import parse_args as dvc_parse_args

    commands = _shown_commands()
    assert len(commands) >= 10  # the quick start's blocks were read
    targets = _make_targets()
    for words in commands:
        program, rest = words[0], words[1:]
        if program == "make":
            named = [w for w in rest if "=" not in w]
            assert named and set(named) <= targets, f"make targets {named} not in Makefile"
        elif program in ("fmagenre", "python") and rest[:2] != ["-m", "pytest"]:
            if program == "python":
                assert rest[:2] == ["-m", "fmagenre"], words
                rest = rest[2:]
            assert rest[0] in COMMANDS, f"`{' '.join(words)}`: no command {rest[0]!r}"
            _parse_fmagenre(rest)
        elif program == "dvc":
            dvc_parse_args(rest)  # SystemExit on an unknown command or flag
        else:
            assert program in ("source", "git", "pip", "less", "cd", "curl"), f"unknown: {words}"
