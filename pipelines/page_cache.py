"""Hand a file's pages in the page cache back to the system once invrec is done with it.

On the virtual machines invrec is measured on, the host charges for every page the guest holds,
cached file pages included: at 10M transactions the input folder's 0.8 GB kept in the cache
through costing cost it 4-11 s of system time (docs/benchmarks.md, run BL), and each output
table written stays cached through the stages after it. The files themselves are not changed; a
later reader reads them from disk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from schemas.base import file_metadata

ZSTD_LEVEL = 1


def release(paths: Iterable[Path | str], written: bool = False) -> None:
    """Advise the kernel that the files' cached pages are not needed again (POSIX_FADV_DONTNEED).

    `written`: files just written, first flushed to disk (fdatasync), since only pages on disk
    leave the cache; a rename after it then also publishes a file whole. Without posix_fadvise
    (macOS, Windows) only that flush is done; a path that cannot be opened (a remote one) is
    skipped.
    """
    advise = getattr(os, "posix_fadvise", None)
    for path in paths:
        try:  # non-blocking: opening a named pipe with no writer left would wait for ever;
            # a file just written is opened for writing: Windows flushes no read-only handle
            fd = os.open(path, (os.O_RDWR if written else os.O_RDONLY)
                         | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # a pipe or a device has no cached file
                continue
            if written:  # a failure here is lost data: it is raised
                getattr(os, "fdatasync", os.fsync)(fd)
            if advise is not None:
                advise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def write_parquet(frame: pl.DataFrame, path: Path | str) -> None:
    """`frame` to Parquet at `path` (Categorical columns as text: `schemas.base.file_metadata`),
    on disk and out of the page cache when this returns."""
    # streamed, a morsel at a time. zstd at level 1, not polars' default 3: at 10M transactions
    # the value entries take 3.9 s instead of 4.5 s (both cores busy either way), for files 9 %
    # larger
    frame.lazy().sink_parquet(path, metadata=file_metadata(frame) or None, compression="zstd",
                              compression_level=ZSTD_LEVEL)
    release([path], written=True)
