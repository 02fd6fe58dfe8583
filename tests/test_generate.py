"""The synthetic company generator: determinism, size, R160 validity, planted G/L differences."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest

from pipelines.generate import (
    ALL_TYPES,
    SUPPORTED_TYPES,
    default_items,
    generate,
    plant_gl_discrepancies,
    stream,
)
from pipelines.generate.company import SUPPORTED_METHODS
from pipelines.generate.stream import BACK_DATED, BACK_DAYS
from pipelines.ingest import read_input
from schemas.base import polars_schema
from schemas.inputs import GeneralPostingSetup, InventoryPostingSetup, Item, Transaction

FULL = {"types": ALL_TYPES,
        "costing_methods": ("FIFO", "LIFO", "AVERAGE", "STANDARD", "SPECIFIC")}
TABLES = ("items", "transactions", "inventory_posting_setup", "general_posting_setup",
          "gl_accounts", "inventory_periods", "accounting_periods")
# R10/R30/R160: the types each referencing type may name in applies_to (as generated).
ALLOWED_TARGETS = {
    "purchase_invoice": ["purchase_receipt"],
    "sales_invoice": ["sales_shipment"],
    "sales_return": ["sale", "sales_shipment"],
    # R43: purchase returns, and every outbound of a SPECIFIC item
    **{t: ["purchase", "purchase_receipt"] for t in (
        "purchase_return", "sale", "sales_shipment", "negative_adjustment", "transfer")},
    "item_charge": ["purchase", "purchase_receipt", "positive_adjustment", "sales_return",
                    "transfer"],
}
SIGN = {"purchase": 1, "purchase_receipt": 1, "positive_adjustment": 1, "sales_return": 1,
        "sale": -1, "sales_shipment": -1, "negative_adjustment": -1, "purchase_return": -1,
        "transfer": -1}
KEY = ["item_no", "location_code", "variant_code"]
AMOUNTS = ["subledger_amount", "gl_amount", "difference"]


def read(folder, table, model):
    return pl.read_csv(folder / f"{table}.csv", schema_overrides=polars_schema(model))


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """20k transactions of every type and four costing methods."""
    out = tmp_path_factory.mktemp("full")
    result = generate(out, 20_000, seed=3, gl=False, **FULL)
    return result, read(out, "transactions", Transaction), read(out, "items", Item), out


def _targets(tx: pl.DataFrame) -> pl.DataFrame:
    refs = tx.filter(pl.col("applies_to").is_not_null()).join(
        tx.select(pl.col("transaction_no").alias("applies_to"), pl.col("type").alias("t_type"),
                  pl.col("item_no").alias("t_item"), pl.col("quantity").alias("t_qty")),
        on="applies_to", how="left")
    assert refs["t_type"].null_count() == 0  # every applies_to names an existing transaction
    return refs


def _legs(tx: pl.DataFrame) -> pl.DataFrame:
    """Quantity movements per application key in posting order, transfer to-legs included."""
    sign = pl.col("type").replace_strict(SIGN, default=0, return_dtype=pl.Float64)
    return pl.concat([
        tx.select("transaction_no", "type", *KEY, "quantity",
                  (sign * pl.col("quantity").fill_null(0)).alias("delta"), leg=pl.lit(0)),
        tx.filter(pl.col("type") == "transfer").select(
            "transaction_no", "type", "item_no", pl.col("to_location_code").alias("location_code"),
            "variant_code", "quantity", pl.col("quantity").alias("delta"), leg=pl.lit(1)),
    ]).sort("transaction_no", "leg").with_columns(
        before=pl.col("delta").cum_sum().over(KEY) - pl.col("delta"))


def test_row_count_near_requested_and_summary_matches_file(full):
    result, tx, items, _ = full
    assert abs(tx.height - 20_000) <= 1_000
    assert result.rows["transactions"] == tx.height == sum(result.types.values())
    assert result.rows["items"] == items.height == default_items(20_000) == 100
    assert set(tx["type"]) == set(ALL_TYPES)
    assert set(items["costing_method"]) == {"FIFO", "LIFO", "AVERAGE", "STANDARD", "SPECIFIC"}


def test_posting_order_and_documents(full):
    """Dates follow transaction order, except some receipts and sales of items of every method
    dated up to BACK_DAYS days before the latest date posted before them (R41, R42, R44)."""
    _, tx, items, _ = full
    assert tx["transaction_no"].diff().drop_nulls().min() > 0
    latest = pl.col("posting_date").cum_max().shift(1)
    back = tx.sort("transaction_no").with_columns(latest=latest).join(
        items.select("item_no", "costing_method"), on="item_no").filter(
        pl.col("posting_date") < pl.col("latest")).with_columns(
        days=(pl.col("latest") - pl.col("posting_date")).dt.total_days())
    assert set(back["type"]) == set(BACK_DATED)
    assert set(back["costing_method"]) == set(FULL["costing_methods"])
    assert back["days"].max() <= BACK_DAYS
    assert 0.005 < back.height / tx.height < 0.05
    assert tx["document_no"].null_count() == 0 and (tx["document_no"] != "").all()
    assert tx["location_code"].null_count() == 0 and tx["variant_code"].null_count() == 0


def test_applies_to_is_earlier_same_item_allowed_type(full):
    """R160: applies_to points to an earlier transaction of the same item, of an allowed type."""
    _, tx, _, _ = full
    refs = _targets(tx)
    assert (refs["applies_to"] < refs["transaction_no"]).all()
    assert (refs["item_no"] == refs["t_item"]).all()
    allowed = pl.DataFrame([(t, a) for t, targets in ALLOWED_TARGETS.items() for a in targets],
                           schema=["type", "t_type"], orient="row")
    assert refs.join(allowed, on=["type", "t_type"], how="anti").height == 0
    assert set(refs["type"]) == set(ALLOWED_TARGETS)
    must_refer = tx.filter(pl.col("type").is_in(["purchase_invoice", "sales_invoice",
                                                 "item_charge"]))
    assert must_refer["applies_to"].null_count() == 0
    # sales returns come both ways: reversing a sale and at their own unit cost
    returns = tx.filter(pl.col("type") == "sales_return")
    assert 0 < returns["applies_to"].null_count() < returns.height


def test_fixed_purchase_returns_follow_their_lot_on_stock(full):
    """R43: a purchase return with applies_to is posted right after its lot, on the same key,
    for at most the lot's quantity, and only where the key's stock before the lot (counted low)
    is not negative, so the lot closed nothing; returns without applies_to stay too."""
    _, tx, _, _ = full
    returns = tx.filter(pl.col("type") == "purchase_return")
    assert 0 < returns["applies_to"].null_count() < returns.height
    fixed = returns.filter(pl.col("applies_to").is_not_null()).join(
        _legs(tx).select(applies_to="transaction_no", lot_key=pl.concat_str(KEY),
                         lot_qty="quantity", lot_before="before"), on="applies_to")
    assert fixed.height > 20
    assert (fixed["transaction_no"] == fixed["applies_to"] + 1).all()
    assert (fixed.select(pl.concat_str(KEY)).to_series() == fixed["lot_key"]).all()
    assert (fixed["quantity"] <= fixed["lot_qty"]).all()
    assert (fixed["lot_before"] >= 0).all()


def test_every_outbound_of_a_specific_item_names_a_lot_of_its_own(full):
    """R43: each outbound of a SPECIFIC item (sales, shipments, adjustments, returns, transfers)
    names in applies_to a purchase or receipt of its key, bought just before it for exactly its
    quantity (a transfer cut to the stock at its from-key may take less)."""
    _, tx, items, _ = full
    specific = items.filter(pl.col("costing_method") == "SPECIFIC").select("item_no")
    out = tx.join(specific, on="item_no").filter(pl.col("type").is_in(
        ["sale", "sales_shipment", "negative_adjustment", "purchase_return", "transfer"]))
    assert out.height > 50 and set(out["type"]) >= {"sale", "sales_shipment", "transfer"}
    named = out.join(tx.select(applies_to="transaction_no", t_type="type", t_key=pl.concat_str(
        KEY), t_qty="quantity"), on="applies_to", how="left")
    assert named["t_type"].is_in(["purchase", "purchase_receipt"]).all()
    assert (named.select(pl.concat_str(KEY)).to_series() == named["t_key"]).all()
    assert (named["quantity"] <= named["t_qty"]).all()
    assert (named.filter(pl.col("type") != "transfer")["quantity"]
            == named.filter(pl.col("type") != "transfer")["t_qty"]).all()
    # and each lot is named once
    assert named["applies_to"].n_unique() == named.height


def test_fixed_return_check_keeps_returns_of_lots_that_closed_nothing():
    """R43: the check itself: a return right after a lot bought while the key was short is not
    posted (the lot closed open outbounds), nor one that does not follow its lot."""
    from pipelines.generate.pieces import CODE, events
    from pipelines.generate.stream import _check_fixed_returns

    types = ["sale", "purchase", "purchase_return", "purchase", "purchase_return", "sale",
             "purchase_return"]
    raw = events(type=np.array([CODE[t] for t in types]), item=np.zeros(7, int),
                 loc=np.zeros(7, int), var=np.zeros(7, int), to_loc=np.full(7, -1),
                 qty=np.array([3.0, 5, 1, 5, 2, 1, 1]), day=np.zeros(7, int), u=np.arange(7) / 10,
                 target=np.array([-1, -1, 1, -1, 3, -1, 3]))
    raw = raw.with_columns(pl.col("target").replace(-1, None), pidx=pl.int_range(7))
    out = _check_fixed_returns(raw, np.zeros(9))
    # stock -3 before the first lot: its return goes; 1 before the second: kept; the last
    # return does not follow its lot: dropped
    assert out["pidx"].to_list() == [0, 1, 3, 4, 5]


def test_invoices_and_returns_never_exceed_their_document(full):
    """R160: invoiced <= received/shipped; returned <= sold. Partial invoicing occurs."""
    _, tx, _, _ = full
    totals = (_targets(tx).filter(pl.col("type") != "item_charge")
              .group_by("applies_to", "type").agg(pl.col("quantity").sum(), pl.len(),
                                                  pl.col("t_qty").first()))
    assert (totals["quantity"] <= totals["t_qty"]).all()
    invoices = totals.filter(pl.col("type") == "purchase_invoice")
    assert (invoices["len"] == 2).any()  # split invoices
    assert (invoices["quantity"] < invoices["t_qty"]).any()  # partly invoiced receipts
    assert totals.filter(pl.col("type") == "sales_return")["len"].max() == 1


def test_transfers_have_stock_at_from_location(full):
    """R46/R160: stock at the from-key before each transfer covers its quantity."""
    _, tx, _, _ = full
    transfers = tx.filter(pl.col("type") == "transfer")
    assert (transfers["to_location_code"] != transfers["location_code"]).all()
    from_legs = _legs(tx).filter((pl.col("type") == "transfer") & (pl.col("leg") == 0))
    assert from_legs.height == transfers.height > 0
    assert (from_legs["before"] >= from_legs["quantity"]).all()


def test_transfer_check_cuts_to_stock_and_drops_empty_transfers():
    """R46: the stock check itself (the generator's lots rarely leave it anything to cut)."""
    from pipelines.generate.pieces import CODE, events
    from pipelines.generate.stream import _check_transfers

    stock = np.zeros(2 * 9)
    stock[9] = 4.0  # carried from an earlier block: item 1 at BLUE
    types = ["purchase", "transfer", "transfer", "sale", "transfer", "transfer"]
    raw = events(type=np.array([CODE[t] for t in types]), item=np.array([0, 0, 0, 0, 0, 1]),
                 loc=np.array([0, 0, 0, 0, 1, 0]), var=np.zeros(6, int),
                 to_loc=np.array([-1, 1, 1, -1, 0, 2]), qty=np.array([5.0, 8, 2, 1, 3, 6]),
                 day=np.zeros(6, int), u=np.arange(6) / 10)
    out = _check_transfers(raw, stock)
    # 8 cut to the 5 received; the next transfer finds nothing; to-legs never count as stock
    assert out.select("type", "qty").rows() == [
        (CODE["purchase"], 5.0), (CODE["transfer"], 5.0), (CODE["sale"], 1.0),
        (CODE["transfer"], 4.0)]
    assert stock[0] == -1.0 and stock[3] == 0.0 and stock[9] == 0.0


def test_negative_inventory_is_occasional(full):
    _, tx, _, _ = full
    legs = _legs(tx).filter(pl.col("delta") < 0)
    negative = (legs["before"] + legs["delta"] < 0).mean()
    assert 0 < negative < 0.05


def test_amount_fields_and_quantities(full):
    _, tx, items, _ = full
    assert (tx.filter(pl.col("type") != "revaluation")["quantity"] > 0).all()
    needs_cost = tx.filter(pl.col("type").is_in(
        ["purchase", "purchase_receipt", "purchase_invoice", "revaluation", "positive_adjustment"])
        | ((pl.col("type") == "sales_return") & pl.col("applies_to").is_null()))
    assert needs_cost["unit_cost"].null_count() == 0 and (needs_cost["unit_cost"] > 0).all()
    charges = tx.filter(pl.col("type") == "item_charge")
    assert set(charges["item_charge_no"]) == {"FREIGHT", "INSURANCE"}
    assert (charges["amount"] > 0).all()
    sales = tx.filter(pl.col("type").is_in(["sale", "sales_invoice", "sales_return"]))
    assert (sales["sales_amount"] > 0).all()
    standard = items.filter(pl.col("costing_method") == "STANDARD")
    assert standard.height > 0 and standard["standard_cost"].null_count() == 0


def test_revaluations_on_month_ends_in_date_order(full):
    """R160: AVERAGE revaluations on a period's last day (period month); none back-dated."""
    _, tx, _, _ = full
    reval = tx.filter(pl.col("type") == "revaluation")
    assert (reval["posting_date"] == reval["posting_date"].dt.month_end()).all()
    assert reval.group_by("item_no").agg(
        ok=pl.col("posting_date").diff().drop_nulls().min() > dt.timedelta(0)
    )["ok"].fill_null(True).all()


def test_posting_setups_cover_every_combination_used(full):
    """R122: every (location, inventory group) and (business, product group) has a setup."""
    _, tx, items, out = full
    used = tx.join(items, on="item_no")
    inv = read(out, "inventory_posting_setup", InventoryPostingSetup)
    gen = read(out, "general_posting_setup", GeneralPostingSetup)
    legs = pl.concat([used.select("location_code", "inventory_posting_group"),
                      used.filter(pl.col("type") == "transfer").select(
                          pl.col("to_location_code").alias("location_code"),
                          "inventory_posting_group")])
    assert legs.join(inv, on=["location_code", "inventory_posting_group"], how="anti").is_empty()
    assert used.join(gen, on=["gen_bus_posting_group", "gen_prod_posting_group"],
                     how="anti").is_empty()


def test_ingest_accepts_the_folder(full):
    from pipelines.ingest import validate_input

    assert validate_input(full[3]) == []


@pytest.fixture(scope="module")
def default_mix(tmp_path_factory):
    """20k rows of the default mix; seed 8 posts a return with applies_to into negative
    inventory (R45)."""
    out = tmp_path_factory.mktemp("default")
    result = generate(out, 20_000, seed=8, gl=False)
    return result, read(out, "transactions", Transaction), out


def test_sales_returns_with_applies_to_also_land_on_keys_short_of_stock(default_mix):
    """R45: a customer returns goods whatever the key's stock; the return goes on hand beside
    the open outbounds (`test_pipeline_costs_the_default_mix` costs them)."""
    _, tx, _ = default_mix
    receiving = _legs(tx).join(tx.filter(pl.col("applies_to").is_not_null()).select(
        "transaction_no"), on="transaction_no").filter(pl.col("type") == "sales_return")
    assert receiving.height > 100
    assert receiving.filter(pl.col("before") < 0).height >= 1


@pytest.mark.slow
def test_pipeline_costs_the_default_mix(default_mix):
    """Every supported type and method is costed without NotSupportedYet, and our own G/L
    reconciles without difference (R146)."""
    from pipelines.ingest import read_input
    from pipelines.pipeline import run_pipeline

    result, tx, out = default_mix
    tables = run_pipeline(read_input(out))
    assert set(tx["type"]) == set(SUPPORTED_TYPES)
    quantity_rows = tx.filter(~pl.col("type").is_in(
        ["purchase_invoice", "sales_invoice", "item_charge", "revaluation"]))
    assert tables["item_ledger_entries"]["transaction_no"].n_unique() == quantity_rows.height
    assert tables["reconciliation_variance"].is_empty()


def test_months_sets_the_horizon_and_the_periods(tmp_path):
    """`months` spreads the rows over that many months, one inventory and accounting period
    each, the last three open (R110); the default is 24 months."""
    result = generate(tmp_path / "six", 1_500, seed=2, months=6, gl=False)
    tx = read(tmp_path / "six", "transactions", Transaction)
    assert abs(tx.height - 1_500) <= 100 and result.rows["transactions"] == tx.height
    assert tx["posting_date"].min() == dt.date(2024, 1, 1)
    assert tx["posting_date"].max() == dt.date(2024, 6, 30)
    assert tx["posting_date"].dt.month().n_unique() == 6
    periods = pl.read_csv(tmp_path / "six" / "inventory_periods.csv", try_parse_dates=True)
    assert periods.rows() == [(dt.date(2024, m, d), m <= 3) for m, d in
                              ((1, 31), (2, 29), (3, 31), (4, 30), (5, 31), (6, 30))]
    starts = pl.read_csv(tmp_path / "six" / "accounting_periods.csv", try_parse_dates=True)
    assert starts["starting_date"].to_list() == [dt.date(2024, m, 1) for m in range(1, 7)]
    one = generate(tmp_path / "one", 200, seed=2, months=1, gl=False)
    assert one.rows["inventory_periods"] == 1
    assert pl.read_csv(tmp_path / "one" / "inventory_periods.csv")["closed"].to_list() == [False]
    default = generate(tmp_path / "default", 1_500, seed=2, gl=False)
    explicit = generate(tmp_path / "explicit", 1_500, seed=2, months=24, gl=False)
    for table in TABLES:
        name = f"{table}.csv"
        assert (default.out_dir / name).read_bytes() == (explicit.out_dir / name).read_bytes()
    assert default.rows["inventory_periods"] == 24
    with pytest.raises(ValueError, match="months"):
        generate(tmp_path / "none", 10, months=0)


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = generate(tmp_path / "a", 3_000, seed=5, gl=False, **FULL)
    b = generate(tmp_path / "b", 3_000, seed=5, gl=False, **FULL)
    c = generate(tmp_path / "c", 3_000, seed=6, gl=False, **FULL)
    for table in TABLES:
        name = f"{table}.csv"
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes()
    assert (a.out_dir / "settings.toml").read_text() == (b.out_dir / "settings.toml").read_text()
    assert (a.out_dir / "transactions.csv").read_bytes() != (
        c.out_dir / "transactions.csv").read_bytes()


def test_chunked_writing_gives_the_same_file(tmp_path):
    one = generate(tmp_path / "one", 3_000, seed=1, gl=False, **FULL)
    many = generate(tmp_path / "many", 3_000, seed=1, gl=False, chunk_size=100, **FULL)
    assert (one.out_dir / "transactions.csv").read_bytes() == (
        many.out_dir / "transactions.csv").read_bytes()


@pytest.mark.parametrize("types", [SUPPORTED_TYPES, ("purchase", "sale"),
                                   ("sale", "sales_return", "transfer")])
def test_only_requested_types_appear(tmp_path, types):
    result = generate(tmp_path, 2_000, seed=2, types=types, gl=False)
    tx = read(tmp_path, "transactions", Transaction)
    assert set(tx["type"]) <= set(types)
    assert set(result.types) == set(tx["type"])
    if types == SUPPORTED_TYPES:
        assert set(tx["type"]) == set(SUPPORTED_TYPES)
        assert set(read(tmp_path, "items", Item)["costing_method"]) == set(SUPPORTED_METHODS)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown transaction types"):
        generate(tmp_path, 10, types=("purchase", "consumption"))
    with pytest.raises(ValueError, match="costing_methods must be a non-empty subset"):
        generate(tmp_path, 10, costing_methods=("MOVING_AVERAGE",))


def test_empty_company_has_header_only(tmp_path):
    result = generate(tmp_path, 0, gl=False)
    tx = read(tmp_path, "transactions", Transaction)
    assert result.rows["transactions"] == tx.height == 0
    assert tx.columns == list(polars_schema(Transaction))


@pytest.mark.parametrize(("transactions", "seed"), [(20, 0), (250, 11)])
def test_small_companies_with_months_of_no_sales_are_generated(tmp_path, transactions, seed):
    """A month without outflows has no primary rows, only follow-ups carried into it (invoices,
    returns): `invrec generate --transactions 250 --seed 11` failed there (IndexError), as
    did 96 of 200 companies of 20 to 400 transactions. With the G/L: the pipeline costs it."""
    result = generate(tmp_path, transactions, seed=seed)
    assert 0 < result.rows["transactions"] <= 2 * transactions
    assert result.rows["gl_entries"] > 0 and result.notes == []
    assert read_input(tmp_path).transactions.height == result.rows["transactions"]


def test_a_failed_generate_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    """The files are written beside the folder and moved in only when all are there: a run that
    fails half way (here: the transactions after their first block) changes nothing, and leaves
    no staging folder behind."""
    out = tmp_path / "company"
    generate(out, 300, seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def failing(*args):
        yield from itertools.islice(stream.transaction_stream(*args), 1)
        raise OSError("disk full")

    monkeypatch.setattr("pipelines.generate.transaction_stream", failing)
    with pytest.raises(OSError, match="disk full"):
        generate(out, 300, seed=2)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["company"]



def test_generate_replaces_a_table_given_as_parquet_in_the_folder(tmp_path):
    """A folder holding items.parquet (and a G/L as Parquet) from elsewhere: the tables written
    as CSV replace them, else the folder would give items twice (contract §2) and reconcile
    against the old G/L. Files that are no input table stay."""
    out = tmp_path / "company"
    out.mkdir()
    pl.DataFrame({"item_no": ["OLD"]}).write_parquet(out / "items.parquet")
    pl.DataFrame({"entry_no": [1]}).write_parquet(out / "gl_entries.parquet")
    (out / "notes.txt").write_text("mine")
    made = generate(out, 300, seed=1)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(p.name for p in made.paths.values()), "notes.txt"])
    assert read_input(out).items.height == made.rows["items"]

# ---- planted G/L differences -------------------------------------------------------------

def _own_gl(documents: int = 6) -> pl.DataFrame:
    """A balanced G/L: per document, inventory 2130 against 7291, one month each."""
    rows = []
    for d in range(documents):
        date = dt.date(2024, 1 + d, 10)
        for account, amount in (("2130", 100.0 + d), ("7291", -100.0 - d)):
            rows.append((len(rows) + 1, date, account, amount, len(rows) // 2 + 1, f"DOC{d}",
                         "IT1", "", "x"))
    return pl.DataFrame(rows, orient="row", schema=[
        "entry_no", "posting_date", "account_no", "amount", "value_entry_no", "document_no",
        "item_no", "location_code", "description"])


def test_plant_gl_discrepancies_plants_the_four_kinds():
    own = _own_gl()
    external, listing = plant_gl_discrepancies(own, seed=4)
    assert set(listing["kind"]) == {"direct_posting", "missing_posting", "amount_mismatch",
                                    "posting_date_mismatch"}
    cause = dict(listing.select("kind", "expected_cause").unique().iter_rows())
    assert cause == {"direct_posting": "direct_posting", "missing_posting": "unposted_cost",
                     "amount_mismatch": "amount_mismatch",
                     "posting_date_mismatch": "posting_date_mismatch"}
    assert external.columns == ["entry_no", "posting_date", "account_no", "amount",
                                "document_no", "description"]
    assert external["entry_no"].is_unique().all()
    journal = external.filter(pl.col("document_no") == "GJ-0001")
    assert sorted(journal["account_no"]) == ["2130", "7270"] and journal["amount"].sum() == 0
    # the listing is exactly the change per account and month, subledger minus G/L
    month = pl.col("posting_date").dt.month_end().alias("period_end")
    change = (pl.concat([own.select(month, "account_no", "amount"),
                         external.select(month, "account_no", -pl.col("amount"))])
              .group_by("period_end", "account_no").agg(pl.col("amount").sum().round(2))
              .filter(pl.col("amount") != 0).sort("period_end", "account_no"))
    listed = (listing.group_by("period_end", "account_no")
              .agg(amount=pl.col("difference").sum().round(2))
              .filter(pl.col("amount") != 0).sort("period_end", "account_no"))
    assert change.to_dicts() == listed.to_dicts()
    assert (listing["difference"] == (listing["subledger_amount"] - listing["gl_amount"])
            .round(2)).all()
    missing = listing.filter(pl.col("kind") == "missing_posting")
    doc = missing["document_no"][0]
    assert external.filter(pl.col("document_no") == doc)["account_no"].to_list() == ["7291"]
    assert missing.select("account_no", "item_no", "gl_amount").row(0) == ("2130", "IT1", 0.0)
    assert missing["subledger_amount"][0] == own.filter(
        (pl.col("document_no") == doc) & (pl.col("account_no") == "2130"))["amount"][0]
    mistyped = listing.filter(pl.col("kind") == "amount_mismatch")
    assert mistyped.height == 1 and mistyped["difference"][0] in range(-9, 0)
    moved = listing.filter(pl.col("kind") == "posting_date_mismatch")
    assert moved.height == 4 and moved["difference"].sum() == 0  # two accounts x two months
    # the moved document: the subledger in its own month, the G/L in the next one
    assert sorted(moved.select("subledger_amount", "gl_amount").rows()) == sorted(
        [(a, 0.0) for a in moved["subledger_amount"] if a != 0]
        + [(0.0, g) for g in moved["gl_amount"] if g != 0])
    direct = listing.filter(pl.col("kind") == "direct_posting")
    assert direct["item_no"].null_count() == 2 and (direct["subledger_amount"] == 0).all()


def test_plant_gl_discrepancies_is_deterministic_and_needs_documents():
    a = plant_gl_discrepancies(_own_gl(), seed=9)
    b = plant_gl_discrepancies(_own_gl(), seed=9)
    assert a[0].equals(b[0]) and a[1].equals(b[1])
    with pytest.raises(ValueError, match="3 are needed"):
        plant_gl_discrepancies(_own_gl(documents=3), seed=0)  # the last month is never used
    with pytest.raises(ValueError, match="empty"):
        plant_gl_discrepancies(_own_gl(documents=0).cast({"posting_date": pl.Date}), seed=0)


@pytest.mark.slow
def test_reconciliation_finds_exactly_the_planted_differences(tmp_path):
    """End to end: our own G/L with planted differences reconciles to the listing (R145)."""
    pytest.importorskip("pipelines.pipeline")
    from pipelines.ingest import read_input
    from pipelines.pipeline import run_pipeline

    result = generate(tmp_path, 3_000, seed=8)
    assert result.discrepancies is not None, result.notes
    assert (tmp_path / "README.md").read_text().count("| GJ-0001 |") == 2
    variance = run_pipeline(read_input(tmp_path))["reconciliation_variance"]
    found = variance.with_columns(pl.col(AMOUNTS).round(2)).sort(pl.all())
    expected = result.discrepancies.select(
        *variance.columns[:-1], cause="expected_cause").sort(pl.all())
    assert found.to_dicts() == expected.to_dicts()
