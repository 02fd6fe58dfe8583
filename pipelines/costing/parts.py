"""Quantity application and the fixed point of cost adjustment on parts of the items at once.

Costs never cross items (transfers, returns, charges, revaluations and pools stay within an
item, and `applies_to` names a transaction of the same item, R160), so the items can be settled
in parts: side by side on the machine's cores, each part's working set a fraction of the whole.
A part's entries are numbered 1..n in entry order while it is settled (the steps index arrays by
entry number) and its results numbered back; the tables are then built once, for all items.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from pipelines.costing.by_entry import at_entry_no
from pipelines.errors import InputError

SPLIT_FROM = 4_000_000  # entries: below, one part
MAX_ENTRIES_PER_PART = 5_000_000  # measured up to 4.2M (docs/benchmarks.md, run CH)
WORKERS = 2  # the machine's cores (docs/benchmarks.md); each part's polars calls use both too

# the columns holding item ledger entry numbers, per frame the settling reads or returns
ENTRY_COLUMNS = {
    "entries": ("entry_no", "applies_to_entry", "source_entry"),
    "source": ("item_ledger_entry_no",),
    "applications": ("inbound", "outbound"),
    "revalued": ("inbound",),
    "links": ("inbound", "outbound"),
    "outbound": ("entry_no",),
    "inbound": ("inbound",),
    "amounts": ("inbound",),
}


def parts_for(entries: int) -> int:
    """How many parts this many item ledger entries are settled in: one below SPLIT_FROM (small
    histories gain nothing, and keep a single run's errors as they are), else as few as keep
    each part within MAX_ENTRIES_PER_PART, a multiple of WORKERS (every round of every part
    pays polars' per-call cost: at 8.3M entries, 2 parts settle in 30.2-30.7 s, 3 in 32.7-34.5 s,
    4 in 30.6-34.2 s, for 0.5 GB more at the peak than 4)."""
    if entries < SPLIT_FROM:
        return 1
    return WORKERS * -(-entries // (WORKERS * MAX_ENTRIES_PER_PART))


def item_parts(entries: pl.DataFrame, parts: int) -> pl.DataFrame:
    """(item_no, part): contiguous runs of items in item order with about equal numbers of
    entries."""
    counts = entries.group_by("item_no").len().sort("item_no")
    return counts.select("item_no", part=((pl.col("len").cum_sum() - pl.col("len")) * parts
                                          // pl.col("len").sum()).cast(pl.Int64))


class Numbering:
    """A part's entries numbered 1..n in entry order (`local`), and back (`back`)."""

    def __init__(self, entry_no: pl.Series, size: int) -> None:
        self.entries = entry_no.sort()  # local i -> entry number self.entries[i - 1]
        self._local = at_entry_no(self.entries, pl.int_range(
            1, self.entries.len() + 1, dtype=pl.Int64, eager=True), size)

    def local(self, frame: pl.DataFrame | None, kind: str) -> pl.DataFrame | None:
        return None if frame is None else frame.with_columns(
            pl.lit(self._local).gather(pl.col(c) - 1).alias(c) for c in ENTRY_COLUMNS[kind])

    def back(self, frame: pl.DataFrame | None, kind: str) -> pl.DataFrame | None:
        return None if frame is None else frame.with_columns(
            pl.lit(self.entries).gather(pl.col(c) - 1).alias(c) for c in ENTRY_COLUMNS[kind])


def run_parts(settle: Callable[..., tuple], parts: list[tuple]) -> list[tuple]:
    """`settle(*part)` of every part, on WORKERS threads. When parts fail on input, one
    InputError carries all their problems, part by part."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(settle, *part) for part in parts]
        errors = [f.exception() for f in futures]
    failed = [e for e in errors if e is not None]
    if not failed:
        return [f.result() for f in futures]
    if not all(isinstance(e, InputError) for e in failed):
        raise next(e for e in failed if not isinstance(e, InputError))
    kind = type(failed[0]) if all(type(e) is type(failed[0]) for e in failed) else InputError
    raise kind([p for e in failed for p in e.problems])


# what `settle` returns, in order (the last, the unsettled items, holds no entry numbers)
RESULTS = ("applications", "revalued", "links", "outbound", "inbound", "amounts")


def settled_in_parts(settle: Callable[..., tuple], revaluations: pl.DataFrame,
                     entries: pl.DataFrame, source: pl.DataFrame, parts: int) -> tuple:
    """`settle(revaluations, entries, source)` for all items, computed on `parts` parts of
    them at once; the results as one run returns them."""
    of_item = item_parts(entries, parts)
    if of_item.height < 2:  # nothing to share out
        return settle(revaluations, entries, source)

    def part_of(frame: pl.DataFrame) -> pl.Series:
        return frame.select("item_no").join(of_item, on="item_no", how="left",
                                             maintain_order="left").get_column("part")

    entry_part, revaluation_part = part_of(entries), part_of(revaluations)
    source_part = at_entry_no(entries.get_column("entry_no"), entry_part, entries.height).gather(
        source.get_column("item_ledger_entry_no") - 1)
    inputs, numberings = [], []
    for k in range(int(of_item.get_column("part").max()) + 1):
        part_entries = entries.filter(entry_part == k)
        numbering = Numbering(part_entries.get_column("entry_no"), entries.height)
        numberings.append(numbering)
        inputs.append((revaluations.filter(revaluation_part == k),
                       numbering.local(part_entries, "entries"),
                       numbering.local(source.filter(source_part == k), "source")))
    results = run_parts(settle, inputs)
    del inputs
    merged = []
    for i, kind in enumerate(RESULTS):
        frames = [n.back(r[i], kind) for n, r in zip(numberings, results, strict=True)
                  if r[i] is not None]
        merged.append(pl.concat(frames) if frames else None)
    unsettled = pl.concat([r[-1] for r in results]).sort("item_no")
    return (*merged, unsettled)
