"""on_bad_rows = quarantine for the rows only posting finds bad (R160: R43, R46,
`pipelines.quarantine`): set aside with their dependents, the rest costed as if they never were."""

from __future__ import annotations

import copy
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from assets.cli import main
from pipelines.costing import cost_ledger
from pipelines.errors import InputError, NotSupportedYet, Problem, keyed_transaction
from pipelines.ingest import read_input
from pipelines.pipeline import REJECTED_TABLE, run_pipeline
from pipelines.quarantine import cost_ledger_refusing, cost_ledger_setting_aside
from schemas.base import columns
from schemas.inputs import RejectedTransaction
from tests._ingest_company import company, tx
from tests.reference import new_book, post_transaction
from tests.strategies import History, _history, histories

# Transfer 2 takes 15 of the 10 on hand (R46); the charge on it goes with it; once it is set
# aside, BLUE has nothing for transfer 4 (R46 in the second round); sale 5 takes 4 of the 10.
CASCADE = (
    tx(1, "purchase", qty="10", cost="2"),
    tx(2, "transfer", qty="15", to="BLUE"),
    tx(3, "item_charge", qty="", amount="3", applies="2"),
    tx(4, "transfer", qty="5", loc="BLUE", to="RED"),
    tx(5, "sale", qty="4", sales="20"),
    tx(6, "purchase", qty="10", cost="3", loc="BLUE"),
    tx(7, "purchase_return", qty="12", applies="6", loc="BLUE"),
)
REASONS = [
    (2, "quantity '15': R46: not enough stock at location '' to transfer (only 10 on hand)"),
    (3, "applies_to 2: that transaction is rejected"),
    (4, "quantity '5': R46: not enough stock at location 'BLUE' to transfer (only 0 on hand)"),
    (7, "applies_to '6': R43: the entry it applies to has less remaining quantity than needed "
        "when this row is posted"),
]


def test_rows_posting_finds_bad_are_set_aside_round_by_round(tmp_path: Path) -> None:
    inputs = read_input(company(tmp_path, *CASCADE), on_bad_rows="quarantine")
    tables = run_pipeline(inputs, on_bad_rows="quarantine")
    rejected = tables[REJECTED_TABLE]
    assert rejected.columns == columns(RejectedTransaction)
    assert sorted(rejected.select("transaction_no", "reason").rows()) == REASONS
    ile = tables["item_ledger_entries"]
    assert ile.select("transaction_no", "cost_amount_actual").rows() == [
        (1, 20.0), (5, -8.0), (6, 30.0)]
    assert tables["reconciliation"]["difference"].abs().max() < 0.005


def test_a_row_bad_only_beside_an_earlier_bad_one_posts(tmp_path: Path) -> None:
    """Costed with transfer 2, the return finds purchase 1 taken (R43); BC refuses the transfer
    when it is posted, and the return then takes its 5 of the 10 units: only 2 is set aside."""
    rows = (tx(1, "purchase", qty="10", cost="2"), tx(2, "transfer", qty="15", to="BLUE"),
            tx(3, "purchase_return", qty="5", applies="1"))
    tables = run_pipeline(read_input(company(tmp_path, *rows), on_bad_rows="quarantine"),
                          on_bad_rows="quarantine")
    assert tables[REJECTED_TABLE]["transaction_no"].to_list() == [2]
    assert tables["item_ledger_entries"].select(
        "transaction_no", "remaining_quantity", "cost_amount_actual").rows() == [
        (1, 5.0, 20.0), (3, 0.0, -10.0)]


# BC refuses the return (10 wanted, 9 left); costing the whole history blames the transfer too
# (the return's reservation leaves it nothing, R46)
OVER_RESERVED = (tx(1, "purchase", qty="10", cost="1"), tx(2, "transfer", qty="1", to="BLUE"),
                 tx(3, "purchase_return", qty="10", applies="1"))


def test_the_row_bc_refuses_is_named_not_the_one_costing_blames(tmp_path: Path) -> None:
    inputs = read_input(company(tmp_path, *OVER_RESERVED), on_bad_rows="quarantine")
    assert [(p.row, p.rule[:4]) for p in _problems(
        lambda: cost_ledger(inputs.transactions, inputs.items, inputs.inventory_periods,
                            inputs.settings))] == [("transaction_no=2", "R46:"),
                                                   ("transaction_no=3", "R43:")]
    assert [(p.row, p.column, p.value, p.rule[:4]) for p in _problems(
        lambda: run_pipeline(inputs))] == [("transaction_no=3", "applies_to", "1", "R43:")]
    tables = run_pipeline(inputs, on_bad_rows="quarantine")
    assert tables[REJECTED_TABLE]["transaction_no"].to_list() == [3]
    assert tables["item_ledger_entries"]["transaction_no"].to_list() == [1, 2, 2]


def test_the_error_path_costs_the_whole_history_once(tmp_path: Path, monkeypatch) -> None:
    """Without quarantine the rows BC refuses are found from the first costing's problems: the
    whole history is not costed a second time (only the item's prefixes are, then the rest)."""
    inputs = read_input(company(tmp_path, *OVER_RESERVED,
                                tx(4, "purchase", qty="1", cost="1", item="S")))
    sizes: list[int] = []

    def counting(transactions, *rest):
        sizes.append(transactions.height)
        return cost_ledger(transactions, *rest)

    monkeypatch.setattr("pipelines.quarantine.cost_ledger", counting)
    assert [p.row for p in _problems(lambda: run_pipeline(inputs))] == ["transaction_no=3"]
    assert sizes.count(inputs.transactions.height) == 1


def _problems(run) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        run()
    return caught.value.problems


def test_without_quarantine_the_first_round_stops_the_run(tmp_path: Path) -> None:
    inputs = read_input(company(tmp_path, *CASCADE))
    with pytest.raises(InputError) as caught:
        run_pipeline(inputs)
    assert [(p.row, p.rule[:4]) for p in caught.value.problems] == [
        ("transaction_no=2", "R46:"), ("transaction_no=4", "R46:"), ("transaction_no=7", "R43:")]


def test_what_cannot_be_costed_yet_is_not_set_aside(tmp_path: Path, monkeypatch) -> None:
    """Valid input this version cannot cost (a NotSupportedYet naming a row) stops the run:
    setting the row aside would hide it."""
    problem = Problem("transactions", "transaction_no=1", None, None, "not supported yet: x")

    def refuse(*_):
        raise NotSupportedYet([problem])

    monkeypatch.setattr("pipelines.quarantine.cost_ledger", refuse)
    inputs = read_input(company(tmp_path, tx(1, "purchase", qty="1", cost="1")),
                        on_bad_rows="quarantine")
    with pytest.raises(NotSupportedYet) as caught:
        run_pipeline(inputs, on_bad_rows="quarantine")
    assert caught.value.problems == [problem]


def test_invrec_run_writes_them_to_rejected_transactions(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["run", "--data", str(company(tmp_path / "in", *CASCADE)), "--out", str(out),
                 "--on-bad-rows", "quarantine"])
    err = capsys.readouterr().err
    assert code == 1  # invalid input, the rejected rows in rejected_transactions (contract §1)
    rejected = pl.read_parquet(out / f"{REJECTED_TABLE}.parquet")
    assert sorted(rejected.select("transaction_no", "reason").rows()) == REASONS
    assert "rejected transaction_no 4: quantity '5': R46" in err
    assert pl.read_parquet(out / "item_ledger_entries.parquet").height == 3


@st.composite
def _histories_with_bad_rows(draw) -> History:
    """A valid wide history with about one transfer and one fixed-applied decrease in three
    asking for three times its quantity: often more than is there (R46, R43), and a row after
    one such may look bad only beside it."""
    h = draw(histories(wide=True, max_transactions=30))
    rows = [dict(r) for r in h.transaction_rows]
    for row in rows:
        fixed = row["applies_to"] is not None and row["type"] in FIXED_DECREASES
        if (row["type"] == "transfer" or fixed) and draw(st.integers(0, 2)) == 0:
            row["quantity"] = round(row["quantity"] * 3, 6)  # as ingest holds it
    return _history(rows, h.item_rows, h.settings, h.period_rows, h.accounting_period_rows)


FIXED_DECREASES = ("sale", "sales_shipment", "purchase_return", "negative_adjustment")


def _rejected_as_posted(h: History) -> tuple[list[int], list[int]]:
    """BC's quarantine by definition: each row posted in turn on the reference's book; a row it
    refuses, or whose applies_to names a refused one, is left out and the next goes on. Returns
    the rows left out and, of them, the ones refused themselves."""
    book = new_book(h.item_rows, h.settings, h.period_rows, h.accounting_period_rows)
    rejected: list[int] = []
    refused: list[int] = []
    for row in h.transaction_rows:
        if row["applies_to"] in rejected:
            rejected.append(row["transaction_no"])
            continue
        trial = copy.deepcopy(book)
        try:
            post_transaction(trial, row)
        except InputError:
            rejected.append(row["transaction_no"])
            refused.append(row["transaction_no"])
            continue
        book = trial
    return rejected, refused


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(_histories_with_bad_rows())
def test_quarantine_sets_aside_what_posting_row_by_row_refuses(h: History) -> None:
    """Quarantine sets aside the rows the reference refuses posting row by row (and their
    dependents); without quarantine the error names the refused ones."""
    expected, refused = _rejected_as_posted(h)
    event(f"rows refused: {min(len(expected), 3)}{'+' if len(expected) > 3 else ''}")
    tables = (h.transactions, h.items, h.inventory_periods, h.settings, h.accounting_periods)
    try:
        _, rejected = cost_ledger_setting_aside(*tables)
    except NotSupportedYet as exc:  # the stage's named refusals (R44a, R45)
        event("NotSupportedYet")
        note(str(exc))
        return
    assert rejected["transaction_no"].to_list() == expected
    if refused:
        with pytest.raises(InputError) as caught:
            cost_ledger_refusing(*tables)
        assert sorted({keyed_transaction(p) for p in caught.value.problems}) == refused
