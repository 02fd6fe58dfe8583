"""Item ledger entries and the value entries whose cost is known at posting (R10-R33).

Outbound entries get their cost at posting from the quantity application (R51), see `fifo.py`.
"""

from __future__ import annotations

import polars as pl

from pipelines.costing.by_entry import aligned, positions
from pipelines.errors import NotSupportedYet, Problem
from pipelines.frames import sort_ints, where
from pipelines.rounding import (
    Fixed,
    exact_near_ties,
    round_to,
    segment_cum_sum,
    times_unit,
    with_share,
)
from pipelines.settings import Settings
from schemas.base import Code
from schemas.inputs import QUANTITY_DECIMALS

# R10: the item ledger entry each transaction type creates, and its sign.
ENTRY_TYPE = {
    "purchase": ("Purchase", 1),
    "purchase_receipt": ("Purchase", 1),
    "purchase_return": ("Purchase", -1),
    "sale": ("Sale", -1),
    "sales_shipment": ("Sale", -1),
    "sales_return": ("Sale", 1),
    "positive_adjustment": ("Positive Adjmt.", 1),
    "negative_adjustment": ("Negative Adjmt.", -1),
    "transfer": ("Transfer", -1),  # the from-leg; the to-leg (+) follows it (R11)
}
SUPPORTED_TYPES = (*ENTRY_TYPE, "item_charge", "purchase_invoice", "sales_invoice", "revaluation")
SUPPORTED_METHODS = ("FIFO", "LIFO", "SPECIFIC", "STANDARD", "AVERAGE")
# R30: entries an item charge may be posted on, in this slice.
CHARGEABLE_TYPES = ("purchase", "purchase_receipt", "positive_adjustment", "sales_return",
                    "transfer")

# Decimal places read exactly from unit costs, rates (posted_amounts) and indirect cost %
COST_DECIMALS, _PERCENT_DECIMALS = 10, 6

# Fixed-point scale for quantities: cumulative sums of quantities must be exact (input
# quantities have at most QUANTITY_DECIMALS decimals, a rule of the transactions' model)
QTY_SCALE = 10**QUANTITY_DECIMALS


def quantity_of(units: pl.Expr) -> pl.Expr:
    """Quantity units as the quantity they count, the float nearest the decimal (`units /
    QTY_SCALE` is 1 ulp off for three in ten quantities of two decimals)."""
    return times_unit(units, 1 / QTY_SCALE)


def units_of(quantity: pl.Expr) -> pl.Expr:
    """A quantity as the integer count of a millionth it is (the inverse of `quantity_of`)."""
    return (quantity * QTY_SCALE).round().cast(pl.Int64)


# The columns of an invoice or item charge its value entries read (`invoices_of`): the texts
# are gathered for all value entries once they are sorted (`posted_value_entries`)
_INVOICE_COLUMNS = ("transaction_no", "posting_date", "type", "quantity", "unit_cost", "amount",
                    "sales_amount", "applies_to")

# Fields a value entry takes from the transaction that posted it (R20); the item ledger entries
# do not carry them (at 10M, half a gigabyte held through costing): gathered by transaction
TRANSACTION_TEXTS = ["document_no", "gen_bus_posting_group", "item_charge_no"]
TRANSACTION_CODES = ["gen_bus_posting_group", "item_charge_no"]  # held as Code from the start

# texts of the entries only the tables read: cast to Categorical (schemas.base.Code, as the
# tables hold them) once in the keys' table, so each entry carries 4 bytes of them instead of
# 16; the other texts follow when settling is done (cost_ledger; docs/benchmarks.md, run BG)
TABLE_TEXTS = ["variant_code", "inventory_posting_group", "gen_prod_posting_group"]

ITEM_COLUMNS = [
    "item_no", "costing_method", "standard_cost", "indirect_cost_pct", "overhead_rate",
    "inventory_posting_group", "gen_prod_posting_group",
]


def check_supported(transactions: pl.DataFrame, items: pl.DataFrame) -> None:
    """Types and costing methods this version cannot cost yet fail loudly, never silently."""
    problems = [
        Problem("transactions", f"transaction_no={row['transaction_no']}", "type", row["type"],
                "not supported yet: this transaction type is not costed by this version of invrec")
        for row in transactions.filter(~pl.col("type").is_in(SUPPORTED_TYPES))
        .group_by("type").agg(pl.col("transaction_no").min()).sort("type").iter_rows(named=True)
    ]
    unsupported = items.filter(~pl.col("costing_method").is_in(SUPPORTED_METHODS))
    problems += [
        Problem("items", f"item_no={row['item_no']}", "costing_method", row["costing_method"],
                "not supported yet: this costing method is not costed by this version of invrec")
        for row in unsupported.join(transactions.select("item_no"), on="item_no", how="semi")
        .sort("item_no").head(20).iter_rows(named=True)
    ]
    charges = transactions.filter(pl.col("type") == "item_charge")
    charges = charges.join(
        transactions.join(charges.select(transaction_no="applies_to"), on="transaction_no",
                          how="semi").select(applies_to="transaction_no", target_type="type"),
        on="applies_to", how="left",
    )
    problems += [
        Problem("transactions", f"transaction_no={row['transaction_no']}", "applies_to",
                str(row["applies_to"]),
                f"not supported yet: item charge on a {row['target_type']} entry")
        for row in charges.filter(~pl.col("target_type").is_in(CHARGEABLE_TYPES))
        .head(20).iter_rows(named=True)
    ]
    if problems:
        raise NotSupportedYet(problems)


def item_ledger_entries(transactions: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """R10, R11: one entry per quantity movement, numbered in transaction order.

    Returned sorted once by application key (R6), then entry number: the order every later step
    works in. Carries the item's groups, the key's id, the unsigned quantity in fixed-point units
    and the fixed application target (R43).
    """
    # Numbered in transaction order, a transfer's to-leg right after its from-leg (R11). The
    # order is worked out on a few narrow columns of the rows that move quantity, so the wide
    # rows are gathered only once, by their row in `transactions`.
    transfer = pl.col("type") == "transfer"
    narrow = where(
        transactions, pl.col("type").is_in(list(ENTRY_TYPE)),
        "transaction_no", "item_no", "location_code", "to_location_code", "variant_code",
        row=pl.int_range(pl.len(), dtype=pl.Int64), transfer=transfer,
    ).with_columns(entry_no=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
                   + pl.col("transfer").cast(pl.Int64).cum_sum()
                   - pl.col("transfer").cast(pl.Int64))
    numbered = pl.concat([
        narrow.select("row", "entry_no", "item_no", "location_code", "variant_code",
                      leg=pl.lit(0, dtype=pl.Int32)),
        narrow.filter("transfer").select(
            "row", pl.col("entry_no") + 1, "item_no", pl.col("to_location_code")
            .alias("location_code"), "variant_code", leg=pl.lit(1, dtype=pl.Int32)),
    ])
    # One grouping pass gives every key its id and its entries in entry order (sort once).
    keys = (
        numbered.group_by("item_no", "location_code", "variant_code")
        .agg(pl.col("entry_no", "row", "leg").sort_by("entry_no"))
        .sort("item_no", "location_code", "variant_code")
    )
    order = keys.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("key_id"), "entry_no",
                        "row", "leg").explode("entry_no", "row", "leg")
    # the key's and its item's fields per key, then per entry by its key: no join over all the
    # entries, and the key's texts gathered from a table of keys, not of transactions
    key_texts = ["item_no", "location_code", "variant_code"]
    of_key = keys.select(key_texts).join(
        items.select(ITEM_COLUMNS), on="item_no", how="left", maintain_order="left",
    ).with_columns(pl.col(TABLE_TEXTS).cast(Code))
    # applies_to names a transaction; a transfer's inbound entry is its to-leg (R10). Found by
    # the named transaction's row (transaction numbers are unique, R160), not a hash join
    last_entry = narrow.select(
        "transaction_no", applies_to_entry=pl.col("entry_no") + pl.col("transfer"))
    to_leg = pl.col("leg") == 1
    entries = (
        transactions.drop(key_texts, "to_location_code", TRANSACTION_TEXTS)[
            order.get_column("row")]
        .with_columns(of_key[order.get_column("key_id")])
        .with_columns(
            entry_type=pl.col("type").replace_strict({k: v[0] for k, v in ENTRY_TYPE.items()},
                                                     return_dtype=Code),
            sign=pl.col("type").replace_strict({k: v[1] for k, v in ENTRY_TYPE.items()},
                                               return_dtype=pl.Int64),
            leg=order.get_column("leg"),
        )
        .with_columns(sign=pl.when(to_leg).then(1).otherwise("sign"))
        .with_columns(entry_no=order.get_column("entry_no"))
    )
    entries = entries.with_columns(aligned(last_entry, "transaction_no",
                                           entries.get_column("applies_to")))
    return entries.with_columns(
        # a to-leg applies to nothing itself; its cost comes from the from-leg (R73)
        applies_to_entry=pl.when(to_leg).then(None).otherwise(pl.col("applies_to_entry")),
        source_entry=pl.when(to_leg).then(pl.col("entry_no") - 1)
        .when((pl.col("type") == "sales_return") & pl.col("applies_to").is_not_null())
        .then(pl.col("applies_to_entry")),
        key_id=order.get_column("key_id"),
    ).with_columns(
        inbound=pl.col("sign") > 0,
        receiving=pl.col("source_entry").is_not_null(),  # R6 cost-receiving inbound
        units=units_of(pl.col("quantity")),
        quantity=pl.col("quantity") * pl.col("sign"),
    )


def value_rows(
    frame: pl.DataFrame,
    *,
    seq: int,
    entry_type: str,
    item_ledger_entry_quantity: pl.Expr | float = 0.0,
    valued_quantity: pl.Expr,
    invoiced_quantity: pl.Expr | float = 0.0,
    cost_amount_actual: pl.Expr | float = 0.0,
    cost_amount_expected: pl.Expr | float = 0.0,
    expected_cost: bool = False,
    sales_amount_actual: pl.Expr | float = 0.0,
) -> pl.DataFrame:
    """Value entries made by posting, one per row of `frame` (which has item_ledger_entry_no and
    the creating transaction's columns): the common shape every posting rule fills (R20, R33).
    The transaction's texts (document number, posting group, item charge) are not carried:
    `posted_value_entries` adds them once the rows are sorted (texts carried through the sort of
    ten million rows cost it twice its time)."""
    def lit(x):
        return x if isinstance(x, pl.Expr) else pl.lit(x, dtype=pl.Float64)

    return frame.select(
        "item_ledger_entry_no", "transaction_no", pl.lit(seq).alias("seq"),
        pl.lit(entry_type, dtype=Code).alias("entry_type"), "posting_date",
        lit(item_ledger_entry_quantity).alias("item_ledger_entry_quantity"),
        lit(valued_quantity).alias("valued_quantity"),
        lit(invoiced_quantity).alias("invoiced_quantity"),
        lit(cost_amount_actual).alias("cost_amount_actual"),
        lit(cost_amount_expected).alias("cost_amount_expected"),
        pl.lit(expected_cost).alias("expected_cost"),
        lit(sales_amount_actual).alias("sales_amount_actual"),
    )


def with_reversed_expected(invoices: pl.DataFrame, expected: pl.Expr, p: float) -> pl.DataFrame:
    """R23, R25: `reversed`, the expected cost an invoice of n units reverses: round(E·n/|q|),
    or all that is left when it completes the invoicing. `invoices` (`invoices_of`) sorted by
    entry, then transaction."""
    ile, n_units = "item_ledger_entry_no", units_of(pl.col("quantity"))
    invoices = with_share(invoices.with_columns(_expected=expected), "_part",
                          pl.col("_expected"), n_units, pl.col("entry_units"), p)
    before = segment_cum_sum(pl.col("_part"), ile) - pl.col("_part")
    completes = segment_cum_sum(n_units, ile) == pl.col("entry_units")
    # R2: `before` comes from a global float cum_sum, so `expected - before` carries dust
    return invoices.with_columns(reversed=pl.when(completes).then(
        round_to(pl.col("_expected") - before, p)).otherwise("_part")).drop("_expected", "_part")


def invoices_of(transactions: pl.DataFrame, kind: str, entries: pl.DataFrame,
                among: pl.Expr | None = None) -> pl.DataFrame:
    """The rows of type `kind` (their numbers, not their texts) with the entries (`among` them)
    their applies_to names, sorted by entry, then transaction."""
    invoices = where(transactions, pl.col("type") == kind, *_INVOICE_COLUMNS)
    named = pl.col("transaction_no").is_in(invoices.get_column("applies_to").implode())
    named = where(entries, named if among is None else named & among, "transaction_no",
                  pl.col("entry_no").alias("item_ledger_entry_no"),
                  pl.col("units").alias("entry_units"),
                  pl.col("quantity").alias("entry_quantity"),
                  "costing_method", "standard_cost", "indirect_cost_pct", "overhead_rate")
    # an inner join on the named entry, by its row (transaction numbers are unique among the
    # named entries, R160): no hash of either side (0.3 s at 10M for each kind)
    row = positions(named.get_column("transaction_no"), invoices.get_column("applies_to"))
    found = row.is_not_null()
    return sort_ints(
        pl.concat([invoices.filter(found), named.drop("transaction_no")[row.filter(found)]],
                  how="horizontal"),
        "item_ledger_entry_no", "transaction_no")


def posted_amounts(frame: pl.DataFrame, p: float,
                   names: tuple[str, ...] = ("direct", "indirect", "at_standard", "expected"),
                   ) -> pl.DataFrame:
    """`frame` with the amounts R21, R22 and R24 post for `quantity` units at `unit_cost` (those
    `names`): direct, indirect, at_standard and expected (direct with indirect, R22), rounded as
    their decimals round (`rounding.exact_near_ties`; unit costs, standard costs and overhead rates
    exact to 10 decimals, indirect cost % to 6)."""
    q, c, s = pl.col("quantity"), pl.col("unit_cost"), pl.col("standard_cost")
    pct, overhead = pl.col("indirect_cost_pct"), pl.col("overhead_rate")
    qx, cx, sx = (Fixed.of(q, QUANTITY_DECIMALS), Fixed.of(c, COST_DECIMALS),
                  Fixed.of(s, COST_DECIMALS))
    indirect_x = (cx * Fixed.of(pct, _PERCENT_DECIMALS).percent()
                  + Fixed.of(overhead, COST_DECIMALS))
    amounts = {name: amount for name, amount in {  # name: (the float, the Fixed decimal)
        "direct": (q * c, qx * cx),
        "indirect": (q * (c * pct / 100 + overhead), qx * indirect_x),
        "at_standard": (q * s, qx * sx),
        "expected": (q * (c * (1 + pct / 100) + overhead), qx * (cx + indirect_x)),
    }.items() if name in names}
    frame = frame.with_columns(round_to(x, p).alias(name) for name, (x, _) in amounts.items())
    for name, (x, exact) in amounts.items():
        frame = exact_near_ties(frame, name, x, exact.rounded(p), p)
    return frame


def source_value_entries(
    transactions: pl.DataFrame, entries: pl.DataFrame, settings: Settings
) -> pl.DataFrame:
    """R21-R24, R28, R30: value entries of inbound cost sources, their invoices and item charges.

    Their cost is known at posting. STANDARD items enter at the standard cost; their purchases and
    charges post the difference as Variance (R24, R30). Sorted by transaction, then R33's order.
    """
    p = settings.amount_rounding_precision
    q = pl.col("quantity")
    standard = pl.col("costing_method") == "STANDARD"
    direct, indirect, at_standard = pl.col("direct"), pl.col("indirect"), pl.col("at_standard")
    inbound = posted_amounts(where(  # the columns read, chosen before the filter (`frames.where`)
        entries, pl.col("inbound") & ~pl.col("receiving"),
        pl.col("entry_no").alias("item_ledger_entry_no"), "transaction_no", "posting_date",
        "type", "quantity", "unit_cost", "sales_amount", "costing_method", "standard_cost",
        "indirect_cost_pct", "overhead_rate"), p)
    purchase = inbound.filter(pl.col("type") == "purchase")
    other = inbound.filter(pl.col("type").is_in(["positive_adjustment", "sales_return"]))
    receipt = inbound.filter(pl.col("type") == "purchase_receipt").with_columns(
        expected=pl.when(standard).then(at_standard).otherwise("expected"))
    invoice = (
        posted_amounts(invoices_of(transactions, "purchase_invoice", entries), p,
                       names=("direct", "indirect", "at_standard"))
        .join(receipt.select("item_ledger_entry_no", "expected"), on="item_ledger_entry_no")
        .pipe(with_reversed_expected, pl.col("expected"), p)
    )
    # a charge on a transfer belongs to its to-leg, the inbound entry (R10, R30)
    charge = invoices_of(transactions, "item_charge", entries, among=pl.col("inbound"))
    amount = round_to(pl.col("amount").fill_null(0.0), p)
    optional = pl.concat([  # R32: Indirect Cost and Variance entries only when non-zero
        value_rows(purchase, seq=1, entry_type="Indirect Cost", valued_quantity=q,
                   cost_amount_actual=indirect),
        value_rows(invoice, seq=1, entry_type="Indirect Cost", valued_quantity=q,
                   cost_amount_actual=indirect),
        value_rows(purchase.filter(standard), seq=2, entry_type="Variance", valued_quantity=q,
                   cost_amount_actual=round_to(at_standard - direct - indirect, p)),
        value_rows(invoice.filter(standard), seq=2, entry_type="Variance", valued_quantity=q,
                   cost_amount_actual=round_to(pl.col("reversed") - direct - indirect, p)),
        value_rows(charge.filter(standard), seq=2, entry_type="Variance",
                   valued_quantity=pl.col("entry_quantity"), cost_amount_actual=-amount),
    ]).filter(pl.col("cost_amount_actual") != 0)
    return sort_ints(pl.concat([
        value_rows(purchase, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, invoiced_quantity=q, cost_amount_actual=direct),
        value_rows(other, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, invoiced_quantity=q,
                   cost_amount_actual=pl.when(standard).then(at_standard).otherwise(direct),
                   sales_amount_actual=pl.when(pl.col("type") == "sales_return")
                   .then(-pl.col("sales_amount").fill_null(0.0)).otherwise(0.0)),
        value_rows(receipt, seq=0, entry_type="Direct Cost", item_ledger_entry_quantity=q,
                   valued_quantity=q, cost_amount_expected=pl.col("expected"),
                   expected_cost=True),
        value_rows(invoice, seq=0, entry_type="Direct Cost", valued_quantity=q,
                   invoiced_quantity=q, cost_amount_actual=direct,
                   cost_amount_expected=-pl.col("reversed")),
        optional,
        value_rows(charge, seq=0, entry_type="Direct Cost",
                   valued_quantity=pl.col("entry_quantity"), cost_amount_actual=amount),
    ]), "transaction_no", "seq")
