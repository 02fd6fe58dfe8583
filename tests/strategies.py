"""Hypothesis strategies: random valid transaction histories (R160) for the differential tests.

A history is drawn row by row and posted into the reference's `Book` as it is drawn, so every
reference a row makes (a fixed application R43, an invoice R23/R25, a return R74, a transfer's stock
R46, an item charge R30) is valid at that point. `histories(wide=False)` is the first slice (FIFO;
purchases, sales, adjustments, charges); `wide=True` mixes every type the costing stage costs;
`average=True` is the wide mix on AVERAGE items (§8) with random average cost settings (R90, R91).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import polars as pl
from hypothesis import strategies as st

from pipelines.settings import AVERAGE_COST_CALC_TYPES, AVERAGE_COST_PERIODS, Settings
from tests.reference import new_book, post_transaction
from tests.reference.cases import ITEM_DTYPES, PERIOD_DTYPES, TRANSACTION_DTYPES

START = dt.date(2020, 1, 1)
LOCATIONS = ("", "BLUE")
WIDE_LOCATIONS = ("", "BLUE", "RED")
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
    accounting_periods: pl.DataFrame | None = None  # R91, for average_cost_period
    accounting_period_rows: list[dict] = field(default_factory=list)  # = accounting_period
    invalid: bool = False  # the reference refuses the last row (histories drawn to be refused)

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        starts = [str(r["starting_date"]) for r in self.accounting_period_rows]
        with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250):
            return (f"History(settings={self.settings},\nitems=\n{self.items}\n"
                    f"periods=\n{self.inventory_periods}\naccounting_periods={starts}\n"
                    f"transactions=\n{self.transactions})")


# Posting setups for every location, business and posting group the strategies draw (columns to
# values): BLUE and RED have their own inventory accounts, the business groups their own COGS.
INVENTORY_POSTING_SETUP = {
    "location_code": ["", "BLUE", "RED"], "inventory_posting_group": ["RESALE"] * 3,
    "inventory_account": ["2130", "2140", "2150"],
    "inventory_account_interim": ["2131", "2141", "2151"],
}
GENERAL_POSTING_SETUP = {
    "gen_bus_posting_group": ["DOMESTIC", "EXPORT"], "gen_prod_posting_group": ["RETAIL"] * 2,
    "cogs_account": ["7290", "7280"], "cogs_account_interim": ["7295", "7295"],
    "inventory_adjmt_account": ["7270", "7270"],
    "direct_cost_applied_account": ["7291", "7291"],
    "overhead_applied_account": ["7292", "7292"],
    "purchase_variance_account": ["7293", "7293"],
    "invt_accrual_acc_interim": ["5530", "5530"],
}


def costed_or_none(h: History, settings: Settings | None = None):
    """The costing stage's ledger of `h` (under `settings`, else its own), or None when the stage
    refuses it, recorded as a hypothesis event: for the tests of what comes after costing, which
    has its own differential and invariant tests."""
    from hypothesis import event

    from pipelines.costing import cost_ledger
    from pipelines.errors import InputError, NotSupportedYet

    try:
        return cost_ledger(h.transactions, h.items, h.inventory_periods, settings or h.settings,
                           h.accounting_periods)
    except NotSupportedYet as exc:
        event(f"cost_ledger: NotSupportedYet {exc.problems[0].rule[:40]}")
    except InputError as exc:  # pragma: no cover - a costing refusal of a valid history
        event(f"cost_ledger: InputError {exc.problems[0].rule[:40]}")
    return None


quantities = st.one_of(
    st.integers(1, 10).map(float),
    st.sampled_from([0.5, 1.5, 2.5, 0.25, 3.75]),  # exact in binary
    st.sampled_from([0.3, 1.7, 2.49, 7.47, 0.013]),  # not: counted in millionths (ledger.py)
    # shares of 266.67 (100.001 at 2.66667) by these land a hair from a half cent (R2)
    st.sampled_from([100.001, 49.993, 50.008]),
)
# Up to 5 decimals, to provoke rounding (R2); some round figures so shrinking finds simple ones;
# and some of tens of thousands to tens of millions, whose amounts go into the millions.
unit_costs = st.one_of(
    st.sampled_from([10.0, 20.0, 3.33333, 0.0, 2.66667]),
    st.integers(0, 5_000_000).map(lambda k: k / 100_000),
    st.integers(10**9, 10**12).map(lambda k: k / 100_000),
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


def _next_date(draw, date: dt.date, monotone_dates: bool, jumps: bool = False) -> dt.date:
    """The next row's date; `jumps` adds now and then a gap of weeks or months (average periods
    of every kind then end between rows)."""
    if not monotone_dates and draw(st.integers(0, 9)) == 0:  # about one row in ten goes back
        return date - dt.timedelta(days=draw(st.integers(1, 30)))
    if jumps and draw(st.integers(0, 7)) == 0:
        return date + dt.timedelta(days=draw(st.integers(6, 120)))
    return date + dt.timedelta(days=draw(st.sampled_from([0, 0, 1, 2, 3, 5, 8])))


@st.composite
def histories(draw, *, monotone_dates: bool = False, max_transactions: int = 40,
              item_charges: bool = True, periods: bool = True, wide: bool = False,
              returns_into_open_keys: bool = False, average: bool = False,
              average_cost_period: str | None = None,
              average_cost_calc_type: str | None = None) -> History:
    """A valid history: the first slice's FIFO mix, or with `wide=True` every type and method the
    costing stage costs (see `_wide_row`).

    `monotone_dates=True` gives non-decreasing posting dates only; otherwise about one row in ten
    is back-dated. Negative inventory arises by itself. Fixed applications (R43) name only an
    inbound of the same key with enough remaining quantity in the reference's state.
    `returns_into_open_keys` lets a sales return with applies_to land on a key with open outbounds
    (R45's known issue, which the stage does not cost yet).
    `average=True`: the wide mix on AVERAGE items (now and then a FIFO item beside them), with
    `average_cost_period` and `average_cost_calc_type` as given or drawn from every kind (R90,
    R91), accounting periods when the period is `accounting_period`, and gaps of weeks or months
    between rows so that periods of every kind end inside the history.
    """
    if wide or average:
        return draw(_wide_histories(monotone_dates, max_transactions, periods,
                                    returns_into_open_keys, average, average_cost_period,
                                    average_cost_calc_type))
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
    return _history(rows, items, settings, period_rows)


def _history(rows: list[dict], items: list[dict], settings: Settings,
             period_rows: list[dict], accounting_period_rows: list[dict] = ()) -> History:
    tx = pl.DataFrame(rows, schema=TRANSACTION_DTYPES, orient="row")
    accounting = list(accounting_period_rows)
    return History(
        transactions=tx, items=pl.DataFrame(items, schema=ITEM_DTYPES, orient="row"),
        inventory_periods=pl.DataFrame(period_rows, schema=PERIOD_DTYPES, orient="row"),
        settings=settings, transaction_rows=rows, item_rows=items, period_rows=period_rows,
        accounting_periods=pl.DataFrame(accounting, schema=ACCOUNTING_PERIOD_DTYPES,
                                        orient="row") if accounting else None,
        accounting_period_rows=accounting,
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


# --- the wide mix --------------------------------------------------------------------------------

# Weights by repetition. Increases and decreases about equally often so stock runs out now and then.
WIDE_TYPES = (
    ("purchase",) * 3 + ("purchase_receipt",) * 2 + ("purchase_invoice",) * 3
    + ("sale",) * 3 + ("sales_shipment",) * 2 + ("sales_invoice",) * 3 + ("sales_return",) * 2
    + ("purchase_return", "positive_adjustment", "negative_adjustment", "item_charge")
    + ("transfer",) * 4
)
STANDARD_COSTS = st.sampled_from([10.0, 12.5, 3.33333, 7.77777, 0.5])
amounts = st.integers(-500, 5_000).map(lambda k: k / 100)
sales_amounts = st.integers(0, 100_000).map(lambda k: k / 100)


@st.composite
def wide_items_strategy(draw, n: int) -> list[dict]:
    """FIFO items mostly, some STANDARD (with standard_cost, R160) and SPECIFIC ones."""
    items = draw(items_strategy(n))
    for item in items:
        item["costing_method"] = draw(st.sampled_from(["FIFO", "FIFO", "STANDARD", "SPECIFIC"]))
        if item["costing_method"] == "STANDARD":
            item["standard_cost"] = draw(STANDARD_COSTS)
    return items


@st.composite
def average_items_strategy(draw, n: int) -> list[dict]:
    """AVERAGE items, now and then a FIFO item beside them (pools are per item, R90)."""
    items = draw(items_strategy(n))
    for k, item in enumerate(items):
        item["costing_method"] = "AVERAGE" if k == 0 else draw(
            st.sampled_from(["AVERAGE", "AVERAGE", "FIFO"]))
    return items


ACCOUNTING_PERIOD_DTYPES = {"starting_date": pl.Date}
FIRST_ACCOUNTING_PERIOD = dt.date(2019, 1, 1)  # before any date a history can reach (R160)


@st.composite
def _average_settings(draw, settings: Settings, period: str | None,
                      calc_type: str | None) -> tuple[Settings, list[dict]]:
    """R90/R91 settings, and accounting periods starting at irregular dates for that kind."""
    period = period or draw(st.sampled_from(AVERAGE_COST_PERIODS))
    calc_type = calc_type or draw(st.sampled_from(AVERAGE_COST_CALC_TYPES))
    settings = dataclasses.replace(settings, average_cost_period=period,
                                   average_cost_calc_type=calc_type)
    rows: list[dict] = []
    if period == "accounting_period":
        offsets = draw(st.sets(st.integers(-20, 400), max_size=8))
        starts = {FIRST_ACCOUNTING_PERIOD} | {START + dt.timedelta(days=k) for k in offsets}
        rows = [{"starting_date": d} for d in sorted(starts)]
    return settings, rows


@st.composite
def _wide_histories(draw, monotone_dates: bool, max_transactions: int, periods: bool,
                    returns_into_open_keys: bool, average: bool = False,
                    average_cost_period: str | None = None,
                    average_cost_calc_type: str | None = None) -> History:
    n_items = draw(st.integers(1, 3))
    items = draw(average_items_strategy(n_items) if average else wide_items_strategy(n_items))
    locations = draw(st.sampled_from([WIDE_LOCATIONS[:2], WIDE_LOCATIONS]))
    variants = draw(st.sampled_from([VARIANTS[:1], VARIANTS]))
    settings, period_rows = draw(_periods(periods))
    accounting_rows: list[dict] = []
    if average:
        settings, accounting_rows = draw(_average_settings(settings, average_cost_period,
                                                           average_cost_calc_type))
    book = new_book(items, settings, period_rows, accounting_rows)
    rows: list[dict] = []
    date = START
    for tx_no in range(1, draw(st.integers(1, max_transactions)) + 1):
        date = _next_date(draw, date, monotone_dates, jumps=average)
        row = _wide_row(draw, book, items, locations, variants, tx_no, date,
                        returns_into_open_keys)
        if row is None:
            continue
        post_transaction(book, row)
        rows.append(row)
    return _history(rows, items, settings, period_rows, accounting_rows)


def _blank_row(tx_no: int, date: dt.date, kind: str) -> dict:
    return {"transaction_no": tx_no, "posting_date": date, "type": kind, "item_no": None,
            "location_code": "", "to_location_code": None, "variant_code": "", "quantity": None,
            "unit_cost": None, "amount": None, "sales_amount": None, "applies_to": None,
            "item_charge_no": None, "document_no": f"D{tx_no:04d}",
            "gen_bus_posting_group": "DOMESTIC"}


def _quantity_up_to(draw, most) -> float:
    """A drawn quantity capped at `most` (all quantities are multiples of 1/4: sums stay exact)."""
    return float(min(draw(quantities), most))


def _open_outbounds(book, key: tuple) -> bool:
    return any(not e.inbound and e.key == key and e.remaining_quantity < 0 for e in book.entries)


def _wide_row(draw, book, items: list[dict], locations, variants, tx_no: int, date: dt.date,
              returns_into_open_keys: bool) -> dict | None:
    """One valid row of a drawn type (R160), or None when the book offers nothing to refer to.

    - cost sources: purchase, purchase_receipt (R22), positive_adjustment, sales_return without
      applies_to; STANDARD items sometimes without unit_cost (R170.13);
    - invoices (R23, R25): part or all of what a receipt or shipment has left to invoice;
    - decreases: sale, sales_shipment, negative_adjustment, purchase_return, one in five fixed
      (R43; SPECIFIC always, R77), purchase returns fixed half the time;
    - transfers (R46): from a key with stock, to another location; chains arise as stock moves;
    - sales returns with applies_to (R74): at most what the sale has left to return, on a key
      without open outbounds unless `returns_into_open_keys` (R45);
    - item charges (R30) on any entry R30 allows, also after the goods are sold.
    """
    kind = draw(st.sampled_from(WIDE_TYPES))
    row = _blank_row(tx_no, date, kind)
    row["gen_bus_posting_group"] = draw(st.sampled_from(["DOMESTIC", "EXPORT"]))
    item = draw(st.sampled_from(items))
    method = item["costing_method"]
    row.update(item_no=item["item_no"], location_code=draw(st.sampled_from(locations)),
               variant_code=draw(st.sampled_from(variants)), quantity=draw(quantities))
    entries = book.entries

    if kind in ("purchase", "purchase_receipt", "positive_adjustment") or (
            kind == "sales_return" and draw(st.booleans())):
        if method != "STANDARD" or kind in ("purchase", "purchase_receipt") or draw(st.booleans()):
            row["unit_cost"] = draw(unit_costs)
        if kind == "sales_return" and draw(st.booleans()):
            row["sales_amount"] = draw(sales_amounts)
        return row

    if kind == "sales_return":  # with applies_to: a sale or shipment with something left
        sales = [e for e in entries if e.tx_type in ("sale", "sales_shipment")
                 and -e.quantity > sum(r.quantity for r in book.returns_of(e))]
        if not sales:
            return None
        open_sales = [e for e in sales if e.remaining_quantity < 0]
        if returns_into_open_keys and open_sales:  # R45's known issue, as often as it can arise
            sales = open_sales
        sale = draw(st.sampled_from(sales))
        left = -sale.quantity - sum(r.quantity for r in book.returns_of(sale))
        location = sale.location_code if draw(st.integers(0, 3)) else draw(
            st.sampled_from(locations))
        if not returns_into_open_keys and _open_outbounds(
                book, (sale.item_no, location, sale.variant_code)):
            free = [loc for loc in locations
                    if not _open_outbounds(book, (sale.item_no, loc, sale.variant_code))]
            if not free:
                return None
            location = draw(st.sampled_from(free))
        row.update(item_no=sale.item_no, location_code=location, variant_code=sale.variant_code,
                   quantity=_quantity_up_to(draw, left), applies_to=sale.transaction_no)
        if draw(st.booleans()):
            row["sales_amount"] = draw(sales_amounts)
        return row

    if kind in ("purchase_invoice", "sales_invoice"):
        of = "purchase_receipt" if kind == "purchase_invoice" else "sales_shipment"
        open_docs = [e for e in entries
                     if e.tx_type == of and abs(e.invoiced_quantity) < abs(e.quantity)]
        if not open_docs:
            return None
        doc = draw(st.sampled_from(open_docs))
        left = abs(doc.quantity) - abs(doc.invoiced_quantity)
        n = left if draw(st.booleans()) else _quantity_up_to(draw, left)
        row.update(item_no=doc.item_no, location_code=doc.location_code,
                   variant_code=doc.variant_code, quantity=float(n),
                   applies_to=doc.transaction_no)
        if kind == "purchase_invoice":
            row["unit_cost"] = draw(unit_costs)
        elif draw(st.booleans()):
            row["sales_amount"] = draw(sales_amounts)
        return row

    if kind == "item_charge":
        allowed = (("purchase", "purchase_receipt") if method == "STANDARD" else
                   ("purchase", "purchase_receipt", "positive_adjustment", "sales_return",
                    "transfer"))
        targets = [e for e in entries if e.inbound and e.item_no == item["item_no"]
                   and e.tx_type in allowed  # a return only without applies_to (R30)
                   and (e.tx_type == "transfer" or e.source_entry is None)]
        if not targets:
            return None
        target = draw(st.sampled_from(targets))
        row.update(location_code=target.location_code, variant_code=target.variant_code,
                   quantity=None, applies_to=target.transaction_no, amount=draw(amounts),
                   item_charge_no=draw(st.sampled_from(["FREIGHT", "INSURANCE"])))
        return row

    # decreases and transfers
    fixed = method == "SPECIFIC" or draw(st.integers(0, 4)) == 0 or (
        kind == "purchase_return" and draw(st.booleans()))
    if fixed:
        wanted = ("purchase", "purchase_receipt") if kind == "purchase_return" and draw(
            st.booleans()) else None
        candidates = [e for e in entries if e.inbound and e.item_no == item["item_no"]
                      and e.remaining_quantity > 0 and (wanted is None or e.tx_type in wanted)]
        if not candidates:
            if method == "SPECIFIC":
                return None
        else:
            inbound = draw(st.sampled_from(candidates))
            row.update(location_code=inbound.location_code, variant_code=inbound.variant_code,
                       quantity=_quantity_up_to(draw, inbound.remaining_quantity),
                       applies_to=inbound.transaction_no)
    if kind == "transfer":
        if row["applies_to"] is None:  # R46: only from a key with enough on hand
            stock: dict[tuple, object] = {}
            for e in entries:
                if e.inbound and e.item_no == item["item_no"] and e.remaining_quantity > 0:
                    stock[(e.location_code, e.variant_code)] = stock.get(
                        (e.location_code, e.variant_code), 0) + e.remaining_quantity
            if not stock:
                return None
            location, variant = draw(st.sampled_from(sorted(stock)))
            row.update(location_code=location, variant_code=variant,
                       quantity=_quantity_up_to(draw, stock[(location, variant)]))
        others = [loc for loc in WIDE_LOCATIONS if loc != row["location_code"]]
        row["to_location_code"] = draw(st.sampled_from(others))
    elif kind == "sale" and draw(st.booleans()):
        row["sales_amount"] = draw(sales_amounts)
    return row
