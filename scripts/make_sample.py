"""Regenerate the bundled sample company in `data/sample/` (read by `invrec run` without --data).

    uv run python scripts/make_sample.py [--out DIR]

The generator with a fixed seed: about 2,000 transactions over six months, a few dozen items at
three locations, every transaction type and costing method the pipeline supports (so the sample
grows with them), and an external `gl_entries.csv` with four planted discrepancies, listed in
`README.md` and, machine-readable, in `planted.csv` (the `reconciliation_variance` rows a run must
report, plus their kind). `tests/test_sample.py` checks the folder is exactly what this writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.generate import GeneratedCompany, generate  # noqa: E402
from pipelines.generate.company import ACCOUNT_NAMES, INVENTORY_ACCOUNTS, START  # noqa: E402
from pipelines.generate.gl import discrepancy_table  # noqa: E402
from pipelines.ingest import read_input  # noqa: E402
from pipelines.pipeline import run_pipeline  # noqa: E402

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
SEED, TRANSACTIONS, ITEMS, MONTHS = 3, 2_000, 36, 6
PLANTED_COLUMNS = ["kind", "period_end", "account_no", "document_no", "item_no",
                   "subledger_amount", "gl_amount", "difference", "cause"]
KIND_TEXT = {
    "direct_posting": "a manual journal debits an inventory account and credits Inventory Adjmt. "
                      "with no item movement behind it: both accounts show it as `direct_posting`",
    "missing_posting": "the document's G/L entries on the inventory account never reached the "
                       "G/L (its other side did): `unposted_cost`",
    "amount_mismatch": "one G/L entry of the document was keyed with a different amount: "
                       "`amount_mismatch`",
    "posting_date_mismatch": "every G/L entry of the document was posted one month late: two "
                             "rows per account, cancelling over all time: `posting_date_mismatch`",
}


def make_sample(out_dir: Path = SAMPLE_DIR) -> GeneratedCompany:
    """Write the sample company, its README.md and planted.csv into `out_dir`."""
    result = generate(out_dir, TRANSACTIONS, items=ITEMS, seed=SEED, months=MONTHS)
    if result.discrepancies is None:
        raise SystemExit(f"no planted G/L: {'; '.join(result.notes)}")
    planted = result.discrepancies.rename({"expected_cause": "cause"}).select(PLANTED_COLUMNS)
    planted.write_csv(out_dir / "planted.csv")
    (out_dir / "README.md").write_text(_readme(result), encoding="utf-8")
    return result


def _readme(result: GeneratedCompany) -> str:
    inputs = read_input(result.out_dir)
    tx, items, out = inputs.transactions, inputs.items, run_pipeline(inputs)
    apps = out["item_application_entries"]
    into_negative = apps.filter(~pl.col("cost_application") & (
        pl.col("inbound_item_entry_no") > pl.col("outbound_item_entry_no")))
    closed = inputs.inventory_periods.filter("closed")["ending_date"]
    methods = ", ".join(f"{n} {m}" for m, n in items.group_by("costing_method").len().sort(
        "costing_method").rows())
    receipts = tx.filter(pl.col("type") == "purchase_receipt").join(
        tx.filter(pl.col("type") == "purchase_invoice").group_by("applies_to").agg(
            invoiced=pl.col("quantity").sum(), invoices=pl.len()),
        left_on="transaction_no", right_on="applies_to", how="left")
    returns = tx.filter(pl.col("type") == "sales_return")
    sent_back = tx.filter(pl.col("type") == "purchase_return")
    back = tx.sort("transaction_no").filter(
        pl.col("posting_date") < pl.col("posting_date").cum_max().shift(1))
    value = out["inventory_valuation"].select(
        pl.sum("cost_amount_actual") + pl.sum("cost_amount_expected")).item()
    locations = [loc for loc in INVENTORY_ACCOUNTS if loc]
    lines = [
        "# Sample company",
        "",
        "The company `invrec run` and `dagster dev` read when no input folder is given. Made by "
        "the generator, not by hand: `uv run python scripts/make_sample.py` rewrites this folder "
        f"(seed {SEED}, {TRANSACTIONS:,} transactions, {ITEMS} items, {MONTHS} months) and "
        "`tests/test_sample.py` checks that it is exactly what the script writes.",
        "",
        "## The company",
        "",
        f"- Posting dates {START} to {tx['posting_date'].max()}; one inventory period per month, "
        f"closed through {closed.max()}, so cost adjustments of those months are dated on the "
        "first open day (R111).",
        "- Locations " + ", ".join(f"{loc} (inventory {INVENTORY_ACCOUNTS[loc][0]}, interim "
                                   f"{INVENTORY_ACCOUNTS[loc][1]})" for loc in locations) + ".",
        f"- {items.height} items: {methods}; "
        f"{tx.filter(pl.col('variant_code') != '')['item_no'].n_unique()} sold in variants, "
        f"{items.filter((pl.col('indirect_cost_pct') > 0) | (pl.col('overhead_rate') > 0)).height}"
        " with indirect cost or overhead.",
        "- Settings in `settings.toml`: expected cost is posted to the G/L, amounts rounded to "
        "0.01.",
        f"- Inventory value after cost adjustment: {value:,.2f}.",
        "",
        "| transaction type | rows |",
        "| --- | ---: |",
        *(f"| {t} | {n} |" for t, n in result.types.items()),
        f"| total | {sum(result.types.values())} |",
        "",
        f"Of the {receipts.height} purchase receipts, "
        f"{receipts.filter(pl.col('invoiced') == pl.col('quantity')).height} are invoiced in full "
        f"({receipts.filter(pl.col('invoices') == 2).height} by two invoices), "
        f"{receipts.filter(pl.col('invoiced') < pl.col('quantity')).height} in part and "
        f"{receipts['invoiced'].null_count()} not yet, at prices a little off the receipt's. "
        f"{returns['applies_to'].is_not_null().sum()} sales returns reverse a sale "
        f"(`applies_to`), {returns['applies_to'].is_null().sum()} come back at their own cost. "
        f"{sent_back['applies_to'].is_not_null().sum()} purchase returns send part of a lot "
        "back to its vendor at that lot's cost (`applies_to`, R43), "
        f"{sent_back['applies_to'].is_null().sum()} take their cost by the costing method. "
        f"{into_negative['outbound_item_entry_no'].n_unique()} outbound entries were posted into "
        "negative inventory and closed by a later inbound entry (R44). "
        f"{back['type'].is_in(['purchase', 'purchase_receipt']).sum()} purchases and "
        f"{(back['type'] == 'sale').sum()} sales are dated before a transaction posted earlier: "
        "open receipts are taken, and open sales closed, by posting date (R41, R44).",
        "",
        "Accounts (`gl_accounts.csv`): " + ", ".join(
            f"{a} {n}" for a, n in ACCOUNT_NAMES.items()) + ".",
        "",
        "## Planted discrepancies",
        "",
        "`gl_entries.csv` is the G/L invrec posts for these transactions with four discrepancies "
        "planted in it. Reconciling against it reports exactly these rows in "
        "`reconciliation_variance` and nothing else (R145); `planted.csv` holds the same listing "
        "with `reconciliation_variance`'s columns.",
        "",
        *discrepancy_table(result.discrepancies),
        "",
        *(f"- {kind} ({', '.join(sorted(set(docs)))}): {KIND_TEXT[kind]}."
          for kind, docs in result.discrepancies.group_by("kind").agg("document_no")
          .sort("kind").rows()),
        "",
        "| file | rows |",
        "| --- | ---: |",
        *(f"| {name}.csv | {n} |" for name, n in sorted(result.rows.items())),
        f"| planted.csv | {result.discrepancies.height} |",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR, help="default: data/sample")
    result = make_sample(parser.parse_args(argv).out)
    print(f"wrote {result.rows['transactions']} transactions to {result.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
