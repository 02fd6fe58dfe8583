"""R60: items whose costs did not settle in the round cap get nothing from cost adjustment.

Their entries keep the amounts their transactions posted (no adjustment, no Rounding entry), and
their Revaluation entries take the R81/R85 amounts computed from those posting amounts: a
cost-receiving inbound at its cost at posting, an outbound at minus its cost at posting.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing import revaluation
from pipelines.costing.average_revaluation import pool_revaluation_amounts

_KEY = ["reval_tx", "inbound"]


def posting_amounts(
    per_entry: pl.DataFrame,
    per_pool: pl.DataFrame | None,
    avg_revalued: pl.DataFrame | None,
    contributions: pl.DataFrame | None,
    inbound: pl.DataFrame,
    results: pl.DataFrame,
    p: float,
) -> pl.DataFrame:
    """R60: every Revaluation amount (R81 per entry, R85 per pool) from the posting amounts.

    A later revaluation reads the earlier ones, so the two kinds are recomputed in turn until
    nothing moves: at most once per revaluation transaction.
    """
    posted = inbound.select("inbound", target="at_posting")
    targets = pl.concat([
        inbound.filter(pl.col("receiving")).select(entry_no="inbound", target="at_posting"),
        results.select("entry_no", target=-pl.col("cost_at_posting")),
    ])
    vdates = pl.concat([
        inbound.select(entry_no="inbound", vdate="vdate"),
        results.select("entry_no", vdate="valuation_date"),
    ])
    pooled = (None if per_pool is None
              else per_pool.select(*_KEY, "r_units", amount=pl.lit(0.0)))
    steps = per_entry.get_column("reval_tx").n_unique() + (
        0 if per_pool is None else per_pool.get_column("reval_tx").n_unique())
    amounts = None
    for _ in range(steps + 1):
        r81 = revaluation.revaluation_amounts(per_entry, posted, p, pooled)
        if per_pool is not None and per_pool.height:
            pooled = pool_revaluation_amounts(per_pool, avg_revalued, contributions, vdates,
                                              targets, pl.concat([r81, pooled]), p)
        new = pl.concat([r81, pooled]) if pooled is not None else r81
        new = new.sort(_KEY)
        if amounts is not None and new.equals(amounts):
            break
        amounts = new
    return amounts
