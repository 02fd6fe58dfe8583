"""Row-by-row reference of the reconciliation: costing.md §12 (R140-R147), checked by R156.

Layering. R142 maps every value entry to accounts: the amounts R120-R122 would post, `X` pairs
and `Xe` pairs whatever `expected_cost_posting_to_gl` says. That mapping (which account gets which
amount of which value entry) is taken from the pipeline's own G/L posting
(`pipelines.posting.post_inventory_cost_to_gl`), run on the value entries with their posted fields
at 0 ("posting runs once", R120) and `expected_cost_posting_to_gl = true`; per value entry its rows
come as R123 writes them: the `Xe` pair first, then the `X` pair. `subledger_postings` checks that
the rows are exactly those pairs (±Xe, ±X) and marks the `Xe` ones. Posting has its own
differential test. Everything after that mapping is this module's own reading of the rules: the
accounts and roles (R140), the months (R141), the sums (R142, R143), the causes step by step
(R145) and their details (R147), the all-time rows and the item_no.

Every amount is an exact `Fraction` (input floats read through their shortest repr, as
`tests.reference.arith` does); nothing is rounded except the figures handed out (R2, contract §4):
`inventory_value`, `gl_balance` (the month's or all time's sum of G/L amounts, rounded once) and
R145's `G(p)`, the document's G/L amount in a month. On a G/L whose amounts are multiples of the
precision, as validation demands, where they are rounded makes no difference; on a finer one
R143's rounded sum need not be the sum of R145's rounded parts, and R156 can fail.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from tests.reference.arith import ZERO, exact, round_to

# R140: the roles, in the order their names are joined; (role, setup table, column)
ROLES = (
    ("inventory", "inventory_posting_setup", "inventory_account"),
    ("inventory_interim", "inventory_posting_setup", "inventory_account_interim"),
    ("invt_accrual_interim", "general_posting_setup", "invt_accrual_acc_interim"),
    ("cogs", "general_posting_setup", "cogs_account"),
    ("cogs_interim", "general_posting_setup", "cogs_account_interim"),
    ("inventory_adjmt", "general_posting_setup", "inventory_adjmt_account"),
    ("direct_cost_applied", "general_posting_setup", "direct_cost_applied_account"),
    ("overhead_applied", "general_posting_setup", "overhead_applied_account"),
    ("purchase_variance", "general_posting_setup", "purchase_variance_account"),
)
EXPECTED_COST_SETUP = "expected_cost_setup"
UNPOSTED_COST = "unposted_cost"
DIRECT_POSTING = "direct_posting"
AMOUNT_MISMATCH = "amount_mismatch"
POSTING_DATE_MISMATCH = "posting_date_mismatch"


@dataclass(frozen=True)
class Posting:
    """One amount R120-R122 would post for a value entry (one row of an X or Xe pair)."""

    value_entry_no: int
    posting_date: dt.date  # the value entry's (R123)
    document_no: str | None
    item_no: str
    account_no: str
    amount: Fraction
    expected: bool  # from an Xe pair


@dataclass(frozen=True)
class GLRow:
    posting_date: dt.date
    account_no: str
    amount: Fraction
    document_no: str | None  # R147: null and "" are the same document, "no document"


def rows_of(table: pl.DataFrame | Iterable[dict] | None) -> list[dict]:
    if table is None:
        return []
    if isinstance(table, pl.DataFrame):
        return table.to_dicts()
    return [dict(r) for r in table]


def document(value: str | None) -> str | None:
    """R147: null and "" are one document, "no document"."""
    return value if value else None


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """R141: every calendar month from the month of `first` to the month of `last`, by its end."""
    months, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append(month_end(dt.date(y, m, 1)))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def accounts_and_roles(inventory_posting_setup, general_posting_setup) -> dict[str, str]:
    """R140: every account number in the two setups, its roles joined by "," in ROLES order."""
    tables = {"inventory_posting_setup": rows_of(inventory_posting_setup),
              "general_posting_setup": rows_of(general_posting_setup)}
    roles: dict[str, list[str]] = {}
    for role, table, column in ROLES:
        for row in tables[table]:
            account = row[column]
            if account is None or account == "":  # a blank field names no account
                continue
            named = roles.setdefault(account, [])
            if role not in named:
                named.append(role)
    return {account: ",".join(named) for account, named in roles.items()}


def subledger_postings(value_entries, inventory_posting_setup,
                       general_posting_setup) -> list[Posting]:
    """R142's mapping (the layering of the module docstring): per value entry the Xe pair, then
    the X pair, each row one Posting; `X = cost_amount_actual`, `Xe = cost_amount_expected` as if
    nothing had been posted yet (R120), Xe whatever `expected_cost_posting_to_gl` says."""
    from pipelines.posting import post_inventory_cost_to_gl
    from pipelines.settings import Settings

    frame = value_entries if isinstance(value_entries, pl.DataFrame) else None
    if frame is None:
        from schemas.base import polars_schema
        from schemas.ledger import ValueEntry

        frame = pl.DataFrame(rows_of(value_entries), schema=polars_schema(ValueEntry))
    unposted = frame.with_columns(cost_posted_to_gl=pl.lit(0.0),
                                  expected_cost_posted_to_gl=pl.lit(0.0))
    gl, _ = post_inventory_cost_to_gl(unposted, inventory_posting_setup, general_posting_setup,
                                      Settings(expected_cost_posting_to_gl=True))
    by_entry: dict[int, list[dict]] = {}
    for row in sorted(gl.to_dicts(), key=lambda r: r["entry_no"]):
        by_entry.setdefault(row["value_entry_no"], []).append(row)

    postings: list[Posting] = []
    for ve in unposted.to_dicts():
        x, xe = exact(ve["cost_amount_actual"]), exact(ve["cost_amount_expected"])
        pairs = [(xe, True)] * (xe != 0) + [(x, False)] * (x != 0)  # R123: Xe pair, then X
        rows = by_entry.pop(ve["entry_no"], [])
        want = [a for amount, _ in pairs for a in (amount, -amount)]
        assert [exact(r["amount"]) for r in rows] == want, (ve, rows)  # R120: +A, then -A
        for k, row in enumerate(rows):
            postings.append(Posting(
                value_entry_no=ve["entry_no"], posting_date=ve["posting_date"],
                document_no=document(ve["document_no"]), item_no=ve["item_no"],
                account_no=row["account_no"], amount=want[k], expected=pairs[k // 2][1]))
    assert not by_entry, by_entry  # no G/L row without its value entry
    return postings


def reconcile(value_entries, gl_entries, inventory_posting_setup, general_posting_setup,
              settings) -> tuple[list[dict], list[dict]]:
    """R140-R147: the `reconciliation` and `reconciliation_variance` rows, amounts as exact
    multiples of `amount_rounding_precision` (Fractions), in no particular order."""
    p = exact(settings.amount_rounding_precision)

    def zero(x: Fraction) -> bool:  # R147: below half a rounding unit is zero, in every step
        return abs(x) < p / 2

    def money(x: Fraction) -> Fraction:  # R2, contract §4: the figures handed out
        return round_to(x, p)

    roles = accounts_and_roles(inventory_posting_setup, general_posting_setup)  # R140
    ves = rows_of(value_entries)
    postings = [m for m in subledger_postings(value_entries, inventory_posting_setup,
                                              general_posting_setup)
                if m.account_no in roles]
    # R147: rows on accounts outside the setups are ignored (and do not widen R141's months)
    gl = [GLRow(r["posting_date"], r["account_no"], exact(r["amount"]),
                document(r["document_no"]))
          for r in rows_of(gl_entries) if r["account_no"] in roles]

    # R141: months from the earliest to the latest posting date of value entries and G/L rows
    dates = [v["posting_date"] for v in ves] + [g.posting_date for g in gl]
    months = months_between(min(dates), max(dates)) if dates else []

    reconciliation: list[dict] = []
    variance: list[dict] = []
    for account, role in roles.items():
        mine = [m for m in postings if m.account_no == account]
        theirs = [g for g in gl if g.account_no == account]
        for period_end in [*months, None]:  # R141: each month, then all time (null)
            def within(day: dt.date, period_end=period_end) -> bool:
                return period_end is None or month_end(day) == period_end

            s = sum((m.amount for m in mine if within(m.posting_date)), ZERO)  # R142
            g = sum((r.amount for r in theirs if within(r.posting_date)), ZERO)  # R143
            inventory_value, gl_balance = money(s), money(g)
            reconciliation.append({
                "period_end": period_end, "account_no": account, "account_role": role,
                "inventory_value": inventory_value, "gl_balance": gl_balance,
                "difference": inventory_value - gl_balance,  # R143
            })
        variance += explain_account(account, mine, theirs, months,
                                    settings.expected_cost_posting_to_gl, zero, money)
    return reconciliation, variance


def explain_account(account: str, mine: Sequence[Posting], theirs: Sequence[GLRow],
                    months: Sequence[dt.date], expected_on: bool, zero, money) -> list[dict]:
    """R145 on one account: per document, per month."""
    documents = {m.document_no for m in mine} | {r.document_no for r in theirs}
    rows: list[dict] = []
    for doc in sorted(documents, key=lambda d: (d is not None, d or "")):
        # R147: mapped when some value entry of the document has a non-zero amount here (Xe pairs
        # count too); a G/L row without a document never matches a value entry.
        doc_mine = [m for m in mine if m.document_no == doc and doc is not None]
        doc_theirs = [r for r in theirs if r.document_no == doc]
        mapped = any(not zero(m.amount) for m in doc_mine)
        items = {m.item_no for m in doc_mine if not zero(m.amount)}
        item_no = next(iter(items)) if len(items) == 1 else None  # R145: exactly one item

        def row(period_end, subledger, gl_amount, cause, doc=doc, item_no=item_no):
            sub, gla = money(subledger), money(gl_amount)
            return {"period_end": period_end, "account_no": account, "document_no": doc,
                    "item_no": item_no, "subledger_amount": sub, "gl_amount": gla,
                    "difference": sub - gla, "cause": cause}

        s, s_e, g = {}, {}, {}
        for period_end in months:
            in_month = [m for m in doc_mine if month_end(m.posting_date) == period_end]
            s[period_end] = sum((m.amount for m in in_month), ZERO)  # S(p), R142
            s_e[period_end] = sum((m.amount for m in in_month if m.expected), ZERO)  # S_e(p)
            # G(p): the document's G/L amount in the month, an amount of money (R2)
            g[period_end] = money(sum((r.amount for r in doc_theirs
                                       if month_end(r.posting_date) == period_end), ZERO))

        # step 1: expected cost not posted, its Xe part explained; continue with S' = S - S_e
        s_ = dict(s)
        if not expected_on:
            for period_end in months:
                if not zero(s_e[period_end]):
                    rows.append(row(period_end, s_e[period_end], ZERO, EXPECTED_COST_SETUP))
                s_[period_end] = s[period_end] - s_e[period_end]

        if mapped and not doc_theirs:
            # step 2: mapped here, but no G/L row at all on the account with this document
            rows += [row(pe, s_[pe], ZERO, UNPOSTED_COST) for pe in months if not zero(s_[pe])]
        elif not mapped:
            # step 3: G/L rows whose document no value entry maps to this account (or none)
            rows += [row(pe, ZERO, g[pe], DIRECT_POSTING) for pe in months if not zero(g[pe])]
        else:
            # step 4: both sides have the document; by its totals over all months the cause
            total_s, total_g = sum(s_.values(), ZERO), sum(g.values(), ZERO)
            cause = POSTING_DATE_MISMATCH if zero(total_s - total_g) else AMOUNT_MISMATCH
            rows += [row(pe, s_[pe], g[pe], cause) for pe in months
                     if not zero(s_[pe] - g[pe])]
    return rows
