"""Input for the reference: an example folder, or polars frames, as lists of plain dicts."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.settings import Settings, load_settings

TRANSACTION_DTYPES = {
    "transaction_no": pl.Int64, "posting_date": pl.Date, "type": pl.String, "item_no": pl.String,
    "location_code": pl.String, "to_location_code": pl.String, "variant_code": pl.String,
    "quantity": pl.Float64, "unit_cost": pl.Float64, "amount": pl.Float64,
    "sales_amount": pl.Float64, "applies_to": pl.Int64, "item_charge_no": pl.String,
    "document_no": pl.String, "gen_bus_posting_group": pl.String,
}
ITEM_DTYPES = {
    "item_no": pl.String, "description": pl.String, "costing_method": pl.String,
    "standard_cost": pl.Float64, "indirect_cost_pct": pl.Float64, "overhead_rate": pl.Float64,
    "inventory_posting_group": pl.String, "gen_prod_posting_group": pl.String,
}
PERIOD_DTYPES = {"ending_date": pl.Date, "closed": pl.Boolean}


def normalize(transactions: pl.DataFrame, items: pl.DataFrame,
              inventory_periods: pl.DataFrame | None = None):
    """Frames with the contract's dtypes: blank locations and variant "" (ingest's defaults), item
    defaults 0."""
    tx = transactions.select(pl.col(c).cast(t) for c, t in TRANSACTION_DTYPES.items()).with_columns(
        pl.col("location_code", "to_location_code", "variant_code").fill_null("")
    ).sort("transaction_no")
    it = items.select(pl.col(c).cast(t) for c, t in ITEM_DTYPES.items()).with_columns(
        pl.col("indirect_cost_pct", "overhead_rate").fill_null(0.0)
    )
    periods = (pl.DataFrame(schema=PERIOD_DTYPES) if inventory_periods is None else
               inventory_periods.select(pl.col(c).cast(t) for c, t in PERIOD_DTYPES.items()))
    return tx, it, periods


def to_rows(transactions: pl.DataFrame, items: pl.DataFrame,
            inventory_periods: pl.DataFrame) -> tuple[list[dict], list[dict], list[dict]]:
    return transactions.to_dicts(), items.to_dicts(), inventory_periods.to_dicts()


def read_case(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, Settings]:
    """An example input folder (CSV tables) as normalized frames plus its settings."""
    folder = Path(folder)

    def csv(name: str, dtypes: dict) -> pl.DataFrame | None:
        path = folder / f"{name}.csv"
        if not path.exists():
            return None
        return pl.read_csv(path, schema_overrides=dtypes, infer_schema=False)

    tx, it, periods = normalize(csv("transactions", TRANSACTION_DTYPES), csv("items", ITEM_DTYPES),
                                csv("inventory_periods", PERIOD_DTYPES))
    return tx, it, periods, load_settings(folder)


def check_expected(frames: dict[str, pl.DataFrame], expected: dict) -> list[str]:
    """Mismatches between ledger frames and an example's expected.json (its README's rules for
    `item_ledger_entries` and `item_application_entries`; G/L and valuation keys are not read)."""
    tol = expected.get("tolerance", 0.005)
    ile, ve = frames["item_ledger_entries"], frames["value_entries"]
    problems: list[str] = []

    def select(ref: dict) -> pl.DataFrame:
        rows = ile.filter(pl.col("transaction_no") == ref["transaction_no"])
        if "location_code" in ref:
            rows = rows.filter(pl.col("location_code") == (ref["location_code"] or ""))
        return rows

    def ref_of(entry_no: int | None) -> tuple | None:
        if entry_no is None:
            return None
        row = ile.row(by_predicate=pl.col("entry_no") == entry_no, named=True)
        return (row["transaction_no"], row["location_code"])

    for exp in expected.get("item_ledger_entries", []):
        rows = select(exp)
        if rows.height != 1:
            problems.append(f"{exp['transaction_no']}: selects {rows.height} entries")
            continue
        row = rows.row(0, named=True)
        for field, want in exp.items():
            if field in ("transaction_no", "location_code", "value_entries", "valuation_date"):
                continue
            got = row[field]
            ok = abs(got - want) <= tol if isinstance(want, float | int) and not isinstance(
                want, bool) else got == want
            if not ok:
                problems.append(f"{exp['transaction_no']}.{field}: {got} != {want}")
        mine = ve.filter(pl.col("item_ledger_entry_no") == row["entry_no"])
        if "valuation_date" in exp:
            dates = set(mine.filter(pl.col("entry_type") != "Revaluation")["valuation_date"])
            if {str(d) for d in dates} != {exp["valuation_date"]}:
                problems.append(f"{exp['transaction_no']}.valuation_date: {dates}")
        if "value_entries" in exp:
            problems += _check_value_entries(exp, mine, tol)
    if "item_application_entries" in expected:
        apps = frames["item_application_entries"]

        def key(r: dict) -> tuple:
            def ref(x: dict | None) -> tuple | None:
                return None if x is None else (x["transaction_no"], x.get("location_code", None))
            return (ref(r["item_ledger_entry"]), ref(r["inbound"]), ref(r["outbound"]),
                    r["cost_application"])

        def loose(k: tuple) -> tuple:  # compare location only where the expectation names it
            return tuple(x[0] if isinstance(x, tuple) else x for x in k)

        want: dict[tuple, float] = {}
        for r in expected["item_application_entries"]:
            want[loose(key(r))] = want.get(loose(key(r)), 0) + r["quantity"]
        got: dict[tuple, float] = {}
        for r in apps.iter_rows(named=True):
            k = (ref_of(r["item_ledger_entry_no"]), ref_of(r["inbound_item_entry_no"]),
                 ref_of(r["outbound_item_entry_no"]), r["cost_application"])
            got[loose(k)] = got.get(loose(k), 0) + r["quantity"]
        if want.keys() != got.keys() or any(abs(want[k] - got[k]) > 1e-9 for k in want):
            problems.append(f"applications: {sorted(got.items(), key=str)} != "
                            f"{sorted(want.items(), key=str)}")
    return problems


def _check_value_entries(exp: dict, mine: pl.DataFrame, tol: float) -> list[str]:
    """Sum both sides per (posting_date, entry_type, adjustment), as the examples' README says."""
    problems = []
    groups: dict[tuple, list[dict]] = {}
    for v in exp["value_entries"]:
        groups.setdefault((v["posting_date"], v["entry_type"], v["adjustment"]), []).append(v)
    got_keys = {(str(r["posting_date"]), r["entry_type"], r["adjustment"])
                for r in mine.iter_rows(named=True)}
    for k in set(groups) | got_keys:
        listed = groups.get(k, [])
        rows = mine.filter((pl.col("posting_date").cast(pl.String) == k[0])
                           & (pl.col("entry_type") == k[1]) & (pl.col("adjustment") == k[2]))
        fields = {"cost_amount_actual", "cost_amount_expected"} | {
            f for v in listed for f in v
            if f in ("valued_quantity", "invoiced_quantity", "sales_amount_actual")}
        for f in fields:
            want = sum(v.get(f, 0) for v in listed)
            got = rows[f].sum() if rows.height else 0.0
            if abs(got - want) > (tol if f.endswith("actual") or "amount" in f else 1e-9):
                problems.append(f"{exp['transaction_no']} value entries {k} {f}: {got} != {want}")
    return problems
