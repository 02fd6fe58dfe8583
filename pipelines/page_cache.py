"""Hand a file's pages in the page cache back to the system once invrec is done with it.

On the virtual machines invrec is measured on, the host charges for every page the guest holds,
cached file pages included: at 10M transactions the input folder's 0.8 GB kept in the cache
through costing cost it 4-11 s of system time (docs/benchmarks.md, run BL). The files themselves
are not touched; a later reader reads them from disk.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def release(paths: Iterable[Path]) -> None:
    """Advise the kernel that the files' cached pages are not needed again (POSIX_FADV_DONTNEED).
    A no-op where the system has no posix_fadvise; a file that cannot be opened is skipped."""
    if not hasattr(os, "posix_fadvise"):
        return
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
