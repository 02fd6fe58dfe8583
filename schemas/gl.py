"""Output tables of G/L posting, inventory valuation and reconciliation (contract §4)."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

from schemas.base import Code

VARIANCE_CAUSES = [
    "expected_cost_setup",
    "unposted_cost",
    "direct_posting",
    "amount_mismatch",
    "posting_date_mismatch",
]


class GLEntry(pa.DataFrameModel):
    """G/L entries posted from value entries (R120-R126); every value entry's rows sum to zero."""

    entry_no: int = pa.Field(unique=True, ge=1)
    posting_date: dt.date
    account_no: Code
    amount: float
    value_entry_no: int
    document_no: str
    item_no: Code
    location_code: Code
    description: Code  # few: kinds of cost times items (R123)

    class Config:
        strict = True


class InventoryValuation(pa.DataFrameModel):
    """Inventory as of a date by posting date (R130-R132)."""

    item_no: str
    location_code: str
    variant_code: str
    inventory_posting_group: str
    quantity: float
    cost_amount_actual: float
    cost_amount_expected: float

    class Config:
        strict = True
        unique = ["item_no", "location_code", "variant_code", "inventory_posting_group"]


class InventoryValuationPeriod(pa.DataFrameModel):
    """BC's Inventory Valuation report per calendar month (an extra table, not in the contract).

    `*_value` columns are actual cost (the report without expected cost); the `*_expected_cost`
    columns are the expected part, so the report with expected cost is their sum. Decreases are
    magnitudes: closing = opening + increases - decreases, for quantity, value and expected cost.
    """

    period_start: dt.date
    period_end: dt.date
    item_no: str
    location_code: str
    variant_code: str
    inventory_posting_group: str
    opening_quantity: float
    opening_value: float
    increases_quantity: float
    increases_value: float
    decreases_quantity: float
    decreases_value: float
    closing_quantity: float
    closing_value: float
    opening_expected_cost: float
    increases_expected_cost: float
    decreases_expected_cost: float
    closing_expected_cost: float

    class Config:
        strict = True
        unique = ["period_end", "item_no", "location_code", "variant_code",
                  "inventory_posting_group"]


class Reconciliation(pa.DataFrameModel):
    """Subledger vs G/L per account and calendar month, plus an all-time row (R140-R143)."""

    period_end: dt.date = pa.Field(nullable=True)  # null: all time
    account_no: str
    account_role: str
    inventory_value: float
    gl_balance: float
    difference: float

    class Config:
        strict = True
        unique = ["period_end", "account_no"]


class ReconciliationVariance(pa.DataFrameModel):
    """One row per explained difference (R145, R147); a month's rows sum to its difference."""

    period_end: dt.date
    account_no: str
    document_no: str = pa.Field(nullable=True)  # null: no document
    item_no: str = pa.Field(nullable=True)
    subledger_amount: float
    gl_amount: float
    difference: float
    cause: str = pa.Field(isin=VARIANCE_CAUSES)

    class Config:
        strict = True
        unique = ["period_end", "account_no", "document_no", "cause"]
