"""Inventory subledger vs G/L per account and month, every difference explained (R140-R147).

Both sides are totalled per cell, (month, account, document) (R145): at 10M transactions about
60M rows into 30M cells. The keys are integers: the month and the account packed into one
(`month_account`: month end as days since 1970 times the account count, plus the account's
position among the reconciled accounts), the document as two 64-bit hashes of its number with
different seeds (`doc_a`, `doc_b`: two different numbers share both with odds of about 1e-25 at
10M documents). The subledger's rows are posting's mapping, made per slot from one frame per
value entry by each query that reads them (`_Subledger`). Cells are told apart first by one mix
of the three (`_differing_cells`); buckets of mixes whose cells all agree are ruled out by an
integer fingerprint, the rest grouped by mix, and only the documents that differ grouped on the
keys themselves; document numbers and items are looked up again only for their cells.
"""

from __future__ import annotations

import polars as pl

from pipelines.posting import ROLE_ORDER, XE, Slots, X, posting_slots, setup_accounts
from pipelines.rounding import round_to
from pipelines.settings import Settings
from schemas.base import Code, columns
from schemas.gl import VARIANCE_CAUSES, Reconciliation, ReconciliationVariance

KEY = ["month_account", "doc_a", "doc_b"]  # a cell (R145) while grouping
DOC = ["account", "doc_a", "doc_b"]  # a document on an account, all months
_SEEDS = {"doc_a": 0, "doc_b": 0x5EED}


def reconciled_accounts(
    inventory_posting_setup: pl.DataFrame, general_posting_setup: pl.DataFrame
) -> pl.DataFrame:
    """R140: (account_no, account_role) for every account in the setups, roles joined in order."""
    rank = pl.col("account_role").replace_strict(ROLE_ORDER, range(len(ROLE_ORDER)))
    return (
        setup_accounts(inventory_posting_setup, general_posting_setup)
        .filter(pl.col("account_no").is_not_null())
        .select("account_no", "account_role")
        .unique()
        .sort("account_no", rank)
        .group_by("account_no", maintain_order=True)
        .agg(pl.col("account_role").str.join(","))
    )


def reconcile(
    value_entries: pl.DataFrame,
    gl_entries: pl.DataFrame,
    inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
    settings: Settings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """R140-R147: the reconciliation per account and month (+ all time) and its explained variance.

    The subledger side is the account mapping of posting (R142, `Xe` pairs always); the G/L side is
    `gl_entries` (input or our own) restricted to the reconciled accounts (R147).
    """
    precision = settings.amount_rounding_precision
    accounts = reconciled_accounts(inventory_posting_setup, general_posting_setup)
    gl = gl_entries.select(
        pl.col("posting_date").cast(pl.Date),
        pl.col("account_no").cast(Code),  # ours is already; an input G/L's is text
        pl.col("document_no").cast(pl.String),
        pl.col("amount").cast(pl.Float64),
    ).filter(pl.col("account_no").is_in(accounts["account_no"].implode()))
    cell = _Cells(accounts, pl.concat([value_entries["posting_date"], gl["posting_date"]]))
    slots = posting_slots(
        value_entries, inventory_posting_setup, general_posting_setup, include_expected=True,
        unposted_only=False, require_expected_accounts=settings.expected_cost_posting_to_gl,
        precision=precision, ordered=False,
    )
    entries = slots.entries
    subledger = _Subledger(entries, slots, cell)
    # the document hashes are made anew by each query (30M text hashes in 0.04 s), not held
    # beside the G/L (0.5 GB of pages first touched at 10M)
    gl = gl.with_columns(cell.key(cell.position(pl.col("account_no")))).lazy().with_columns(
        _documents("document_no"))
    expected_on = settings.expected_cost_posting_to_gl
    per_month, cells = _cells(subledger, gl, cell, precision, xe_apart=not expected_on)
    return (
        _reconciliation(per_month, accounts, cell, precision),
        _variance(cells, cell, subledger.rows(), gl, entries, expected_on, precision),
    )


class _Subledger:
    """R142's rows (month_account, doc_a, doc_b, amount, row, slot): one per value entry
    (`row`, its position) and slot of non-zero amount that goes to an account.

    Held as one frame per entry (its month, document hashes, combination and amounts), and
    made per slot anew by each query that reads the rows, streamed: at 10M, 30M rows of
    posting's mapping are never exploded, gathered and held (2.9 s, most of it pages first
    touched)."""

    def __init__(self, entries: pl.DataFrame, slots: Slots, cell: _Cells) -> None:
        self.per_entry = entries.lazy().select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), pl.lit(slots.combo),
            cell.month_base(), *_documents("document_no"),
            **{f"pair{k}": amount for k, amount in slots.amounts.items()},
        ).collect()
        self.account = pl.lit(cell.positions(slots.account_no))
        self.pairs = tuple(slots.amounts)

    def rows(self, *pairs: int) -> pl.LazyFrame:
        """The rows of the given pairs (default: all)."""
        return pl.concat([
            self.per_entry.lazy().select(
                month_account=pl.col("month_base")
                + self.account.gather(pl.col("combo") * 4 + k + side),
                doc_a="doc_a", doc_b="doc_b", amount=pl.col(f"pair{k}") * (1 - 2 * side),
                row="row", slot=pl.lit(k + side, pl.Int8),
            ).filter((pl.col("amount") != 0) & pl.col("month_account").is_not_null())
            for k in pairs or self.pairs for side in (0, 1)
        ])


class _Cells:
    """Packs (month end, account) into `month_account` and back; months from the dates given."""

    def __init__(self, accounts: pl.DataFrame, dates: pl.Series):
        self.accounts = accounts["account_no"]
        self.n = max(accounts.height, 1)
        self.enum = pl.Enum(self.accounts)
        dates = dates.drop_nulls()
        # month end per day of the range, gathered per row (a calendar per row is 4x slower)
        self.month_ends = (pl.date_range(dates.min(), dates.max(), eager=True).dt.month_end()
                           if dates.len() else pl.Series([], dtype=pl.Date))
        self.first = dates.to_physical().min() if dates.len() else 0

    def position(self, account_no: pl.Expr) -> pl.Expr:
        """A reconciled account number's position among them (the account part of the key)."""
        return account_no.cast(self.enum).to_physical().cast(pl.Int64)

    def positions(self, account_no: pl.Series) -> pl.Series:
        """`position` of a few account numbers (posting's accounts per combination and slot)."""
        return pl.select(self.position(pl.lit(account_no))).to_series()

    def month_base(self) -> pl.Expr:
        """`month_account` of a frame's posting_date for the account at position 0."""
        day = pl.col("posting_date").to_physical() - self.first
        month_end = pl.lit(self.month_ends.to_physical()).gather(day).cast(pl.Int64)
        return (month_end * self.n).alias("month_base")

    def key(self, account: pl.Expr) -> pl.Expr:
        """`month_account` of a frame's posting_date and an account's `position`."""
        return (self.month_base() + account).alias("month_account")

    def months(self) -> pl.DataFrame:
        """R141: every calendar month from the earliest to the latest date, by its last day."""
        return pl.DataFrame({"period_end": self.month_ends.unique(maintain_order=True)})

    def decoded(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame` with period_end and account_no in place of `month_account` (a small frame)."""
        key = frame["month_account"]
        return frame.drop("month_account").with_columns(
            period_end=(key // self.n).cast(pl.Int32).cast(pl.Date),
            account_no=self.accounts.gather(key % self.n),
        )


def _documents(column: str) -> list[pl.Expr]:
    """doc_a, doc_b: the two hashes of a document number; null is the same document as ""."""
    doc = pl.col(column)
    return [pl.when(doc.is_null()).then(pl.lit("").hash(seed)).otherwise(doc.hash(seed)).alias(name)
            for name, seed in _SEEDS.items()]


def _cells(subledger: _Subledger, gl: pl.LazyFrame, cell: _Cells, precision: float,
           xe_apart: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Both sides' totals per month and account (S, G), and the cells (R145) that differ:
    S, G, S_e, one row per cell and part.

    S' - G: the X pair's rows against the G/L when expected cost is not posted (`xe_apart`),
    else all of the subledger's rows. With `xe_apart`, the Xe pair's cells of non-zero sum
    come as rows of their own (S = S_e, G = 0): `_variance` finds the same causes in the two
    rows of a cell as in one (S' = S - S_e is 0 in the Xe row, S_e is 0 in the other)."""
    zero_col = pl.lit(0.0)
    actual = subledger.rows(X) if xe_apart else subledger.rows()
    cells = _differing_cells(actual, gl, cell, precision).with_columns(S_e=zero_col)
    if xe_apart:  # R145.1: expected cost in the subledger, not posted
        xe = subledger.rows(XE).group_by(KEY).agg(
            S_e=round_to(pl.col("amount").sum(), precision)
        ).filter(pl.col("S_e").abs() >= precision / 2)
        cells = pl.concat([cells, xe.select(*KEY, S="S_e", G=zero_col, S_e="S_e").collect()])
    per_month = pl.concat([
        subledger.rows().group_by("month_account").agg(S=pl.col("amount").sum(), G=zero_col),
        gl.group_by("month_account").agg(S=zero_col, G=pl.col("amount").sum()),
    ]).group_by("month_account").agg(pl.col("S", "G").sum()).collect()
    return per_month, cells


def _differing_cells(subledger: pl.LazyFrame, gl: pl.LazyFrame, cell: _Cells,
                     precision: float) -> pl.DataFrame:
    """The cells of the documents (on an account) that have a cell whose S and G differ once
    rounded: S, G per cell.

    A group-by of some 60M rows into 30M cells on three keys would be most of reconciliation's
    time; almost every cell agrees. So the cells are first told apart by one 64-bit mix of their
    three keys; the buckets of mixes that may hold a differing cell are found by a fingerprint
    summed per bucket (`_flagged_buckets`: 65,536 groups, not 30M), S and G are summed per mix
    over their rows only, and only the documents (on an account) that have a cell whose sums
    differ are grouped on the keys themselves. Two cells share a mix with odds of 2^-64 per
    pair; a difference is then missed only if it is another differing cell's exact opposite.
    At 10M against our own G/L: 7.9-8.6 s instead of 11.1-12.6 s."""
    zero_col = pl.lit(0.0)
    mixed = pl.concat([subledger.select(_mix(), *KEY, s="amount", g=zero_col),
                       gl.select(_mix(), *KEY, s=zero_col, g="amount")])

    def rounded(c: str) -> pl.Expr:
        return round_to(pl.col(c), precision)

    # a cell differs as `_variance` decides on its rounded sums, not as the sums' difference
    # does: 0.01 against a G/L's 0.015 differs by 0.0049999... in floats, and by one cent once
    # 0.015 is rounded (R2)
    differ = (rounded("s") - rounded("g")).abs() >= precision / 2

    def differing_mixes(rows: pl.LazyFrame) -> pl.LazyFrame:
        return rows.group_by("mix").agg(pl.col("s", "g").sum()).filter(differ).select("mix")

    account = (pl.col("month_account") % cell.n).alias("account")
    buckets = _flagged_buckets(mixed, precision)
    flagged = _bucket(pl.col("mix")).is_in(buckets.implode())
    if len(buckets) <= _FEW_BUCKETS:
        # their rows are few (a G/L with some differences): read once, and the documents of
        # the cells that differ found among them (at 10M, two passes over 60M rows saved)
        rows = _if_any(mixed.filter(flagged).with_columns(account), buckets)
        suspect = differing_mixes(rows.lazy()).collect().get_column("mix")
        docs = rows.filter(pl.col("mix").is_in(suspect.implode())).select(*DOC).unique()
    else:
        # only the rows of the buckets that may hold a differing cell are grouped by cell, in
        # _MIX_PARTS passes over the mix's lowest bits: each holds a hash table of its share
        # of the cells only (at 10M, 2.2 GB for all 30M cells at once, the peak of `invrec
        # run`)
        suspect = pl.concat([
            differing_mixes(mixed.filter(flagged & (pl.col("mix") % _MIX_PARTS == part_no)))
            .collect() for part_no in range(_MIX_PARTS)]).get_column("mix")
        docs = _if_any(pl.concat([
            side.filter(_mix().is_in(suspect.implode())).select(account, *DOC[1:])
            for side in (subledger, gl)
        ]).unique(), suspect)
    of_docs = pl.col("doc_a").is_in(docs.get_column("doc_a").implode())
    stacked = pl.concat([
        subledger.filter(of_docs).select(*KEY, S="amount", G=zero_col),
        gl.filter(of_docs).select(*KEY, S=zero_col, G="amount"),
    ]).with_columns(account).join(docs.lazy(), on=DOC, how="semi").drop("account")
    return _if_any(stacked.group_by(KEY).agg(
        round_to(pl.col(c).sum(), precision) for c in ("S", "G")), docs)


def _if_any(query: pl.LazyFrame, found: pl.Series | pl.DataFrame) -> pl.DataFrame:
    """`query` collected, or its empty frame without reading a row when `found`, what it
    filters on, is empty."""
    return (query if len(found) else query.clear()).collect()


_MIX_PARTS = 2
_FEW_BUCKETS = 2_048  # of 65,536: their rows are about 3 % of all, read in one pass
_UNITS = 1000  # a bucket's fingerprint counts amounts in thousandths of the rounding precision


def _bucket(mix: pl.Expr) -> pl.Expr:
    """A mix's bucket: its top 16 bits."""
    return mix // pl.lit(1 << 48, pl.UInt64)


def _flagged_buckets(mixed: pl.LazyFrame, precision: float) -> pl.Series:
    """The buckets of mixes that may hold a cell whose S - G is not zero.

    Each row adds its amount in integer units times an odd number of its cell's mix (wrapping,
    so exact): a bucket whose cells all sum to zero units sums to zero, one with a non-zero
    cell sums to zero with odds of 2^-64. A cell is reported by the exact group-by that
    follows, not by this: a bucket left out needs a cell of non-zero amount whose units sum to
    zero, which amounts with up to three decimals more than the precision never have (an
    amount too large for 64-bit units flags its bucket). At 10M almost every bucket sums to
    zero, and 60M rows are summed into 65,536 buckets instead of 30M cells."""
    scale = _UNITS / precision

    def units(amount: pl.Expr) -> pl.Expr:
        return (amount * scale).round().cast(pl.Int64, strict=False).reinterpret(signed=False)

    mix = pl.col("mix")
    weight = units(pl.col("s") - pl.col("g")) * (mix | 1)
    return (
        mixed.select(bucket=_bucket(mix), weight=weight.fill_null(1))
        .group_by("bucket").agg(pl.col("weight").sum())
        .filter(pl.col("weight") != 0).collect().get_column("bucket")
    )


def _mix() -> pl.Expr:
    """A 64-bit mix of a row's cell (month_account, doc_a, doc_b): the document hashes are
    random already; odd multipliers keep every part's values apart (wrapping arithmetic)."""
    return (pl.col("doc_a")
            ^ (pl.col("doc_b") * pl.lit(0x9E3779B97F4A7C15, pl.UInt64))
            ^ (pl.col("month_account").cast(pl.UInt64) * pl.lit(0xC2B2AE3D27D4EB4F, pl.UInt64))
            ).alias("mix")


def _reconciliation(per_month: pl.DataFrame, accounts: pl.DataFrame, cell: _Cells,
                    precision: float) -> pl.DataFrame:
    """R141-R143: movements per account and month, plus the all-time row (period_end null)."""
    per_month = cell.decoded(per_month.rename({"S": "inventory_value", "G": "gl_balance"}))
    all_time = per_month.group_by("account_no").agg(pl.col("inventory_value", "gl_balance").sum())
    monthly = accounts.join(cell.months(), how="cross").join(
        per_month, on=["period_end", "account_no"], how="left"
    )
    total = accounts.join(all_time, on="account_no", how="left").with_columns(
        period_end=pl.lit(None, dtype=pl.Date)
    )
    amounts = [_signed_zero_free(round_to(pl.col(c).fill_null(0.0), precision)).alias(c)
               for c in ("inventory_value", "gl_balance")]
    return (
        pl.concat([monthly, total.select(monthly.columns)])
        .with_columns(amounts)
        .with_columns(
            difference=_signed_zero_free(
                round_to(pl.col("inventory_value") - pl.col("gl_balance"), precision))
        )
        .sort("account_no", "period_end", nulls_last=True)
        .select(columns(Reconciliation))
    )


def _variance(cells: pl.DataFrame, cell: _Cells, subledger: pl.LazyFrame, gl: pl.LazyFrame,
              entries: pl.DataFrame, expected_on: bool, precision: float) -> pl.DataFrame:
    """R145/R147: one row per (month, account, document, cause); a month's rows sum to its
    difference, a date moved across months gives cancelling posting_date_mismatch rows.

    `subledger` and `gl` are the rows of both sides, `entries` the value entries (the
    subledger's `row` is a position among them)."""
    zero = precision / 2

    def nonzero(e: pl.Expr) -> pl.Expr:  # R147: below half a rounding unit is zero
        return e.abs() >= zero

    account = (pl.col("month_account") % cell.n).alias("account")
    s_prime = pl.col("S") if expected_on else round_to(pl.col("S") - pl.col("S_e"), precision)
    cells = cells.with_columns(S1=s_prime)
    # Steps 2-4 only give rows in cells where S' and G differ: work on those documents only.
    differing = cells.filter(nonzero(pl.col("S1") - pl.col("G"))).select(account, *DOC[1:]).unique()
    among_differing = pl.col("doc_a").is_in(differing["doc_a"].implode())

    # the differing DOCs a side has rows of
    def on_side(rows: pl.LazyFrame, flag: str) -> pl.DataFrame:
        return _if_any(rows.lazy().filter(among_differing).select(account, *DOC[1:]).unique()
                       .join(differing.lazy(), on=DOC, how="semi")
                       .with_columns(pl.lit(True).alias(flag)), differing)

    c = (
        cells.filter(among_differing)
        .with_columns(account)
        .join(differing, on=DOC, how="semi")
        .join(on_side(subledger, "mapped"), on=DOC, how="left")  # a non-zero R142 amount
        .join(on_side(gl, "has_gl"), on=DOC, how="left")  # any G/L row, even of amount 0
        .with_columns(
            pl.col("mapped", "has_gl").fill_null(False),
            dates_only=~nonzero(round_to(pl.col("S1").sum().over(DOC) - pl.col("G").sum().over(DOC),
                                         precision)),
        )
    )

    def rows(frame: pl.DataFrame, cond: pl.Expr, sub: pl.Expr, gl: pl.Expr,
             cause: pl.Expr | str) -> pl.DataFrame:
        return frame.filter(cond).select(
            *KEY, subledger_amount=sub, gl_amount=gl,
            cause=pl.lit(cause) if isinstance(cause, str) else cause,
        )

    mapped, has_gl = pl.col("mapped"), pl.col("has_gl")
    parts = [
        rows(c, mapped & ~has_gl & nonzero(pl.col("S1")), pl.col("S1"), pl.lit(0.0),
             "unposted_cost"),
        rows(c, ~mapped & has_gl & nonzero(pl.col("G")), pl.lit(0.0), pl.col("G"),
             "direct_posting"),
        rows(c, mapped & has_gl & nonzero(pl.col("S1") - pl.col("G")), pl.col("S1"), pl.col("G"),
             pl.when("dates_only").then(pl.lit("posting_date_mismatch"))
             .otherwise(pl.lit("amount_mismatch"))),
    ]
    if not expected_on:
        parts.insert(0, rows(cells, nonzero(pl.col("S_e")), pl.col("S_e"), pl.lit(0.0),
                             "expected_cost_setup"))
    found = pl.concat(parts).with_columns(account)
    found_docs = pl.col("doc_a").is_in(found["doc_a"].unique().implode())
    # per document on an account with value entries: its number, and its item when there is
    # exactly one, found by the items' category codes (at 10M with expected cost not posted,
    # 8M documents: 3.9 s, against 9.6 s by their texts)
    items, at_row = entries.get_column("item_no"), pl.col("row")
    of_entries = (
        subledger.filter(found_docs).select(account, *DOC[1:], "row",
                                            code=pl.lit(items.to_physical()).gather(at_row))
        .group_by(DOC).agg(at_row.first(), lo=pl.col("code").min(), hi=pl.col("code").max())
        .select(*DOC, "row",
                item_no=pl.when(pl.col("lo") == pl.col("hi")).then(pl.lit(items).gather(at_row))
                .cast(pl.String),
                document_no=pl.lit(entries.get_column("document_no")).gather(at_row)
                .cast(pl.String))
    )
    found = _if_any(found.lazy().join(of_entries, on=DOC, how="left"), found)
    # a document without value entries on the account has G/L rows there: its number from them
    of_gl = found.filter(pl.col("row").is_null()).select(*DOC[1:]).unique()
    if of_gl.height:
        numbers = gl.filter(pl.col("doc_a").is_in(of_gl["doc_a"].implode())).select(
            *DOC[1:], gl_document_no="document_no").unique(DOC[1:])
        found = found.lazy().join(numbers, on=DOC[1:], how="left").with_columns(
            document_no=pl.when(pl.col("row").is_null()).then("gl_document_no")
            .otherwise("document_no")).collect()
    return (
        cell.decoded(found.with_columns(pl.col("document_no").fill_null(""))).lazy()
        .with_columns(
            difference=round_to(pl.col("subledger_amount") - pl.col("gl_amount"), precision),
            subledger_amount=_signed_zero_free(pl.col("subledger_amount")),
            gl_amount=_signed_zero_free(pl.col("gl_amount")),
        )
        .sort("account_no", "period_end", "document_no",
              pl.col("cause").replace_strict(VARIANCE_CAUSES, range(len(VARIANCE_CAUSES))))
        .with_columns(
            document_no=pl.when(pl.col("document_no") != "").then("document_no")  # "" -> null
        )
        .select(columns(ReconciliationVariance))
        .collect()
    )


def unexplained_differences(reconciliation: pl.DataFrame, variance: pl.DataFrame,
                            precision: float = 0.01) -> pl.DataFrame:
    """R156 check: reconciliation rows whose difference the variance rows do not sum to (all-time
    rows against all of the account's variance rows); empty when everything is explained."""
    explained = pl.col("difference").sum().alias("explained")
    monthly = variance.group_by("account_no", "period_end").agg(explained)
    all_time = variance.group_by("account_no").agg(explained)
    return (
        pl.concat([
            reconciliation.filter(pl.col("period_end").is_not_null())
            .join(monthly, on=["account_no", "period_end"], how="left"),
            reconciliation.filter(pl.col("period_end").is_null())
            .join(all_time, on="account_no", how="left")
            .select(*reconciliation.columns, "explained"),
        ])
        .with_columns(pl.col("explained").fill_null(0.0))
        .filter((pl.col("difference") - pl.col("explained")).abs() >= precision / 2)
    )


def _signed_zero_free(e: pl.Expr) -> pl.Expr:
    """-0.0 shown as 0.0 (polars keeps -0.0 through `+ 0.0`)."""
    return pl.when(e == 0).then(0.0).otherwise(e)
