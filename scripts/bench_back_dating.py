"""What back-dated entries cost the costing stage (R41, R44 by posting date, `priority.py`).

    uv run python scripts/bench_back_dating.py --rows 1000000 --keys 10000 --share 0.2 --days 10

A synthetic company of FIFO items whose keys never go negative (purchases of 1-9 units, sales of
one unit; sales before a key's first purchase and keys that would still go negative are left
out): `--share` of the purchases are posted with a date up to `--days` days before the day they
are posted on, so they jump the receipts still on hand. `--short`: fewer purchases, every key
kept, and sales back-dated as well, so keys go negative and back-dated sales are closed before
earlier-posted open ones (R44). Prints the wall time of `cost_ledger` and of the reordering
inside it (a script, not a timed test; docs/benchmarks.md records its output).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import polars as pl

START = dt.date(2015, 1, 1)
DAYS = 3_000


def company(rows: int, keys: int, share: float, days: int, short: bool = False, seed: int = 0):
    """(transactions, items) in the contract's columns."""
    from schemas.base import polars_schema
    from schemas.inputs import Item, Transaction

    rng = np.random.default_rng(seed)
    key = rng.integers(0, keys, rows)
    buy = rng.random(rows) < (0.45 if short else 0.55)
    day = np.arange(rows) * DAYS // rows  # posting order
    back = (buy | short) & (rng.random(rows) < share)
    day = day - np.where(back, rng.integers(1, days + 1, rows), 0)
    tx = pl.DataFrame({
        "transaction_no": np.arange(1, rows + 1),
        "posting_date": pl.Series(day, dtype=pl.Int32).cast(pl.Date).dt.offset_by(
            f"{(START - dt.date(1970, 1, 1)).days}d"),
        "type": np.where(buy, "purchase", "sale"),
        "item_no": pl.Series(key).cast(pl.String).str.pad_start(6, "0").str.replace(r"^", "I"),
        "quantity": np.where(buy, rng.integers(1, 10, rows), 1).astype(float),
        "unit_cost": np.where(buy, rng.integers(100, 5_000, rows) / 100, np.nan),
    }).with_columns(
        pl.col("unit_cost").fill_nan(None),
        location_code=pl.lit(""), variant_code=pl.lit(""),
        document_no=pl.format("D{}", "transaction_no"), gen_bus_posting_group=pl.lit("DOMESTIC"),
    )
    if not short:
        first = tx.filter(pl.col("type") == "purchase").group_by("item_no").agg(
            first=pl.col("transaction_no").min())
        tx = tx.join(first, on="item_no").filter(pl.col("transaction_no") >= pl.col("first"))
        signed = pl.when(pl.col("type") == "purchase").then("quantity").otherwise(
            -pl.col("quantity"))
        negative = tx.with_columns(stock=signed.cum_sum().over("item_no")).filter(
            pl.col("stock") < 0).select("item_no").unique()
        tx = tx.join(negative, on="item_no", how="anti").sort("transaction_no")
    schema = polars_schema(Transaction)
    tx = tx.select([pl.col(c) if c in tx.columns else pl.lit(None).alias(c) for c in schema])
    tx = tx.cast(schema)
    items = tx.select("item_no").unique().sort("item_no").with_columns(
        description=pl.lit(None, pl.String), costing_method=pl.lit("FIFO"),
        standard_cost=pl.lit(None, pl.Float64), indirect_cost_pct=pl.lit(0.0),
        overhead_rate=pl.lit(0.0), inventory_posting_group=pl.lit("RESALE"),
        gen_prod_posting_group=pl.lit("RETAIL"))
    return tx, items.cast(polars_schema(Item))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args(argv)

    from pipelines.costing import application, cost_ledger
    from pipelines.settings import Settings
    from schemas.base import empty
    from schemas.inputs import InventoryPeriod

    tx, items = company(args.rows, args.keys, args.share, args.days, args.short)
    spent = [0.0]
    reorder = application.by_posting_date

    def timed(flow: pl.DataFrame, applications: pl.DataFrame):
        start = time.perf_counter()
        try:
            return reorder(flow, applications)
        finally:
            spent[0] += time.perf_counter() - start

    application.by_posting_date = timed
    start = time.perf_counter()
    cost_ledger(tx, items, empty(InventoryPeriod), Settings())
    what = "entries" if args.short else "purchases"
    print(f"{tx.height:,} transactions, {items.height:,} keys, {args.share:.0%} of {what} "
          f"back-dated by up to {args.days} days: cost_ledger {time.perf_counter() - start:.1f} s, "
          f"of which by posting date {spent[0]:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
