"""What a user is told about one of their files that cannot be used, and what to do about it.

The decode records say what decoding found in words a pipeline report needs (with the
decoder's own notes on damaged files); a person who gave predict, tag or features a file
needs one line: what is wrong with the file and what to do. No library text, no class name.
"""

from __future__ import annotations

CONVERT = "convert it to MP3, WAV, FLAC or OGG (e.g. ffmpeg -i FILE OUT.wav)"


def file_advice(status: str, error: str) -> str:
    """One line for a file whose decode record has ``status`` and ``error`` (decode_clip's)."""
    detail = error.split(" | ")[0]  # the decoder's notes, after " | ", are for reports
    if status == "missing":
        return "no such file: check the path"
    if status == "silent":
        return (
            "the file holds no audible audio (silence, or a constant level: nothing above "
            "-70 dBFS): there is nothing in it to describe"
        )
    if detail.startswith("empty file"):
        return "the file is empty (0 bytes): copy or download it again"
    if detail.startswith("not a readable audio file"):
        return f"{detail}: it is damaged or not audio; {CONVERT}"
    if detail.startswith("the file holds no audio frames"):
        return "the file holds no audio (a header and no sound): export or download it again"
    if "not finite" in detail:
        return f"{detail}: the file is damaged; export it again"
    return f"the file cannot be decoded ({detail}): it is damaged or in a format not read here; {CONVERT}"
