"""An external general ledger: our own G/L with four planted reconciliation differences (R145).

The planted G/L is what a user would export from a G/L that drifted from the inventory subledger:
a manual journal on an inventory account (`direct_posting`), a document whose inventory posting
never reached the G/L (`unposted_cost`), a mistyped amount (`amount_mismatch`) and a document
posted in the following month (`posting_date_mismatch`). The listing says, per account, month and
document, the difference (subledger - G/L) reconciliation must find and its cause.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import polars as pl

from pipelines.generate.company import INVENTORY_ACCOUNTS
from schemas.base import conform
from schemas.inputs import GLEntry

DIRECT_POSTING_DOCUMENT = "GJ-0001"
BALANCING_ACCOUNT = "7270"  # Inventory Adjmt.: where a manual inventory correction lands
KIND_CAUSE = {
    "direct_posting": "direct_posting",
    "missing_posting": "unposted_cost",
    "amount_mismatch": "amount_mismatch",
    "posting_date_mismatch": "posting_date_mismatch",
}
# One row per reconciliation_variance row reconciliation must report (R145), plus the kind.
DISCREPANCY_SCHEMA = {
    "kind": pl.String, "document_no": pl.String, "account_no": pl.String,
    "posting_date": pl.Date, "period_end": pl.Date, "item_no": pl.String,
    "subledger_amount": pl.Float64, "gl_amount": pl.Float64, "difference": pl.Float64,
    "expected_cause": pl.String,
}


def plant_gl_discrepancies(
    gl_entries: pl.DataFrame, seed: int, inventory_accounts: Collection[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Plant one discrepancy of each kind in a G/L that matches the subledger (R146).

    Returns (external G/L as `gl_entries.csv` rows, listing). Listing rows: one per (kind,
    document, account, month) whose balance changed, with the `reconciliation_variance` figures
    reconciliation must report (R145): `subledger_amount` (the balance in `gl_entries`, which
    matches the subledger), `gl_amount` (in the planted G/L), their `difference`, the document's
    single `item_no` on that account (else null) and `expected_cause`. Documents are picked
    among those with all rows in one month, not the last one, on exactly one inventory account.
    Raises ValueError when the G/L has fewer than three such documents.
    """
    inventory = sorted(set(inventory_accounts or (a for a, _ in INVENTORY_ACCOUNTS.values())))
    rng = np.random.default_rng([seed, 7])
    gl = gl_entries.with_columns(
        pl.col("account_no").cast(pl.String), pl.col("document_no").cast(pl.String),
        period_end=pl.col("posting_date").dt.month_end())
    picked = _pick_documents(gl, inventory, rng)
    missing, mistyped, moved = picked.rows()
    planted = (
        gl.filter(~((pl.col("document_no") == missing[0]) & (pl.col("account_no") == missing[1])))
        .with_columns(
            amount=pl.when(pl.col("entry_no") == mistyped[2])
            .then((pl.col("amount") + float(rng.integers(1, 10))).round(2))
            .otherwise("amount"),
            posting_date=pl.when(pl.col("document_no") == moved[0])
            .then(pl.col("posting_date").dt.offset_by("1mo"))
            .otherwise("posting_date"),
        )
    )
    direct = _direct_posting(gl, inventory, rng)
    external = pl.concat([_external(planted), direct]).sort("entry_no")
    kinds = {missing[0]: "missing_posting", mistyped[0]: "amount_mismatch",
             moved[0]: "posting_date_mismatch", DIRECT_POSTING_DOCUMENT: "direct_posting"}
    return external, _listing(gl, external, kinds)


def _pick_documents(gl: pl.DataFrame, inventory: list[str], rng) -> pl.DataFrame:
    """(document_no, inventory account, first entry_no on it) for three distinct documents."""
    if gl.is_empty():
        raise ValueError("the G/L is empty: no document to plant discrepancies in")
    last_month = gl["period_end"].max()
    whole = gl.group_by("document_no").agg(
        months=pl.col("period_end").n_unique(), period_end=pl.col("period_end").max(),
        inventory_accounts=pl.col("account_no").filter(pl.col("account_no").is_in(inventory))
        .n_unique())
    cells = (
        gl.filter(pl.col("account_no").is_in(inventory))
        .group_by("document_no", "account_no")
        .agg(total=pl.col("amount").sum(), entry_no=pl.col("entry_no").min())
        .join(whole, on="document_no")
        .filter((pl.col("months") == 1) & (pl.col("period_end") < last_month)
                & (pl.col("inventory_accounts") == 1) & (pl.col("total").abs() >= 0.01)
                & (pl.col("document_no").fill_null("") != ""))
        .sort("document_no")
    )
    if cells.height < 3:
        raise ValueError(f"the G/L has {cells.height} documents to plant discrepancies in; "
                         "3 are needed: generate more transactions")
    return cells[rng.choice(cells.height, 3, replace=False)].select(
        "document_no", "account_no", "entry_no")


def _direct_posting(gl: pl.DataFrame, inventory: list[str], rng) -> pl.DataFrame:
    """A balanced manual journal: debit an inventory account, credit Inventory Adjmt."""
    date = gl["posting_date"].sort()[int(rng.integers(0, gl.height))]
    amount = float(rng.integers(100, 1000))
    account = "2130" if "2130" in inventory else inventory[0]
    first = int(gl["entry_no"].max()) + 1
    return _external(pl.DataFrame({
        "entry_no": [first, first + 1], "posting_date": [date, date],
        "account_no": [account, BALANCING_ACCOUNT], "amount": [amount, -amount],
        "document_no": [DIRECT_POSTING_DOCUMENT] * 2,
        "description": ["Manual inventory correction"] * 2,
    }))


def _external(gl: pl.DataFrame) -> pl.DataFrame:
    """G/L rows as a user's export holds them: the input's columns, and each entry's text."""
    return conform(gl, GLEntry).with_columns(gl.get_column("description").cast(pl.String))


def _listing(before: pl.DataFrame, after: pl.DataFrame, kinds: dict[str, str]) -> pl.DataFrame:
    """Per (document, account, month) of the planted documents: subledger vs G/L, when they differ.

    `before` is our own G/L (equal to the subledger, R146, with its item_no), `after` the
    planted one.
    """
    docs = list(kinds)
    cell = ["document_no", "account_no", "period_end"]
    month = pl.col("posting_date").dt.month_end().alias("period_end")
    items = (before.filter(pl.col("document_no").is_in(docs)).group_by("document_no", "account_no")
             .agg(pl.col("item_no").unique()).select(
                 "document_no", "account_no",
                 item_no=pl.when(pl.col("item_no").list.len() == 1)
                 .then(pl.col("item_no").list.first())))
    return (
        pl.concat([
            before.filter(pl.col("document_no").is_in(docs)).select(
                *cell[:2], month, "posting_date", subledger_amount="amount", gl_amount=0.0),
            after.filter(pl.col("document_no").is_in(docs)).select(
                *cell[:2], month, "posting_date", subledger_amount=0.0, gl_amount="amount"),
        ])
        .group_by(cell)
        .agg(pl.col("subledger_amount", "gl_amount").sum().round(2), pl.col("posting_date").min())
        .with_columns(difference=(pl.col("subledger_amount") - pl.col("gl_amount")).round(2))
        .filter(pl.col("difference").abs() >= 0.005)
        .join(items, on=cell[:2], how="left")
        .with_columns(kind=pl.col("document_no").replace_strict(kinds))
        .with_columns(expected_cause=pl.col("kind").replace_strict(KIND_CAUSE))
        .select(list(DISCREPANCY_SCHEMA))
        .cast(DISCREPANCY_SCHEMA)
        .sort("kind", "account_no", "period_end")
    )


def readme(listing: pl.DataFrame) -> str:
    """README.md of a generated folder: what was planted and what reconciliation must report."""
    lines = [
        "# Generated company",
        "",
        "Synthetic input folder written by `invrec generate`. `gl_entries.csv` is the G/L invrec "
        "posts itself for these transactions, with four planted discrepancies. Reconciling against "
        "it must report exactly these differences (`reconciliation_variance`, R145), one row per "
        "account, month and document:",
        "",
        *discrepancy_table(listing),
    ]
    return "\n".join(lines) + "\n"


def discrepancy_table(listing: pl.DataFrame) -> list[str]:
    """The listing as Markdown table lines."""
    lines = ["| kind | document_no | account_no | period_end | posting_date | item_no | "
             "subledger | G/L | difference | expected cause |",
             "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |"]
    return lines + [
        f"| {r['kind']} | {r['document_no']} | {r['account_no']} | {r['period_end']} | "
        f"{r['posting_date']} | {r['item_no'] or ''} | {r['subledger_amount']:.2f} | "
        f"{r['gl_amount']:.2f} | {r['difference']:.2f} | {r['expected_cause']} |"
        for r in listing.iter_rows(named=True)]
