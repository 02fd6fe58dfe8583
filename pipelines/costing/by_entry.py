"""A frame keyed by entry number that the rounds of the fixed point update in place (R60).

A round moves a few hundred outbounds out of millions; a join or an update over the whole frame
would cost each round what the whole state costs. Here each entry's row is found by position
(an array indexed by entry number), so reading and writing cost what they touch.
"""

from __future__ import annotations

import numpy as np
import polars as pl


class ByEntry:
    """Rows keyed by `entry_no` (1..size-1), in the order they were first stored."""

    def __init__(self, schema: dict[str, pl.DataType], size: int) -> None:
        self.frame = pl.DataFrame(schema=schema)
        self._row = np.full(size, -1, dtype=np.int64)  # entry_no -> row in frame, -1: none

    def put(self, fresh: pl.DataFrame) -> None:
        """Store `fresh` (unique entry numbers, some or all columns): new entries are appended,
        known ones overwritten in place."""
        if fresh.height == 0:
            return
        row = self._row[fresh.get_column("entry_no").to_numpy()]
        known = row >= 0
        if known.any():
            at = pl.Series(row[known])
            mask = pl.Series(known)
            self.frame = self.frame.with_columns(
                self.frame.get_column(c).scatter(at, fresh.get_column(c).filter(mask))
                for c in fresh.columns if c != "entry_no")
        if not known.all():
            new = fresh.filter(pl.Series(~known))
            self._row[new.get_column("entry_no").to_numpy()] = np.arange(
                self.frame.height, self.frame.height + new.height)
            self.frame = pl.concat([self.frame, new.select(self.frame.columns)])

    def take(self, entry_no: pl.Series) -> pl.DataFrame:
        """The stored rows of these entries (each once, in stored order): a semi join."""
        row = self._row[entry_no.to_numpy()]
        return self.frame[np.unique(row[row >= 0])]
