"""The reference ledger: post every transaction row by row, then one cost adjustment run.

Slow and plain on purpose: it states the rules of costing.md, it is not an implementation to
ship. The differential tests hold `pipelines.costing.cost_ledger` to it entry by entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import polars as pl

from pipelines.settings import Settings
from schemas.base import polars_schema
from schemas.ledger import ItemApplicationEntry, ItemLedgerEntry, ValueEntry
from tests.reference.adjust import adjust_cost, unit_cost_of
from tests.reference.arith import ZERO
from tests.reference.book import Book, Value
from tests.reference.posting import post_transaction


def new_book(items: Iterable[dict], settings: Settings, inventory_periods: Iterable[dict] = (),
             accounting_periods: Iterable[dict] = ()) -> Book:
    """An empty book for `items`; post rows into it with `post_transaction` (the strategies do).
    `accounting_periods` (rows with starting_date) are the average cost periods of R91."""
    return Book(items={i["item_no"]: dict(i) for i in items}, settings=settings,
                inventory_periods=list(inventory_periods),
                accounting_periods=list(accounting_periods))


def reference_book(transactions: list[dict], items: list[dict], settings: Settings,
                   inventory_periods: Iterable[dict] = (),
                   accounting_periods: Iterable[dict] = (), start: dict | None = None) -> Book:
    """Every transaction posted row by row, then one cost adjustment run (R10-R111); `start`:
    its rounds start from these targets (entry_no -> Fraction) instead of the costs at posting."""
    book = new_book(items, settings, inventory_periods, accounting_periods)
    for tx in sorted(transactions, key=lambda t: t["transaction_no"]):  # R170.14
        post_transaction(book, tx)
    book.unsettled = adjust_cost(book, start)
    return book


def reference_ledger(transactions: list[dict], items: list[dict], settings: Settings,
                     inventory_periods: Iterable[dict] = (),
                     accounting_periods: Iterable[dict] = ()) -> dict[str, pl.DataFrame]:
    """Item ledger, item application and value entries after posting and adjustment (R10-R111)."""
    return frames(reference_book(transactions, items, settings, inventory_periods,
                                 accounting_periods))


def number_values(book: Book) -> list[Value]:
    """R33: posting entries in creation (transaction) order, then adjustment entries ordered by
    item ledger entry, the entry they apply to, expected before actual, Rounding last."""
    posted = [v for v in book.values if v.transaction_no is not None]
    made = [v for v in book.values if v.transaction_no is None]
    for n, v in enumerate(posted, start=1):
        v.entry_no = n
    made.sort(key=lambda v: (v.item_ledger_entry_no, v.entry_type == "Rounding",
                             v.applies_to.entry_no, not v.expected_cost))
    for n, v in enumerate(made, start=len(posted) + 1):
        v.entry_no = n
    return posted + made


def _f(x: Fraction) -> float:
    return float(x)


def frames(book: Book) -> dict[str, pl.DataFrame]:
    """The three tables with exactly the columns and dtypes of schemas.ledger (amounts Float64)."""
    values = number_values(book)
    value_rows = []
    for v in values:
        entry = book.entry(v.item_ledger_entry_no)
        item = book.item(entry.item_no)
        value_rows.append({
            "entry_no": v.entry_no, "item_ledger_entry_no": v.item_ledger_entry_no,
            "transaction_no": v.transaction_no, "entry_type": v.entry_type,
            "item_ledger_entry_type": entry.entry_type, "posting_date": v.posting_date,
            "valuation_date": v.valuation_date, "item_no": entry.item_no,
            "location_code": entry.location_code, "variant_code": entry.variant_code,
            "inventory_posting_group": item["inventory_posting_group"],
            "gen_bus_posting_group": v.gen_bus_posting_group,
            "gen_prod_posting_group": item["gen_prod_posting_group"],
            "document_no": v.document_no,
            "item_ledger_entry_quantity": _f(v.item_ledger_entry_quantity),
            "valued_quantity": _f(v.valued_quantity), "invoiced_quantity": _f(v.invoiced_quantity),
            "cost_per_unit": _f(unit_cost_of(v, book.unit_precision)),
            "cost_amount_expected": _f(v.cost_amount_expected),
            "cost_amount_actual": _f(v.cost_amount_actual),
            "sales_amount_actual": _f(v.sales_amount_actual), "expected_cost": v.expected_cost,
            "adjustment": v.adjustment,
            "applies_to_entry": v.applies_to.entry_no if v.applies_to is not None else None,
            "item_charge_no": v.item_charge_no, "valued_by_average_cost": v.valued_by_average_cost,
            "cost_posted_to_gl": 0.0, "expected_cost_posted_to_gl": 0.0,
        })
    entry_rows = []
    for e in book.entries:
        mine = book.values_of(e)
        entry_rows.append({
            "entry_no": e.entry_no, "transaction_no": e.transaction_no,
            "entry_type": e.entry_type, "posting_date": e.posting_date, "item_no": e.item_no,
            "location_code": e.location_code, "variant_code": e.variant_code,
            "quantity": _f(e.quantity), "invoiced_quantity": _f(e.invoiced_quantity),
            "remaining_quantity": _f(e.remaining_quantity), "open": e.remaining_quantity != 0,
            "applies_to_entry": e.applies_to_entry,
            # R12 / R150: sums over the entry's value entries after adjustment
            "cost_amount_expected": _f(sum((v.cost_amount_expected for v in mine), ZERO)),
            "cost_amount_actual": _f(sum((v.cost_amount_actual for v in mine), ZERO)),
            "sales_amount_actual": _f(sum((v.sales_amount_actual for v in mine), ZERO)),
        })
    app_rows = [{
        "item_ledger_entry_no": a.item_ledger_entry_no,
        "inbound_item_entry_no": a.inbound_item_entry_no,
        "outbound_item_entry_no": a.outbound_item_entry_no, "quantity": _f(a.quantity),
        "posting_date": a.posting_date, "cost_application": a.cost_application,
    } for a in book.applications]
    return {
        "item_ledger_entries": _frame(entry_rows, ItemLedgerEntry),
        "item_application_entries": _frame(app_rows, ItemApplicationEntry),
        "value_entries": _frame(value_rows, ValueEntry),
    }


def _frame(rows: list[dict], model) -> pl.DataFrame:
    schema = polars_schema(model)
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
