"""The resume journal of a map over tracks: which tracks are finished, and their records.

A stage over 100,000 tracks gets interrupted (Ctrl-C, a full disk, a killed job). Each
finished chunk is journalled once its rows are durable, so the next run with the same
inputs and settings (the fingerprint) redoes only what no entry covers, and a run with
other ones starts afresh instead of mixing the two.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.infra.atomic import remove, write_json

log = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
FINGERPRINT_FILE = "fingerprint.json"

Records = list[dict[str, Any]]


@dataclass
class Journal:
    """Finished chunks of one run, kept in ``work_dir`` and valid only for one fingerprint.

    Entries are keyed by the first track position of a chunk, not by chunk number, so a
    resumed run may use another chunk size: it only redoes positions no entry covers.
    """

    work_dir: Path
    fingerprint: dict[str, Any]
    done: dict[int, Records] = field(default_factory=dict)

    @classmethod
    def open(cls, work_dir: Path, fingerprint: dict[str, Any]) -> Journal:
        """Load the journal of an interrupted run with the same fingerprint, or start afresh
        (emptying ``work_dir``, where callers keep their partial outputs too)."""
        fingerprint = json.loads(json.dumps(fingerprint))  # normalise tuples and keys
        stamp = work_dir / FINGERPRINT_FILE
        if stamp.exists():
            try:
                previous = json.loads(stamp.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                previous = None
            if previous != fingerprint:
                log.info("inputs or settings changed since the interrupted run: starting over")
                remove(work_dir)
        if not stamp.exists():
            remove(work_dir)
            (work_dir / JOURNAL_DIR).mkdir(parents=True)
            write_json(stamp, fingerprint)
        journal = cls(work_dir, fingerprint)
        for entry in sorted((work_dir / JOURNAL_DIR).glob("chunk-*.json")):
            try:
                data = json.loads(entry.read_text(encoding="utf-8"))
                journal.done[int(data["start"])] = list(data["records"])
            except (json.JSONDecodeError, KeyError, ValueError, TypeError):
                entry.unlink()  # an unreadable entry: those tracks are simply redone
        return journal

    @property
    def resumed(self) -> bool:
        return bool(self.done)

    def discard(self) -> None:
        """Forget every finished chunk (keeping the fingerprint): for when the rows they
        vouch for are gone, so those tracks are redone rather than trusted as zeros."""
        remove(self.work_dir / JOURNAL_DIR)
        (self.work_dir / JOURNAL_DIR).mkdir(parents=True)
        self.done.clear()

    def record(self, start: int, records: Records) -> None:
        """Mark the chunk starting at position ``start`` finished. Call only after its rows
        are durable."""
        write_json(
            self.work_dir / JOURNAL_DIR / f"chunk-{start:09d}.json",
            {"start": start, "records": records},
        )
        self.done[start] = records

    def covered(self, n_items: int) -> np.ndarray:
        mask = np.zeros(n_items, dtype=bool)
        for start, records in self.done.items():
            mask[start : start + len(records)] = True
        return mask


def in_order(done: dict[int, Records], n_items: int) -> Records:
    """One record per position, from the finished chunks; every position must be covered."""
    out: list[dict[str, Any] | None] = [None] * n_items
    for start, records in done.items():
        out[start : start + len(records)] = records
    missing = [i for i, record in enumerate(out) if record is None]
    if missing:
        raise RuntimeError(f"{len(missing)} tracks have no result (first at position {missing[0]})")
    return out  # type: ignore[return-value]


def finish(journal: Journal) -> None:
    """Forget a completed run's journal once its outputs have been moved into place."""
    remove(journal.work_dir)
