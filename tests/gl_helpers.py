"""Hand-built ledger frames and posting setups for the posting, valuation and reconciliation tests.

Chart of accounts as in shared/examples: 2130 Inventory, 2131 Inventory (Interim), 5530 Invt.
Accrual (Interim), 7290 COGS, 7295 COGS (Interim), 7270 Inventory Adjmt., 7291 Direct Cost
Applied, 7292 Overhead Applied, 7293 Purchase Variance; location WEST has its own inventory
accounts 2140/2141.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from schemas.base import polars_schema
from schemas.ledger import ItemLedgerEntry, ValueEntry

D = dt.date
JAN_15 = D(2020, 1, 15)


def inventory_posting_setup(**overrides: str | None) -> pl.DataFrame:
    rows = [
        {"location_code": "", "inventory_posting_group": "RESALE",
         "inventory_account": "2130", "inventory_account_interim": "2131"},
        {"location_code": "WEST", "inventory_posting_group": "RESALE",
         "inventory_account": "2140", "inventory_account_interim": "2141"},
    ]
    rows[0].update(overrides)
    return pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))


def general_posting_setup(**overrides: str | None) -> pl.DataFrame:
    row = {"gen_bus_posting_group": "DOMESTIC", "gen_prod_posting_group": "RETAIL",
           "cogs_account": "7290", "cogs_account_interim": "7295",
           "inventory_adjmt_account": "7270", "direct_cost_applied_account": "7291",
           "overhead_applied_account": "7292", "purchase_variance_account": "7293",
           "invt_accrual_acc_interim": "5530"}
    row.update(overrides)
    return pl.DataFrame([row], schema=dict.fromkeys(row, pl.String))


def ve(entry_no: int, ile_type: str, actual: float = 0.0, expected: float = 0.0, *,
       entry_type: str = "Direct Cost", ile_no: int | None = None,
       transaction_no: int | None = -1, posting_date: dt.date = JAN_15,
       document_no: str | None = None, item_no: str = "ITEM1", location_code: str = "",
       quantity: float = 0.0, adjustment: bool = False, **more) -> dict:
    """One value entry row; transaction_no defaults to entry_no, document_no to DOC<transaction>."""
    tx = entry_no if transaction_no == -1 else transaction_no
    row = dict.fromkeys(polars_schema(ValueEntry))
    row.update(
        entry_no=entry_no, item_ledger_entry_no=ile_no or entry_no, transaction_no=tx,
        entry_type=entry_type, item_ledger_entry_type=ile_type, posting_date=posting_date,
        valuation_date=posting_date, item_no=item_no, location_code=location_code,
        variant_code="", inventory_posting_group="RESALE", gen_bus_posting_group="DOMESTIC",
        gen_prod_posting_group="RETAIL", document_no=document_no or f"DOC{tx or entry_no}",
        item_ledger_entry_quantity=quantity, valued_quantity=quantity, invoiced_quantity=quantity,
        cost_per_unit=0.0, cost_amount_expected=expected, cost_amount_actual=actual,
        sales_amount_actual=0.0, expected_cost=expected != 0, adjustment=adjustment,
        valued_by_average_cost=False, cost_posted_to_gl=0.0, expected_cost_posted_to_gl=0.0,
    )
    row.update(more)
    return row


def value_entries(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=polars_schema(ValueEntry))


def ile(entry_no: int, entry_type: str, quantity: float, posting_date: dt.date, *,
        item_no: str = "ITEM1", location_code: str = "", variant_code: str = "") -> dict:
    return dict(
        entry_no=entry_no, transaction_no=entry_no, entry_type=entry_type,
        posting_date=posting_date, item_no=item_no, location_code=location_code,
        variant_code=variant_code, quantity=quantity, invoiced_quantity=quantity,
        remaining_quantity=0.0, open=False, applies_to_entry=None, cost_amount_expected=0.0,
        cost_amount_actual=0.0, sales_amount_actual=0.0,
    )


def item_ledger_entries(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=polars_schema(ItemLedgerEntry))


def gl(*rows: tuple) -> pl.DataFrame:
    """An input G/L: rows of (posting_date, account_no, amount, document_no)."""
    return pl.DataFrame(
        [
            {"entry_no": i + 1, "posting_date": r[0], "account_no": r[1], "amount": r[2],
             "document_no": r[3], "description": "input"}
            for i, r in enumerate(rows)
        ],
        schema={"entry_no": pl.Int64, "posting_date": pl.Date, "account_no": pl.String,
                "amount": pl.Float64, "document_no": pl.String, "description": pl.String},
    )
