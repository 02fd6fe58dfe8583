"""Input tables of the contract (§2): one model per table, the only definition of their columns.

Conventions read by `pipelines.ingest`: a column may be absent from the file when its field has
`required=False` (the contract's optional columns, and those only some rows use, whose row rules
say which) or a `default` (the default fills blanks); every other column is required, even where
some rows leave it blank (quantity, unit_cost). Row-level
rules that involve several columns are `dataframe_check`s listed in `ROW_RULES`, which names the
column and the rule text a failure is reported under.
"""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa
import polars as pl

COSTING_METHODS = ["FIFO", "LIFO", "AVERAGE", "STANDARD", "SPECIFIC"]
TRANSACTION_TYPES = [
    "purchase",
    "purchase_receipt",
    "purchase_invoice",
    "purchase_return",
    "sale",
    "sales_shipment",
    "sales_invoice",
    "sales_return",
    "positive_adjustment",
    "negative_adjustment",
    "transfer",
    "item_charge",
    "revaluation",
]
# R170.13: item_charge and revaluation rows do not use `quantity`.
QUANTITY_FREE_TYPES = ["item_charge", "revaluation"]
# Quantities are counted in exact millionths (BC posts them to 5 decimals): a quantity with more
# decimals than this would be rounded, so it is an input error (within float noise of a
# millionth it is that millionth: 3.0999999999999996 is 3.1).
QUANTITY_DECIMALS = 6
# The largest quantity of one row: counted in millionths in 64-bit integers, a quantity of 10^13
# did not fit; a billion keeps room for the running totals of a key's entries.
MAX_QUANTITY = 1_000_000_000

# dataframe_check name -> (column reported, rule text)
ROW_RULES: dict[str, tuple[str, str]] = {
    "standard_cost_for_standard": ("standard_cost", "required for STANDARD items (R160)"),
    "quantity_positive": ("quantity", "must be > 0 (R170.13: except item_charge, revaluation)"),
    "quantity_precision": ("quantity", f"more than {QUANTITY_DECIMALS} decimal places "
                                       "(quantities are counted in millionths)"),
    "amount_for_item_charge": ("amount", "required for item_charge (R30)"),
}


class Item(pa.DataFrameModel):
    """items.csv: costing method and posting groups per item (R24, R21)."""

    item_no: str = pa.Field(unique=True)
    description: str = pa.Field(nullable=True, required=False)
    costing_method: str = pa.Field(isin=COSTING_METHODS)
    standard_cost: float = pa.Field(nullable=True, required=False, ge=0)
    indirect_cost_pct: float = pa.Field(default=0.0, ge=0)
    overhead_rate: float = pa.Field(default=0.0, ge=0)
    inventory_posting_group: str
    gen_prod_posting_group: str

    @pa.dataframe_check
    def standard_cost_for_standard(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("costing_method") != "STANDARD").fill_null(True)
            | pl.col("standard_cost").is_not_null()
        )


class Transaction(pa.DataFrameModel):
    """transactions.csv: one posted document line, posted in transaction_no order (R10, R170.14)."""

    transaction_no: int = pa.Field(unique=True)
    posting_date: dt.date
    type: str = pa.Field(isin=TRANSACTION_TYPES)
    item_no: str
    location_code: str = pa.Field(default="")
    # a transfer's to-location; like location_code, blank is the blank location "" (costing.md's
    # R44a example transfers back to it): only a transfer to its own location is an error (R160)
    to_location_code: str = pa.Field(default="")
    variant_code: str = pa.Field(default="")
    quantity: float = pa.Field(nullable=True, le=MAX_QUANTITY)
    unit_cost: float = pa.Field(nullable=True, ge=0)
    amount: float = pa.Field(nullable=True, required=False)
    sales_amount: float = pa.Field(nullable=True, required=False)
    applies_to: int = pa.Field(nullable=True, required=False)
    item_charge_no: str = pa.Field(nullable=True, required=False)
    document_no: str
    gen_bus_posting_group: str

    @pa.dataframe_check
    def quantity_positive(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("quantity") > 0).fill_null(False)
            | pl.col("type").is_in(QUANTITY_FREE_TYPES).fill_null(True)
        )

    @pa.dataframe_check
    def quantity_precision(cls, data) -> pl.LazyFrame:
        units = pl.col("quantity") * 10**QUANTITY_DECIMALS
        return data.lazyframe.select(
            # float noise only: 10^-9 is no millionth but within 10^-3 of none (it became 0)
            ((units - units.round()).abs() <= 1e-6 + units.abs() * 1e-15).fill_null(True)
            | pl.col("type").is_in(QUANTITY_FREE_TYPES).fill_null(True)
        )

    @pa.dataframe_check
    def amount_for_item_charge(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("type") != "item_charge").fill_null(True) | pl.col("amount").is_not_null()
        )


class InventoryPostingSetup(pa.DataFrameModel):
    """inventory_posting_setup.csv: inventory accounts per location and group (R122)."""

    location_code: str = pa.Field(default="")
    inventory_posting_group: str
    # an account may be blank until a value entry needs it (R122, R170.12: the interim ones
    # while expected cost is not posted; overhead, variance for a company without them)
    inventory_account: str = pa.Field(nullable=True)
    inventory_account_interim: str = pa.Field(nullable=True)

    class Config:
        unique = ["location_code", "inventory_posting_group"]


class GeneralPostingSetup(pa.DataFrameModel):
    """general_posting_setup.csv: P&L and interim accounts per business/product group (R122)."""

    gen_bus_posting_group: str
    gen_prod_posting_group: str
    # blank until a value entry needs it (R122), as in InventoryPostingSetup
    cogs_account: str = pa.Field(nullable=True)
    cogs_account_interim: str = pa.Field(nullable=True)
    inventory_adjmt_account: str = pa.Field(nullable=True)
    direct_cost_applied_account: str = pa.Field(nullable=True)
    overhead_applied_account: str = pa.Field(nullable=True)
    purchase_variance_account: str = pa.Field(nullable=True)
    invt_accrual_acc_interim: str = pa.Field(nullable=True)

    class Config:
        unique = ["gen_bus_posting_group", "gen_prod_posting_group"]


class GLAccount(pa.DataFrameModel):
    """gl_accounts.csv (optional): account names for reports."""

    account_no: str = pa.Field(unique=True)
    name: str = pa.Field(nullable=True, required=False)


class InventoryPeriod(pa.DataFrameModel):
    """inventory_periods.csv (optional): closed periods move adjustment dates (R110)."""

    ending_date: dt.date = pa.Field(unique=True)
    closed: bool


class AccountingPeriod(pa.DataFrameModel):
    """accounting_periods.csv (optional): average cost periods `accounting_period` (R91)."""

    starting_date: dt.date = pa.Field(unique=True)


class GLEntry(pa.DataFrameModel):
    """gl_entries.csv (optional): the general ledger reconciled against (R143, R147).

    The contract's `description` (the entry's text) is accepted like any extra column and not
    kept: reconciliation reads none of it, and at 10M transactions its 30M texts held through
    costing were 0.6 GB of the peak."""

    entry_no: int = pa.Field(unique=True)
    posting_date: dt.date
    account_no: str
    amount: float
    # blank: a direct posting (R147); the column itself is required, lest every row be one
    document_no: str = pa.Field(nullable=True)


def _unchecked(name: str, model: type[pa.DataFrameModel], **extra: type) -> type[pa.DataFrameModel]:
    """A model with `model`'s columns (all nullable, no checks) plus `extra` columns."""
    annotations = {**model.__annotations__, **extra}
    fields = {col: pa.Field(nullable=True) for col in model.__annotations__}
    return type(name, (pa.DataFrameModel,), {"__annotations__": annotations, **fields,
                                            "__doc__": f"{model.__name__} rows set aside."})


# Rows quarantined by `read_input(on_bad_rows="quarantine")`: the input row and why (contract §4).
# Values that could not be read as their type are null here; `reason` quotes them.
RejectedTransaction = _unchecked("RejectedTransaction", Transaction, reason=str)
