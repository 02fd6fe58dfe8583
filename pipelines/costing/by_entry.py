"""A frame keyed by entry number that the rounds of the fixed point update in place (R60).

A round moves a few hundred outbounds out of millions; a join or an update over the whole frame
would cost each round what the whole state costs. Here each entry's row is found by position
(an array indexed by entry number), so reading and writing cost what they touch.
"""

from __future__ import annotations

import numpy as np
import polars as pl


class ByEntry:
    """Rows keyed by an entry number column `key` (values 0..size-1), in the order they were
    first stored."""

    def __init__(self, frame: pl.DataFrame, size: int, key: str = "entry_no") -> None:
        self.key = key
        # held column by column: a column that no frame shares is written in place, where a
        # scatter into a frame's column copies all of it (millions of rows, every round)
        self._columns = {c: frame.get_column(c) for c in frame.columns}
        self._row = np.full(size, -1, dtype=np.int64)  # entry number -> row in frame, -1: none
        self._row[frame.get_column(key).to_numpy()] = np.arange(frame.height)

    @property
    def frame(self) -> pl.DataFrame:
        """The stored rows (a view of the columns, not a copy)."""
        return pl.DataFrame(list(self._columns.values()))

    def put(self, fresh: pl.DataFrame, keep_on_null: bool = False) -> None:
        """Store `fresh` (unique entry numbers, some or all columns): new entries are appended,
        known ones overwritten in place; with `keep_on_null` a null in `fresh` keeps the stored
        value (`DataFrame.update`)."""
        if fresh.height == 0:
            return
        row = self._row[fresh.get_column(self.key).to_numpy()]
        known = pl.Series(row >= 0)
        if known.any():
            for c in fresh.columns:
                if c == self.key:
                    continue
                values = fresh.get_column(c)
                write = known & values.is_not_null() if keep_on_null else known
                self._columns[c] = self._columns[c].scatter(
                    pl.Series(row).filter(write), values.filter(write))
        if not known.all():
            new, height = fresh.filter(~known), len(self._columns[self.key])
            self._row[new.get_column(self.key).to_numpy()] = np.arange(height,
                                                                       height + new.height)
            for c, column in self._columns.items():
                self._columns[c] = pl.concat([column, new.get_column(c)], rechunk=True)

    def take(self, entry_no: pl.Series) -> pl.DataFrame:
        """The stored rows of these entries (each once, in stored order): a semi join."""
        row = self._row[entry_no.drop_nulls().to_numpy()]
        return _rows(self.frame, row[row >= 0])


class Grouped:
    """A fixed frame's rows per entry number in column `key` (values 0..size-1), found without
    a join: the row positions sorted by key, and where each key's run starts."""

    def __init__(self, frame: pl.DataFrame, key: str, size: int) -> None:
        self.frame = frame
        self._keys = frame.get_column(key).to_numpy()
        # polars' stable arg sort: 0.9 s for 12M keys, numpy's stable argsort 3.1 s
        self._order = frame.select(pl.arg_sort_by(key, maintain_order=True)).to_series().to_numpy()
        # where each key's run starts: the number of smaller keys (a count, not a search)
        counts = np.bincount(self._keys, minlength=size)[:size]
        self._start = np.concatenate([[0], np.cumsum(counts)])

    def take(self, entry_no: pl.Series) -> pl.DataFrame:
        """The rows of these entries, in the frame's order: a semi join."""
        keys = entry_no.drop_nulls().to_numpy()
        if len(keys) > self.frame.height // _FEW:  # most of the frame: one pass over it
            return self.frame.filter(pl.Series(marks(keys, len(self._start))[self._keys]))
        keys = np.unique(keys)
        lo, n = self._start[keys], self._start[keys + 1] - self._start[keys]
        return _rows(self.frame, self._order[np.repeat(lo - (np.cumsum(n) - n), n)
                                             + np.arange(n.sum())])


_FEW = 64  # a request for more than 1/_FEW of a frame's rows is served by a pass over it


def _rows(frame: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    """The frame's rows at these positions (with repeats), each once, in frame order."""
    if len(rows) > frame.height // _FEW:  # a mask over the frame: no sort of many positions
        return frame.filter(pl.Series(marks(rows, frame.height)))
    return frame[np.unique(rows)]


def marks(positions: pl.Series | np.ndarray, size: int) -> np.ndarray:
    """A boolean array of `size`, True at `positions` (entry numbers or rows): a set as a
    lookup by position."""
    marked = np.zeros(size, dtype=bool)
    marked[positions.to_numpy() if isinstance(positions, pl.Series) else positions] = True
    return marked


def at_entry_no(entry_no: pl.Series, values: pl.Series, n: int) -> pl.Series:
    """`values` placed at their entry numbers 1..n: row i holds entry i + 1's value, null where
    none. Entry numbers are dense, so this scatter and a gather by entry number stand for a
    join over millions of keys (about 0.3 s against 1.7 s at 8M)."""
    return pl.repeat(None, n, dtype=values.dtype, eager=True).alias(values.name).scatter(
        entry_no - 1, values)


def aligned(right: pl.DataFrame, key: str, at: pl.Series) -> pl.DataFrame:
    """`right`'s rows (without `key`, unique numbers) for the numbers `at`, row for row, null
    where `at` is null or names no row of `right`: a left join on a dense key, by position
    instead of hashing both sides."""
    return right.drop(key).select(pl.all().gather(positions(right.get_column(key), at)))


def positions(keys: pl.Series, wanted: pl.Series) -> pl.Series:
    """The row of each of `wanted` in `keys` (unique integers, may be negative), null where it
    is null or not there: `row_positions` built and read in polars, whose allocator reuses
    its memory, where numpy's arrays of ten million rows are pages first touched on each call
    (the posted value entries' transactions at 10M: 0.42 -> 0.23 s)."""
    low, top = keys.min(), keys.max()
    if low is None or keys.len() * _SPARSE < top - low:  # none, or few keys: searched
        found = pl.Series(row_positions(keys.to_numpy(), wanted.fill_null(0).to_numpy()))
        return pl.select(pl.when(wanted.is_not_null() & (found >= 0)).then(found)).to_series()
    row = pl.repeat(None, top - low + 1, dtype=pl.Int64, eager=True).scatter(
        keys - low, pl.int_range(keys.len(), dtype=pl.Int64, eager=True))
    w = pl.lit(wanted)
    return pl.select(pl.lit(row).gather(pl.when((w >= low) & (w <= top)).then(w - low))
                     ).to_series()


_SPARSE = 16  # keys spread over more than _SPARSE times their count: searched, not mapped


def row_positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The row of each of `wanted` in `keys` (unique integers; transaction numbers may be
    negative), -1 where it is not there.

    Dense keys are mapped by an array indexed by entry number; a few keys among ten million
    entry numbers (a late round of the fixed point) are searched instead: the map would be a
    fresh 80 MB each call, and on this machine first touching memory costs more than using it.
    """
    if len(keys) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    low = int(keys.min())
    if low < 0:  # the map below is indexed from 0
        keys, wanted = keys - low, wanted - low
    top = int(keys.max())
    if len(keys) * _SPARSE < top:
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        at = np.minimum(np.searchsorted(ordered, wanted), len(keys) - 1)
        return np.where(ordered[at] == wanted, order[at], -1)
    row = np.zeros(top + 2, dtype=np.int64)  # row + 1, 0: none (zeroed pages: not touched)
    row[keys] = np.arange(1, len(keys) + 1)
    return row[np.where((wanted < 0) | (wanted > top), top + 1, wanted)] - 1


def sums_per_entry(entry_no: pl.Series, values: pl.DataFrame, n: int) -> pl.DataFrame:
    """Column sums of `values` per item ledger entry 1..n, in entry order (0 where none).

    Entry numbers are dense, so a bincount over them is the group-by (a hash group-by over ten
    million nearly unique keys is the slow part of the tables); it adds in row order like one.
    Columns held in the same chunks (the value entries: posted, then adjustments) are counted
    chunk by chunk, read in place, and the chunks' sums added: a copy into one array is pages
    first touched (at 10M transactions, 0.7 GB for the item ledger entries' sums)."""
    sums = {}
    for index, part in _same_chunks(entry_no, values):
        at = index.to_numpy()
        for c in values.columns:
            counted = np.bincount(at, weights=part.get_column(c).to_numpy(), minlength=n + 1)
            sums[c] = np.add(sums[c], counted, out=sums[c]) if c in sums else counted
    return pl.DataFrame({c: sums[c][1:] for c in values.columns})


def _same_chunks(entry_no: pl.Series, values: pl.DataFrame) -> list[tuple[pl.Series, pl.DataFrame]]:
    """(entry_no, values) chunk by chunk where every column is held in the same chunks, else
    whole."""
    lengths = [len(chunk) for chunk in entry_no.get_chunks()]
    if len(lengths) < 2 or any([len(chunk) for chunk in values.get_column(c).get_chunks()]
                               != lengths for c in values.columns):
        return [(entry_no, values)]
    starts = np.cumsum([0, *lengths[:-1]])
    return [(entry_no.slice(start, length), values.slice(start, length))
            for start, length in zip(starts, lengths, strict=True)]


def rows_of(entry_no: pl.Series, at: pl.Series) -> np.ndarray:
    """The row of each entry number of `at` in `entry_no` (unique, >= 0, holding every one of
    `at`): a lookup by position."""
    return row_positions(entry_no.to_numpy(), at.to_numpy())
