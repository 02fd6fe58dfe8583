"""Input validation: schema checks translated into problems, and the referential rules of R160.

Problems are built as frames (table, _idx, column, value, rule) where `_idx` is the row's position
in its file; `pipelines.ingest` turns `_idx` into the CSV line or the Parquet key. Every rule is a
join or a window over the whole table: all problems are found at once.
"""

from __future__ import annotations

import re

import pandera.polars as pa
import polars as pl

from pipelines.settings import Settings
from schemas.base import validate
from schemas.inputs import ROW_RULES

PROBLEM_SCHEMA = {
    "table": pl.String,
    "_idx": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "rule": pl.String,
}

# R10 / R170.1: item ledger entry direction per type.
INBOUND_TYPES = ["purchase", "purchase_receipt", "positive_adjustment", "sales_return", "transfer"]
OUTBOUND_TYPES = ["purchase_return", "sale", "sales_shipment", "negative_adjustment", "transfer"]
# R30: entries an item charge may name (sales_return only without applies_to).
CHARGEABLE_TYPES = INBOUND_TYPES
STANDARD_CHARGEABLE_TYPES = ["purchase", "purchase_receipt"]
# R10 + R170.1: which transaction types `applies_to` may name, per row type.
APPLIES_TO_TARGETS: dict[str, list[str]] = {
    "purchase_invoice": ["purchase_receipt"],
    "sales_invoice": ["sales_shipment"],
    "sales_return": ["sale", "sales_shipment"],
    "item_charge": CHARGEABLE_TYPES,
    "revaluation": INBOUND_TYPES,
    **dict.fromkeys(OUTBOUND_TYPES, INBOUND_TYPES),
}
APPLIES_TO_REQUIRED = ["purchase_invoice", "sales_invoice", "item_charge"]
APPLIES_TO_FORBIDDEN = ["purchase", "purchase_receipt", "positive_adjustment"]
# R170.13: unit_cost is required for these types, and for these without applies_to (non-STANDARD).
UNIT_COST_REQUIRED = ["purchase", "purchase_receipt", "purchase_invoice", "revaluation"]
UNIT_COST_REQUIRED_UNAPPLIED = ["positive_adjustment", "sales_return"]
_EPS = 1e-9
# the transaction columns the R160 rules below read
_RULE_COLUMNS = ["_idx", "transaction_no", "posting_date", "type", "item_no", "location_code",
                 "to_location_code", "variant_code", "quantity", "unit_cost", "applies_to"]


def no_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def problem(table: str, column: str | None, value: str | None, rule: str) -> pl.DataFrame:
    """One problem that names no row (missing table, column, file conflict)."""
    return pl.DataFrame(
        {"table": [table], "_idx": [None], "column": [column], "value": [value], "rule": [rule]},
        schema=PROBLEM_SCHEMA,
    )


def flag(
    df: pl.DataFrame, table: str, when: pl.Expr, column: str, value: pl.Expr | None,
    rule: str | pl.Expr,
) -> pl.DataFrame:
    """A problem for every row of `df` (carrying `_idx`) where `when` holds."""
    # lazy: an eager filter of a frame in many chunks (the input G/L) first copies it into the
    # mask's one chunk (at 10M, 1 GB of fresh pages for the G/L's one amount check)
    return df.lazy().filter(when.fill_null(False)).select(
        table=pl.lit(table),
        _idx=pl.col("_idx").cast(pl.Int64),
        column=pl.lit(column),
        value=(pl.lit(None) if value is None else value).cast(pl.String),
        rule=pl.lit(rule) if isinstance(rule, str) else rule,
    ).collect()


# --- schema checks -------------------------------------------------------------------------------

def schema_problems(table: str, df: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Run the Pandera model with data checks (schemas.base.validate) on `df` without its `_idx`
    and translate its failures, each row named by its `_idx` (Pandera names positions)."""
    try:
        validate(df.drop("_idx"), model)
    except pa.errors.SchemaErrors as exc:
        found = _translate(table, exc.failure_cases, model)
        return found.with_columns(_idx=df.get_column("_idx").gather(found.get_column("_idx")))
    return no_problems()


def _translate(table: str, cases: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    """Pandera failure cases -> problems; row-level checks report their column from ROW_RULES."""
    unique_cols = list(getattr(model.Config, "unique", None) or [])
    checks = cases["check"].unique().to_list()  # a handful of distinct checks
    texts = pl.DataFrame({"check": checks, "rule": [_rule_text(c) for c in checks]},
                         schema={"check": pl.String, "rule": pl.String})
    case, check = pl.col("failure_case"), pl.col("check")
    column, value = pl.col("column"), pl.when(check != "not_nullable").then(case)
    if unique_cols:  # Config.unique: the row is a JSON object, the key is several columns
        column = pl.when(check == "multiple_fields_uniqueness").then(pl.lit(", ".join(unique_cols)))
        value = pl.when(check == "multiple_fields_uniqueness").then(pl.concat_str(
            [case.str.json_path_match(f"$.{c}").fill_null("") for c in unique_cols],
            separator=", ")).otherwise(value)
        column = column.otherwise(pl.col("column"))
    for name, (col, _) in ROW_RULES.items():
        column = pl.when(check == name).then(pl.lit(col)).otherwise(column)
        value = pl.when(check == name).then(case.str.json_path_match(f"$.{col}")).otherwise(value)
    return cases.join(texts, on="check", how="left").select(
        table=pl.lit(table),
        _idx=pl.col("index").cast(pl.Int64),
        column=column,
        value=value,
        rule=pl.col("rule"),
    )


_CHECK_TEXT = [
    *[(f"^{name}$", lambda m, rule=rule: rule) for name, (_, rule) in ROW_RULES.items()],
    (r"^multiple_fields_uniqueness$", lambda m: "combination must be unique"),
    (r"^not_nullable$", lambda m: "value required"),
    (r"^field_uniqueness$", lambda m: "must be unique"),
    (r"^greater_than_or_equal_to\((.*)\)$", lambda m: f"must be >= {m[1]}"),
    (r"^greater_than\((.*)\)$", lambda m: f"must be > {m[1]}"),
    (r"^less_than_or_equal_to\((.*)\)$", lambda m: f"must be <= {m[1]}"),
    (r"^isin\(\[(.*)\]\)$", lambda m: "must be one of " + m[1].replace("'", "")),
    (r"^dtype\('(.*)'\)$", lambda m: f"must be of type {m[1]}"),
]


def _rule_text(check: str) -> str:
    for pattern, text in _CHECK_TEXT:
        m = re.match(pattern, check)
        if m:
            return text(m)
    return check


# --- rules across rows and tables (R160) ---------------------------------------------------------

def transaction_problems(
    tx: pl.DataFrame,
    items: pl.DataFrame | None,
    accounting_periods: pl.DataFrame | None = None,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """R160 on transactions: item, applies_to, invoiced and returned quantities, transfers,
    revaluation dates and average cost periods (R85, R91, R170.11)."""
    T = "transactions"
    tx = tx.select(_RULE_COLUMNS)  # the join below copies every column it keeps
    if items is not None:
        methods = items.select("item_no", "costing_method", _known=pl.lit(True))
        tx = tx.join(methods.unique("item_no", keep="first"), on="item_no", how="left")
        missing_item = pl.col("item_no").is_not_null() & pl.col("_known").is_null()
    else:
        tx = tx.with_columns(costing_method=pl.lit(None, pl.String))
        missing_item = pl.lit(False)

    typ = pl.col("type")
    has_applies = pl.col("applies_to").is_not_null()
    out = [
        flag(tx, T, missing_item, "item_no", pl.col("item_no"), "not found in items"),
        flag(tx, T, typ.is_in(APPLIES_TO_FORBIDDEN) & has_applies, "applies_to",
             pl.col("applies_to"), pl.format("not allowed for type {} (R10)", typ)),
        flag(tx, T, typ.is_in(APPLIES_TO_REQUIRED) & ~has_applies, "applies_to", None,
             pl.format("required for type {} (R10)", typ)),
        flag(tx, T, typ.is_in(OUTBOUND_TYPES) & ~has_applies
             & (pl.col("costing_method") == "SPECIFIC"), "applies_to", None,
             "required for an outbound of a SPECIFIC item (R77, R160)"),
        flag(tx, T, (typ == "transfer") & (pl.col("to_location_code") == pl.col("location_code")),
             "to_location_code", pl.col("to_location_code"),
             "a transfer must go to another location (R160)"),
        flag(tx, T, pl.col("unit_cost").is_null() & (
            typ.is_in(UNIT_COST_REQUIRED)
            | (typ.is_in(UNIT_COST_REQUIRED_UNAPPLIED) & ~has_applies
               & (pl.col("costing_method") != "STANDARD"))),
             "unit_cost", None, pl.format("required for type {} (R170.13)", typ)),
    ]
    out.append(_applies_to_problems(tx))
    out.append(_revaluation_order_problems(tx))
    if settings is not None and accounting_periods is not None:
        out.append(_average_period_problems(tx, accounting_periods, settings))
    return pl.concat(out)


def _applies_to_problems(tx: pl.DataFrame) -> pl.DataFrame:
    """R10, R30, R43, R160, R170.1: what `applies_to` names, and the quantities left to it."""
    T = "transactions"
    no = pl.col("transaction_no")
    # in posting order, the first of equal numbers is the one before which the number changes
    firsts = tx.filter(no.ne_missing(no.shift(1))) if tx["transaction_no"].is_sorted() \
        else tx.unique("transaction_no", keep="first")
    applying = tx.filter(pl.col("applies_to").is_not_null())
    # only the named transactions: a join would hash every transaction for a fifth of them
    targets = firsts.filter(
        pl.col("transaction_no").is_in(applying["applies_to"].implode())
    ).select(
        pl.col("transaction_no").alias("applies_to"),
        pl.col("type").alias("t_type"),
        pl.col("item_no").alias("t_item"),
        # the inbound entry of a transfer is its to-leg (R10)
        pl.when(pl.col("type") == "transfer").then(pl.col("to_location_code"))
        .otherwise(pl.col("location_code")).alias("t_location"),
        pl.col("variant_code").alias("t_variant"),
        pl.col("quantity").alias("t_quantity"),
        pl.col("applies_to").alias("t_applies_to"),
    )
    allowed = pl.DataFrame(
        [(t, target) for t, ts in APPLIES_TO_TARGETS.items() for target in ts],
        schema={"type": pl.String, "t_type": pl.String},
        orient="row",
    ).with_columns(allowed=pl.lit(True))
    j = (
        applying.join(targets, on="applies_to", how="left")
        .join(allowed, on=["type", "t_type"], how="left")
    )
    found = pl.col("t_type").is_not_null()
    earlier = pl.col("applies_to") < pl.col("transaction_no")
    same_item = pl.col("t_item") == pl.col("item_no")
    type_ok = pl.col("allowed").fill_null(False) & ~(
        # R30: a charge on a sales_return only when that return has no applies_to;
        # [ours] on STANDARD items only purchases and receipts
        (pl.col("type") == "item_charge") & (
            ((pl.col("t_type") == "sales_return") & pl.col("t_applies_to").is_not_null())
            | ((pl.col("costing_method") == "STANDARD")
               & ~pl.col("t_type").is_in(STANDARD_CHARGEABLE_TYPES))
        )
    )
    valid = found & earlier & same_item & type_ok
    v = pl.col("applies_to")
    out = [
        flag(j, T, ~found, "applies_to", v, "names no transaction (R160)"),
        flag(j, T, found & ~earlier, "applies_to", v,
             "must name an earlier-posted transaction (R160)"),
        flag(j, T, found & ~same_item, "applies_to", v,
             pl.format("names a transaction of item {} (R160)", pl.col("t_item"))),
        flag(j, T, found & ~type_ok & pl.col("type").is_in(list(APPLIES_TO_TARGETS)),
             "applies_to", v,
             pl.format("type {} may not apply to a {} (R10, R30, R170.1)",
                       pl.col("type"), pl.col("t_type"))),
    ]
    # R43: a fixed application stays within the application key.
    fixed = valid & pl.col("type").is_in(OUTBOUND_TYPES)
    out += [
        flag(j, T, fixed & (pl.col("t_location") != pl.col("location_code")), "applies_to", v,
             pl.format("applies to an entry at location '{}', not '{}' (R43)",
                       pl.col("t_location"), pl.col("location_code"))),
        flag(j, T, fixed & (pl.col("t_variant") != pl.col("variant_code")), "applies_to", v,
             pl.format("applies to an entry of variant '{}', not '{}' (R43)",
                       pl.col("t_variant"), pl.col("variant_code"))),
    ]
    # R23, R25: invoices never exceed what their receipt/shipment has not invoiced yet;
    # R160: returns with applies_to never exceed what was sold and not yet returned.
    for types, what in (
        (["purchase_invoice", "sales_invoice"], "invoices more than the {} not yet invoiced"),
        (["sales_return"], "returns more than the {} sold and not yet returned"),
    ):
        used = j.filter(valid & pl.col("type").is_in(types) & (pl.col("t_quantity") > 0))
        used = used.with_columns(
            used=_running_total(used, "quantity", by="applies_to", order="transaction_no"),
        ).with_columns(left=pl.col("t_quantity") - pl.col("used") + pl.col("quantity"))
        out.append(flag(
            used, T, pl.col("used") > pl.col("t_quantity") + _EPS, "quantity",
            pl.col("quantity"),
            pl.format(what + " on transaction {} (R160)", _num(pl.col("left")),
                      pl.col("applies_to")),
        ))
    return pl.concat(out)


def _running_total(rows: pl.DataFrame, value: str, *, by: str, order: str) -> pl.Series:
    """`value` summed per `by` up to each row in `order` order (a cumulative sum per group), for
    the rows in their own order. Most groups have one row, whose total is its value; the window
    (slow over a million small groups) runs only over the others."""
    several = rows.get_column(by).is_duplicated()
    multi = rows.with_row_index("_row").filter(several).sort(order).select(
        "_row", pl.col(value).cum_sum().over(by))
    return rows.get_column(value).clone().scatter(multi.get_column("_row"),
                                                  multi.get_column(value))


def _revaluation_order_problems(tx: pl.DataFrame) -> pl.DataFrame:
    """R160, R170.11: a revaluation is never dated before an earlier-posted one of the same item."""
    reval = (
        tx.filter(pl.col("type") == "revaluation")
        .sort("transaction_no")
        .with_columns(latest=pl.col("posting_date").cum_max().shift(1).over("item_no"))
    )
    return flag(reval, "transactions", pl.col("posting_date") < pl.col("latest"), "posting_date",
                pl.col("posting_date"),
                pl.format("before the revaluation of this item dated {}, posted earlier (R160)",
                          pl.col("latest")))


def _average_period_end(d: pl.Expr, period: str) -> pl.Expr:
    """R91: the last day of the average cost period holding `d` (calendar periods)."""
    return {
        "day": d,
        "week": d + pl.duration(days=7 - d.dt.weekday()),  # ISO week, Monday to Sunday
        "month": d.dt.month_end(),
        "quarter": d.dt.truncate("1q").dt.offset_by("3mo").dt.offset_by("-1d"),
        "year": pl.date(d.dt.year(), 12, 31),
    }[period]


def _average_period_problems(
    tx: pl.DataFrame, accounting_periods: pl.DataFrame, settings: Settings
) -> pl.DataFrame:
    """R85, R91, R170.11: AVERAGE revaluations on a period's last day; accounting periods cover
    every posting date of an AVERAGE item."""
    T = "transactions"
    avg = tx.filter(pl.col("costing_method") == "AVERAGE")
    reval = pl.col("type") == "revaluation"
    rule = pl.format("not the last day of its average cost period ({}) (R85, R160)", pl.col("end"))
    if settings.average_cost_period != "accounting_period":  # only revaluations have a rule
        ends = avg.filter(reval).with_columns(end=_average_period_end(
            pl.col("posting_date"), settings.average_cost_period))
        return flag(ends, T, reval & (pl.col("posting_date") != pl.col("end")), "posting_date",
                    pl.col("posting_date"), rule)
    if avg.height and accounting_periods.height == 0:
        return problem("accounting_periods", None, None,
                       "required: average_cost_period is accounting_period (R91, R160)")
    starts = (
        accounting_periods.select(start=pl.col("starting_date").drop_nulls().unique().sort())
        .with_columns(end=pl.col("start").shift(-1).dt.offset_by("-1d"))
    )
    periods = avg.filter(pl.col("posting_date").is_not_null()).sort("posting_date").join_asof(
        starts, left_on="posting_date", right_on="start", strategy="backward"
    )
    before = pl.col("start").is_null()
    return pl.concat([
        flag(periods, T, before, "posting_date", pl.col("posting_date"),
             "before the first accounting period (R91, R160)"),
        flag(periods, T, ~before & reval & pl.col("end").is_null(), "posting_date",
             pl.col("posting_date"),
             "a revaluation in the last accounting period, which has no last day (R170.11)"),
        flag(periods, T, reval & (pl.col("posting_date") != pl.col("end")), "posting_date",
             pl.col("posting_date"), rule),
    ])


def gl_entry_problems(gl: pl.DataFrame, settings: Settings,
                      accounts: pl.Series | None) -> pl.DataFrame:
    """R147: a G/L amount on a reconciled account (`accounts`, the setups' account numbers;
    None: every account) is money, a multiple of the amount rounding precision (as every
    amount BC posts). One with more decimals could leave a difference no variance row explains:
    two cells of 0.004 each count as zero, their month's 0.008 does not. Other accounts are
    not reconciled (R143), so their amounts are not read."""
    p = settings.amount_rounding_precision
    steps = pl.col("amount") / p
    off_grid = (steps - steps.round()).abs() > 1e-6 + steps.abs() * 1e-14  # beyond float noise
    if accounts is not None:
        off_grid &= pl.col("account_no").cast(pl.String).is_in(accounts.implode())
    return flag(gl, "gl_entries", off_grid, "amount", pl.col("amount"),
                f"more decimals than amount_rounding_precision {p:g} allows (R147)")


def _num(x: pl.Expr) -> pl.Expr:
    """A quantity as text without a trailing .0 for whole numbers."""
    return (
        pl.when(x == x.round(0)).then(x.round(0).cast(pl.Int64).cast(pl.String))
        .otherwise(x.cast(pl.String))
    )

