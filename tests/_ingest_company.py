"""A minimal valid input folder, written as CSV strings, for the ingest and validation tests."""

from __future__ import annotations

from pathlib import Path

ITEMS = """\
item_no,description,costing_method,standard_cost,indirect_cost_pct,overhead_rate,inventory_posting_group,gen_prod_posting_group
A,Item A,FIFO,,,,RESALE,RETAIL
S,Standard item,STANDARD,15,,,RESALE,RETAIL
SP,Specific item,SPECIFIC,,,,RESALE,RETAIL
"""
TX_HEADER = (
    "transaction_no,posting_date,type,item_no,location_code,to_location_code,variant_code,"
    "quantity,unit_cost,amount,sales_amount,applies_to,item_charge_no,document_no,"
    "gen_bus_posting_group"
)
INVENTORY_POSTING_SETUP = """\
location_code,inventory_posting_group,inventory_account,inventory_account_interim
,RESALE,2130,2131
BLUE,RESALE,2130,2131
"""
GENERAL_POSTING_SETUP = """\
gen_bus_posting_group,gen_prod_posting_group,cogs_account,cogs_account_interim,inventory_adjmt_account,direct_cost_applied_account,overhead_applied_account,purchase_variance_account,invt_accrual_acc_interim
DOMESTIC,RETAIL,7290,7295,7270,7291,7292,7293,5530
"""


def tx(no, typ, item="A", qty="1", cost="", applies="", loc="", to="", var="", amount="",
       date="2020-01-01", doc="D", sales=""):
    """One transactions.csv line; `doc="D"` becomes D<no>."""
    doc = f"D{no}" if doc == "D" else doc
    return ",".join(str(v) for v in (no, date, typ, item, loc, to, var, qty, cost, amount, sales,
                                     applies, "", doc, "DOMESTIC"))


def company(path: Path, *rows: str, **files: str | None) -> Path:
    """Write the folder: the default tables, `rows` as transactions, `files` overriding/adding
    (`name.ext=text`, or None to leave a table out)."""
    tables = {
        "items.csv": ITEMS,
        "transactions.csv": "\n".join([TX_HEADER, *rows]) + "\n",
        "inventory_posting_setup.csv": INVENTORY_POSTING_SETUP,
        "general_posting_setup.csv": GENERAL_POSTING_SETUP,
    }
    tables.update({k.replace("__", "."): v for k, v in files.items()})
    path.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        if text is not None:
            (path / name).write_text(text, encoding="utf-8", newline="")
    return path


def problems_of(problems) -> list[tuple]:
    return [(p.table, p.row, p.column, p.value, p.rule) for p in problems]
