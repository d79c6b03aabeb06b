"""Logging is set up once for every command: the library's info lines reach stderr."""

from __future__ import annotations

import logging

import pytest
from dvc_project import committed_params

from fmagenre.cli import main
from fmagenre.infra.logs import configure_logging


@pytest.fixture
def root_logger():
    """Put the root logger back as it was (its handlers write to this test's captured stderr)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_every_command_shows_the_librarys_info_lines_once(root_logger, tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text(committed_params(), encoding="utf-8")
    library = logging.getLogger("fmagenre.infra.trackmap")
    for _ in range(2):  # a second command in the same process replaces the set-up
        assert main(["params", "--file", str(params)]) == 0
        library.info("started %d workers", 2)
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["[params] started 2 workers"] * 2
    assert "started" not in captured.out  # stdout stays the command's own output


def test_the_set_up_names_its_entry_point_and_honours_the_level(root_logger, capsys):
    configure_logging("decode", level=logging.WARNING)
    log = logging.getLogger("fmagenre.pipeline.decode")
    log.info("not shown")
    log.warning("%d tracks unreadable", 3)
    assert capsys.readouterr().err == "[decode] 3 tracks unreadable\n"
