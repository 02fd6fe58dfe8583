"""Compare `invrec run` outputs with a case's `expected.json` (shared/examples/README.md).

Every check returns a list of mismatch messages (empty when the check passes), so a failing case
reports all its mismatches at once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import polars as pl

from pipelines.ingest import TABLES
from pipelines.settings import SETTINGS_FILE

DEFAULT_TOLERANCE = 0.005
QTY_TOLERANCE = 1e-9
AMOUNT_FIELDS = {"cost_amount_actual", "cost_amount_expected", "sales_amount_actual", "amount"}
QUANTITY_FIELDS = {"quantity", "invoiced_quantity", "remaining_quantity", "valued_quantity"}
VE_KEY = ("posting_date", "entry_type", "adjustment")
VE_REQUIRED = ("cost_amount_actual", "cost_amount_expected")
VE_OPTIONAL_SUMS = ("valued_quantity", "invoiced_quantity", "sales_amount_actual")
VE_OPTIONAL_EQUAL = ("valuation_date", "expected_cost")
VALUATION_KEY = ("item_no", "location_code", "variant_code")
VALUATION_FIGURES = ("quantity", "cost_amount_actual", "cost_amount_expected")
INPUT_FILES = [f"{t}.{ext}" for t in TABLES for ext in ("csv", "parquet")] + [SETTINGS_FILE]


def input_files(case_dir: Path) -> list[Path]:
    """The case's input tables and settings (expected.json, NOTES.md are not inputs)."""
    return [case_dir / n for n in INPUT_FILES if (case_dir / n).is_file()]


# --- comparisons of single values ----------------------------------------------------------------

def _num(v) -> float:
    return 0.0 if v is None else float(v)


def _close(field: str, product, expected, tol: float) -> bool:
    if field in AMOUNT_FIELDS or field.startswith("cost_amount"):
        return abs(_num(product) - _num(expected)) <= tol + 1e-9
    if field in QUANTITY_FIELDS:
        return abs(_num(product) - _num(expected)) <= QTY_TOLERANCE
    if field.endswith("date"):
        return _date(product) == _date(expected)
    if field in ("location_code", "variant_code"):
        return (product or "") == (expected or "")
    if field == "account_no":
        return str(product) == str(expected)
    return product == expected


def _date(v) -> dt.date | None:
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def _code(v) -> str:
    return "" if v is None else str(v)


# --- entry references ----------------------------------------------------------------------------

def resolve(ref: dict, ile: pl.DataFrame) -> tuple[int | None, str | None]:
    """(entry_no, None) when the reference selects one item ledger entry, else (None, why)."""
    rows = ile.filter(pl.col("transaction_no") == ref["transaction_no"])
    if "location_code" in ref:
        rows = rows.filter(pl.col("location_code").fill_null("") == _code(ref["location_code"]))
    if rows.height != 1:
        return None, f"reference {_ref_text(ref)} selects {rows.height} item ledger entries, not 1"
    return int(rows["entry_no"][0]), None


def _ref_text(ref: dict | None) -> str:
    if ref is None:
        return "none"
    loc = f"@{ref['location_code']!r}" if "location_code" in ref else ""
    return f"tx{ref['transaction_no']}{loc}"


def _entry_text(entry_no: int | None, ile: pl.DataFrame) -> str:
    if not entry_no:
        return "none"
    row = ile.filter(pl.col("entry_no") == entry_no)
    if not row.height:
        return f"entry {entry_no} (missing)"
    return f"tx{row['transaction_no'][0]}@{row['location_code'][0]!r} (entry {entry_no})"


# --- the checks ----------------------------------------------------------------------------------

def check_item_ledger_entries(expected: list[dict], ile: pl.DataFrame, ve: pl.DataFrame,
                              tol: float) -> list[str]:
    out: list[str] = []
    for obj in expected:
        ref = {k: obj[k] for k in ("transaction_no", "location_code") if k in obj}
        entry_no, why = resolve(ref, ile)
        where = f"item_ledger_entries {_ref_text(ref)}"
        if entry_no is None:
            out.append(f"{where}: {why}")
            continue
        row = ile.filter(pl.col("entry_no") == entry_no).row(0, named=True)
        for field, want in obj.items():
            if field in ("transaction_no", "location_code", "value_entries", "valuation_date"):
                continue
            if field not in row:
                out.append(f"{where}: product has no column {field}")
            elif not _close(field, row[field], want, tol):
                out.append(f"{where}: {field} is {row[field]!r}, expected {want!r}")
        own = ve.filter(pl.col("item_ledger_entry_no") == entry_no)
        if "valuation_date" in obj:
            want = _date(obj["valuation_date"])
            bad = own.filter((pl.col("entry_type") != "Revaluation")
                             & (pl.col("valuation_date") != want))
            for r in bad.iter_rows(named=True):
                out.append(f"{where}: value entry {r['entry_no']} ({r['entry_type']}) has "
                           f"valuation_date {r['valuation_date']}, expected {want}")
        if "value_entries" in obj:
            out += [f"{where}: {m}" for m in check_value_entries(obj["value_entries"], own, tol)]
    return out


def check_value_entries(expected: list[dict], ve: pl.DataFrame, tol: float) -> list[str]:
    """Group both sides by (posting_date, entry_type, adjustment) and compare the sums."""
    def key(posting_date, entry_type, adjustment) -> tuple:
        return (_date(posting_date), entry_type, bool(adjustment))

    want: dict[tuple, list[dict]] = defaultdict(list)
    for obj in expected:
        want[key(obj["posting_date"], obj["entry_type"], obj["adjustment"])].append(obj)
    have: dict[tuple, list[dict]] = defaultdict(list)
    for r in ve.iter_rows(named=True):
        have[key(r["posting_date"], r["entry_type"], r["adjustment"])].append(r)
    out = []
    for k in sorted(set(want) | set(have), key=str):
        label = f"value entries {k[0]} {k[1]} adjustment={k[2]}"
        listed, product = want.get(k, []), have.get(k, [])
        for field in VE_REQUIRED:
            e, p = sum(_num(o.get(field)) for o in listed), sum(_num(r[field]) for r in product)
            if abs(e - p) > tol + 1e-9:
                out.append(f"{label}: sum of {field} is {p:.2f}, expected {e:.2f}")
        for field in VE_OPTIONAL_SUMS:
            if any(field in o for o in listed):
                e, p = sum(_num(o.get(field)) for o in listed), sum(_num(r[field]) for r in product)
                if not _close(field, p, e, tol):
                    out.append(f"{label}: sum of {field} is {p}, expected {e}")
        for field in VE_OPTIONAL_EQUAL:
            for o in listed:
                if field in o:
                    wrong = [r[field] for r in product
                             if not _close(field, r[field], o[field], tol)]
                    if wrong:
                        out.append(f"{label}: {field} is {wrong}, expected {o[field]!r} on every "
                                   "entry")
    return out


def check_applications(expected: list[dict], iae: pl.DataFrame, ile: pl.DataFrame) -> list[str]:
    """The complete set of application rows, summed per (entry, inbound, outbound, cost_app)."""
    out: list[str] = []
    want: dict[tuple, float] = defaultdict(float)
    for obj in expected:
        nos = []
        for part in ("item_ledger_entry", "inbound", "outbound"):
            ref = obj.get(part)
            if ref is None:
                nos.append(None)
                continue
            entry_no, why = resolve(ref, ile)
            if entry_no is None:
                out.append(f"item_application_entries {part}: {why}")
            nos.append(entry_no)
        want[(*nos, bool(obj["cost_application"]))] += float(obj["quantity"])
    have: dict[tuple, float] = defaultdict(float)
    for r in iae.iter_rows(named=True):
        outbound = r["outbound_item_entry_no"] or None  # 0 and null both mean none
        have[(r["item_ledger_entry_no"], r["inbound_item_entry_no"] or None, outbound,
              bool(r["cost_application"]))] += float(r["quantity"])
    for k in sorted(set(want) | set(have), key=str):
        e, p = want.get(k), have.get(k)
        if e is not None and p is not None and abs(e - p) <= QTY_TOLERANCE:
            continue
        label = (f"application entry {_entry_text(k[0], ile)} inbound {_entry_text(k[1], ile)} "
                 f"outbound {_entry_text(k[2], ile)} cost_application={k[3]}")
        if p is None:
            out.append(f"{label}: missing in the product (expected quantity {e})")
        elif e is None:
            out.append(f"{label}: not expected (product quantity {p})")
        else:
            out.append(f"{label}: quantity is {p}, expected {e}")
    return out


def check_gl_entries(expected: list[dict], gl: pl.DataFrame, tol: float) -> list[str]:
    want: dict[tuple, float] = defaultdict(float)
    for obj in expected:
        want[(_date(obj["posting_date"]), str(obj["account_no"]))] += float(obj["amount"])
    have: dict[tuple, float] = defaultdict(float)
    for r in gl.iter_rows(named=True):
        have[(r["posting_date"], str(r["account_no"]))] += float(r["amount"])
    return [
        f"gl_entries {k[0]} account {k[1]}: amount is {have.get(k, 0.0):.2f}, expected "
        f"{want.get(k, 0.0):.2f}"
        for k in sorted(set(want) | set(have), key=str)
        if abs(want.get(k, 0.0) - have.get(k, 0.0)) > tol + 1e-9
    ]


def check_gl_totals(expected: dict, gl: pl.DataFrame, tol: float) -> list[str]:
    totals = {str(a): t for a, t in gl.group_by("account_no").agg(pl.col("amount").sum()).rows()}
    return [
        f"gl_totals account {acc}: total is {totals.get(str(acc), 0.0):.2f}, expected {want:.2f}"
        for acc, want in expected.items()
        if abs(totals.get(str(acc), 0.0) - float(want)) > tol + 1e-9
    ]


def check_inventory_value(expected: dict, valuation: pl.DataFrame, tol: float,
                          label: str = "inventory_value") -> list[str]:
    out = []
    for field in VALUATION_FIGURES:
        if field in expected:
            have = float(valuation[field].sum()) if valuation.height else 0.0
            if not _close(field, have, expected[field], tol):
                out.append(f"{label}: total {field} is {have}, expected {expected[field]}")
    return out


def check_inventory_valuation(expected: list[dict], valuation: pl.DataFrame, tol: float,
                              label: str = "inventory_valuation") -> list[str]:
    def key(r: dict) -> tuple:
        return (r["item_no"], _code(r.get("location_code")), _code(r.get("variant_code")))

    want: dict[tuple, list[float]] = defaultdict(lambda: [0.0] * len(VALUATION_FIGURES))
    have: dict[tuple, list[float]] = defaultdict(lambda: [0.0] * len(VALUATION_FIGURES))
    for side, rows in ((want, expected), (have, valuation.iter_rows(named=True))):
        for r in rows:
            for i, f in enumerate(VALUATION_FIGURES):
                side[key(r)][i] += _num(r.get(f))
    out = []
    for k in sorted(set(want) | set(have)):
        for i, f in enumerate(VALUATION_FIGURES):
            e, p = want[k][i], have[k][i]
            if not _close(f, p, e, tol):
                out.append(f"{label} {k[0]} location {k[1]!r} variant {k[2]!r}: {f} is {p}, "
                           f"expected {e}")
    return out


def check_reconciliation(all_zero: bool, recon: pl.DataFrame, variance: pl.DataFrame,
                         tol: float) -> list[str]:
    differing = recon.filter(pl.col("difference").abs() > tol + 1e-9)
    is_zero = differing.height == 0 and variance.height == 0
    if is_zero == all_zero:
        return []
    if all_zero:
        rows = "; ".join(f"{r['period_end']} {r['account_no']}: {r['difference']:.2f}"
                         for r in differing.head(10).iter_rows(named=True))
        return [f"reconciliation_all_zero: {differing.height} row(s) differ ({rows}), "
                f"{variance.height} variance row(s)"]
    return ["reconciliation_all_zero is false but every difference is zero"]


def check_run(expected: dict, tables: dict[str, pl.DataFrame]) -> list[str]:
    """Every check of the default run whose key is present in `expected`."""
    tol = float(expected.get("tolerance", DEFAULT_TOLERANCE))
    ile, ve = tables["item_ledger_entries"], tables["value_entries"]
    out: list[str] = []
    if "item_ledger_entries" in expected:
        out += check_item_ledger_entries(expected["item_ledger_entries"], ile, ve, tol)
    if "item_application_entries" in expected:
        out += check_applications(expected["item_application_entries"],
                                  tables["item_application_entries"], ile)
    if "gl_entries" in expected:
        out += check_gl_entries(expected["gl_entries"], tables["gl_entries"], tol)
    if "gl_totals" in expected:
        out += check_gl_totals(expected["gl_totals"], tables["gl_entries"], tol)
    if "inventory_value" in expected:
        out += check_inventory_value(expected["inventory_value"], tables["inventory_valuation"],
                                     tol)
    if "inventory_valuation" in expected:
        out += check_inventory_valuation(expected["inventory_valuation"],
                                         tables["inventory_valuation"], tol)
    if "reconciliation_all_zero" in expected:
        out += check_reconciliation(bool(expected["reconciliation_all_zero"]),
                                    tables["reconciliation"], tables["reconciliation_variance"],
                                    tol)
    return out


def check_as_of(entry: dict, valuation: pl.DataFrame, tol: float) -> list[str]:
    """One `valuation_as_of` entry against the valuation of the run with `--as-of`."""
    label = f"valuation_as_of {entry['as_of']}"
    out = []
    if "inventory_value" in entry:
        out += check_inventory_value(entry["inventory_value"], valuation, tol,
                                     f"{label} inventory_value")
    if "inventory_valuation" in entry:
        out += check_inventory_valuation(entry["inventory_valuation"], valuation, tol,
                                         f"{label} inventory_valuation")
    return out


def report(case: str, mismatches: list[str]) -> str:
    return f"case {case}: {len(mismatches)} mismatch(es)\n  " + "\n  ".join(mismatches)

