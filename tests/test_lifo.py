"""LIFO quantity application (R42, R44 latest first) and fixed applications on LIFO keys (R43).

The stack matching of `pipelines.costing.lifo` against a plain two-stack simulation on random
streams of many keys, its nearest-smaller-value primitive against brute force, and hand-checked
histories through `cost_ledger` (numbers worked out from costing.md, each also checked against
the row-by-row reference).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.costing import cost_ledger
from pipelines.costing.lifo import _last_below, _pyramid, lifo_applications
from pipelines.costing.lifo_dates import lifo_by_posting_date
from pipelines.errors import InputError, NotSupportedYet
from pipelines.settings import Settings
from tests.reference import reference_ledger
from tests.reference.cases import (
    ITEM_DTYPES,
    PERIOD_DTYPES,
    TRANSACTION_DTYPES,
    check_expected,
    read_case,
)
from tests.test_differential import assert_same_ledger
from tests.test_reference import ITEM, D, tx

LIFO = ITEM | {"costing_method": "LIFO"}


# --- the stack matching against a simulation -----------------------------------------------------

Move = int | tuple[int, bool]  # units (inbound > 0), or (units, True): an inbound closing nothing


def _move(move: Move) -> tuple[int, bool]:
    return move if isinstance(move, tuple) else (move, False)


def simulate(keys: list[list[Move]], days: list[list[int]] | None = None
             ) -> set[tuple[int, int, int]]:
    """R42/R44/R45 one move at a time: (inbound, outbound, units) of every application. An
    outbound takes the open inbound with the latest (day, entry), an inbound closes the open
    outbound likewise (R44); without `days`, the latest posted."""
    applied: dict[tuple[int, int], int] = {}
    entry = 0
    for k, moves in enumerate(keys):
        on_hand: list[list[int]] = []  # [day, entry, units]
        open_out: list[list[int]] = []
        for i, move in enumerate(moves):
            delta, closes_nothing = _move(move)
            entry += 1
            other = on_hand if delta < 0 else [] if closes_nothing else open_out
            need = abs(delta)
            while need and other:
                top = max(other)
                a = min(need, top[2])
                pair = (entry, top[1]) if delta > 0 else (top[1], entry)
                applied[pair] = applied.get(pair, 0) + a
                top[2] -= a
                need -= a
                if top[2] == 0:
                    other.remove(top)
            if need:
                day = days[k][i] if days else 0
                (on_hand if delta > 0 else open_out).append([day, entry, need])
    return {(i, o, u) for (i, o), u in applied.items()}


def flow_of(keys: list[list[Move]]) -> pl.DataFrame:
    rows = [(k, *_move(m)) for k, moves in enumerate(keys) for m in moves]
    return pl.DataFrame({
        "key_id": [k for k, _, _ in rows], "entry_no": list(range(1, len(rows) + 1)),
        "delta": [d for _, d, _ in rows], "inbound": [d >= 0 for _, d, _ in rows],
        "type": ["sales_return" if r else "purchase" if d >= 0 else "sale" for _, d, r in rows],
        "receiving": [r for _, _, r in rows], "passes": [False] * len(rows),
    }, schema={"key_id": pl.Int64, "entry_no": pl.Int64, "delta": pl.Int64,
               "inbound": pl.Boolean, "type": pl.String, "receiving": pl.Boolean,
               "passes": pl.Boolean})


returns = st.tuples(st.integers(0, 6), st.just(True))
moves = st.lists(st.lists(st.one_of(st.integers(-6, 6), returns), max_size=30),
                 min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(moves)
def test_stack_matching_equals_a_two_stack_simulation(keys: list[list[int]]) -> None:
    """Ties in the balance, zero moves (a fully reserved inbound), keys in and out of negative,
    returns that close nothing (R45) so that both stacks are non-empty at once."""
    got = lifo_applications(flow_of(keys))
    assert set(got.iter_rows()) == simulate(keys)
    assert got.height == len(simulate(keys))  # one row per (inbound, outbound)


def simulate_by_date(keys: list[list[tuple[int, int]]]) -> set[tuple[int, int, int]]:
    """`simulate` on moves (units, day)."""
    return simulate([[d for d, _ in moves] for moves in keys],
                    days=[[day for _, day in moves] for moves in keys])


def dated_flow_of(keys: list[list[tuple[int, int]]]) -> pl.DataFrame:
    flow = flow_of([[d for d, _ in moves] for moves in keys])
    days = [day for moves in keys for _, day in moves]
    return flow.with_columns(
        posting_date=pl.date(2020, 1, 1) + pl.duration(days=pl.Series(days, dtype=pl.Int64)),
        transaction_no="entry_no", units=pl.col("delta").abs(), cap=pl.col("delta").abs())


dated_moves = st.lists(st.lists(st.tuples(st.integers(-6, 6), st.integers(0, 5)), max_size=30),
                       min_size=1, max_size=6)


@settings(max_examples=400, deadline=None)
@given(dated_moves)
def test_back_dated_stacks_equal_a_priority_simulation(keys) -> None:
    """Every key with a back-dated entry is applied by (posting date, entry no), both sides:
    many runs per key (dates drawn from six days), ties in dates and balances, zero moves."""
    flow = dated_flow_of(keys)
    got, reordered = lifo_by_posting_date(flow, lifo_applications(flow))
    want = simulate_by_date(keys)
    back = {k for k, moves in enumerate(keys)
            if any(moves[i][1] < max(d for d2, d in moves[:i] if (d2 >= 0) == (moves[i][0] >= 0))
                   for i in range(len(moves))
                   if any((d2 >= 0) == (moves[i][0] >= 0) for d2, _ in moves[:i]))}
    assert set(reordered.get_column("key_id").to_list()) == back
    assert set(got.iter_rows()) == want
    assert got.height == len(want)


mostly_dated_moves = st.lists(st.lists(st.tuples(st.integers(-6, 6), st.sampled_from(
    [0] * 8 + [1, 3, 5])), max_size=40), min_size=1, max_size=6).map(
    lambda keys: [[(d, 2 * i - back) for i, (d, back) in enumerate(moves)] for moves in keys])


@settings(max_examples=300, deadline=None)
@given(mostly_dated_moves)
def test_blocks_of_back_dated_stacks_equal_a_priority_simulation(keys) -> None:
    """Dates in posting order but for one entry in four back-dated up to two entries' worth:
    many small blocks per key, most of the stack left in entry order."""
    flow = dated_flow_of(keys)
    got, _ = lifo_by_posting_date(flow, lifo_applications(flow))
    assert sorted(got.iter_rows()) == sorted(simulate_by_date(keys))


def test_stack_matching_on_a_sawtooth() -> None:
    """Each sale takes the purchase just before it, the first purchase stays to the end."""
    keys = [[10] + [3, -3] * 5 + [-10]]
    assert set(lifo_applications(flow_of(keys)).iter_rows()) == simulate(keys) == {
        *((2 * k + 2, 2 * k + 3, 3) for k in range(5)), (1, 12, 10)}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=40), st.data())
def test_last_below_equals_brute_force(values: list[int], data) -> None:
    arr = np.array(values, dtype=np.int64)
    r = np.array(data.draw(st.lists(st.integers(0, len(values)), min_size=1, max_size=20)))
    v = np.array(data.draw(st.lists(st.integers(-6, 6), min_size=len(r), max_size=len(r))))
    want = [max((j for j in range(rq) if arr[j] < vq), default=-1)
            for rq, vq in zip(r, v, strict=True)]
    assert _last_below(_pyramid(arr), r, v).tolist() == want


# --- hand-checked histories ----------------------------------------------------------------------

def both(*rows: dict, items: list[dict] | None = None):
    """The stage's ledger, checked entry by entry against the reference."""
    items = items or [LIFO]
    got = cost_ledger(pl.DataFrame(list(rows), schema=TRANSACTION_DTYPES, orient="row"),
                      pl.DataFrame(items, schema=ITEM_DTYPES, orient="row"),
                      pl.DataFrame(schema=PERIOD_DTYPES), Settings())
    assert_same_ledger(got, reference_ledger(list(rows), items, Settings(), []))
    return got


def applied(led) -> set[tuple[int, int, float]]:
    """(inbound, outbound, quantity) of the quantity applications (R47)."""
    return set(led.item_application_entries.filter(
        ~pl.col("cost_application") & pl.col("outbound_item_entry_no").is_not_null())
        .select("inbound_item_entry_no", "outbound_item_entry_no", "quantity").iter_rows())


def costs(led) -> list[float]:
    return led.item_ledger_entries.sort("entry_no")["cost_amount_actual"].to_list()


def test_r42_outbound_takes_the_latest_purchase_first() -> None:
    """Purchases 10 @ 5.00 and 5 @ 7.00, sales of 4 and 8: the first sale takes P1 (the only
    one), the second all of P2 then 3 of P1: -35.00 - 15.00."""
    led = both(tx(1, D(2020, 1, 5), "purchase", 10, 5), tx(2, D(2020, 1, 20), "sale", 4),
               tx(3, D(2020, 2, 3), "purchase", 5, 7), tx(4, D(2020, 2, 10), "sale", 8))
    assert applied(led) == {(1, 2, -4.0), (3, 4, -5.0), (1, 4, -3.0)}
    assert costs(led) == [50.0, -20.0, 35.0, -50.0]


def test_r42_equal_dates_latest_posted_first() -> None:
    """Two purchases on one day: the later-posted one is taken first."""
    led = both(tx(1, D(2020, 1, 5), "purchase", 2, 5), tx(2, D(2020, 1, 5), "purchase", 2, 8),
               tx(3, D(2020, 1, 5), "sale", 3))
    assert applied(led) == {(2, 3, -2.0), (1, 3, -1.0)}
    assert costs(led)[2] == -21.0


def test_r44_lifo_inbound_closes_the_latest_open_outbound_first() -> None:
    """Sales of 5 and 3 into an empty key; a purchase of 4 @ 7.00 closes the sale of 3, then 1
    of the sale of 5; a purchase of 10 @ 2.00 closes its last 4 and keeps 6."""
    led = both(tx(1, D(2020, 1, 1), "sale", 5), tx(2, D(2020, 1, 2), "sale", 3),
               tx(3, D(2020, 1, 3), "purchase", 4, 7), tx(4, D(2020, 1, 4), "purchase", 10, 2))
    assert applied(led) == {(3, 2, -3.0), (3, 1, -1.0), (4, 1, -4.0)}
    assert costs(led) == [-15.0, -21.0, 28.0, 20.0]
    assert led.item_ledger_entries["remaining_quantity"].to_list() == [0, 0, 0, 6]


def test_lifo_transfer_carries_the_latest_cost() -> None:
    """R46 from-leg takes the latest purchase (20.00); the sale at BLUE gets it via the to-leg."""
    led = both(tx(1, D(2020, 1, 1), "purchase", 5, 10), tx(2, D(2020, 1, 2), "purchase", 5, 20),
               tx(3, D(2020, 1, 3), "transfer", 3) | {"to_location_code": "BLUE"},
               tx(4, D(2020, 1, 4), "sale", 3, loc="BLUE"))
    assert costs(led) == [50.0, 100.0, -60.0, 60.0, -60.0]


def test_fixed_application_below_the_top_of_the_stack_is_valid() -> None:
    """R43 under LIFO: the automatic sale of 6 takes P2 (5) and 1 of P1, so P1 keeps 4 for the
    fixed sale of 3 (FIFO would have emptied P1: an input error there)."""
    rows = (tx(1, D(2020, 1, 1), "purchase", 5, 10), tx(2, D(2020, 1, 2), "purchase", 5, 20),
            tx(3, D(2020, 1, 3), "sale", 6), tx(4, D(2020, 1, 4), "sale", 3, applies=1))
    led = both(*rows)
    assert applied(led) == {(2, 3, -5.0), (1, 3, -1.0), (1, 4, -3.0)}
    assert costs(led) == [50.0, 100.0, -110.0, -30.0]
    with pytest.raises(InputError, match="R43"):
        both(*rows, items=[ITEM])


@pytest.mark.parametrize(("rows", "why"), [
    pytest.param((tx(1, D(2020, 1, 1), "purchase", 5, 10), tx(2, D(2020, 1, 2), "purchase", 5, 20),
                  tx(3, D(2020, 1, 3), "sale", 6), tx(4, D(2020, 1, 4), "sale", 3, applies=2)),
                 "the automatic sale emptied P2 first", id="latest taken first"),
    pytest.param((tx(1, D(2020, 1, 1), "sale", 5), tx(2, D(2020, 1, 2), "purchase", 3, 10),
                  tx(3, D(2020, 1, 3), "sale", 1, applies=2)),
                 "P2 closed the open sale with all of it (R44)", id="closing uses it up"),
    pytest.param((tx(1, D(2020, 1, 1), "purchase", 5, 10), tx(2, D(2020, 1, 2), "purchase", 2, 20),
                  tx(3, D(2020, 1, 3), "purchase", 2, 30), tx(4, D(2020, 1, 4), "sale", 3),
                  tx(5, D(2020, 1, 5), "sale", 2), tx(6, D(2020, 1, 6), "sale", 1, applies=2)),
                 "the second sale digs below P2 after P3 is gone", id="dig below later"),
    pytest.param((tx(1, D(2020, 1, 1), "sale", 2),
                  tx(2, D(2020, 1, 2), "sales_return", 1, applies=1),
                  tx(3, D(2020, 1, 3), "sale", 1), tx(4, D(2020, 1, 4), "sale", 1, applies=2)),
                 "the automatic sale took the returned unit (R45: it is on hand)",
                 id="return taken"),
])
def test_fixed_application_to_units_the_stack_already_gave_away(rows, why) -> None:
    """R43, R160: the reference and the stage both call these input errors."""
    items = pl.DataFrame([LIFO], schema=ITEM_DTYPES, orient="row")
    with pytest.raises(InputError, match="R43"):
        reference_ledger(list(rows), [LIFO], Settings(), [])
    with pytest.raises(InputError, match="R43") as exc:
        cost_ledger(pl.DataFrame(list(rows), schema=TRANSACTION_DTYPES, orient="row"), items,
                    pl.DataFrame(schema=PERIOD_DTYPES), Settings())
    assert not isinstance(exc.value, NotSupportedYet), why


def test_lifo_returns_on_hand_beside_an_open_sale() -> None:
    """R45 on a LIFO key: the returns close nothing, so the sale stays open beside the returned
    units (both stacks non-empty); a sale takes the latest return (R42), the next purchase closes
    the open sale (R44), and the last sale takes that purchase's rest, then the returns, latest
    first. Sale 2 costs 3 x 10 + 2 x 20 = 70 (14 each), which both returns and sale 4 take."""
    led = both(tx(1, D(2020, 1, 1), "purchase", 3, 10), tx(2, D(2020, 1, 2), "sale", 5),
               tx(3, D(2020, 1, 3), "sales_return", 5, applies=2), tx(4, D(2020, 1, 4), "sale", 1),
               tx(5, D(2020, 1, 5), "sales_return", 1, applies=4),
               tx(6, D(2020, 1, 6), "purchase", 4, 20), tx(7, D(2020, 1, 7), "sale", 4))
    assert led.item_ledger_entries["remaining_quantity"].to_list() == [0, 0, 3, 0, 0, 0, 0]
    assert applied(led) == {(1, 2, -3.0), (3, 4, -1.0), (6, 2, -2.0), (6, 7, -2.0),
                            (5, 7, -1.0), (3, 7, -1.0)}
    assert costs(led) == [30.0, -70.0, 70.0, -14.0, 14.0, 80.0, -68.0]


@pytest.mark.parametrize("method", ["FIFO", "LIFO"])
def test_fixed_application_to_an_open_r45_return(method: str) -> None:
    """R45: a return into negative inventory closes nothing; its unit is on hand and a fixed
    application to it is valid (R43). The sale stays open at -1."""
    led = both(tx(1, D(2020, 1, 1), "sale", 1), tx(2, D(2020, 1, 2), "sales_return", 1, applies=1),
               tx(3, D(2020, 1, 3), "negative_adjustment", 1, applies=2),
               items=[ITEM | {"costing_method": method}])
    assert led.item_ledger_entries["remaining_quantity"].to_list() == [-1, 0, 0]
    assert applied(led) == {(2, 3, -1.0)}


def test_fifo_automatic_sale_takes_an_open_r45_return_first() -> None:
    """R45 with FIFO: the returned unit is the oldest open inbound, so a sale before the fixed
    application takes it (R41) and the fixed application finds nothing: an input error."""
    rows = (tx(1, D(2020, 1, 1), "sale", 2), tx(2, D(2020, 1, 2), "sales_return", 1, applies=1),
            tx(3, D(2020, 1, 3), "sale", 1), tx(4, D(2020, 1, 4), "sale", 1, applies=2))
    with pytest.raises(InputError, match="R43"):
        both(*rows, items=[ITEM])


@pytest.mark.parametrize("case", ["c11_lifo_sale_takes_latest_purchase",
                                  "c12_lifo_negative_inventory_closed_latest_first"])
def test_reference_matches_the_hand_computed_lifo_cases(case: str) -> None:
    """The hand-computed expected.json of the LIFO cases (test_examples runs the product)."""
    folder = Path(__file__).parent / "cases" / case
    transactions, items, periods, cfg = read_case(folder)
    result = reference_ledger(transactions.to_dicts(), items.to_dicts(), cfg, periods.to_dicts())
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert check_expected(result, expected) == []
