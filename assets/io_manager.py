"""A small Parquet IO manager on dagster's UPathIOManager: `<base_dir>/<asset_key>.parquet`.

dagster-polars does not work with polars 2.x (design.md), so this is ours: one polars DataFrame per
asset, written and read whole. Within a run, an asset its job loads again (`hand_over`) is also
kept in memory until its last load, which then gets the frame instead of reading it back (at ten
million transactions a read of the value entries takes 6-9 s, and three steps read them). A run
may write only some assets (`persist`): `invrec run` keeps only the contract's tables, so the
others are handed over without being written (the adjusted value entries alone take 5 s to write
at ten million transactions). `invrec run` also writes behind (`write_behind`): each table on
one background thread while the next steps compute, the last table's step waiting for all.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import polars as pl
from upath import UPath

from pipelines import page_cache
from schemas.base import as_held

# `out/` of the repository, wherever `dagster dev` is started from (as resources.SAMPLE_DIR)
DEFAULT_BASE_DIR = str(Path(__file__).resolve().parents[1] / "out")


class WritesBehind:
    """The writes of this process handed to one background thread, done in the order given.

    At ten million transactions writing the tables takes 12 s on both cores; behind, most of it
    overlaps the steps after costing. A write that fails removes its file and is raised by
    `wait`, so the run fails and nothing half-written is published."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future] = {}

    def submit(self, path: str, write: Callable[[], None]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="invrec-write")
        self._pending[path] = self._pool.submit(_removed_on_failure, path, write)

    def wait(self, path: str | None = None, *, raise_failure: bool = True) -> None:
        """Until the write of `path` (default: every write) is done; raises the first failure
        unless told not to (a run that failed already reports its own cause)."""
        paths = [path] if path is not None else list(self._pending)
        futures = [self._pending.pop(p) for p in paths if p in self._pending]
        for future in futures:
            future.exception()  # every one done before any is raised
        if raise_failure:
            for future in futures:
                future.result()


def _removed_on_failure(path: str, write: Callable[[], None]) -> None:
    try:
        write()
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


WRITES = WritesBehind()  # one writer thread per process, shared by the IO managers of its runs


class PolarsParquetIOManager(dg.UPathIOManager):
    """Writes each asset's DataFrame to `<base_path>/<asset key path>.parquet`; hands the frame
    itself to the next `loads[key]` loads of the asset in this process."""

    extension = ".parquet"

    def __init__(self, base_path: UPath, loads: dict[str, int] | None = None,
                 persist: list[str] | None = None,
                 codes: dict[str, list[str]] | None = None, write_behind: bool = False) -> None:
        super().__init__(base_path=base_path)
        self._loads = dict(loads or {})
        self._persist = None if persist is None else set(persist)
        # behind only when the tables to write are known: the last one's step waits for all
        self._behind = write_behind and persist is not None
        self._unwritten = set(self._persist or ())
        self._codes = dict(codes or {})
        self._held: dict[str, tuple[pl.DataFrame, int]] = {}  # asset key: (frame, loads left)

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame) -> None:
        key = context.asset_key.to_user_string()
        if not isinstance(obj, pl.DataFrame):
            raise TypeError(f"{key}: expected a polars DataFrame, got {type(obj).__name__}")
        if self._persist is None or key in self._persist:
            super().handle_output(context, obj)  # writes it (dump_to_path), with its path
        else:
            self._hold(key, obj)

    def dump_to_path(self, context: dg.OutputContext, obj: pl.DataFrame, path: UPath) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # on disk before `invrec run` renames it into place, and out of the page cache: the
        # stages after it need the memory more (pipelines/page_cache.py)
        key = context.asset_key.to_user_string()
        if self._behind:
            WRITES.submit(str(path), lambda: page_cache.write_parquet(obj, str(path)))
            self._unwritten.discard(key)
            if not self._unwritten:  # the run's last table: its step fails if any write did
                WRITES.wait()
        else:
            page_cache.write_parquet(obj, str(path))
        self._hold(key, obj)

    def _hold(self, key: str, frame: pl.DataFrame) -> None:
        if self._loads.get(key, 0) > 0:
            self._held[key] = (frame, self._loads[key])

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pl.DataFrame:
        key = context.asset_key.to_user_string()
        if key in self._held:
            frame, left = self._held.pop(key)
            if left > 1:
                self._held[key] = (frame, left - 1)
            return frame
        if self._persist is not None and key not in self._persist:
            raise RuntimeError(f"{key} is not written by this run (persist) and was not handed "
                               "over: more loads than hand_over counts")
        WRITES.wait(str(path))
        # one chunk per column: gathers across a file's many row-group chunks are several
        # times slower (measured 9.2 s against 1.1 s for 27M rows of three columns)
        frame = pl.read_parquet(str(path)).rechunk()
        # as the asset returned it, also from a file an earlier invrec wrote
        return as_held(frame, pl.read_parquet_metadata(str(path)), self._codes.get(key, ()))


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Configurable factory: `base_dir` is the folder holding one Parquet file per asset;
    `hand_over` how many ops of the job load each asset (the frame stays in memory until then);
    `persist` the asset keys written (None: every asset; the others are only handed over);
    `codes` each asset's columns held as Categorical, for files whose metadata does not name
    them (`schemas.base.as_held`); `write_behind` writes on a background thread, the step of
    the last table of `persist` waiting for all (a run that stops before it: `WRITES.wait()`)."""

    base_dir: str = DEFAULT_BASE_DIR
    hand_over: dict[str, int] = {}
    persist: list[str] | None = None
    codes: dict[str, list[str]] = {}
    write_behind: bool = False

    def create_io_manager(self, context) -> PolarsParquetIOManager:
        return PolarsParquetIOManager(base_path=UPath(self.base_dir), loads=self.hand_over,
                                      persist=self.persist, codes=self.codes,
                                      write_behind=self.write_behind)
