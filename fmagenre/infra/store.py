"""A directory of fixed-shape rows (one per track) in memory-mappable .npy shards.

Decoded audio and spectrograms are too large to hold in memory for fma_large, and later
stages need random access to single tracks. Fixed-size rows in plain .npy shards give
both: any row is a slice of a memory map, readable by NumPy without this package, and a
stage can fill rows in any order (chunks finish out of order on a pool) before the store is
moved into place. Rows are written with plain file writes, never through a memory map: on a
disk that fills up, a mapped write kills the process with SIGBUS and no message, where a file
write fails with ENOSPC, which the stage reports in one line with the work kept. Shards bound the size of any one file, so a change to a few tracks does
not rewrite one giant file and DVC hashes shards independently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.infra.disk import require_free_space

META_FILE = "store.json"


@dataclass(frozen=True)
class StoreLayout:
    """Shape and type of a store; the same layout always gives the same files."""

    rows: int
    row_shape: tuple[int, ...]
    dtype: str
    rows_per_shard: int

    @property
    def shard_count(self) -> int:
        return max(1, -(-self.rows // self.rows_per_shard))

    def shard_rows(self, shard: int) -> int:
        if self.rows == 0:
            return 0
        return min(self.rows_per_shard, self.rows - shard * self.rows_per_shard)

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.row_shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}.npy"


class RowStore:
    """Rows of one shape and dtype, addressed 0..rows-1, stored in .npy shards."""

    def __init__(self, path: Path, layout: StoreLayout, attrs: dict[str, Any], mode: str):
        self.path = Path(path)
        self.layout = layout
        self.attrs = attrs
        self._mode = mode
        self._shards: dict[int, np.memmap] = {}
        self._files: dict[int, tuple[int, int]] = {}  # shard -> (fd, data offset) for read_copy
        self._writers: dict[int, tuple[int, int]] = {}  # shard -> (fd, data offset) for write

    # -- creation and opening -------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path | str,
        rows: int,
        row_shape: Sequence[int],
        dtype: str | np.dtype,
        rows_per_shard: int,
        attrs: dict[str, Any] | None = None,
    ) -> RowStore:
        """Make an empty (zero-filled, sparse on disk) store at ``path``."""
        if rows_per_shard < 1:
            raise ValueError("rows_per_shard must be >= 1")
        layout = StoreLayout(
            rows, tuple(int(n) for n in row_shape), np.dtype(dtype).str, rows_per_shard
        )
        path = Path(path)
        # shards are sparse: a disk without the room would fill half-way through the stage
        require_free_space(path, layout.rows * layout.row_bytes, f"for {path}")
        path.mkdir(parents=True, exist_ok=True)
        for shard in range(layout.shard_count):
            array = np.lib.format.open_memmap(
                path / shard_name(shard),
                mode="w+",
                dtype=np.dtype(layout.dtype),
                shape=(layout.shard_rows(shard), *layout.row_shape),
            )
            del array
        meta = {
            "rows": layout.rows,
            "row_shape": list(layout.row_shape),
            "dtype": layout.dtype,
            "rows_per_shard": layout.rows_per_shard,
            "shards": [shard_name(s) for s in range(layout.shard_count)],
            "attrs": attrs or {},
        }
        (path / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return cls(path, layout, attrs or {}, mode="r+")

    @classmethod
    def open(cls, path: Path | str, mode: str = "r") -> RowStore:
        """Open an existing store; mode 'r' (read-only) or 'r+' (rows writable)."""
        path = Path(path)
        meta_path = path / META_FILE
        if not meta_path.exists():
            raise FileNotFoundError(2, f"{path} is not a row store (no {META_FILE})", str(path))
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        layout = StoreLayout(
            meta["rows"], tuple(meta["row_shape"]), meta["dtype"], meta["rows_per_shard"]
        )
        return cls(path, layout, meta.get("attrs", {}), mode=mode)

    # -- access ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.layout.rows

    @property
    def row_shape(self) -> tuple[int, ...]:
        return self.layout.row_shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.layout.dtype)

    def _shard(self, shard: int) -> np.memmap:
        if shard not in self._shards:
            # read-only even in a writable store: rows are never written through a map
            self._shards[shard] = np.load(self.path / shard_name(shard), mmap_mode="r")
        return self._shards[shard]

    def _locate(self, row: int) -> tuple[int, int]:
        if not 0 <= row < self.layout.rows:
            raise IndexError(f"row {row} out of range for a store of {self.layout.rows} rows")
        return divmod(row, self.layout.rows_per_shard)

    def read(self, row: int) -> np.ndarray:
        """One row as a read-only view of the memory map (no copy)."""
        shard, offset = self._locate(row)
        return self._shard(shard)[offset]

    def read_copy(self, row: int, out: np.ndarray | None = None) -> np.ndarray:
        """One row read with a plain file read, not through a memory map.

        Mapped pages count in the process's resident memory for as long as they stay mapped,
        so a training loop that visits every row of a large store through memory maps
        grows with the store. Reading copies into ``out`` keeps memory flat; the OS page
        cache still serves repeated reads.
        """
        return self.read_part(row, 0, self.layout.row_shape[0], out)

    def read_part(
        self, row: int, start: int, stop: int, out: np.ndarray | None = None
    ) -> np.ndarray:
        """``row[start:stop]`` (along the row's first axis) read as read_copy reads a row.

        A row is stored contiguously, so a part of it is one file read: a training crop
        costs its own bytes, not the whole clip's.
        """
        shard, offset = self._locate(row)
        if not 0 <= start <= stop <= self.layout.row_shape[0]:
            raise IndexError(
                f"part {start}:{stop} out of range for rows of {self.layout.row_shape}"
            )
        if shard not in self._files:
            self._files[shard] = self._open_shard(shard, os.O_RDONLY)
        fd, data_offset = self._files[shard]
        shape = (stop - start, *self.layout.row_shape[1:])
        if out is None:
            out = np.empty(shape, dtype=self.dtype)
        elif out.shape != shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(f"out must be a contiguous {self.dtype} array of shape {shape}")
        size = out.nbytes
        buffer = memoryview(out.reshape(-1).view(np.uint8))
        step = out.nbytes // max(1, stop - start)  # bytes per index of the first axis
        position = data_offset + offset * self.layout.row_bytes + start * step
        done = 0
        while done < size:
            count = os.preadv(fd, [buffer[done:]], position + done)
            if count == 0:
                raise OSError(f"{self.path / shard_name(shard)} ends before row {row}")
            done += count
        return out

    def _open_shard(self, shard: int, flags: int) -> tuple[int, int]:
        """An open file descriptor of a shard and where its rows start (after the .npy header)."""
        path = self.path / shard_name(shard)
        with open(path, "rb") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if major == 1
                else np.lib.format.read_array_header_2_0
            )
            read_header(handle)
            data_offset = handle.tell()
        return os.open(path, flags), data_offset

    def read_rows(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Several rows, in the order asked, copied into one array."""
        out = np.empty((len(rows), *self.layout.row_shape), dtype=self.dtype)
        for i, row in enumerate(rows):
            out[i] = self.read(int(row))
        return out

    def write(self, start: int, block: np.ndarray) -> None:
        """Write consecutive rows starting at ``start``; may span shards."""
        if self._mode == "r":
            raise PermissionError(f"{self.path} was opened read-only")
        block = np.asarray(block)
        if block.shape[1:] != self.layout.row_shape:
            raise ValueError(
                f"rows of shape {block.shape[1:]} do not fit a store of {self.layout.row_shape}"
            )
        done = 0
        while done < len(block):
            shard, offset = self._locate(start + done)
            count = min(len(block) - done, self.layout.shard_rows(shard) - offset)
            if shard not in self._writers:
                self._writers[shard] = self._open_shard(shard, os.O_WRONLY)
            fd, data_offset = self._writers[shard]
            data = np.ascontiguousarray(block[done : done + count], dtype=self.dtype)
            position = data_offset + offset * self.layout.row_bytes
            view = memoryview(data.reshape(-1).view(np.uint8))
            try:
                while view:
                    written = os.pwrite(fd, view, position)
                    view, position = view[written:], position + written
            except OSError as exc:  # name the file: ENOSPC is reported to the user
                raise OSError(exc.errno, exc.strerror, str(self.path / shard_name(shard))) from None
            done += count

    def flush(self) -> None:
        """Push written rows to disk, so a finished chunk survives a kill or a power cut."""
        for shard, (fd, _) in self._writers.items():
            try:
                os.fdatasync(fd)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(self.path / shard_name(shard))) from None

    def close(self) -> None:
        self.flush()
        self._shards.clear()
        for fd, _ in (*self._files.values(), *self._writers.values()):
            os.close(fd)
        self._files.clear()
        self._writers.clear()

    def __enter__(self) -> RowStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
