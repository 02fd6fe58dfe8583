"""Invariants of costing.md §13 as checks on the three ledger frames (R150-R153, R158).

Each `check_*` takes the item ledger entries, item application entries and value entries (the
frames of schemas.ledger), plus what the rule needs, and raises AssertionError showing the
offending rows. They run on the pipeline's output and on the reference's alike.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from math import floor

import polars as pl

from pipelines.rounding import decimals_of
from schemas.base import as_text as code_columns_as_text

TOL = 1e-6  # amounts are exact cents: anything above float noise is a real difference
COST_ELEMENTS = ["Direct Cost", "Indirect Cost", "Variance"]
KEY = ["item_no", "location_code", "variant_code"]

VALUE = pl.col("cost_amount_actual") + pl.col("cost_amount_expected")
# R6 from the frames: a transfer's to-leg is its positive Transfer entry (its from-leg is the
# entry before it, R11); a sales return with applies_to is a positive Sale entry naming the sale.
TO_LEG = (pl.col("entry_type") == "Transfer") & (pl.col("quantity") > 0)
RETURN_OF_SALE = ((pl.col("entry_type") == "Sale") & (pl.col("quantity") > 0)
                  & pl.col("applies_to_entry").is_not_null())
RECEIVING = TO_LEG | RETURN_OF_SALE


def as_text(*frames: pl.DataFrame) -> tuple[pl.DataFrame, ...]:
    """The ledger frames with their Code columns as text (schemas.base.Code), as the input
    tables they are joined with hold them."""
    return tuple(code_columns_as_text(f).collect() for f in frames)


def _exact(x: float, decimals: int) -> Fraction:
    """A float of the ledgers as the decimal it stands for (quantities in millionths, amounts a
    few decimals): the float noise of sums rounded away at 15 significant digits first, then at
    `decimals` (round(6369744.9399999995, 9) is 6369744.939999999, not the sum's 6369744.94)."""
    scale = 10 ** decimals
    return Fraction(round(Fraction(f"{x:.15g}") * scale), scale)


def _rounded_share(a: float | None, b: float | None, c: float | None,
                   precision: float) -> float | None:
    """round(a·b/c) to `precision`, half away from zero, in exact fractions: the shares R2 and
    R3 round land a hair from a half cent now and then, where a float would round the wrong
    way."""
    if a is None or b is None or c is None:
        return None
    units = _exact(a, 6) * _exact(b, 9) / _exact(c, 6) / _exact(precision, 9)
    n = floor(abs(units) + Fraction(1, 2))
    return float((n if units >= 0 else -n) * _exact(precision, 9))


def _amount_sum(amounts: pl.Expr, precision: float) -> pl.Expr:
    """The sum of amounts (multiples of `precision`) as the decimal it stands for: a float sum
    of amounts in the hundreds of millions carries dust (625.0999999 for 625.10) that a share
    of it would round the wrong way."""
    return amounts.sum().round(decimals_of(precision))


def share(a: pl.Expr, b: pl.Expr, c: pl.Expr, precision: float) -> pl.Expr:
    """`_rounded_share` per row (the reference's arithmetic, not the pipeline's)."""
    return pl.struct(a=a, b=b, c=c).map_elements(
        lambda r: _rounded_share(r["a"], r["b"], r["c"], precision), return_dtype=pl.Float64)


def _fail_if_any(bad: pl.DataFrame, rule: str) -> None:
    if bad.height:
        with pl.Config(tbl_rows=30, tbl_cols=-1, tbl_width_chars=250):
            raise AssertionError(f"{rule} violated by {bad.height} row(s):\n{bad}")


def _non_average(ile: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    methods = items.select("item_no", "costing_method")
    return ile.join(methods, on="item_no", how="left").filter(
        pl.col("costing_method") != "AVERAGE")


def check_ledger_sums(ile: pl.DataFrame, app: pl.DataFrame, ve: pl.DataFrame) -> None:
    """R150: quantity, invoiced quantity and the three amounts are sums over the value entries."""
    ile, app, ve = as_text(ile, app, ve)
    sums = ve.group_by("item_ledger_entry_no").agg(
        pl.col("item_ledger_entry_quantity", "invoiced_quantity", "cost_amount_expected",
               "cost_amount_actual", "sales_amount_actual").sum().name.prefix("ve_"))
    joined = ile.join(sums, left_on="entry_no", right_on="item_ledger_entry_no", how="left")
    checks = [("quantity", "ve_item_ledger_entry_quantity")] + [
        (c, f"ve_{c}") for c in ("invoiced_quantity", "cost_amount_expected",
                                 "cost_amount_actual", "sales_amount_actual")]
    bad = joined.filter(pl.any_horizontal(
        (pl.col(a) - pl.col(b).fill_null(0.0)).abs() > TOL for a, b in checks))
    _fail_if_any(bad, "R150 ledger sums")
    orphans = ve.join(ile, left_on="item_ledger_entry_no", right_on="entry_no", how="anti")
    _fail_if_any(orphans, "R150 value entries of a missing item ledger entry")


def check_applications(ile: pl.DataFrame, app: pl.DataFrame, ve: pl.DataFrame) -> None:
    """R151: applied quantities match remaining quantities; open <=> remaining != 0."""
    ile, app, ve = as_text(ile, app, ve)
    qty_apps = app.filter(~pl.col("cost_application")
                          & pl.col("outbound_item_entry_no").is_not_null())
    to_inbound = qty_apps.group_by(entry_no="inbound_item_entry_no").agg(
        applied=-pl.col("quantity").sum())
    to_outbound = qty_apps.group_by(entry_no="outbound_item_entry_no").agg(
        applied=pl.col("quantity").abs().sum())
    inbound = ile.filter(pl.col("quantity") > 0).join(to_inbound, on="entry_no", how="left")
    bad = inbound.filter(
        ((pl.col("quantity") - pl.col("remaining_quantity")) - pl.col("applied").fill_null(0.0))
        .abs() > TOL)
    _fail_if_any(bad, "R151 inbound: quantity - remaining = applied")
    outbound = ile.filter(pl.col("quantity") < 0).join(to_outbound, on="entry_no", how="left")
    bad = outbound.filter(
        ((pl.col("quantity").abs() - pl.col("remaining_quantity").abs())
         - pl.col("applied").fill_null(0.0)).abs() > TOL)
    _fail_if_any(bad, "R151 outbound: |quantity| - |remaining| = applied")
    bad = ile.filter(
        (pl.col("open") != (pl.col("remaining_quantity").abs() > TOL))
        | (pl.col("remaining_quantity") * pl.col("quantity") < -TOL)
        | (pl.col("remaining_quantity").abs() > pl.col("quantity").abs() + TOL))
    _fail_if_any(bad, "R151/R12 open <=> remaining != 0, remaining within [0, quantity]")
    # R47: every inbound cost source has its own row for its full quantity; a cost-receiving
    # inbound one cost application row naming its source outbound
    own = app.filter(pl.col("item_ledger_entry_no") == pl.col("inbound_item_entry_no")).select(
        entry_no="inbound_item_entry_no", quantity="quantity", source="outbound_item_entry_no",
        cost_application="cost_application")
    inbound = ile.filter(pl.col("quantity") > 0).with_columns(
        receiving=RECEIVING,
        source=pl.when(TO_LEG).then(pl.col("entry_no") - 1)
        .when(RETURN_OF_SALE).then(pl.col("applies_to_entry")))
    missing = inbound.join(
        own, left_on=["entry_no", "quantity", "source", "receiving"],
        right_on=["entry_no", "quantity", "source", "cost_application"], how="anti",
        nulls_equal=True)
    _fail_if_any(missing, "R47 inbound entry without its own application row")
    _fail_if_any(own.group_by("entry_no").len().filter(pl.col("len") != 1),
                 "R47 more than one own row per inbound entry")


def shares(ile: pl.DataFrame, app: pl.DataFrame, ve: pl.DataFrame, precision: float = 0.01):
    """R71: share = round(a*B_i/q_i) + sum of round(a*A_R/r_R) over the revaluations of i that
    reach the outbound (R83: posted after R, or dated after d), per quantity application."""
    ile, app, ve = as_text(ile, app, ve)
    base = ve.filter(pl.col("entry_type").is_in(COST_ELEMENTS)).group_by(
        inbound_item_entry_no="item_ledger_entry_no").agg(base=_amount_sum(VALUE, precision))
    q_in = ile.select(inbound_item_entry_no="entry_no", q_in="quantity")
    out = ile.select(outbound_item_entry_no="entry_no", o_tx="transaction_no",
                     o_date="posting_date")
    qty_apps = (app.filter(~pl.col("cost_application")
                           & pl.col("outbound_item_entry_no").is_not_null())
                .with_row_index("_app"))
    revals = ve.filter(pl.col("entry_type") == "Revaluation").select(
        inbound_item_entry_no="item_ledger_entry_no", r_tx="transaction_no", d="posting_date",
        r="valued_quantity", amount="cost_amount_actual")
    reval_shares = (
        qty_apps.join(out, on="outbound_item_entry_no").join(revals, on="inbound_item_entry_no")
        .filter((pl.col("o_tx") > pl.col("r_tx")) | (pl.col("o_date") > pl.col("d")))
        .with_columns(reval=share(-pl.col("quantity"), pl.col("amount"), pl.col("r"),
                                  precision))
        .group_by("_app").agg(pl.col("reval").sum()))
    return (qty_apps
            .join(base, on="inbound_item_entry_no", how="left")
            .join(q_in, on="inbound_item_entry_no", how="left")
            .join(reval_shares, on="_app", how="left")
            .with_columns(share=share(-pl.col("quantity"), pl.col("base").fill_null(0.0),
                                      pl.col("q_in"), precision)
                          + pl.col("reval").fill_null(0.0))
            .drop("_app", "reval"))


def unapplied_posting_cost(ile: pl.DataFrame, ve: pl.DataFrame, items: pl.DataFrame,
                           precision: float = 0.01,
                           transactions: pl.DataFrame | None = None) -> pl.DataFrame:
    """R51/R170.8 per open outbound: round(m_end*u0), u0 the known unit cost at its posting of
    the last earlier inbound of its key (0 if none); STANDARD items: the standard cost in force
    (R170.7), which a revaluation without applies_to posted before the outbound sets (R84;
    `transactions` needed for it)."""
    ile, ve = as_text(ile, ve)
    open_out = ile.filter((pl.col("quantity") < 0) & (pl.col("remaining_quantity") != 0))
    inbounds = ile.filter(pl.col("quantity") > 0).select(
        *KEY, src="entry_no", src_entry_no="entry_no", q_src="quantity")
    pairs = open_out.sort("entry_no").join_asof(
        inbounds.sort("src_entry_no"), left_on="entry_no", right_on="src_entry_no", by=KEY,
        strategy="backward", allow_exact_matches=False, check_sortedness=False)
    known = (pairs.select("entry_no", "transaction_no", "src")
             .join(ve.filter(pl.col("entry_type").is_in(COST_ELEMENTS)
                             & pl.col("transaction_no").is_not_null())
                   .select(src="item_ledger_entry_no", ve_tx="transaction_no", v=VALUE),
                   on="src", how="inner")
             .filter(pl.col("ve_tx") < pl.col("transaction_no"))
             .group_by("entry_no").agg(known=_amount_sum(pl.col("v"), precision)))
    cost = pl.col("standard_cost") if "standard_cost" in items.columns else pl.lit(None)
    standard = items.select("item_no", standard=pl.when(pl.col("costing_method") == "STANDARD")
                            .then(cost).cast(pl.Float64))
    # u0 = value / quantity of the source, or the standard cost (per 1)
    value = pl.coalesce("standard", pl.col("known").fill_null(0.0))
    per = pl.when(pl.col("standard").is_null()).then(pl.col("q_src").fill_null(1.0)).otherwise(1.0)
    pairs = pairs.join(standard, on="item_no", how="left")
    if transactions is not None:  # R84
        per_item = transactions.filter((pl.col("type") == "revaluation")
                                       & pl.col("applies_to").is_null()).select(
            "item_no", r_tx="transaction_no", in_force="unit_cost").sort("r_tx")
        pairs = pairs.sort("transaction_no").join_asof(
            per_item, left_on="transaction_no", right_on="r_tx", by="item_no",
            strategy="backward", allow_exact_matches=False, check_sortedness=False,
        ).with_columns(standard=pl.when(pl.col("standard").is_not_null())
                       .then(pl.coalesce("in_force", "standard")))
    return (pairs.join(known, on="entry_no", how="left")
            .select("entry_no", unapplied=share(-pl.col("remaining_quantity"), value, per,
                                                precision)))


def check_cost_conservation(ile: pl.DataFrame, app: pl.DataFrame, ve: pl.DataFrame,
                            items: pl.DataFrame, precision: float = 0.01,
                            transactions: pl.DataFrame | None = None) -> None:
    """R152 (non-AVERAGE): each outbound's value = -sum of its shares (revaluation shares
    included, R71) - its unapplied part (R72);
    each cost-receiving inbound's value, item charges and revaluations on it (R61) and its
    Rounding entry (R76) aside, is its target: a to-leg
    -value(from-leg) (R73), the returns of a sale the cumulative split of -value(sale) by their
    quantities in entry order, whole |q_sale| (R74, R3)."""
    ile, app, ve = as_text(ile, app, ve)
    received = shares(ile, app, ve, precision).group_by(entry_no="outbound_item_entry_no").agg(
        received=pl.col("share").sum())
    ile_na = _non_average(ile, items)
    outbound = (ile_na.filter(pl.col("quantity") < 0)
                .join(received, on="entry_no", how="left")
                .join(unapplied_posting_cost(ile, ve, items, precision, transactions),
                      on="entry_no",
                      how="left")
                .with_columns(expected=-pl.col("received").fill_null(0.0)
                              - pl.col("unapplied").fill_null(0.0),
                              value=VALUE))
    _fail_if_any(outbound.filter((pl.col("value") - pl.col("expected")).abs() > TOL),
                 "R152/R72 outbound value = -(shares received) - unapplied part")
    charges = ve.filter(pl.col("item_charge_no").is_not_null()
                        | pl.col("entry_type").is_in(["Rounding", "Revaluation"])).group_by(
        entry_no="item_ledger_entry_no").agg(charges=VALUE.sum())
    source = ile.select(source="entry_no", source_value=VALUE, source_q=pl.col("quantity").abs())
    receiving = (
        ile_na.filter(RECEIVING)
        .with_columns(source=pl.when(TO_LEG).then(pl.col("entry_no") - 1)
                      .otherwise(pl.col("applies_to_entry")), value=VALUE)
        .join(charges, on="entry_no", how="left").join(source, on="source", how="left")
        .sort("source", "entry_no")
        .with_columns(s_j=pl.col("quantity").cum_sum().over("source"))
        .with_columns(expected=pl.when(TO_LEG).then(-pl.col("source_value")).otherwise(
            share(pl.col("s_j"), -pl.col("source_value"), pl.col("source_q"), precision)
            - share(pl.col("s_j") - pl.col("quantity"), -pl.col("source_value"),
                    pl.col("source_q"), precision)))
    )
    _fail_if_any(receiving.filter(
        (pl.col("value") - pl.col("charges").fill_null(0.0) - pl.col("expected")).abs() > TOL),
        "R152/R73/R74 cost-receiving inbound value = its target")


def check_closed_means_empty(ile: pl.DataFrame, app: pl.DataFrame, ve: pl.DataFrame,
                             items: pl.DataFrame, precision: float = 0.01) -> None:
    """R153 (non-AVERAGE): a closed, invoiced inbound keeps nothing (its value, revaluations
    included, is what it forwarded, R71, R76); a closed key is worth 0.00."""
    ile, app, ve = as_text(ile, app, ve)
    forwarded = shares(ile, app, ve, precision).group_by(entry_no="inbound_item_entry_no").agg(
        forwarded=pl.col("share").sum())
    ile_na = _non_average(ile, items)
    closed_in = (ile_na.filter((pl.col("quantity") > 0) & ~pl.col("open")
                               & (pl.col("invoiced_quantity") == pl.col("quantity")))
                 .join(forwarded, on="entry_no", how="left")
                 .with_columns(value=VALUE, forwarded=pl.col("forwarded").fill_null(0.0)))
    _fail_if_any(closed_in.filter((pl.col("value") - pl.col("forwarded")).abs() > TOL),
                 "R153/R76 closed inbound value = shares it forwarded")
    per_key = ile_na.group_by(KEY).agg(
        any_open=pl.col("open").any(),
        all_invoiced=(pl.col("invoiced_quantity") == pl.col("quantity")).all(),
        value=VALUE.sum())
    _fail_if_any(per_key.filter(~pl.col("any_open") & pl.col("all_invoiced")
                                & (pl.col("value").abs() > TOL)),
                 "R153 closed application key has value 0.00")


def check_dates(ile: pl.DataFrame, app: pl.DataFrame, ve: pl.DataFrame,
                first_allowed: dt.date | None) -> None:
    """R158/R111: entries made by cost adjustment sit on the applied entry's date, moved to the
    first allowed date when it is not allowed; never before it. R92: one valuation date per
    item ledger entry (Revaluation aside), adjustments copy it."""
    ile, app, ve = as_text(ile, app, ve)
    made = ve.filter(pl.col("adjustment"))
    applied = ve.select(applies_to_entry="entry_no", a_ile="item_ledger_entry_no",
                        a_posting="posting_date", a_valuation="valuation_date",
                        a_adjustment="adjustment")
    joined = made.join(applied, on="applies_to_entry", how="left")
    rule_date = (pl.col("a_posting") if first_allowed is None
                 else pl.max_horizontal("a_posting", pl.lit(first_allowed, dtype=pl.Date)))
    bad = joined.filter(
        pl.col("a_ile").is_null() | (pl.col("a_ile") != pl.col("item_ledger_entry_no"))
        | pl.col("a_adjustment") | pl.col("transaction_no").is_not_null()
        | (pl.col("posting_date") != rule_date)
        | (pl.col("posting_date") < pl.col("a_posting"))
        | (pl.col("valuation_date") != pl.col("a_valuation")))
    _fail_if_any(bad, "R158/R111/R63 adjustment entry dates and reference")
    if first_allowed is not None:
        _fail_if_any(made.filter(pl.col("posting_date") < first_allowed),
                     "R158 adjustment on a date that is not allowed (R110)")
    dates = ve.filter(pl.col("entry_type") != "Revaluation").group_by("item_ledger_entry_no").agg(
        n=pl.col("valuation_date").n_unique(), first=pl.col("valuation_date").min())
    joined = dates.join(ile.select(item_ledger_entry_no="entry_no", pd="posting_date"),
                        on="item_ledger_entry_no")
    _fail_if_any(joined.filter((pl.col("n") != 1) | (pl.col("first") < pl.col("pd"))),
                 "R92 one valuation date per item ledger entry, not before its posting date")


TRANSACTION_TEXTS = ["document_no", "gen_bus_posting_group", "item_charge_no"]


def check_texts(ve: pl.DataFrame, transactions: pl.DataFrame) -> None:
    """R20: a value entry posted by a transaction carries that transaction's document number,
    business posting group and item charge; one made by cost adjustment (R63, R76) the document
    and posting group of the value entry it applies to, and no item charge."""
    ve, = as_text(ve)
    posted = ve.filter(pl.col("transaction_no").is_not_null()).join(
        transactions.select("transaction_no", *(pl.col(c).alias(f"tx_{c}")
                                                for c in TRANSACTION_TEXTS)),
        on="transaction_no", how="left")
    _fail_if_any(posted.filter(pl.any_horizontal(
        pl.col(c).ne_missing(pl.col(f"tx_{c}")) for c in TRANSACTION_TEXTS)).select(
        "entry_no", "transaction_no", *TRANSACTION_TEXTS, *(f"tx_{c}" for c in TRANSACTION_TEXTS)),
        "R20 a posted value entry carries its transaction's texts")
    applied = ve.select(applies_to_entry="entry_no", a_document="document_no",
                        a_group="gen_bus_posting_group")
    made = ve.filter(pl.col("transaction_no").is_null()).join(applied, on="applies_to_entry",
                                                              how="left")
    _fail_if_any(made.filter(pl.col("document_no").ne_missing(pl.col("a_document"))
                             | pl.col("gen_bus_posting_group").ne_missing(pl.col("a_group"))
                             | pl.col("item_charge_no").is_not_null()),
                 "R20 an adjustment carries the texts of the entry it applies to")


def check_all(ile: pl.DataFrame, app: pl.DataFrame, ve: pl.DataFrame, items: pl.DataFrame,
              first_allowed: dt.date | None, precision: float = 0.01,
              transactions: pl.DataFrame | None = None) -> None:
    """Every invariant of this slice; `transactions` for R84's standard cost in force and R20's
    texts."""
    check_ledger_sums(ile, app, ve)
    check_applications(ile, app, ve)
    check_cost_conservation(ile, app, ve, items, precision, transactions)
    check_closed_means_empty(ile, app, ve, items, precision)
    check_dates(ile, app, ve, first_allowed)
    if transactions is not None:
        check_texts(ve, transactions)
