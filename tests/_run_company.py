"""A small FIFO company for the Dagster and CLI tests, with its hand-computed results."""

from __future__ import annotations

from pathlib import Path

from tests._ingest_company import company, tx

# Purchases 10 @ 5 and 5 @ 7, sales of 4 and 8, a freight charge of 10 on the first purchase.
# FIFO: the sales take the first purchase (50 + 10 charge) and 2 of the second (14); 3 @ 7 remain.
ROWS = (
    tx(1, "purchase", qty="10", cost="5", date="2020-01-05"),
    tx(2, "sale", qty="4", date="2020-01-20", sales="40"),
    tx(3, "purchase", qty="5", cost="7", date="2020-02-03"),
    tx(4, "sale", qty="8", date="2020-02-10", sales="90"),
    tx(5, "item_charge", amount="10", applies="1", date="2020-02-15"),
)
INVENTORY_VALUE = 21.0  # R132
REMAINING_QUANTITY = 3.0
COGS_TOTAL = 74.0  # 60 + 14
AS_OF_JANUARY = "2020-01-31"
# 6 left on Jan 31: 50 less the first sale at 24 (the charge adjusts the sale on its own date).
INVENTORY_VALUE_JANUARY = 26.0
# An external G/L missing the freight charge and with one stray posting (contract §2 gl_entries).
EXTERNAL_GL = """\
entry_no,posting_date,account_no,amount,document_no,description
1,2020-01-05,2130,50,D1,purchase
2,2020-01-20,2130,-20,D2,sale
3,2020-02-03,2130,35,D3,purchase
4,2020-02-10,2130,-46,D4,sale
5,2020-02-28,2130,3,J1,manual journal
"""


def small_company(path: Path, **files: str | None) -> Path:
    """Write the company to `path` (extra or replaced files as in `company`)."""
    return company(path, *ROWS, **files)


def bad_company(path: Path) -> Path:
    """The same company with an impossible date on CSV line 3 (transaction 2)."""
    rows = list(ROWS)
    rows[1] = rows[1].replace("2020-01-20", "2020-02-30")
    return company(path, *rows)
