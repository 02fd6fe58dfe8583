"""Write a folder's files beside it first and move them in only when all of them are written, so
that a run that fails leaves the folder as it was (`invrec run`'s tables, `invrec generate`'s
input folder)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staging_for(out: Path) -> Iterator[Path]:
    """A new empty folder next to `out` (the same file system, so a file moves into `out` whole
    by a rename), removed with whatever is left in it on the way out, failed or not. When
    `out`'s parent folders are missing too, it goes into the nearest one there is: they are
    made only when the files move in (`publish`), so a failed run makes none."""
    parent = out.absolute().parent
    while not parent.is_dir() and parent != parent.parent:
        parent = parent.parent
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out: Path, names: list[str]) -> None:
    """Move the files `names` from `staging` into `out` (made if missing), replacing any there.
    What would stop a move (a folder in a file's place) is looked for first: then none moves."""
    out.mkdir(parents=True, exist_ok=True)
    blocked = [name for name in names if (out / name).is_dir()]
    if blocked:
        raise IsADirectoryError(f"{out / blocked[0]} is a folder, not a file: nothing written")
    for name in names:
        os.replace(staging / name, out / name)
