"""Finding the real FMA clips from wherever the project is cloned."""

from __future__ import annotations

import sample_clips


def test_the_clips_are_found_above_a_deeper_clone(tmp_path, monkeypatch):
    clips = tmp_path / "shared" / "fixtures" / "fma_mp3"
    clips.mkdir(parents=True)
    (clips / "000002.mp3").write_bytes(b"x")
    monkeypatch.delenv(sample_clips.ENV_VAR, raising=False)
    monkeypatch.setattr(sample_clips, "PROJECT", tmp_path / "ci" / "checkout" / "fmagenre")
    assert sample_clips.real_clips() == [clips / "000002.mp3"]


def test_the_environment_variable_wins_and_absence_is_empty(tmp_path, monkeypatch):
    monkeypatch.setattr(sample_clips, "PROJECT", tmp_path / "project")
    monkeypatch.delenv(sample_clips.ENV_VAR, raising=False)
    assert sample_clips.real_clips() == []
    assert sample_clips.real_clips_folder() == tmp_path / "shared" / "fixtures" / "fma_mp3"
    elsewhere = tmp_path / "clips"
    elsewhere.mkdir()
    (elsewhere / "a.mp3").write_bytes(b"x")
    monkeypatch.setenv(sample_clips.ENV_VAR, str(elsewhere))
    assert sample_clips.real_clips() == [elsewhere / "a.mp3"]
