"""The manifest stage's logic: which decoded tracks are usable, and whether too many are not.

The manifest (``data/manifest.parquet``) is where every later stage learns which tracks are
usable: the audio store's records plus ``usable`` (real audio of at least
``decode.min_seconds``). It is its own stage, after decode, so that changing
``decode.min_seconds`` or ``decode.max_bad_fraction`` decodes nothing again.

The stage fails only when the unusable share says something is wrong with the data as a
whole (a broken download, a wrong folder), and even then it writes the manifest first, for
inspection; raising the limit reruns this stage alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.audio.decoded import STATUSES, WITH_AUDIO
from fmagenre.infra.atomic import write_parquet
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import Params


def build_manifest(decoded: pd.DataFrame, min_seconds: float) -> pd.DataFrame:
    """The decoded records with ``usable``: real audio (ok or short) of at least min_seconds."""
    usable = decoded["status"].isin(WITH_AUDIO) & (decoded["seconds"] >= min_seconds)
    return decoded.assign(usable=usable.astype(bool))


def summarise(manifest: pd.DataFrame, max_bad_fraction: float) -> dict[str, Any]:
    tracks = len(manifest)
    usable = int(manifest["usable"].sum())
    return {
        "tracks": tracks,
        "usable": usable,
        "unusable": tracks - usable,
        "bad_fraction": round((tracks - usable) / tracks, 6) if tracks else 0.0,
        "max_bad_fraction": max_bad_fraction,
        "status": {status: int((manifest["status"] == status).sum()) for status in STATUSES},
        "usable_short": int((manifest["usable"] & (manifest["status"] == "short")).sum()),
    }


def run_manifest(decoded: pd.DataFrame, params: Params, *, manifest_out: Path) -> dict[str, Any]:
    """Write the manifest; return its summary. Raises UserError (after writing it) when the
    unusable share exceeds decode.max_bad_fraction."""
    settings = params.decode
    manifest = build_manifest(decoded, settings.min_seconds)
    summary = summarise(manifest, settings.max_bad_fraction)
    write_parquet(manifest_out, manifest)
    if summary["bad_fraction"] > settings.max_bad_fraction:
        raise UserError(
            f"{summary['unusable']} of {summary['tracks']} tracks are unusable "
            f"({_counts_text(manifest, settings.min_seconds)}), a share of "
            f"{summary['bad_fraction']:.1%} above decode.max_bad_fraction = "
            f"{settings.max_bad_fraction}. See {manifest_out} (status and error per track). "
            "If the data is right, raise decode.max_bad_fraction and run again: nothing is "
            "decoded twice."
        )
    return summary


def _counts_text(manifest: pd.DataFrame, min_seconds: float) -> str:
    """Why tracks are unusable: each bad status, and usable statuses below min_seconds."""
    unusable = manifest.loc[~manifest["usable"]]
    counts = {status: int((unusable["status"] == status).sum()) for status in STATUSES}
    parts = [f"{status} {count}" for status, count in counts.items() if count and status != "ok"]
    if counts["ok"]:
        parts.append(f"under {min_seconds:g} s {counts['ok']}")
    return ", ".join(parts)
