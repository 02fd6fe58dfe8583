"""Output tables of posting and cost adjustment: item ledger, item application and value entries."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

from schemas.base import Code

ENTRY_TYPES = ["Purchase", "Sale", "Positive Adjmt.", "Negative Adjmt.", "Transfer"]
VALUE_ENTRY_TYPES = ["Direct Cost", "Indirect Cost", "Variance", "Revaluation", "Rounding"]


class ItemLedgerEntry(pa.DataFrameModel):
    """One row per quantity movement (R10-R12); amounts are sums of its value entries (R150)."""

    entry_no: int = pa.Field(unique=True, ge=1)
    transaction_no: int
    entry_type: Code = pa.Field(isin=ENTRY_TYPES)
    posting_date: dt.date
    item_no: Code
    location_code: Code
    variant_code: Code
    quantity: float
    invoiced_quantity: float
    remaining_quantity: float
    open: bool
    applies_to_entry: int = pa.Field(nullable=True)
    cost_amount_expected: float
    cost_amount_actual: float
    sales_amount_actual: float

    class Config:
        strict = True


class ItemApplicationEntry(pa.DataFrameModel):
    """Quantity applications and cost applications (R47)."""

    item_ledger_entry_no: int
    inbound_item_entry_no: int
    outbound_item_entry_no: int = pa.Field(nullable=True)
    quantity: float
    posting_date: dt.date
    cost_application: bool

    class Config:
        strict = True


class ValueEntry(pa.DataFrameModel):
    """Every cost posting and adjustment (R20-R33, R63, R76), with its G/L posting status (R124)."""

    entry_no: int = pa.Field(unique=True, ge=1)
    item_ledger_entry_no: int
    transaction_no: int = pa.Field(nullable=True)  # null for entries made by cost adjustment
    entry_type: Code = pa.Field(isin=VALUE_ENTRY_TYPES)
    item_ledger_entry_type: Code = pa.Field(isin=ENTRY_TYPES)
    posting_date: dt.date
    valuation_date: dt.date
    item_no: Code
    location_code: Code
    variant_code: Code
    inventory_posting_group: Code
    gen_bus_posting_group: Code
    gen_prod_posting_group: Code
    document_no: str
    item_ledger_entry_quantity: float
    valued_quantity: float
    invoiced_quantity: float
    cost_per_unit: float
    cost_amount_expected: float
    cost_amount_actual: float
    sales_amount_actual: float
    expected_cost: bool
    adjustment: bool
    applies_to_entry: int = pa.Field(nullable=True)
    item_charge_no: Code = pa.Field(nullable=True)
    valued_by_average_cost: bool
    cost_posted_to_gl: float
    expected_cost_posted_to_gl: float

    class Config:
        strict = True
