"""Posting to the G/L (R120-R126) and inventory valuation (R130-R131) against the row-by-row
reference `tests.reference.gl`, on random histories costed by the costing stage.

Each example draws a history (the first slice, the wide mix, average items; dates in order or
back-dated), gives its items random posting groups, draws the settings (expected cost posted or
not, `amount_rounding_precision` 0.01, 0.05 or 1) and posting setups (an account of its own for
every combination so a wrong lookup shows, shared accounts, a few accounts drawn from a small
pool, blank interim accounts, now and then a missing setup row), costs it with `cost_ledger`, and
compares, to the rounding unit:
- every G/L row: entry_no, posting_date, account_no, amount, value_entry_no, document_no,
  item_no, location_code (description is free text: a non-empty string); R126 on both sides;
- the posted value entries: `cost_posted_to_gl`, `expected_cost_posted_to_gl` (R124), every
  other column untouched;
- an input error (R122, R170.12) on one side exactly when on the other, the pipeline's naming
  every setup table and combination the reference names;
- the valuation as of the default date (R131) and as of a random date (R130), row by row with a
  missing row read as zeros; R157 on the default valuation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from pipelines.errors import InputError
from pipelines.posting import post_inventory_cost_to_gl
from pipelines.settings import Settings
from pipelines.valuation import inventory_valuation
from schemas.base import columns
from schemas.gl import GLEntry, InventoryValuation
from schemas.ledger import ValueEntry
from tests.reference.arith import ZERO, exact, round_to
from tests.reference.cases import ITEM_DTYPES
from tests.reference.gl import (
    GENERAL_KEY,
    GENERAL_ROLES,
    INVENTORY_KEY,
    INVENTORY_ROLES,
    VALUATION_KEY,
    balance_by_value_entry,
    default_as_of,
    post_to_gl,
    valuation,
)
from tests.strategies import WIDE_LOCATIONS, History, costed_or_none, histories

EXAMPLES = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
POSTING_EXAMPLES = settings(EXAMPLES, max_examples=200)

# Posting groups the items are given (the strategies draw RESALE / RETAIL only) and business
# groups the strategies draw: every combination below may be needed.
INVENTORY_GROUPS = ("RESALE", "RAW")
PRODUCT_GROUPS = ("RETAIL", "MISC")
BUSINESS_GROUPS = ("DOMESTIC", "EXPORT")
INTERIM_ROLES = ("inventory_account_interim", "cogs_account_interim", "invt_accrual_acc_interim")
BASE_ACCOUNTS = {"inventory_account": "2130", "inventory_account_interim": "2131",
                 "cogs_account": "7290", "cogs_account_interim": "7295",
                 "inventory_adjmt_account": "7270", "direct_cost_applied_account": "7291",
                 "overhead_applied_account": "7292", "purchase_variance_account": "7293",
                 "invt_accrual_acc_interim": "5530"}
PRECISIONS = (0.01, 0.05, 1.0)  # R2 rounds to any unit; BC offers these among others

# The first slice once (no expected cost there); the mixes with receipts and shipments more often.
any_history = st.one_of(
    histories(monotone_dates=False),
    histories(wide=True, monotone_dates=True),
    histories(wide=True, monotone_dates=False),
    histories(wide=True, monotone_dates=False, returns_into_open_keys=True),
    histories(average=True, monotone_dates=True),
    histories(average=True, monotone_dates=False),
)


# --- drawing ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Costed:
    history: History
    settings: Settings
    ledger: object  # pipelines.costing's Ledger

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        return f"Costed(settings={self.settings},\n{self.history!r})"


@st.composite
def costed(draw) -> Costed | None:
    """A history with random posting groups and settings, costed; None when the costing stage
    refuses it (recorded as an event: these tests are about posting and valuation)."""
    h = draw(any_history)
    item_rows = [item | {"inventory_posting_group": draw(st.sampled_from(INVENTORY_GROUPS)),
                         "gen_prod_posting_group": draw(st.sampled_from(PRODUCT_GROUPS))}
                 for item in h.item_rows]
    h = dataclasses.replace(h, item_rows=item_rows,
                            items=pl.DataFrame(item_rows, schema=ITEM_DTYPES, orient="row"))
    setting = dataclasses.replace(
        h.settings, expected_cost_posting_to_gl=draw(st.booleans()),
        amount_rounding_precision=draw(st.sampled_from(PRECISIONS)))
    ledger = costed_or_none(h, setting)
    if ledger is None:
        return None
    return Costed(h, setting, ledger)


def _account(draw, mode: str, role: str, key: tuple[str, ...]) -> str:
    base = BASE_ACCOUNTS[role]
    if mode == "distinct":  # every combination its own account: a wrong lookup shows
        return f"{base}-{'-'.join(k or 'BLANK' for k in key)}"
    if mode == "shared":
        return base
    return draw(st.sampled_from([base, f"{base}-X", "9999"]))  # "pool": collisions across roles


@st.composite
def posting_setups(draw) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """Both setups for every combination the drawn histories can need, and a label for events.

    Blank interim accounts (None or "") are valid while no non-zero expected amount is posted
    (R125, R170.12); another blank account or a dropped row is valid while no non-zero amount
    needs it."""
    mode = draw(st.sampled_from(["distinct", "distinct", "shared", "pool"]))
    blank_interim = draw(st.sampled_from([False, False, False, True]))
    blank_other = draw(st.sampled_from([False] * 5 + [True]))
    drop = draw(st.sampled_from([False] * 5 + [True]))
    inventory, general = [], []
    for location in WIDE_LOCATIONS:
        for group in INVENTORY_GROUPS:
            row = {"location_code": location, "inventory_posting_group": group}
            for role in INVENTORY_ROLES:
                row[role] = _account(draw, mode, role, (location, group))
            inventory.append(row)
    for business in BUSINESS_GROUPS:
        for product in PRODUCT_GROUPS:
            row = {"gen_bus_posting_group": business, "gen_prod_posting_group": product}
            for role in GENERAL_ROLES:
                row[role] = _account(draw, mode, role, (business, product))
            general.append(row)
    if blank_interim:
        for row in inventory + general:
            for role in INTERIM_ROLES:
                if role in row and draw(st.booleans()):
                    row[role] = draw(st.sampled_from([None, ""]))
    if blank_other:  # any account may be blank while no non-zero amount needs it (R170.12)
        rows = draw(st.sampled_from([inventory, general]))
        row = draw(st.sampled_from(rows))
        row[draw(st.sampled_from([c for c in row if c not in (*INVENTORY_KEY, *GENERAL_KEY)]))] = (
            draw(st.sampled_from([None, ""])))
    if drop:
        rows = draw(st.sampled_from([inventory, general]))
        del rows[draw(st.integers(0, len(rows) - 1))]
    label = (mode + (" blank-interim" if blank_interim else "")
             + (" blank-account" if blank_other else "") + (" dropped-row" if drop else ""))
    ips = pl.DataFrame(inventory, schema=dict.fromkeys([*INVENTORY_KEY, *INVENTORY_ROLES],
                                                       pl.String))
    gps = pl.DataFrame(general, schema=dict.fromkeys([*GENERAL_KEY, *GENERAL_ROLES], pl.String))
    return ips, gps, label


# --- comparing -------------------------------------------------------------------------------

def same_amount(got: float | None, want: Fraction, precision: Fraction) -> bool:
    """To the rounding unit: `got` rounds to `want` and lies within a hundredth of a unit of it
    (a float can hold a multiple of 0.01 only approximately; an unrounded 0.004 must not
    pass for 0.00)."""
    if got is None:
        return False
    g = exact(got)
    return round_to(g, precision) == round_to(want, precision) and abs(g - want) < precision / 100


def assert_same_gl(got: pl.DataFrame, want: list[dict], precision: Fraction) -> None:
    assert got.columns == columns(GLEntry), "gl_entries columns"
    rows = got.sort("entry_no").to_dicts()
    assert len(rows) == len(want), f"{len(rows)} G/L rows, the reference {len(want)}"
    fields = ("entry_no", "posting_date", "account_no", "value_entry_no", "document_no",
              "item_no", "location_code")
    for g, w in zip(rows, want, strict=True):
        assert all(g[c] == w[c] for c in fields) and same_amount(g["amount"], w["amount"],
                                                                 precision), (
            f"G/L row\n got {g}\nwant {w}")
        assert isinstance(g["description"], str) and g["description"], g  # R123: free text


def assert_balanced(gl_rows: list[dict], precision: Fraction) -> None:
    """R126: every value entry's G/L entries sum to zero (exactly on exact amounts; on floats
    within a hundredth of a rounding unit)."""
    for value_entry_no, total in balance_by_value_entry(gl_rows).items():
        assert abs(total) < precision / 100, f"R126: value entry {value_entry_no} sums to {total}"


def assert_same_posted(got: pl.DataFrame, given_rows: list[dict], want: list[dict],
                       precision: Fraction) -> None:
    """R124 on the posted fields; every other column as it came in, row for row."""
    assert got.columns == columns(ValueEntry), "value_entries columns"
    rows = got.sort("entry_no").to_dicts()
    assert len(rows) == len(want) == len(given_rows)
    for g, before, w in zip(rows, sorted(given_rows, key=lambda r: r["entry_no"]), want,
                            strict=True):
        for c in ("cost_posted_to_gl", "expected_cost_posted_to_gl"):
            assert same_amount(g[c], w[c], precision), (
                f"value entry {g['entry_no']} {c}: got {g[c]}, want {w[c]}")
        others = [c for c in g if c not in ("cost_posted_to_gl", "expected_cost_posted_to_gl")]
        assert {c: g[c] for c in others} == {c: before[c] for c in others}, g["entry_no"]


def assert_same_valuation(got: pl.DataFrame, want: list[dict], precision: Fraction) -> None:
    """Row by row by key; a row one side leaves out reads as zeros (R130). Quantities within
    1e-9 (float sums of quantities like 0.013), amounts to the rounding unit."""
    assert got.columns == columns(InventoryValuation), "inventory_valuation columns"
    got_rows = {tuple(r[c] for c in VALUATION_KEY): r for r in got.to_dicts()}
    assert len(got_rows) == got.height, "inventory_valuation: a key twice"
    want_rows = {tuple(r[c] for c in VALUATION_KEY): r for r in want}
    zeros = {"quantity": 0.0, "cost_amount_actual": 0.0, "cost_amount_expected": 0.0}
    for key in sorted(set(got_rows) | set(want_rows)):
        g = got_rows.get(key, zeros)
        w = want_rows.get(key, {c: ZERO for c in zeros})
        assert abs(exact(g["quantity"]) - w["quantity"]) < Fraction(1, 10**9), (
            f"{key} quantity: got {g['quantity']}, want {w['quantity']}")
        for c in ("cost_amount_actual", "cost_amount_expected"):
            assert same_amount(g[c], w[c], precision), f"{key} {c}: got {g[c]}, want {w[c]}"


# --- the differential tests ------------------------------------------------------------------

@pytest.mark.slow
@POSTING_EXAMPLES
@given(costed(), posting_setups())
def test_posting_to_gl_matches_the_reference(case, setups) -> None:
    if case is None:
        return
    setting, ledger = case.settings, case.ledger
    ips, gps, label = setups
    precision = exact(setting.amount_rounding_precision)
    ve_rows = ledger.value_entries.to_dicts()
    note(f"settings: {setting}\nsetups ({label}):\n{ips}\n{gps}")
    try:
        want_gl, want_posted = post_to_gl(ve_rows, ips.to_dicts(), gps.to_dicts(), setting)
    except InputError as want_error:  # R122, R170.12: the pipeline must refuse it too
        event(f"R122 input error ({label})")
        with pytest.raises(InputError) as got_error:
            post_inventory_cost_to_gl(ledger.value_entries, ips, gps, setting)
        note(f"reference: {want_error}\npipeline: {got_error.value}")
        assert_names_the_same_combinations(got_error.value, want_error)
        return
    got_gl, got_posted = post_inventory_cost_to_gl(ledger.value_entries, ips, gps, setting)
    on = "on" if setting.expected_cost_posting_to_gl else "off"
    event(f"compared ({label}, expected cost {on})")
    event(f"amount_rounding_precision {setting.amount_rounding_precision}")
    if setting.expected_cost_posting_to_gl and any(v["cost_amount_expected"] for v in ve_rows):
        event("expected cost posted to the interim accounts")
    assert_balanced(want_gl, Fraction(1, 10**12))  # R126 on the reference: exactly
    assert_balanced(got_gl.to_dicts(), precision)  # and on the pipeline
    assert_same_gl(got_gl, want_gl, precision)
    assert_same_posted(got_posted, ve_rows, want_posted, precision)


def assert_names_the_same_combinations(got: InputError, want: InputError) -> None:
    """Both name the same setup tables and combinations (contract §2: a missing posting setup
    names the combination); the wording is free, so only the combination's codes are looked
    for in the pipeline's message."""
    text = str(got)
    for problem in want.problems:
        assert problem.table in text, f"{problem.table} not named in: {text}"
        for code in problem.value.split(", "):
            assert code == "" or code in text, f"{problem.value} not named in: {text}"


@pytest.mark.slow
@EXAMPLES
@given(costed(), st.data())
def test_valuation_matches_the_reference(case, data) -> None:
    if case is None:
        return
    setting, ledger = case.settings, case.ledger
    precision = exact(setting.amount_rounding_precision)
    ile, ve = ledger.item_ledger_entries, ledger.value_entries
    ile_rows, ve_rows = ile.to_dicts(), ve.to_dicts()

    # R131: the default date, every entry included; R157: the totals are the ledger's
    want = valuation(ile_rows, ve_rows, None, precision)
    got = inventory_valuation(ile, ve, None, precision=setting.amount_rounding_precision)
    assert_same_valuation(got, want, precision)
    assert sum((r["quantity"] for r in want), ZERO) == sum((exact(e["quantity"]) for e in ile_rows),
                                                           ZERO)
    for c in ("cost_amount_actual", "cost_amount_expected"):
        total = sum((exact(v[c]) for v in ve_rows), ZERO)
        assert sum((r[c] for r in want), ZERO) == total, f"R157 {c} (reference)"
        assert same_amount(got[c].sum(), total, precision), f"R157 {c}"
    if not ve_rows:
        event("valuation: empty ledger")
        return

    # R130: as of a date inside the history (or the day before it begins)
    first = min(v["posting_date"] for v in ve_rows)
    last = default_as_of(ve_rows)
    where = data.draw(st.sampled_from(["inside", "inside", "inside", "before", "last"]))
    as_of = {"before": first - dt.timedelta(days=1), "last": last}.get(where) or data.draw(
        st.dates(first, last), label="as_of")
    want = valuation(ile_rows, ve_rows, as_of, precision)
    got = inventory_valuation(ile, ve, as_of, precision=setting.amount_rounding_precision)
    event("valuation as of: " + ("before the history" if as_of < first else
                                 "the last date" if as_of == last else "inside"))
    if any(r["quantity"] == 0 and (r["cost_amount_actual"] or r["cost_amount_expected"])
           for r in want):
        event("valuation: a row with quantity 0 and a value (R130)")
    assert_same_valuation(got, want, precision)


# --- the reference and the comparison on the rules' own examples ------------------------------

def _ve(entry_no: int, ile_type: str, actual: float = 0.0, expected: float = 0.0, **more) -> dict:
    from tests.gl_helpers import ve

    return ve(entry_no, ile_type, actual, expected, **more)


def _setups() -> tuple[list[dict], list[dict]]:
    from tests.gl_helpers import general_posting_setup, inventory_posting_setup

    return inventory_posting_setup().to_dicts(), general_posting_setup().to_dicts()


def test_reference_posts_the_r120_examples() -> None:
    """R120: a purchase of 100: debit Inventory 100, credit Direct Cost Applied 100; a sale
    costing 80: credit Inventory 80, debit COGS 80. R123: Xe pair before X pair; R124, R125."""
    ips, gps = _setups()
    rows = [_ve(1, "Purchase", 100.0), _ve(2, "Sale", -80.0),
            _ve(3, "Sale", 20.0, 30.0, entry_type="Direct Cost")]
    gl, posted = post_to_gl(rows, ips, gps, Settings())
    assert [(r["value_entry_no"], r["account_no"], r["amount"]) for r in gl] == [
        (1, "2130", 100), (1, "7291", -100), (2, "2130", -80), (2, "7290", 80),
        (3, "2131", 30), (3, "7295", -30), (3, "2130", 20), (3, "7290", -20)]
    assert [r["entry_no"] for r in gl] == list(range(1, 9))
    assert [(r["cost_posted_to_gl"], r["expected_cost_posted_to_gl"]) for r in posted] == [
        (100, 0), (-80, 0), (20, 30)]
    gl, posted = post_to_gl(rows, ips, gps, Settings(expected_cost_posting_to_gl=False))
    assert [(r["value_entry_no"], r["account_no"], r["amount"]) for r in gl][4:] == [
        (3, "2130", 20), (3, "7290", -20)]
    assert posted[2]["expected_cost_posted_to_gl"] == 0


def test_reference_resolves_accounts_and_refuses_only_what_is_needed() -> None:
    """R121/R122: both transfer legs hit their own location's Inventory and Inventory Adjmt.;
    a blank interim account is an error only when a non-zero Xe needs it (R170.12)."""
    ips, gps = _setups()
    rows = [_ve(1, "Transfer", -10.0), _ve(2, "Transfer", 10.0, location_code="WEST"),
            _ve(3, "Positive Adjmt.", 0.0, entry_type="Rounding")]
    gl, _ = post_to_gl(rows, ips, gps, Settings())
    assert [(r["account_no"], r["amount"]) for r in gl] == [
        ("2130", -10), ("7270", 10), ("2140", 10), ("7270", -10)]
    ips[0]["inventory_account_interim"] = None
    receipt = [_ve(1, "Purchase", 0.0, 50.0)]
    post_to_gl(receipt, ips, gps, Settings(expected_cost_posting_to_gl=False))
    with pytest.raises(InputError, match="inventory_account_interim"):
        post_to_gl(receipt, ips, gps, Settings())
    with pytest.raises(InputError, match="missing posting setup"):
        post_to_gl([_ve(1, "Sale", -1.0, gen_bus_posting_group="EXPORT")], ips, gps, Settings())


def test_reference_values_by_posting_date() -> None:
    """R130: quantity by the item ledger entry's date, amounts by each value entry's own date;
    a later-dated adjustment of goods already gone gives quantity 0 and a value."""
    from tests.gl_helpers import JAN_15, ile

    feb = dt.date(2020, 2, 10)
    iles = [ile(1, "Purchase", 1.0, JAN_15), ile(2, "Sale", -1.0, JAN_15)]
    ves = [_ve(1, "Purchase", 10.0), _ve(2, "Sale", -10.0),
           _ve(3, "Purchase", 2.0, ile_no=1, transaction_no=3, posting_date=feb),
           _ve(4, "Sale", -1.5, ile_no=2, transaction_no=None, posting_date=feb,
               adjustment=True)]
    key = {"item_no": "ITEM1", "location_code": "", "variant_code": "",
           "inventory_posting_group": "RESALE"}
    assert valuation(iles, ves) == [key | {"quantity": 0, "cost_amount_actual": Fraction(1, 2),
                                           "cost_amount_expected": 0}]
    assert valuation(iles, ves, JAN_15) == []  # all three zero: left out
    assert valuation(iles, ves, JAN_15 - dt.timedelta(days=1)) == []


def test_comparison_sees_a_cent() -> None:
    """The comparison is to the rounding unit: a cent off, or an unrounded amount, fails."""
    p = Fraction(1, 100)
    assert same_amount(0.30000000000000004, Fraction(3, 10), p)
    assert not same_amount(0.31, Fraction(3, 10), p)
    assert not same_amount(0.004, ZERO, p)
    assert same_amount(1.05, Fraction(105, 100), Fraction(5, 100))
    assert not same_amount(1.0, Fraction(105, 100), Fraction(5, 100))


@pytest.mark.parametrize("expected_on", [True, False])
def test_hand_built_entries_match_the_reference(expected_on: bool) -> None:
    """Every row of R121's table, both transfer legs at their own locations, zero amounts, and
    entries posted in part before (R120 posts only what is not yet in the G/L; R124)."""
    from tests.gl_helpers import general_posting_setup, inventory_posting_setup, value_entries

    feb = dt.date(2020, 2, 3)
    rows = [
        _ve(1, "Purchase", 0.0, 100.0), _ve(2, "Purchase", 44.0, -40.0, ile_no=1),
        _ve(3, "Purchase", 4.4, ile_no=1, entry_type="Indirect Cost"),
        _ve(4, "Purchase", -1.25, ile_no=1, entry_type="Variance"),
        _ve(5, "Sale", 0.0, -80.0), _ve(6, "Sale", -30.0, 30.0, ile_no=5),
        _ve(7, "Sale", 12.5), _ve(8, "Positive Adjmt.", 3.0), _ve(9, "Negative Adjmt.", -3.0),
        _ve(10, "Transfer", -7.0), _ve(11, "Transfer", 7.0, location_code="WEST", ile_no=10),
        _ve(12, "Purchase", 2.0, ile_no=1, entry_type="Revaluation"),
        _ve(13, "Sale", -0.01, ile_no=7, entry_type="Rounding", transaction_no=None,
            posting_date=feb, adjustment=True),
        _ve(14, "Sale", 0.0, -2.0, ile_no=5, transaction_no=None, posting_date=feb,
            adjustment=True, expected_cost=True),
        _ve(15, "Negative Adjmt.", 0.0, ile_no=9),  # nothing to post
        _ve(16, "Purchase", 50.0, 20.0, cost_posted_to_gl=30.0, expected_cost_posted_to_gl=20.0),
    ]
    ips, gps = inventory_posting_setup(), general_posting_setup()
    setting = Settings(expected_cost_posting_to_gl=expected_on)
    want_gl, want_posted = post_to_gl(rows, ips.to_dicts(), gps.to_dicts(), setting)
    got_gl, got_posted = post_inventory_cost_to_gl(value_entries(*rows), ips, gps, setting)
    cent = Fraction(1, 100)
    assert_balanced(want_gl, Fraction(1, 10**12))
    assert_balanced(got_gl.to_dicts(), cent)
    assert_same_gl(got_gl, want_gl, cent)
    assert_same_posted(got_posted, value_entries(*rows).to_dicts(), want_posted, cent)


def test_an_empty_ledger_posts_and_values_nothing() -> None:
    from schemas.base import empty
    from schemas.ledger import ItemLedgerEntry
    from tests.gl_helpers import general_posting_setup, inventory_posting_setup

    gl, posted = post_inventory_cost_to_gl(empty(ValueEntry), inventory_posting_setup(),
                                           general_posting_setup(), Settings())
    assert gl.is_empty() and posted.is_empty() and post_to_gl([], [], [], Settings()) == ([], [])
    assert_same_valuation(inventory_valuation(empty(ItemLedgerEntry), empty(ValueEntry), None),
                          valuation([], [], None), Fraction(1, 100))
