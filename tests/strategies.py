"""Hypothesis strategies: random valid transaction histories for the FIFO slice.

A history is drawn row by row and posted into the reference's `Book` as it is drawn, so a fixed
application (R43) or an item charge (R30) only names an inbound that is valid at that point.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from hypothesis import strategies as st

from pipelines.settings import Settings
from tests.reference import new_book, post_transaction
from tests.reference.cases import ITEM_DTYPES, PERIOD_DTYPES, TRANSACTION_DTYPES

START = dt.date(2020, 1, 1)
LOCATIONS = ("", "BLUE")
VARIANTS = ("", "V1")
OUTBOUND_TYPES = ("sale", "negative_adjustment")
# Weights by repetition: increases and decreases about equally often, so stock often runs out.
TYPES = ("purchase",) * 4 + ("sale",) * 4 + ("positive_adjustment", "negative_adjustment")


@dataclass(frozen=True)
class History:
    """One random company: frames with the input dtypes and the same rows as dicts."""

    transactions: pl.DataFrame
    items: pl.DataFrame
    inventory_periods: pl.DataFrame
    settings: Settings
    transaction_rows: list[dict]
    item_rows: list[dict]
    period_rows: list[dict]

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250):
            return (f"History(settings={self.settings},\nitems=\n{self.items}\n"
                    f"periods=\n{self.inventory_periods}\ntransactions=\n{self.transactions})")


quantities = st.one_of(
    st.integers(1, 10).map(float),
    st.sampled_from([0.5, 1.5, 2.5, 0.25, 3.75]),  # exact in binary: sums stay exact
)
# Up to 5 decimals, to provoke rounding (R2); some round figures so shrinking finds simple ones.
unit_costs = st.one_of(
    st.sampled_from([10.0, 20.0, 3.33333, 0.0]),
    st.integers(0, 5_000_000).map(lambda k: k / 100_000),
)


@st.composite
def items_strategy(draw, n: int) -> list[dict]:
    return [{
        "item_no": f"ITEM{k}", "description": f"Item {k}", "costing_method": "FIFO",
        "standard_cost": None,
        "indirect_cost_pct": draw(st.sampled_from([0.0, 0.0, 0.0, 5.0, 12.5])),
        "overhead_rate": draw(st.sampled_from([0.0, 0.0, 0.0, 0.25, 1.33333])),
        "inventory_posting_group": "RESALE", "gen_prod_posting_group": "RETAIL",
    } for k in range(1, n + 1)]


def _next_date(draw, date: dt.date, monotone_dates: bool) -> dt.date:
    if not monotone_dates and draw(st.integers(0, 9)) == 0:  # about one row in ten goes back
        return date - dt.timedelta(days=draw(st.integers(1, 30)))
    return date + dt.timedelta(days=draw(st.sampled_from([0, 0, 1, 2, 3, 5, 8])))


@st.composite
def histories(draw, *, monotone_dates: bool = False, max_transactions: int = 40,
              item_charges: bool = True, periods: bool = True) -> History:
    """A valid FIFO history of purchases, sales, adjustments (and item charges).

    `monotone_dates=True` gives non-decreasing posting dates only; otherwise about one row in ten
    is back-dated. Negative inventory arises by itself. Fixed applications (R43) name only an
    inbound of the same key with enough remaining quantity in the reference's state.
    """
    items = draw(items_strategy(draw(st.integers(1, 3))))
    locations = draw(st.sampled_from([LOCATIONS[:1], LOCATIONS[1:], LOCATIONS]))
    variants = draw(st.sampled_from([VARIANTS[:1], VARIANTS]))
    settings, period_rows = draw(_periods(periods))
    book = new_book(items, settings, period_rows)
    rows: list[dict] = []
    date = START
    for tx_no in range(1, draw(st.integers(1, max_transactions)) + 1):
        date = _next_date(draw, date, monotone_dates)
        kind = draw(st.sampled_from(TYPES + (("item_charge",) if item_charges else ())))
        row = {
            "transaction_no": tx_no, "posting_date": date, "type": kind,
            "item_no": draw(st.sampled_from([i["item_no"] for i in items])),
            "location_code": draw(st.sampled_from(locations)), "to_location_code": None,
            "variant_code": draw(st.sampled_from(variants)), "quantity": draw(quantities),
            "unit_cost": None, "amount": None, "sales_amount": None, "applies_to": None,
            "item_charge_no": None, "document_no": f"D{tx_no:04d}",
            "gen_bus_posting_group": draw(st.sampled_from(["DOMESTIC", "EXPORT"])),
        }
        if kind in ("purchase", "positive_adjustment"):
            row["unit_cost"] = draw(unit_costs)
        elif kind in OUTBOUND_TYPES:
            if kind == "sale" and draw(st.booleans()):
                row["sales_amount"] = draw(st.integers(0, 100_000).map(lambda k: k / 100))
            if draw(st.integers(0, 4)) == 0:  # about one decrease in five is fixed-applied
                row["applies_to"] = _fixed_inbound(draw, book, row)
        else:  # item_charge on any earlier purchase or positive adjustment (R30)
            targets = [e for e in book.entries if e.tx_type in ("purchase", "positive_adjustment")]
            if not targets:
                continue
            target = draw(st.sampled_from(targets))
            row.update(item_no=target.item_no, location_code=target.location_code,
                       variant_code=target.variant_code, quantity=None,
                       applies_to=target.transaction_no,
                       amount=draw(st.integers(-500, 5_000).map(lambda k: k / 100)),
                       item_charge_no=draw(st.sampled_from(["FREIGHT", "INSURANCE"])))
        post_transaction(book, row)
        rows.append(row)
    tx = pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row")
    return History(
        transactions=tx, items=pl.DataFrame(items, schema=ITEM_DTYPES, orient="row"),
        inventory_periods=pl.DataFrame(period_rows, schema=PERIOD_DTYPES, orient="row"),
        settings=settings, transaction_rows=rows, item_rows=items, period_rows=period_rows,
    )


def _fixed_inbound(draw, book, row: dict) -> int | None:
    """R43/R160: an earlier inbound of the same key with at least the row's quantity remaining."""
    key = (row["item_no"], row["location_code"], row["variant_code"])
    valid = [e.transaction_no for e in book.entries
             if e.inbound and e.key == key and e.remaining_quantity >= row["quantity"]]
    return draw(st.sampled_from(valid)) if valid else None


@st.composite
def _periods(draw, enabled: bool) -> tuple[Settings, list[dict]]:
    """Optional closed inventory periods (month ends, a closed prefix) and allow_posting_from."""
    if not enabled:
        return Settings(), []
    rows: list[dict] = []
    if draw(st.booleans()):
        month_ends = [dt.date(2020, m + 1, 1) - dt.timedelta(days=1) for m in range(1, 8)]
        n_closed = draw(st.integers(0, 4))
        rows = [{"ending_date": d, "closed": k < n_closed} for k, d in enumerate(month_ends)]
        if draw(st.integers(0, 4)) == 0 and n_closed < len(rows):  # R110: a gap counts as closed
            rows[n_closed]["closed"], rows[max(n_closed - 1, 0)]["closed"] = True, False
    allow = None
    if draw(st.booleans()):
        allow = START + dt.timedelta(days=draw(st.integers(0, 150)))
    return Settings(allow_posting_from=allow), rows
