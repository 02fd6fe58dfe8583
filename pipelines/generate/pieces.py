"""One small generator per transaction type, each a vectorized numpy draw over a block of days.

Events are frames in raw codes (`EVENT_SCHEMA`): day index, intra-day order `u`, type, item,
location and variant slots. Four families:
- outflows (sale, sales_shipment, negative_adjustment, purchase_return, transfer) drive the volume;
- replenishment (purchase, purchase_receipt) buys a lot whenever an application key's cumulative
  outflow crosses its reorder point, so stock stays positive except when a lot arrives late;
  a SPECIFIC item's outflow instead gets a lot of its own, bought just before it and named in its
  applies_to (R43: every outbound of a SPECIFIC item is fixed-applied);
- standalone inflows (positive_adjustment, sales_return without applies_to);
- follow-ups of a primary row (purchase_invoice, sales_invoice, item_charge, sales_return with
  applies_to), dated strictly later than their target so that `applies_to` is always earlier (R160);
  purchase returns with applies_to (R43) posted right after the lot they send part of back.
Revaluations are dated on a month's last day, as AVERAGE items require with period `month` (R160).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.costing import ledger as costing_ledger
from pipelines.generate.company import BUS_GROUPS, LOCATION_WEIGHTS, VARIANTS, Company

ALL_TYPES = (
    "purchase", "purchase_receipt", "purchase_invoice", "purchase_return", "sale",
    "sales_shipment", "sales_invoice", "sales_return", "positive_adjustment",
    "negative_adjustment", "transfer", "item_charge", "revaluation",
)
# the default mix: every type the costing stage supports today
SUPPORTED_TYPES = tuple(t for t in ALL_TYPES if t in costing_ledger.SUPPORTED_TYPES)
CODE = {t: i for i, t in enumerate(ALL_TYPES)}

OUTFLOW_MIX = {"sale": 0.60, "sales_shipment": 0.25, "negative_adjustment": 0.04,
               "purchase_return": 0.02, "transfer": 0.07}
REPLENISHMENT_MIX = {"purchase": 0.65, "purchase_receipt": 0.35}
STANDALONE_RATE = {"positive_adjustment": 0.04, "sales_return": 0.01}  # per outflow
LATE_LOT = 0.05  # share of lots arriving after the outflow that needed them: negative inventory
CHARGE_RATE = 0.12  # item charges per purchase or receipt
RETURN_RATE = 0.02  # sales returns with applies_to per sale or shipment
FIXED_RETURN_RATE = 0.03  # purchase returns with applies_to per purchase or receipt
REVALUATIONS_PER_MONTH = 0.002  # per outflow of the month's last block
SALES_BUS = (0.7, 0.2, 0.1)
PURCHASE_BUS = (0.8, 0.2, 0.0)
N_SLOTS = len(VARIANTS)  # application key = (item * 3 + location) * 3 + variant

EVENT_SCHEMA = {
    "day": pl.Int32, "u": pl.Float64, "type": pl.Int8, "item": pl.Int32, "loc": pl.Int8,
    "var": pl.Int8, "to_loc": pl.Int8, "qty": pl.Float64, "unit_cost": pl.Float64,
    "amount": pl.Float64, "sales_amount": pl.Float64, "charge": pl.Int8, "bus": pl.Int8,
    "target": pl.Int64, "applies_to": pl.Int64,
}


@dataclass(frozen=True)
class Block:
    """A range of days generated together; its own random stream makes output chunk-invariant."""

    index: int
    d0: int  # first day index (inclusive)
    d1: int  # last day index (inclusive)
    month_end: bool  # d1 is the last day of a month


def events(**cols: np.ndarray) -> pl.DataFrame:
    """An event frame with every column of EVENT_SCHEMA; absent columns and NaN are null.

    Integer codes use -1 for "none" (blank location, no transfer destination, no charge).
    """
    n = len(next(iter(cols.values())))
    series = []
    for k, t in EVENT_SCHEMA.items():
        if k not in cols:
            series.append(pl.repeat(None, n, dtype=t, eager=True).alias(k))
            continue
        s = pl.Series(k, np.asarray(cols[k])).cast(t)
        series.append(s.fill_nan(None) if t == pl.Float64 else s)
    return pl.DataFrame(series)


def empty_events() -> pl.DataFrame:
    return pl.DataFrame(schema=EVENT_SCHEMA)


def key_of(item: np.ndarray, loc: np.ndarray, var: np.ndarray) -> np.ndarray:
    return (item.astype(np.int64) * 3 + loc) * N_SLOTS + var


def _days(rng: np.random.Generator, co: Company, blk: Block, n: int) -> np.ndarray:
    """Days of the block drawn by the seasonal weights."""
    cdf = np.cumsum(co.day_weight[blk.d0:blk.d1 + 1])
    return blk.d0 + np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")


def _where(rng: np.random.Generator, co: Company, n: int):
    """Zipf-like item, weighted location, variant for items that have variants."""
    item = np.minimum(np.searchsorted(co.popularity_cdf, rng.random(n)), co.n_items - 1)
    loc = np.searchsorted(np.cumsum(LOCATION_WEIGHTS), rng.random(n) * 0.999999)
    var = np.where(co.has_variants[item], rng.integers(1, N_SLOTS, n), 0)
    return item, loc, var


def _upto(rng: np.random.Generator, high: np.ndarray) -> np.ndarray:
    """Uniform integers 1..high per element (numpy's array-bounded `integers` is slow)."""
    return 1 + np.floor(rng.random(len(high)) * np.floor(high))


def _bus(rng: np.random.Generator, n: int, p: tuple[float, ...]) -> np.ndarray:
    return rng.choice(len(BUS_GROUPS), n, p=p)


def _mix(rng: np.random.Generator, mix: dict[str, float], types, n: int) -> np.ndarray | None:
    names = [t for t in mix if t in types]
    if not names:
        return None
    p = np.array([mix[t] for t in names])
    return np.array([CODE[t] for t in names])[rng.choice(len(names), n, p=p / p.sum())]


def outflows(rng, co: Company, blk: Block, n: int, types) -> pl.DataFrame:
    """Sales in small quantities at a margin, adjustments, purchase returns, transfers."""
    code = _mix(rng, OUTFLOW_MIX, types, n)
    if code is None or n == 0:
        return empty_events()
    item, loc, var = _where(rng, co, n)
    day = _days(rng, co, blk, n)
    saleish = (code == CODE["sale"]) | (code == CODE["sales_shipment"])
    transfer = code == CODE["transfer"]
    qty = np.select(
        [saleish, code == CODE["negative_adjustment"], code == CODE["purchase_return"]],
        [rng.poisson(co.sale_mean[item] - 1) + 1, rng.geometric(0.5, n), rng.geometric(0.3, n)],
        default=_upto(rng, np.maximum(co.lot[item] // 3, 1)))
    sold = code == CODE["sale"]
    return events(
        day=day, u=rng.uniform(1e-3, 1, n), type=code, item=item, loc=loc, var=var,
        to_loc=np.where(transfer, (loc + rng.integers(1, 3, n)) % 3, -1), qty=qty,
        sales_amount=np.where(sold, np.round(qty * co.unit_price(item, day), 2), np.nan),
        bus=np.select([saleish, code == CODE["purchase_return"]],
                      [_bus(rng, n, SALES_BUS), _bus(rng, n, PURCHASE_BUS)], default=0))


def specific_lots(rng, co: Company, out: pl.DataFrame,
                  types) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(outflows, lots): every outflow of a SPECIFIC item gets a lot of its quantity bought just
    before it and names it in `target`, the lot's row in the primaries, which list these lots
    right after the outflows. Without a purchase type to buy them, such outflows are dropped."""
    specific = co.costing_method[out["item"].to_numpy()] == "SPECIFIC"
    code = _mix(rng, REPLENISHMENT_MIX, types, int(specific.sum()))
    if code is None:
        return out.filter(pl.Series(~specific)), empty_events()
    mine = out.filter(pl.Series(specific))
    n, item, day = mine.height, mine["item"].to_numpy(), mine["day"].to_numpy()
    cost = np.round(co.unit_cost(item, day) * rng.normal(1, 0.02, n), 2)
    lots = events(day=day, u=mine["u"].to_numpy() - 1e-7, type=code, item=item,
                  loc=mine["loc"].to_numpy(), var=mine["var"].to_numpy(),
                  qty=mine["qty"].to_numpy(), unit_cost=np.maximum(cost, 0.01),
                  bus=_bus(rng, n, PURCHASE_BUS))
    target = np.where(specific, out.height + np.cumsum(specific) - 1, -1)
    return out.with_columns(target=pl.Series(target).replace(-1, None)), lots


def replenishment(rng, co: Company, blk: Block, out: pl.DataFrame, demand: np.ndarray,
                  lots: np.ndarray, types) -> pl.DataFrame:
    """Lots bought when cumulative outflow per key passes (lots bought) x lot - safety.

    Lot m of a key is needed by the outflow whose cumulative quantity D makes
    ceil((D + safety) / lot) reach m; it is posted just before that outflow (or, for LATE_LOT of
    them, a few days after: occasional negative inventory). Updates `demand` and `lots` in place.
    """
    code = _mix(rng, REPLENISHMENT_MIX, types, out.height)
    if code is None or out.height == 0:
        return empty_events()
    day, u, item, loc, var, qty = (out[c].to_numpy() for c in
                                   ("day", "u", "item", "loc", "var", "qty"))
    key = key_of(item, loc, var)
    order = np.lexsort((u, day, key))
    key, day, u, item, loc, var, qty, code = (a[order] for a in
                                              (key, day, u, item, loc, var, qty, code))
    first = np.r_[True, key[1:] != key[:-1]]
    last = np.r_[key[1:] != key[:-1], True]
    cum = np.cumsum(qty)
    start = np.maximum.accumulate(np.where(first, np.arange(len(key)), 0))
    d = demand[key] + cum - cum[start] + qty[start]
    need = np.ceil((d + co.safety[item]) / co.lot[item])
    prev = np.where(first, lots[key], np.r_[0, need[:-1]])
    new = need - prev
    demand[key[last]] = d[last]
    lots[key[last]] = need[last]
    buy = new > 0
    n = int(buy.sum())
    late = rng.random(n) < LATE_LOT
    bday = np.where(late, np.minimum(day[buy] + rng.integers(2, 15, n), blk.d1), day[buy])
    bu = np.where(late, rng.uniform(1e-3, 1, n), u[buy] - 1e-7)
    bitem = item[buy]
    cost = np.round(co.unit_cost(bitem, bday) * rng.normal(1, 0.02, n), 2)
    return events(day=bday, u=bu, type=code[buy], item=bitem, loc=loc[buy], var=var[buy],
                  qty=new[buy] * co.lot[bitem], unit_cost=np.maximum(cost, 0.01),
                  bus=_bus(rng, n, PURCHASE_BUS))


def standalone(rng, co: Company, blk: Block, n_out: int, types) -> pl.DataFrame:
    """Positive adjustments and sales returns without applies_to, at the current unit cost.

    With no outflow type switched on, purchases and receipts of one lot are drawn here instead.
    """
    rates = {t: r for t, r in STANDALONE_RATE.items() if t in types}
    if not any(t in types for t in OUTFLOW_MIX):
        rates |= {t: r for t, r in REPLENISHMENT_MIX.items() if t in types}
    frames = [empty_events()]
    for t, rate in rates.items():
        n = int(rng.binomial(n_out, min(rate, 1.0)))
        item, loc, var = _where(rng, co, n)
        day = _days(rng, co, blk, n)
        cost = np.round(co.unit_cost(item, day) * rng.uniform(0.95, 1.05, n), 2)
        sales = np.full(n, np.nan)
        if t == "positive_adjustment":
            qty, bus = rng.geometric(0.35, n), np.zeros(n, int)
        elif t == "sales_return":
            qty = _upto(rng, co.sale_mean[item])
            bus, sales = _bus(rng, n, SALES_BUS), np.round(qty * co.unit_price(item, day), 2)
        else:
            qty, bus = co.lot[item], _bus(rng, n, PURCHASE_BUS)
        frames.append(events(day=day, u=rng.uniform(1e-3, 1, n), type=np.full(n, CODE[t]),
                             item=item, loc=loc, var=var, qty=qty, unit_cost=cost,
                             sales_amount=sales, bus=bus))
    return pl.concat(frames)


def revaluations(rng, co: Company, blk: Block, n_out: int, types) -> pl.DataFrame:
    """Month-end revaluations of distinct items, at the current cost give or take a few %."""
    if "revaluation" not in types or not blk.month_end or n_out == 0:
        return empty_events()
    n = min(co.n_items, max(1, round(n_out * REVALUATIONS_PER_MONTH)))
    item = np.sort(rng.choice(co.n_items, n, replace=False))
    day = np.full(n, blk.d1)
    return events(day=day, u=1.0 + np.arange(n) / n, type=np.full(n, CODE["revaluation"]),
                  item=item, loc=np.full(n, -1), var=np.zeros(n, int),
                  unit_cost=np.round(co.unit_cost(item, day) * rng.uniform(0.93, 1.05, n), 2),
                  bus=np.zeros(n, int))


def _lagged(rng, src: pl.DataFrame, idx: np.ndarray, lag: np.ndarray, t: str, **cols):
    """Follow-up rows of the primaries `idx` of `src` (target = their row index), same key."""
    n = len(idx)
    a = {c: src[c].to_numpy()[idx] for c in ("day", "item", "loc", "var", "bus")}
    return events(day=a["day"] + lag, u=rng.uniform(1e-3, 1, n), type=np.full(n, CODE[t]),
                  item=a["item"], loc=a["loc"], var=a["var"], bus=a["bus"], target=idx,
                  to_loc=np.full(n, -1), charge=cols.pop("charge", np.full(n, -1)), **cols)


def _invoice_plan(rng, qty: np.ndarray, p_full: float, p_split: float, p_partial: float):
    """(first quantity, second quantity) per document; 0 means no invoice."""
    r = rng.random(len(qty))
    part = np.clip(np.floor(qty * rng.uniform(0.3, 0.7, len(qty))), 1, np.maximum(qty - 1, 1))
    two = qty >= 2
    split = two & (r >= p_full) & (r < p_full + p_split)
    partial = two & (r >= p_full + p_split) & (r < p_full + p_split + p_partial)
    none = r >= p_full + p_split + p_partial
    first = np.where(split | partial, part, np.where(none, 0, qty))
    return first, np.where(split, qty - part, 0)


def invoices(rng, co: Company, prim: pl.DataFrame, types) -> pl.DataFrame:
    """Receipts invoiced after a lag at a slightly different price; shipments invoiced (R23, R25).

    Invoiced quantities never exceed the document's quantity (R160): one full invoice, two
    invoices that add up to it, one partial invoice, or none yet.
    """
    frames = [empty_events()]
    code = prim["type"].to_numpy()
    for src, t, plan in (("purchase_receipt", "purchase_invoice", (0.80, 0.12, 0.05)),
                         ("sales_shipment", "sales_invoice", (0.85, 0.10, 0.02))):
        if t not in types:
            continue
        idx = np.flatnonzero(code == CODE[src])
        qty = prim["qty"].to_numpy()[idx]
        q1, q2 = _invoice_plan(rng, qty, *plan)
        lag1 = rng.integers(3, 31, len(idx))
        lag2 = lag1 + rng.integers(5, 21, len(idx))
        for q, lag in ((q1, lag1), (q2, lag2)):
            keep = q > 0
            i = idx[keep]
            item, day = prim["item"].to_numpy()[i], prim["day"].to_numpy()[i]
            if t == "purchase_invoice":
                cost = prim["unit_cost"].to_numpy()[i] * rng.normal(1, 0.015, len(i))
                cols = {"unit_cost": np.maximum(np.round(cost, 2), 0.01)}
            else:
                cols = {"sales_amount": np.round(q[keep] * co.unit_price(item, day), 2)}
            frames.append(_lagged(rng, prim, i, lag[keep], t, qty=q[keep], **cols))
    return pl.concat(frames)


def item_charges(rng, co: Company, prim: pl.DataFrame, types) -> pl.DataFrame:
    """FREIGHT and INSURANCE on some purchases and receipts (R30), a few % of their value."""
    if "item_charge" not in types:
        return empty_events()
    code = prim["type"].to_numpy()
    cand = np.flatnonzero((code == CODE["purchase"]) | (code == CODE["purchase_receipt"]))
    idx = cand[rng.random(len(cand)) < CHARGE_RATE]
    n = len(idx)
    qty = prim["qty"].to_numpy()[idx]
    value = qty * prim["unit_cost"].to_numpy()[idx]
    amount = np.maximum(np.round(value * rng.uniform(0.01, 0.06, n), 2), 0.01)
    return _lagged(rng, prim, idx, rng.integers(1, 21, n), "item_charge", qty=qty,
                   amount=amount, charge=(rng.random(n) < 0.3).astype(int))


def sales_returns(rng, co: Company, prim: pl.DataFrame, types) -> pl.DataFrame:
    """Returns applied to a sale or shipment, at most its quantity, once per sale (R74, R160),
    whatever the stock: into a key with open outbounds it goes on hand beside them (R45)."""
    if "sales_return" not in types:
        return empty_events()
    code = prim["type"].to_numpy()
    cand = np.flatnonzero((code == CODE["sale"]) | (code == CODE["sales_shipment"]))
    idx = cand[rng.random(len(cand)) < RETURN_RATE]
    n = len(idx)
    qty = _upto(rng, prim["qty"].to_numpy()[idx])
    item, day = prim["item"].to_numpy()[idx], prim["day"].to_numpy()[idx]
    return _lagged(rng, prim, idx, rng.integers(1, 31, n), "sales_return", qty=qty,
                   sales_amount=np.round(qty * co.unit_price(item, day), 2))


def fixed_purchase_returns(rng, co: Company, prim: pl.DataFrame, types) -> pl.DataFrame:
    """Part of a lot sent back to the vendor with applies_to naming it (R43): same day and `u` as
    the lot, so that the stable sort posts it right after the lot, before anything else can take
    the lot's units; `stream._check_fixed_returns` keeps it only where the lot closed nothing."""
    if "purchase_return" not in types:
        return empty_events()
    code = prim["type"].to_numpy()
    lot = (code == CODE["purchase"]) | (code == CODE["purchase_receipt"])
    # a SPECIFIC item's lot is its outflow's (`specific_lots`)
    cand = np.flatnonzero(lot & (co.costing_method[prim["item"].to_numpy()] != "SPECIFIC"))
    idx = cand[rng.random(len(cand)) < FIXED_RETURN_RATE]
    qty = _upto(rng, np.maximum(prim["qty"].to_numpy()[idx] // 4, 1))
    ret = _lagged(rng, prim, idx, np.zeros(len(idx), np.int64), "purchase_return", qty=qty)
    return ret.with_columns(u=pl.Series(prim["u"].to_numpy()[idx]))  # the lot's vendor group
