"""Post Inventory Cost to G/L (R120-R126) and the account mapping reconciliation reuses (R142)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import polars as pl

from pipelines.errors import InputError, Problem
from pipelines.frames import gather_rows
from pipelines.rounding import round_to
from pipelines.settings import Settings
from schemas.base import Code, columns
from schemas.gl import GLEntry
from schemas.ledger import ENTRY_TYPES

INVENTORY_SETUP = "inventory_posting_setup"
GENERAL_SETUP = "general_posting_setup"
SETUP_KEYS = {
    INVENTORY_SETUP: ("location_code", "inventory_posting_group"),
    GENERAL_SETUP: ("gen_bus_posting_group", "gen_prod_posting_group"),
}

# Account roles in R140 order -> (setup table, setup column).
ROLE_ACCOUNTS = {
    "inventory": (INVENTORY_SETUP, "inventory_account"),
    "inventory_interim": (INVENTORY_SETUP, "inventory_account_interim"),
    "invt_accrual_interim": (GENERAL_SETUP, "invt_accrual_acc_interim"),
    "cogs": (GENERAL_SETUP, "cogs_account"),
    "cogs_interim": (GENERAL_SETUP, "cogs_account_interim"),
    "inventory_adjmt": (GENERAL_SETUP, "inventory_adjmt_account"),
    "direct_cost_applied": (GENERAL_SETUP, "direct_cost_applied_account"),
    "overhead_applied": (GENERAL_SETUP, "overhead_applied_account"),
    "purchase_variance": (GENERAL_SETUP, "purchase_variance_account"),
}
ROLE_ORDER = list(ROLE_ACCOUNTS)

_ADJMT_TYPES = ("Positive Adjmt.", "Negative Adjmt.", "Transfer")
# R121: (item ledger entry type, value entry type, pair) -> (account role, balancing role).
ACCOUNT_PAIRS = pl.DataFrame(
    [
        ("Purchase", "Direct Cost", "Xe", "inventory_interim", "invt_accrual_interim"),
        ("Purchase", "Direct Cost", "X", "inventory", "direct_cost_applied"),
        ("Purchase", "Indirect Cost", "X", "inventory", "overhead_applied"),
        ("Purchase", "Variance", "X", "inventory", "purchase_variance"),
        ("Sale", "Direct Cost", "Xe", "inventory_interim", "cogs_interim"),
        ("Sale", "Direct Cost", "X", "inventory", "cogs"),
        *[(t, "Direct Cost", "X", "inventory", "inventory_adjmt") for t in _ADJMT_TYPES],
        *[
            (t, v, "X", "inventory", "inventory_adjmt")
            for t in ENTRY_TYPES
            for v in ("Revaluation", "Rounding")
        ],
    ],
    schema={
        "item_ledger_entry_type": pl.String,
        "entry_type": pl.String,
        "pair": pl.String,
        "account_role": pl.String,
        "balancing_role": pl.String,
    },
    orient="row",
)

def setup_account_numbers(inventory_posting_setup: pl.DataFrame,
                          general_posting_setup: pl.DataFrame) -> pl.Series:
    """Every account number either setup names (R140's accounts), as text."""
    setups = {INVENTORY_SETUP: inventory_posting_setup, GENERAL_SETUP: general_posting_setup}
    return pl.concat([setups[table].get_column(col).cast(pl.String)
                      for table, col in ROLE_ACCOUNTS.values()]).drop_nulls().unique()


def setup_accounts(
    inventory_posting_setup: pl.DataFrame, general_posting_setup: pl.DataFrame
) -> pl.DataFrame:
    """Both setups unpivoted: (setup_table, key1, key2, account_role, account_no); blank -> null.

    Raises InputError when a setup holds a combination twice (its accounts would be ambiguous).
    """
    frames, problems = [], []
    for table, setup in ((INVENTORY_SETUP, inventory_posting_setup),
                         (GENERAL_SETUP, general_posting_setup)):
        k1, k2 = SETUP_KEYS[table]
        roles = {role: col for role, (t, col) in ROLE_ACCOUNTS.items() if t == table}
        keyed = setup.select(
            pl.col(k1).cast(pl.String).fill_null("").alias("key1"),
            pl.col(k2).cast(pl.String).fill_null("").alias("key2"),
            *[pl.col(col).cast(pl.String).alias(role) for role, col in roles.items()],
        )
        for k in keyed.filter(pl.len().over("key1", "key2") > 1).unique(["key1", "key2"]).rows():
            problems.append(Problem(table, f"{k1}={k[0]!r}, {k2}={k[1]!r}", None, None,
                                    "R122: combination given more than once"))
        frames.append(
            keyed.unpivot(index=["key1", "key2"], variable_name="account_role",
                          value_name="account_no")
            .with_columns(setup_table=pl.lit(table))
        )
    if problems:
        raise InputError(problems)
    long = pl.concat(frames)
    blank = pl.col("account_no").is_null() | (pl.col("account_no").str.strip_chars() == "")
    return long.with_columns(account_no=pl.when(blank).then(None).otherwise(pl.col("account_no")))


def _gather(entries: pl.DataFrame, rows: pl.DataFrame, exprs: dict[str, pl.Expr]) -> pl.DataFrame:
    """Value entry columns repeated for each of their G/L rows (`rows["row"]` positions)."""
    return gather_rows(entries.select(**exprs), rows["row"])


XE, X = 0, 2  # a pair (R121) by the slot of its account row (R123)


class Slots(NamedTuple):
    """R120-R122 per value entry: its combination and amounts, and the accounts they go to.

    `amounts` maps the slot of a pair's account row (R123: 0 the Xe pair, 2 the X pair; the
    balancing row is the next slot, of the opposite amount) to the pair's rounded amount, an
    expression on `entries`. `account_no` holds the account of each (combination, slot) at
    combo * 4 + slot (null where no amount goes); `nowhere` the positions of those a non-zero
    amount uses, whose rows are left out (a missing Xe account that need not exist)."""

    entries: pl.DataFrame
    combo: pl.Series
    amounts: dict[int, pl.Expr]
    account_no: pl.Series
    nowhere: pl.Series


def posting_slots(
    value_entries: pl.DataFrame,
    inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
    include_expected: bool,
    *,
    unposted_only: bool,
    require_expected_accounts: bool,
    precision: float,
    ordered: bool,
) -> Slots:
    """R120-R122: the value entries (sorted with `ordered`) and where their amounts go.

    Amounts are the whole cost amounts, or with `unposted_only` the parts not yet in the G/L
    (R120); the Xe pair only with `include_expected`. Raises InputError per missing setup row or
    blank account that a non-zero amount needs (R122, R170.12); with
    `require_expected_accounts=False`, an Xe pair whose account is missing goes nowhere
    instead (nothing to reconcile it against). Accounts are looked up once per distinct
    (entry types, location, posting groups) combination and slot, and checked once per
    combination and slot that a non-zero amount uses, not per entry."""
    actual = pl.col("cost_amount_actual")
    expected = pl.col("cost_amount_expected")
    if unposted_only:
        actual = actual - pl.col("cost_posted_to_gl")
        expected = expected - pl.col("expected_cost_posted_to_gl")
    if ordered and not value_entries["entry_no"].is_sorted():
        value_entries = value_entries.sort("entry_no")
    # combo is not added to the value entries: a column of one chunk beside columns of several
    # makes polars copy every column into one chunk at the next eager select (value entries in
    # two chunks at 10M: 3 GB first touched, seconds)
    combo, combos = _combinations(value_entries)
    amounts = {**({XE: round_to(expected, precision)} if include_expected else {}),
               X: round_to(actual, precision)}
    used = value_entries.lazy().select(
        pl.lit(combo), *[(a != 0).alias(str(k)) for k, a in amounts.items()]
    ).group_by("combo").agg(pl.all().any()).collect()
    used = pl.concat([used.filter(pl.col(str(k))).select(at=pl.col("combo") * 4 + k + side)
                      for k in amounts for side in (0, 1)]).get_column("at")
    table = _slot_table(combos)
    unmapped = table["account_role"].is_null().gather(used)
    if unmapped.any():  # R121: cannot arise from valid input, so a costing bug
        where = _rows_at(value_entries, combo, amounts, used.filter(unmapped))
        raise ValueError(
            "R121: no account pair for value entries "
            f"{value_entries['entry_no'].gather(where['row']).unique().sort().to_list()[:20]}"
        )
    accounts = _slot_accounts(table, inventory_posting_setup, general_posting_setup)
    missing = used.filter(accounts["account_no"].is_null().gather(used))
    nowhere = missing.clear()
    if not require_expected_accounts:  # slots 0, 1: the Xe pair goes nowhere
        nowhere, missing = missing.filter(missing % 4 < 2), missing.filter(missing % 4 >= 2)
    if missing.len():
        where = _rows_at(value_entries, combo, amounts, missing)
        raise InputError(_missing_setup_problems(accounts[where["at"]].with_columns(
            value_entry_no=value_entries["entry_no"].gather(where["row"]),
            transaction_no=value_entries["transaction_no"].gather(where["row"]),
        )))
    return Slots(value_entries, combo, amounts, accounts["account_no"], nowhere)


def _rows_at(value_entries: pl.DataFrame, combo: pl.Series, amounts: dict[int, pl.Expr],
             positions: pl.Series) -> pl.DataFrame:
    """(row, at): the value entries with a non-zero amount at one of `positions` (combo * 4 +
    slot), for the errors that name them."""
    return pl.concat([
        value_entries.lazy().select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"),
                                    at=pl.lit(combo) * 4 + k + side, used=a != 0)
        for k, a in amounts.items() for side in (0, 1)
    ]).filter(pl.col("used") & pl.col("at").is_in(positions.implode())).drop("used").collect()


def posting_rows(slots: Slots) -> pl.DataFrame:
    """R123: the G/L rows of `slots`' value entries, in order of the value entries as given.

    A row: row (position in the value entries), slot (R123: 0/1 the Xe pair, 2/3 the X pair,
    account before balancing), amount, and `at` (combo * 4 + slot), the position of its account
    in `slots.account_no`. Rows of amount zero, or whose pair goes nowhere, are left out."""
    pairs = slots.amounts
    slot_nos = pl.Series([[k + side for k in pairs for side in (0, 1)]],
                         dtype=pl.Array(pl.Int8, 2 * len(pairs)))
    # a value entry's rows in slot order (Xe before X, the account side before the balancing
    # side, R121), exploded from an array per entry, streamed (at 10M, 0.5 s, where four
    # frames concatenated and sorted took 1.6 s). row, combo and `at` as UInt32 (polars' row
    # index type: gathers take them as they are), slot Int8: 19 bytes less per row than Int64
    # (30M rows at 10M). One chunk, not the engine's hundreds: a frame whose columns are
    # chunked differently is copied whole into one chunk by the next eager select
    rows = slots.entries.lazy().select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("row"), pl.lit(slots.combo),
        amount=pl.concat_arr(*[side for a in pairs.values() for side in (a, -a)]),
        slot=pl.lit(slot_nos).first(),
    ).explode("amount", "slot").filter(pl.col("amount") != 0).select(
        "row", "slot", "amount", at=pl.col("combo") * 4 + pl.col("slot").cast(pl.UInt32),
    ).collect().rechunk()
    if slots.nowhere.len():
        rows = rows.filter(~pl.col("at").is_in(slots.nowhere.implode()))
    return rows


def _combinations(value_entries: pl.DataFrame,
                  hashed: pl.Series | None = None) -> tuple[pl.Series, pl.DataFrame]:
    """Each value entry's `combo` (its position in the distinct combinations of _COMBO) and the
    combinations. Found by a hash of the six columns (a join on six string columns of millions
    of rows costs twice as much), then every row is compared with its combination: a hash
    collision falls back to the join, it never maps an entry to another's accounts (`hashed`
    stands in for the hashes in a test of that)."""
    rows = value_entries.select(_COMBO)
    if hashed is None:  # the columns' values mixed: a third of what hashing a struct costs
        hashed = rows.select(_mixed_hash(rows.schema)).to_series()
    hashed = hashed.alias("h")
    combos = rows.with_columns(h=hashed).unique("h", keep="first").with_row_index("combo")
    combo = pl.DataFrame({"h": hashed}).join(
        combos.select("h", "combo"), on="h", how="left", maintain_order="left"
    ).get_column("combo")
    # every row equal to its combination, column by column, streamed: not gathered as a frame
    # of 6 text columns (1.2 GB at 10M transactions) to compare
    same = rows.lazy().select(pl.all_horizontal(
        pl.col(c).eq_missing(pl.lit(combos.get_column(c)).gather(pl.lit(combo))) for c in _COMBO
    ).all()).collect().item()
    if same:
        return combo, combos.drop("h")
    combos = rows.unique().with_row_index("combo")
    return rows.join(combos, on=_COMBO, how="left", maintain_order="left",
                     nulls_equal=True).get_column("combo"), combos


def _mixed_hash(schema: pl.Schema) -> pl.Expr:
    """One 64-bit hash of a row's columns, each mixed in by an odd multiplier (wrapping
    arithmetic): a Code column by its category number (unique per text; at 10M, half the time
    of hashing it), null as a number no category has; a text column by its hash."""
    mixed = pl.lit(0, pl.UInt64)
    for name, dtype in schema.items():
        value = (pl.col(name).to_physical().cast(pl.UInt64).fill_null(1 << 32)
                 if dtype == pl.Categorical else pl.col(name).hash(_COMBO_SEED))
        mixed = (mixed * pl.lit(0x9E3779B97F4A7C15, pl.UInt64)) ^ value
    return mixed


# R123 order within a value entry: Xe before X, account before balancing; slot = position.
_SLOTS = pl.DataFrame({"slot": [0, 1, 2, 3], "pair": ["Xe", "Xe", "X", "X"],
                       "side": ["account", "balancing", "account", "balancing"]},
                      schema={"slot": pl.Int64, "pair": pl.String, "side": pl.String})
# what decides a value entry's accounts (R121, R122)
_COMBO = ["item_ledger_entry_type", "entry_type", "location_code", "inventory_posting_group",
          "gen_bus_posting_group", "gen_prod_posting_group"]
_COMBO_SEED = 7


def _slot_table(combos: pl.DataFrame) -> pl.DataFrame:
    """R121: per combination and slot, the account role (null: no account pair), in combo * 4 +
    slot order."""
    return (
        combos.with_columns(pl.col(pl.Categorical).cast(pl.String))  # as the setups hold them
        .join(_SLOTS, how="cross")
        .join(ACCOUNT_PAIRS, on=["item_ledger_entry_type", "entry_type", "pair"], how="left")
        .with_columns(account_role=pl.when(pl.col("side") == "account").then("account_role")
                      .otherwise("balancing_role"))
        .sort("combo", "slot")
    )


def _slot_accounts(
    table: pl.DataFrame, inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
) -> pl.DataFrame:
    """R122: the slot table with the setup row each role reads and its account_no (null: missing
    row or blank account), in the same order."""
    in_inventory_setup = pl.col("account_role").is_in(
        [r for r, (t, _) in ROLE_ACCOUNTS.items() if t == INVENTORY_SETUP]
    )
    return table.with_columns(
        setup_table=pl.when(in_inventory_setup).then(pl.lit(INVENTORY_SETUP))
        .otherwise(pl.lit(GENERAL_SETUP)),
        key1=pl.when(in_inventory_setup).then("location_code").otherwise("gen_bus_posting_group"),
        key2=pl.when(in_inventory_setup).then("inventory_posting_group")
        .otherwise("gen_prod_posting_group"),
    ).join(
        setup_accounts(inventory_posting_setup, general_posting_setup)
        .with_columns(setup_row=pl.lit(True)),
        on=["setup_table", "key1", "key2", "account_role"],
        how="left",
        maintain_order="left",
    )


def _missing_setup_problems(missing: pl.DataFrame) -> list[Problem]:
    """R122: one Problem per missing setup row or blank account, naming the roles and the
    transactions (for entries made by cost adjustment: the value entries) that need it."""
    role_rank = pl.col("account_role").replace_strict(ROLE_ORDER, range(len(ROLE_ORDER)))
    groups = (
        missing.with_columns(
            row_missing=pl.col("setup_row").is_null(),
            blank_role=pl.when(pl.col("setup_row").is_null()).then(pl.lit(""))
            .otherwise("account_role"),
        )
        .group_by("setup_table", "key1", "key2", "row_missing", "blank_role")
        .agg(
            roles=pl.col("account_role").sort_by(role_rank).unique(maintain_order=True),
            transaction_nos=pl.col("transaction_no").drop_nulls().unique().sort(),
            adjustment_entries=pl.col("value_entry_no")
            .filter(pl.col("transaction_no").is_null()).unique().sort(),
        )
        .sort("setup_table", "key1", "key2", "blank_role")
    )
    problems = []
    for g in groups.iter_rows(named=True):  # one per missing combination, for the message only
        k1, k2 = SETUP_KEYS[g["setup_table"]]
        combo = f"{k1}={g['key1']!r}, {k2}={g['key2']!r}"
        cols = [ROLE_ACCOUNTS[r][1] for r in g["roles"]]
        what = (f"no {g['setup_table']} row for {combo}" if g["row_missing"]
                else f"{cols[0]} is blank for {combo}")
        needed = []
        if g["transaction_nos"]:
            needed.append("transaction_no " + ", ".join(map(str, g["transaction_nos"])))
        if g["adjustment_entries"]:
            needed.append("cost adjustment value entries "
                          + ", ".join(map(str, g["adjustment_entries"])))
        roles = ", ".join(f"{c} ({r})" for c, r in zip(cols, g["roles"], strict=True))
        problems.append(Problem(
            table=g["setup_table"], row=combo, column=", ".join(cols),
            value=None if g["row_missing"] else "",
            rule=f"R122: {what}; {roles} needed by " + "; ".join(needed),
        ))
    return problems


def post_inventory_cost_to_gl(
    value_entries: pl.DataFrame,
    inventory_posting_setup: pl.DataFrame,
    general_posting_setup: pl.DataFrame,
    settings: Settings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Post Inventory Cost to G/L (R120-R126): G/L entries, and the value entries marked posted."""
    expected_on = settings.expected_cost_posting_to_gl
    slots = posting_slots(
        value_entries, inventory_posting_setup, general_posting_setup, expected_on,
        unposted_only=True, require_expected_accounts=True,
        precision=settings.amount_rounding_precision, ordered=True,
    )
    entries, rows, account_no = slots.entries, posting_rows(slots), slots.account_no
    # an account row and its balancing row (next in R123 order) share one description: the
    # rows come in such pairs, so the account rows are every other one
    described = _descriptions(entries, rows.gather_every(2))
    rows = rows.select("row", "at", "amount")
    gl_entries = _gather(entries, rows, {
        "posting_date": pl.col("posting_date"), "value_entry_no": pl.col("entry_no"),
        "document_no": pl.col("document_no"), "item_no": pl.col("item_no"),
        "location_code": pl.col("location_code"),
    }).with_columns(
        entry_no=pl.int_range(1, rows.height + 1, dtype=pl.Int64),
        account_no=account_no.cast(Code).gather(rows["at"]), amount=rows["amount"],
        description=described.gather(pl.int_range(rows.height, dtype=pl.UInt32, eager=True) // 2),
    ).select(columns(GLEntry))
    posted = value_entries.with_columns(  # R124
        cost_posted_to_gl=pl.col("cost_amount_actual"),
        expected_cost_posted_to_gl=pl.col("cost_amount_expected") if expected_on else pl.lit(0.0),
    )
    return gl_entries, posted


def _descriptions(entries: pl.DataFrame, accounts: pl.DataFrame) -> pl.Series:
    """R123's free text of each account row (`accounts`: row, slot): the cost's kind and the
    item, `Direct Cost (expected) ITEM1` (the row's own posting_date and item_no columns say the
    rest). A Code: each of the kinds times items texts is made once and found by the entry
    type's and the item's category codes (at 10M transactions, a text made per row cost posting
    2-3 s)."""
    types, items = (entries.get_column(c).unique() for c in ("entry_type", "item_no"))
    n = 2 * len(items)  # per entry type: with (expected) and without, each for every item
    kind = np.repeat(np.arange(len(types)), n)
    texts = pl.DataFrame({
        "entry_type": types.gather(kind),
        "expected": np.tile(np.repeat([True, False], len(items)), len(types)),
        "item_no": items.gather(np.tile(np.arange(len(items)), 2 * len(types))),
    }).select(pl.format("{}{} {}", "entry_type", pl.when("expected").then(
        pl.lit(" (expected)")).otherwise(pl.lit("")), "item_no").cast(Code)).to_series()
    # each account row's index in `texts`, from the entry type's and the item's category codes
    # at its value entry: gathers in polars (numpy's temporaries of 15M rows at 10M
    # transactions are pages first touched, 1.2 s)
    index = accounts.lazy().select(
        _ranked(types, entries) * n
        + pl.when(pl.col("slot") == 0).then(0).otherwise(len(items))  # R123: Xe pair's row
        + _ranked(items, entries)
    ).collect().to_series()
    return texts.gather(index)


def _ranked(values: pl.Series, entries: pl.DataFrame) -> pl.Expr:
    """The rank among `values` (distinct categories of an entries' column) of that column's
    category at each row's value entry (`row`)."""
    codes = values.to_physical().to_numpy().astype(np.int64)
    rank = np.zeros(int(codes.max(initial=0)) + 1, dtype=np.uint32)
    rank[codes] = np.arange(len(codes), dtype=np.uint32)
    at_entry = entries.get_column(values.name).to_physical().rechunk()
    return pl.lit(pl.Series(rank)).gather(pl.lit(at_entry).gather(pl.col("row"))).cast(pl.Int64)


def unbalanced_value_entries(gl_entries: pl.DataFrame, precision: float = 0.01) -> pl.DataFrame:
    """R126 check: value entries whose G/L entries do not sum to zero (empty when all balance)."""
    return (
        gl_entries.lazy().group_by("value_entry_no")
        .agg(amount=pl.col("amount").sum())
        .filter(pl.col("amount").abs() >= precision / 2)
        .sort("value_entry_no")
        .collect()
    )
