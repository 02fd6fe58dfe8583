"""CSV line numbers of records (contract §2: the header is line 1).

A record is on line `index + 2` only until a quoted value holds a line break: from there on each
record starts as many lines further down as such breaks came before it. Read on the error path
only (a message names the line), from the file's bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl


def record_lines(path: Path | str, records: pl.Series) -> pl.Series:
    """The line each data record (0-based, in file order) starts on, as text."""
    data = np.fromfile(path, dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    if quotes.size == 0:
        return (records + 2).cast(pl.String)
    newlines = np.flatnonzero(data == ord("\n"))
    del data
    ends = np.flatnonzero(_unquoted(newlines, quotes))  # the line breaks ending a record
    index = np.minimum(records.to_numpy(), max(ends.size - 1, 0))
    return pl.Series(records.name, ends[index] + 2 if ends.size else index + 2).cast(pl.String)


def _unquoted(positions: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """Per byte position: is it outside quoted values? An even number of quotes precede it (an
    escaped quote is two). A line break there ends a record, the header's first."""
    return np.searchsorted(quotes, positions) % 2 == 0


def why_unreadable(path: Path | str) -> str | None:
    """Where a CSV the reader refused goes wrong (contract §2: UTF-8, every record as many
    fields as the header): "line N: ...", or None when neither is the reason."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:  # not a file one can read (a folder of that name): the reader's reason
        return None
    try:
        data.tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = int(np.count_nonzero(data[:exc.start] == ord("\n"))) + 1
        return f"line {line} is not UTF-8 (byte 0x{data[exc.start]:02x})"
    newlines = np.flatnonzero(data == ord("\n"))
    quotes = np.flatnonzero(data == ord('"'))
    commas = np.flatnonzero(data == ord(","))
    ends, commas = newlines[_unquoted(newlines, quotes)], commas[_unquoted(commas, quotes)]
    # a record's commas: those before its end and after the one before; a last record
    # without a line break ends with the file
    ends = np.append(ends, data.size) if not ends.size or ends[-1] < data.size - 1 else ends
    fields = np.diff(np.searchsorted(commas, ends), prepend=0) + 1
    wider = np.flatnonzero(fields > fields[0])
    if not wider.size:
        return None
    record = int(wider[0])
    line = int(np.searchsorted(newlines, ends[record - 1])) + 2
    return f"line {line} has {fields[record]} fields, the header {fields[0]}"
