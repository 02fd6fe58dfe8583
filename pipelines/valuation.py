"""Inventory valuation by posting date (R130-R132) and BC's Inventory Valuation report per month."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from pipelines.costing.by_entry import rows_of, sums_per_entry
from pipelines.rounding import round_to
from schemas.base import conform, empty
from schemas.gl import InventoryValuation, InventoryValuationPeriod
from schemas.inputs import QUANTITY_DECIMALS

KEYS = ["item_no", "location_code", "variant_code", "inventory_posting_group"]
_QTY_EPS = 1e-9
_AMOUNTS = ("cost_amount_actual", "cost_amount_expected")


def _first_value_entry(item_ledger_entries: pl.DataFrame,
                       value_entries: pl.DataFrame) -> np.ndarray:
    """Per item ledger entry (row for row), the row of its first value entry by entry_no, or
    `value_entries.height` where it has none. Entry numbers are small integers: a minimum per
    number in an array indexed by them, not a group-by of every value entry."""
    no = value_entries.get_column("item_ledger_entry_no").to_numpy()
    entry_no = item_ledger_entries.get_column("entry_no").to_numpy()
    first = np.full(max(int(no.max(initial=0)), int(entry_no.max(initial=0))) + 1,
                    value_entries.height, dtype=np.int64)
    ve_no = value_entries.get_column("entry_no")
    # in entry order as the costing stage writes them: no sort (0.8 s at 13M rows)
    order = np.arange(len(no)) if ve_no.is_sorted() else ve_no.arg_sort().to_numpy()
    np.minimum.at(first, no[order], np.arange(len(no)))
    return np.append(order, value_entries.height)[first[entry_no]]


def _with_posting_group(item_ledger_entries: pl.DataFrame, value_entries: pl.DataFrame):
    """Item ledger entries with the inventory_posting_group of their first value entry (R20: the
    item's), "" for an entry without value entries."""
    groups = value_entries.get_column("inventory_posting_group")
    groups = groups.append(pl.Series([""]).cast(groups.dtype))
    return item_ledger_entries.with_columns(
        inventory_posting_group=groups.gather(
            _first_value_entry(item_ledger_entries, value_entries)).fill_null(""))


def _valued_entries(item_ledger_entries: pl.DataFrame, value_entries: pl.DataFrame,
                    as_of: dt.date) -> pl.DataFrame:
    """R130 per item ledger entry: its KEYS, its quantity if posted by `as_of` (else 0), and the
    actual and expected cost of its value entries posted by `as_of` (their own dates): sums by
    entry number (bincount), which the group-by per KEYS then only adds up."""
    dated = pl.col("posting_date") <= as_of
    entry_no = item_ledger_entries.get_column("entry_no")
    sums = sums_per_entry(  # entries 1..n in entry order
        value_entries.get_column("item_ledger_entry_no"),
        value_entries.select(pl.when(dated).then(c).otherwise(0.0).alias(c) for c in _AMOUNTS),
        int(entry_no.max() or 0))
    return _with_posting_group(item_ledger_entries, value_entries).select(
        *KEYS, quantity=pl.when(dated).then("quantity").otherwise(0.0),
    ).with_columns(sums[entry_no - 1])


def default_as_of(value_entries: pl.DataFrame) -> dt.date | None:
    """R131: the latest posting date of any value entry (adjustment and Rounding included)."""
    return value_entries["posting_date"].max()


def inventory_valuation(
    item_ledger_entries: pl.DataFrame,
    value_entries: pl.DataFrame,
    as_of: dt.date | None,
    *,
    precision: float = 0.01,
) -> pl.DataFrame:
    """R130-R131: quantity, actual and expected cost per item, location, variant and posting group.

    Quantities by the item ledger entries' posting dates, amounts by the value entries' own
    (possibly moved) posting dates; rows whose three figures are all zero are left out.
    """
    as_of = as_of or default_as_of(value_entries)
    if as_of is None:
        return empty(InventoryValuation)
    zero = precision / 2
    return (
        _valued_entries(item_ledger_entries, value_entries, as_of).lazy()
        .group_by(KEYS)
        .agg(pl.col("quantity", *_AMOUNTS).sum())
        .with_columns(pl.col("quantity").round(QUANTITY_DECIMALS),
                      *(round_to(pl.col(c), precision) for c in _AMOUNTS))
        .filter(
            (pl.col("quantity").abs() > _QTY_EPS)
            | (pl.col("cost_amount_actual").abs() >= zero)
            | (pl.col("cost_amount_expected").abs() >= zero)
        )
        .sort(KEYS)
        .collect()  # lazy: the eager multi-key group-by is several times slower
        .pipe(conform, InventoryValuation)
    )


def inventory_valuation_by_period(
    item_ledger_entries: pl.DataFrame,
    value_entries: pl.DataFrame,
    as_of: dt.date | None = None,
    *,
    precision: float = 0.01,
) -> pl.DataFrame:
    """BC's Inventory Valuation report (R130's dating rules) run for each calendar month up to
    `as_of` (default R131): opening, increases, decreases and closing per item, location, variant
    and inventory posting group, for quantity, actual cost and expected cost.

    Months, as the reconciliation's periods (R141), so a month's closing value ties to the
    inventory accounts' balance at its end; the last period ends on `as_of`. Increases are the
    value entries of inbound item ledger entries (quantity > 0), decreases those of outbound ones,
    as magnitudes; quantities by the item ledger entries' posting dates, amounts by the value
    entries' own (possibly moved) dates. A key's months start at its first entry; all-zero rows
    are left out. The last closing figures equal `inventory_valuation(..., as_of)` (R157).

    Every figure is a sum per (key, month) cell: the keys are numbered once per item ledger
    entry (a value entry is on its entry's key), the cells form a keys x months grid, and the
    sums are bincounts into it; closing is a cumulative sum along each key's months.
    """
    as_of = as_of or default_as_of(value_entries)
    if as_of is None:
        return empty(InventoryValuationPeriod)
    ile = _with_posting_group(item_ledger_entries, value_entries)
    keys, key_of = _numbered_keys(ile)
    month = (pl.col("posting_date").dt.year().cast(pl.Int64) * 12
             + pl.col("posting_date").dt.month() - 1)
    dated = pl.col("posting_date") <= as_of
    ile_moves = ile.select(month=month, dated=dated, inbound=pl.col("quantity") > 0,
                           quantity="quantity")
    ve_row = rows_of(ile.get_column("entry_no"), value_entries.get_column("item_ledger_entry_no"))
    ve_moves = value_entries.select(month=month, dated=dated, value="cost_amount_actual",
                                    expected="cost_amount_expected")
    q_dated = ile_moves.get_column("dated").to_numpy()
    v_dated = ve_moves.get_column("dated").to_numpy()
    if not (q_dated.any() or v_dated.any()):
        return empty(InventoryValuationPeriod)
    last = as_of.year * 12 + as_of.month - 1
    first = int(min(ile_moves.get_column("month").filter(q_dated).min() or last,
                    ve_moves.get_column("month").filter(v_dated).min() or last))
    n_months = last - first + 1
    # a slot per move, its cell and side: 2 * cell, + 1 on the decreasing side
    cells = keys.height * n_months
    q_in = ile_moves.get_column("inbound").to_numpy()
    q_slot, (quantity,) = _dated(
        q_dated, 2 * (key_of * n_months + ile_moves.get_column("month").to_numpy() - first)
        + ~q_in, ile_moves.get_column("quantity").to_numpy())
    v_slot, (value, expected) = _dated(
        v_dated, 2 * (key_of[ve_row] * n_months + ve_moves.get_column("month").to_numpy() - first)
        + ~q_in[ve_row], *(ve_moves.get_column(c).to_numpy() for c in ("value", "expected")))

    figures = {}
    for name, slot, weights in (("quantity", q_slot, quantity), ("value", v_slot, value),
                                ("expected_cost", v_slot, expected)):
        sides = np.bincount(slot, weights=weights, minlength=2 * cells).reshape(-1, 2)
        increases, decreases = sides[:, 0], -sides[:, 1]
        net = increases - decreases
        closing = np.cumsum(net.reshape(-1, n_months), axis=1).ravel()
        figures |= {f"increases_{name}": increases, f"decreases_{name}": decreases,
                    f"closing_{name}": closing, f"opening_{name}": closing - net}
    # a key's rows run from its first month with a move (a key without one has none)
    moved = np.bincount(np.concatenate([q_slot, v_slot]) // 2,
                        minlength=cells).reshape(-1, n_months)
    shown = (np.cumsum(moved, axis=1) > 0).ravel()
    at = np.flatnonzero(shown)
    start = pl.Series(at % n_months + first)
    grid = keys[at // n_months].with_columns(
        period_start=pl.date(start // 12, start % 12 + 1, 1),
        **{name: values[at] for name, values in figures.items()},
    ).with_columns(
        period_end=pl.min_horizontal(pl.col("period_start").dt.month_end(), pl.lit(as_of)))
    stages = ("opening", "increases", "decreases", "closing")
    amounts = [f"{s}_{m}" for s in stages for m in ("value", "expected_cost")]
    quantities = [f"{s}_quantity" for s in stages]
    zero = precision / 2
    return (
        grid.with_columns(
            *[_signed_zero_free(round_to(pl.col(c), precision)).alias(c) for c in amounts],
            *[_signed_zero_free(pl.col(c).round(QUANTITY_DECIMALS)).alias(c)
              for c in quantities],
        )
        .filter(pl.any_horizontal(*[pl.col(c).abs() >= zero for c in amounts],
                                  *[pl.col(c).abs() > _QTY_EPS for c in quantities]))
        .pipe(conform, InventoryValuationPeriod)
    )


def _dated(dated: np.ndarray, slot: np.ndarray, *weights: np.ndarray) -> tuple:
    """The slots and weights of the moves posted by the valuation date (as a rule all of them:
    then no copies)."""
    if dated.all():
        return slot, weights
    return slot[dated], tuple(w[dated] for w in weights)


def _numbered_keys(ile: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """The distinct KEYS of the item ledger entries, sorted (a key's number is its row), and
    each entry's key number."""
    groups = (ile.lazy().select(KEYS).with_row_index("row").group_by(KEYS).agg("row")
              .sort(KEYS).collect())
    key_of = np.empty(ile.height, dtype=np.int64)
    rows = groups.get_column("row").explode().to_numpy()
    key_of[rows] = np.repeat(np.arange(groups.height), groups.get_column("row").list.len())
    return groups.drop("row"), key_of


def _signed_zero_free(e: pl.Expr) -> pl.Expr:
    """-0.0 shown as 0.0 (polars keeps -0.0 through `+ 0.0`)."""
    return pl.when(e == 0).then(0.0).otherwise(e)
