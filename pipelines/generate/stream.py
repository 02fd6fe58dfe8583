"""The transaction stream: blocks of days generated in order, numbered in posting order.

Each block draws its own events from `numpy.random.default_rng([seed, 1000 + block])` and carries a
small state to the next (cumulative outflow and lots per application key, conservative stock per
key, follow-ups dated after the block). Blocks depend on the transaction count only, never on the
write chunk size, so chunked writing gives the same file as one chunk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from pipelines.generate import pieces
from pipelines.generate.company import (
    BUS_GROUPS,
    CHARGES,
    LOCATIONS,
    START,
    VARIANTS,
    Company,
    month_starts,
)
from pipelines.generate.pieces import CODE, OUTFLOW_MIX, Block
from schemas.base import conform
from schemas.inputs import Transaction

MAX_BLOCK_ROWS = 500_000
# R41, R42, R44: shares of these rows posted with a date up to BACK_DAYS days earlier than their
# position in the stream
BACK_DATED = {"purchase": 0.04, "purchase_receipt": 0.04, "sale": 0.01}
BACK_DAYS = 7
INFLOW = ("purchase", "purchase_receipt", "positive_adjustment", "sales_return")
OUTFLOW = ("sale", "sales_shipment", "negative_adjustment", "purchase_return", "transfer")
DOCUMENT_PREFIX = {
    "purchase": "PINV", "purchase_receipt": "PRCPT", "purchase_invoice": "PINV",
    "purchase_return": "PCRM", "sale": "SINV", "sales_shipment": "SSHPT", "sales_invoice": "SINV",
    "sales_return": "SCRM", "positive_adjustment": "IJNL", "negative_adjustment": "IJNL",
    "transfer": "TSHPT", "item_charge": "PINV", "revaluation": "REVAL",
}
_EPOCH_OFFSET = (START - dt.date(1970, 1, 1)).days


@dataclass
class State:
    """What a block hands to the next."""

    demand: np.ndarray  # cumulative outflow quantity per application key
    lots: np.ndarray  # lots bought per key
    stock: np.ndarray  # per key: inflows - outflows, transfer to-legs left out (conservative)
    carry: pl.DataFrame = field(default_factory=pieces.empty_events)
    next_no: int = 1
    rows: int = 0
    drivers: int = 0


def blocks(co: Company, transactions: int) -> list[Block]:
    """Months, cut into equal parts when a month would exceed MAX_BLOCK_ROWS rows."""
    starts = [(s - START).days for s in month_starts(co.months)]
    total = co.day_weight.sum()
    out: list[Block] = []
    for m in range(len(starts) - 1):
        d0, d1 = starts[m], starts[m + 1] - 1
        expected = transactions * co.day_weight[d0:d1 + 1].sum() / total
        parts = max(1, int(np.ceil(expected / MAX_BLOCK_ROWS)))
        cuts = np.linspace(d0, d1 + 1, parts + 1).round().astype(int)
        for p in range(parts):
            out.append(Block(len(out), int(cuts[p]), int(cuts[p + 1]) - 1, p == parts - 1))
    return out


def transaction_stream(co: Company, transactions: int, seed: int,
           types: Collection[str]) -> Iterator[pl.DataFrame]:
    """Yield the transactions block by block, as contract rows, in transaction_no order."""
    n_keys = co.n_items * len(LOCATIONS) * len(VARIANTS)
    state = State(np.zeros(n_keys), np.zeros(n_keys), np.zeros(n_keys))
    weight_cum = np.cumsum(co.day_weight) / co.day_weight.sum()
    ratio0 = _rows_per_outflow(types)
    for blk in blocks(co, transactions):
        target = transactions * weight_cum[blk.d1]
        ratio = state.rows / state.drivers if state.drivers else ratio0
        n_out = max(0, round((target - state.rows) / ratio))
        raw = _block(co, blk, n_out, seed, types, state)
        state.rows += raw.height
        state.drivers += n_out
        yield to_transactions(co, raw)


def _rows_per_outflow(types: Collection[str]) -> float:
    """First guess of rows per outflow event; later blocks use the ratio measured so far."""
    if not any(t in types for t in OUTFLOW_MIX):
        return 1.0
    return 1.25 + 0.3 * ("sales_shipment" in types) + 0.1 * ("purchase_receipt" in types)


def _block(co: Company, blk: Block, n_out: int, seed: int, types: Collection[str],
           state: State) -> pl.DataFrame:
    """One block of raw events in posting order with transaction_no and resolved applies_to."""
    rng = np.random.default_rng([seed, 1000 + blk.index])
    out, lots = pieces.specific_lots(rng, co, pieces.outflows(rng, co, blk, n_out, types), types)
    prim = pl.concat([
        out,
        lots,  # right after the outflows: their `target`
        pieces.replenishment(rng, co, blk, out.filter(pl.col("target").is_null()), state.demand,
                             state.lots, types),
        pieces.standalone(rng, co, blk, n_out, types),
        pieces.revaluations(rng, co, blk, n_out, types),
    ]).with_columns(pidx=pl.int_range(pl.len(), dtype=pl.Int64))
    follow = pl.concat([
        pieces.invoices(rng, co, prim, types),
        pieces.item_charges(rng, co, prim, types),
        pieces.sales_returns(rng, co, prim, types),
        pieces.fixed_purchase_returns(rng, co, prim, types),
    ]).filter(pl.col("day") < co.n_days)  # beyond the horizon: not posted yet
    carried = pl.concat([state.carry, follow]).filter(pl.col("day") > blk.d1)
    frame = (
        pl.concat([prim, follow.filter(pl.col("day") <= blk.d1),
                   state.carry.filter(pl.col("day") <= blk.d1)], how="diagonal")
        .sort(["day", "u"], maintain_order=True)
    )
    frame = _check_transfers(_check_fixed_returns(frame, state.stock), state.stock)
    frame = frame.with_columns(
        transaction_no=pl.int_range(pl.len(), dtype=pl.Int64) + state.next_no)
    state.next_no += frame.height
    frame = _back_date(blk, seed, frame)
    numbered = frame.filter(pl.col("pidx").is_not_null())
    tx_of = np.full(prim.height, -1, dtype=np.int64)
    tx_of[numbered["pidx"].to_numpy()] = numbered["transaction_no"].to_numpy()
    state.carry = _resolve(carried, tx_of).with_columns(target=pl.lit(None, pl.Int64))
    return _resolve(frame, tx_of)


def _back_date(blk: Block, seed: int, frame: pl.DataFrame) -> pl.DataFrame:
    """R41, R44: some receipts and sales keep their place in the stream (their transaction_no)
    but are dated up to BACK_DAYS days earlier, never before the first day. Their own random
    stream, so that every other draw stays as it was."""
    rng = np.random.default_rng([seed, 2000 + blk.index])
    share = frame.select(pl.col("type").replace_strict(
        [CODE[t] for t in BACK_DATED], list(BACK_DATED.values()), default=0.0,
        return_dtype=pl.Float64)).to_series().to_numpy()
    back = rng.random(frame.height) < share
    days = np.where(back, rng.integers(1, BACK_DAYS + 1, frame.height), 0)
    return frame.with_columns(day=pl.max_horizontal(pl.col("day") - pl.Series(days), 0)
                              .cast(frame.schema["day"]))


def _resolve(frame: pl.DataFrame, tx_of: np.ndarray) -> pl.DataFrame:
    """applies_to of this block's follow-ups: the transaction_no their target primary got."""
    target = frame["target"].fill_null(-1).to_numpy()
    # no target (-1) reads the -1 put after the primaries: a block may have none at all
    number = np.append(tx_of, -1)[target]
    return frame.with_columns(applies_to=pl.coalesce(
        "applies_to", pl.Series(number).replace(-1, None)))


def _signed_quantity(receiving_returns: bool = True) -> pl.Expr:
    """+quantity for inflows, -quantity for outflows (transfer from-legs), 0 for the others."""
    sign = pl.col("type").replace_strict(
        [CODE[t] for t in INFLOW + OUTFLOW], [1.0] * len(INFLOW) + [-1.0] * len(OUTFLOW),
        default=0.0, return_dtype=pl.Float64)
    if not receiving_returns:
        sign = pl.when(_is_receiving_return()).then(0.0).otherwise(sign)
    return sign * pl.col("qty").fill_null(0.0)


def _is_receiving_return() -> pl.Expr:
    """A sales return with applies_to (resolved, or still a target in this block)."""
    return (pl.col("type") == CODE["sales_return"]) & (
        pl.col("applies_to").is_not_null() | pl.col("target").is_not_null())


def _with_stock_before(frame: pl.DataFrame, stock: np.ndarray, delta: pl.Expr) -> pl.DataFrame:
    """Columns key (-1: no location, e.g. revaluations) and before: the carried stock of the
    row's key plus the running sum of `delta` over the earlier rows of its key."""
    key = (pl.col("item").cast(pl.Int64) * 3 + pl.col("loc")) * len(VARIANTS) + pl.col("var")
    frame = frame.with_columns(key=pl.when(pl.col("loc") >= 0).then(key).otherwise(-1))
    keys = frame["key"].to_numpy()
    start = np.where(keys >= 0, stock[np.maximum(keys, 0)], 0.0)
    return frame.with_columns(before=pl.Series(start) + delta.cum_sum().over("key") - delta)


def _check_fixed_returns(frame: pl.DataFrame, stock: np.ndarray) -> pl.DataFrame:
    """R43: a purchase return with applies_to follows its lot directly (`pieces`); it is posted
    only where the key's stock before the lot is not negative. The stock is counted low
    (transfers at full quantity, to-legs and sales returns with applies_to left out: such a
    return may land on a key with open outbounds and close none of them, R45), so the lot closed
    no open outbound and nothing came in between: its whole quantity is still there for the
    return, under every costing method and any back-dating. Does not change `stock`."""
    frame = _with_stock_before(frame, stock, _signed_quantity(receiving_returns=False))
    fixed = (pl.col("type") == CODE["purchase_return"]) & pl.col("target").is_not_null()
    lot = pl.col("pidx").shift(1) == pl.col("target")
    return frame.filter(~fixed | (lot & (pl.col("before").shift(1) >= 0))).drop("key", "before")


def _check_transfers(frame: pl.DataFrame, stock: np.ndarray) -> pl.DataFrame:
    """R46/R160: a transfer moves at most the stock at its from-key; transfers of 0 are dropped.

    Stock before a row = carried stock + running sum of earlier movements of its key, with transfer
    to-legs left out. Net stock bounds the open inbound quantity from below (every application
    lowers an inbound's and an outbound's remaining quantity equally), so stock >= quantity means
    the from-leg is fully applied. Cutting one transfer only raises later stock: one pass suffices.
    Updates `stock` in place.
    """
    is_transfer = pl.col("type") == CODE["transfer"]
    frame = (
        _with_stock_before(frame, stock, _signed_quantity())
        .with_columns(qty=pl.when(is_transfer)
                      .then(pl.min_horizontal("qty", pl.max_horizontal("before", 0.0)))
                      .otherwise("qty"))
        .filter(~is_transfer | (pl.col("qty") > 0))
    )
    moved = frame.filter(pl.col("key") >= 0).select("key", _signed_quantity().alias("delta"))
    np.add.at(stock, moved["key"].to_numpy(), moved["delta"].to_numpy())
    return frame.drop("key", "before")


def to_transactions(co: Company, raw: pl.DataFrame) -> pl.DataFrame:
    """Raw codes to contract rows (schemas.inputs.Transaction)."""
    types = pl.col("type").replace_strict(list(CODE.values()), list(CODE), return_dtype=pl.String)
    loc_codes = list(range(-1, len(LOCATIONS)))
    loc_names = ["", *LOCATIONS]
    frame = raw.with_columns(
        posting_date=(pl.col("day") + _EPOCH_OFFSET).cast(pl.Date),
        type=types,
        item_no=pl.Series(co.item_no.gather(raw["item"].to_numpy())),
        location_code=pl.col("loc").replace_strict(loc_codes, loc_names, return_dtype=pl.String),
        to_location_code=pl.col("to_loc").replace_strict(
            loc_codes, [None, *LOCATIONS], default=None, return_dtype=pl.String),
        variant_code=pl.col("var").replace_strict(range(len(VARIANTS)), list(VARIANTS),
                                                  return_dtype=pl.String),
        quantity=pl.col("qty"),
        item_charge_no=pl.col("charge").replace_strict(
            range(len(CHARGES)), list(CHARGES), default=None, return_dtype=pl.String),
        gen_bus_posting_group=pl.col("bus").replace_strict(
            range(len(BUS_GROUPS)), list(BUS_GROUPS), return_dtype=pl.String),
    ).with_columns(
        document_no=pl.col("type").replace_strict(DOCUMENT_PREFIX, return_dtype=pl.String)
        + "-" + pl.col("transaction_no").cast(pl.String).str.zfill(8),
    )
    return conform(frame, Transaction)
