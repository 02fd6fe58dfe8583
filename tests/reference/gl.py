"""Row-by-row reference of posting to the G/L (R120-R126) and inventory valuation (R130-R131).

Written from costing.md §10-§11 alone, for the differential test `tests/test_differential_gl.py`.
Plain Python over lists of dicts (the columns of `schemas.ledger.ValueEntry`, `ItemLedgerEntry`
and of the two posting setups), one value entry at a time, amounts as exact `Fraction`s (input
floats through their shortest repr, `arith.exact`). Nothing here is rounded except where a rule
says so.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from pipelines.errors import InputError, Problem
from tests.reference.arith import ZERO, exact, round_to

# Account roles: the setup columns. Inventory and Inventory (Interim) come from
# inventory_posting_setup, every other role from general_posting_setup (R122).
INVENTORY = "inventory_account"
INVENTORY_INTERIM = "inventory_account_interim"
INVENTORY_ROLES = (INVENTORY, INVENTORY_INTERIM)
GENERAL_ROLES = ("cogs_account", "cogs_account_interim", "inventory_adjmt_account",
                 "direct_cost_applied_account", "overhead_applied_account",
                 "purchase_variance_account", "invt_accrual_acc_interim")
INVENTORY_KEY = ("location_code", "inventory_posting_group")
GENERAL_KEY = ("gen_bus_posting_group", "gen_prod_posting_group")

ADJMT = (INVENTORY, "inventory_adjmt_account")
# R121: (item ledger entry type, value entry type) -> (pair for Xe, pair for X); a pair is
# (account, balancing account); None where the table has "–".
R121 = {
    ("Purchase", "Direct Cost"): ((INVENTORY_INTERIM, "invt_accrual_acc_interim"),
                                  (INVENTORY, "direct_cost_applied_account")),
    ("Purchase", "Indirect Cost"): (None, (INVENTORY, "overhead_applied_account")),
    ("Purchase", "Variance"): (None, (INVENTORY, "purchase_variance_account")),
    ("Sale", "Direct Cost"): ((INVENTORY_INTERIM, "cogs_account_interim"),
                              (INVENTORY, "cogs_account")),
    ("Positive Adjmt.", "Direct Cost"): (None, ADJMT),
    ("Negative Adjmt.", "Direct Cost"): (None, ADJMT),
    ("Transfer", "Direct Cost"): (None, ADJMT),
}
ANY_ENTRY = ("Revaluation", "Rounding")  # R121: "any | Revaluation, Rounding": Inventory / Adjmt.


def pairs_of(ile_type: str, ve_type: str) -> tuple[tuple | None, tuple | None]:
    """R121: the (Xe pair, X pair) of a value entry."""
    if ve_type in ANY_ENTRY:
        return None, ADJMT
    if (ile_type, ve_type) not in R121:
        # R121: "combinations not in the table cannot arise from valid input"
        raise AssertionError(f"R121: no accounts for {ile_type} / {ve_type}")
    return R121[(ile_type, ve_type)]


def _blank(account: object) -> bool:
    return account is None or (isinstance(account, str) and account.strip() == "")


def _by_key(rows: list[dict], key: tuple[str, str]) -> dict[tuple, dict]:
    table: dict[tuple, dict] = {}
    for row in rows:
        k = tuple(row[c] if row[c] is not None else "" for c in key)
        assert k not in table, f"two posting setup rows for {k}"
        table[k] = row
    return table


def post_to_gl(value_entries_rows: list[dict], inventory_posting_setup_rows: list[dict],
               general_posting_setup_rows: list[dict], settings) -> tuple[list[dict], list[dict]]:
    """Post Inventory Cost to G/L, one value entry at a time (R120-R125).

    Returns (gl_entries, value_entries_posted): G/L rows with exact amounts, and a copy of every
    value entry with its posted fields set (R124). Raises `InputError` naming every combination
    whose setup row is missing or whose needed account is blank (R122, R170.12)."""
    inventory_setup = _by_key(inventory_posting_setup_rows, INVENTORY_KEY)
    general_setup = _by_key(general_posting_setup_rows, GENERAL_KEY)
    expected_on = settings.expected_cost_posting_to_gl
    gl: list[dict] = []
    posted: list[dict] = []
    # R122: (table, combination, column or None for the row) -> transactions needing it
    problems: dict[tuple, set] = {}

    def account(role: str, v: dict) -> str | None:
        """R122: the account of `role` for value entry `v`; a missing row or blank account is
        recorded as a problem (the run goes on, so that every problem is named)."""
        if role in INVENTORY_ROLES:
            table, key, setup = "inventory_posting_setup", INVENTORY_KEY, inventory_setup
        else:
            table, key, setup = "general_posting_setup", GENERAL_KEY, general_setup
        combination = tuple(v[c] if v[c] is not None else "" for c in key)
        row = setup.get(combination)
        if row is None or _blank(row.get(role)):
            column = None if row is None else role
            problems.setdefault((table, key, combination, column), set()).add(
                v["transaction_no"] if v["transaction_no"] is not None
                else f"value entry {v['entry_no']}")
            return None
        return row[role]

    for v in sorted(value_entries_rows, key=lambda r: r["entry_no"]):  # R123: value entry order
        actual, expected = exact(v["cost_amount_actual"]), exact(v["cost_amount_expected"])
        # R120: what is not yet in the G/L (0 posted before the one run)
        x = actual - exact(v["cost_posted_to_gl"])
        xe = expected - exact(v["expected_cost_posted_to_gl"]) if expected_on else ZERO  # R125
        xe_pair, x_pair = pairs_of(v["item_ledger_entry_type"], v["entry_type"])
        amounts = []  # R123: the Xe pair first, then the X pair
        if xe != 0:  # R120: a pair for each non-zero amount only
            if xe_pair is None:
                raise AssertionError(f"R121: no Xe pair for {v['item_ledger_entry_type']} / "
                                     f"{v['entry_type']} (value entry {v['entry_no']})")
            amounts.append((xe_pair, xe))
        if x != 0:
            amounts.append((x_pair, x))
        for (account_role, balancing_role), amount in amounts:
            # R120: the account gets +amount, the balancing account -amount (account row first)
            for role, signed in ((account_role, amount), (balancing_role, -amount)):
                gl.append({
                    "entry_no": len(gl) + 1,  # R123
                    "posting_date": v["posting_date"],  # R123: adjustments at their moved date
                    "account_no": account(role, v),  # R122
                    "amount": signed,
                    "value_entry_no": v["entry_no"],
                    "document_no": v["document_no"],
                    "item_no": v["item_no"],
                    "location_code": v["location_code"],
                    "description": f"{v['entry_type']} {v['item_no']} on {v['posting_date']}",
                })
        # R124: after the run everything actual is posted; expected only when it is posted
        posted.append(v | {"cost_posted_to_gl": actual,
                           "expected_cost_posted_to_gl": expected if expected_on else ZERO})

    if problems:  # R122: an input error naming each combination and the rows that need it
        raise InputError([
            Problem(table, None, column or ", ".join(key), ", ".join(combination),
                    f"R122: {'blank ' + column if column else 'missing posting setup'} for "
                    f"({', '.join(key)}) = {combination}, needed by transaction_no "
                    f"{sorted(needed, key=str)}")
            for (table, key, combination, column), needed in sorted(
                problems.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][3] or ""))
        ])
    return gl, posted


def balance_by_value_entry(gl_rows: list[dict]) -> dict[int, Fraction]:
    """R126: the sum of each value entry's G/L entries (all zero when balanced)."""
    sums: dict[int, Fraction] = {}
    for row in gl_rows:
        sums[row["value_entry_no"]] = sums.get(row["value_entry_no"], ZERO) + exact(row["amount"])
    return sums


VALUATION_KEY = ("item_no", "location_code", "variant_code", "inventory_posting_group")


def default_as_of(ve_rows: list[dict]) -> dt.date | None:
    """R131: the latest posting date of any value entry, adjustment and Rounding entries
    included (None when there is none)."""
    return max((v["posting_date"] for v in ve_rows), default=None)


def valuation(ile_rows: list[dict], ve_rows: list[dict], as_of: dt.date | None = None,
              precision: Fraction | float = Fraction(1, 100)) -> list[dict]:
    """Inventory valuation as of `as_of` (R130; default R131): one row per (item_no,
    location_code, variant_code, inventory_posting_group) with exact quantity and amounts; rows
    whose three figures are all zero are left out (R130 allows it)."""
    precision = exact(precision)
    if as_of is None:
        as_of = default_as_of(ve_rows)
        if as_of is None:
            return []
    # An item ledger entry has no posting group of its own: it is its value entries' (R20: the
    # item's), the same on all of them.
    group_of: dict[int, set] = {}
    for v in ve_rows:
        group_of.setdefault(v["item_ledger_entry_no"], set()).add(v["inventory_posting_group"])
    rows: dict[tuple, dict] = {}

    def row(key: tuple) -> dict:
        if key not in rows:
            rows[key] = dict(zip(VALUATION_KEY, key, strict=True)) | {
                "quantity": ZERO, "cost_amount_actual": ZERO, "cost_amount_expected": ZERO}
        return rows[key]

    for e in ile_rows:  # R130: quantity by the item ledger entries' posting dates
        if e["posting_date"] > as_of:
            continue
        groups = group_of.get(e["entry_no"], set())
        assert len(groups) == 1, f"item ledger entry {e['entry_no']}: posting groups {groups}"
        key = (e["item_no"], e["location_code"], e["variant_code"], next(iter(groups)))
        row(key)["quantity"] += exact(e["quantity"])
    for v in ve_rows:  # R130: amounts by the value entries' own (possibly moved) posting dates
        if v["posting_date"] > as_of:
            continue
        r = row(tuple(v[c] for c in VALUATION_KEY))
        r["cost_amount_actual"] += exact(v["cost_amount_actual"])
        r["cost_amount_expected"] += exact(v["cost_amount_expected"])
    result = []
    for key in sorted(rows):
        r = rows[key]
        # R2: stored amounts are rounded and never re-rounded, so their sums are multiples of
        # the unit already; rounding here only states that the table holds such amounts.
        r["cost_amount_actual"] = round_to(r["cost_amount_actual"], precision)
        r["cost_amount_expected"] = round_to(r["cost_amount_expected"], precision)
        if r["quantity"] or r["cost_amount_actual"] or r["cost_amount_expected"]:
            result.append(r)
    return result
