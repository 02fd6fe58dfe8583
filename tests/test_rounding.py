"""R2 on floats as on decimals: quotients near a tie, and quantities counted in millionths."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.costing.ledger import QTY_SCALE, quantity_of
from pipelines.rounding import (
    Fixed,
    exact_near_ties,
    round_array,
    round_quotient,
    round_shares,
    round_to,
    round_value,
    with_cumulative_split,
    with_share,
)
from tests.reference.arith import cumulative_split as exact_split
from tests.reference.arith import round_to as exact_round

CENT, MILLIONTH, UNIT = Fraction(1, 100), Fraction(1, QTY_SCALE), Fraction(1, 100_000)


def _quotients(cents: list[int], millionths: list[int], precision: float = 1e-5) -> list[float]:
    frame = pl.DataFrame({"a": [c / 100 for c in cents], "b": [m / QTY_SCALE for m in millionths]})
    return frame.select(round_quotient(pl.col("a"), pl.col("b"), 2, 6,
                                       precision)).to_series().to_list()


def test_a_quotient_a_hair_from_a_tie_rounds_as_its_decimal() -> None:
    """3835.22 / 5.610045 = 683.634444999995...: round_to's nudge carries it over the tie (as
    the relative 1e-9 carried 91.66 / 7.47 = 12.27041499..., before it stopped at 1e-5 of a
    unit)."""
    nudged = pl.select(round_to(pl.lit(3835.22) / pl.lit(5.610045), 1e-5)).item()
    assert nudged == 683.63445
    assert _quotients([383522, 9166, -10115, 667, -667],
                      [5_610_045, 7_470_000, 4_980_000, 2_000_000, 2_000_000]
                      ) == [683.63444, 12.27041, -20.31124, 3.335, -3.335]
    assert _quotients([667], [2_000_000], precision=0.01) == [3.34]  # a true tie: away from 0


@given(cents=st.lists(st.integers(-10**11, 10**11), min_size=1, max_size=50),
       millionths=st.lists(st.integers(1, 10**10).flatmap(
           lambda m: st.sampled_from([m, -m])), min_size=50, max_size=50))
def test_quotients_of_cents_by_millionths_round_exactly(cents, millionths) -> None:
    millionths = millionths[:len(cents)]
    want = [float(exact_round(c * CENT / (m * MILLIONTH), UNIT)) for c, m in zip(
        cents, millionths, strict=True)]
    assert _quotients(cents, millionths) == want


@given(cents=st.lists(st.integers(-10**9, 10**9), min_size=60, max_size=60),
       millionths=st.lists(st.integers(-10**9, 10**9), min_size=60, max_size=60))
def test_exact_near_ties_gives_the_exact_rounding_in_every_row(cents, millionths) -> None:
    """round_to in a frame, then the rows near a tie made exact: every row as the decimals
    round (0 where the divisor is 0, as cost_per_unit has it)."""
    cents += [9166, -10115, 667]
    millionths += [7_470_000, 4_980_000, 2_000_000]
    a, b = pl.col("a"), pl.col("b")
    frame = pl.DataFrame({"a": [c / 100 for c in cents],
                          "b": [m / QTY_SCALE for m in millionths]})
    frame = frame.with_columns(q=pl.when(b != 0).then(round_to(a / b, 1e-5)).otherwise(0.0))
    got = exact_near_ties(frame, "q", pl.when(b != 0).then(a / b), round_quotient(a, b, 2, 6, 1e-5),
                          1e-5)["q"].to_list()
    assert got == [float(exact_round(c * CENT / (m * MILLIONTH), UNIT)) if m else 0.0
                   for c, m in zip(cents, millionths, strict=True)]


# shares of an amount by quantities of three decimals that fall a hair below a half cent:
# 266.67 x 49.993 / 100.001 = 133.3149999950 (round_to alone: 133.32)
_HAIR = [(26667, 49_993_000, 100_001_000), (-26667, 49_993_000, 100_001_000)]


@given(rows=st.lists(st.tuples(st.integers(-10**11, 10**11), st.integers(0, 10**12),
                               st.integers(1, 10**12)), max_size=40))
def test_shares_by_quantity_round_exactly(rows) -> None:
    """with_share: R2 of amount x units / whole as the decimals round, in every row (a part
    of the whole, as shares are)."""
    rows = [(c, min(a, b), max(a, b)) for c, a, b in rows] + _HAIR
    frame = pl.DataFrame(rows, schema=["cents", "units", "whole"], orient="row")
    got = with_share(frame.with_columns(amount=pl.col("cents") / 100), "share", pl.col("amount"),
                     pl.col("units"), pl.col("whole"), 0.01)["share"].to_list()
    assert got == [float(exact_round(c * CENT * u / w, CENT)) for c, u, w in rows]
    assert got[-2:] == [133.31, -133.31]
    arrays = frame.with_columns(amount=pl.col("cents") / 100).to_numpy().T
    assert round_shares(arrays[3], arrays[1].astype(np.int64), arrays[2].astype(np.int64),
                        0.01).tolist() == got  # the same on numpy arrays (the average pools)
    hair = np.array(_HAIR, dtype=np.int64).T  # products that fit int64: rounded in numpy
    assert round_shares(hair[0] / 100, hair[1], hair[2], 0.01).tolist() == [133.31, -133.31]


@given(total=st.integers(-10**10, 10**10),
       weights=st.lists(st.integers(1, 10**9), min_size=1, max_size=8))
def test_cumulative_splits_round_exactly(total, weights) -> None:
    """with_cumulative_split is R3 on the decimals, parts summing to the total; two groups."""
    whole = sum(weights)
    frame = pl.DataFrame({"g": [1] * len(weights) + [2, 2], "w": [*weights, 49_993_000, 50_008_000],
                          "total": [total / 100] * len(weights) + [266.67, 266.67],
                          "whole": [whole] * len(weights) + [100_001_000] * 2})
    got = with_cumulative_split(frame, "part", pl.col("total"), pl.col("w"), pl.col("whole"),
                                0.01, over="g")["part"].to_list()
    want = exact_split(total * CENT, [Fraction(w) for w in weights], Fraction(whole), CENT)
    assert got == [*(float(x) for x in want), 133.31, 133.36]
    assert round(sum(got[:-2]) * 100) == total


def test_a_precision_other_than_a_power_of_ten_rounds_exactly() -> None:
    """0.05 and 0.25 (R2 rounds to any multiple): ties away from zero, as the decimals do."""
    frame = pl.DataFrame({"a": [1.0, 0.125, -0.375], "b": [3.0, 1.0, 1.0]})
    got = [frame.select(round_quotient(pl.col("a"), pl.col("b"), 3, 6, p)).to_series().to_list()
           for p in (0.05, 0.25)]
    assert got == [[0.35, 0.15, -0.4], [0.25, 0.25, -0.5]]


@given(st.lists(st.integers(-10**13, 10**13), min_size=1, max_size=100))
def test_quantity_units_give_back_the_decimal_quantity(units) -> None:
    """A constant divisor is a multiplication by its inverse in polars: 3,100,000 / 10^6 gave
    3.0999999999999996; quantity_of gives the float of the decimal, as a parser would."""
    got = pl.DataFrame({"u": units}).select(quantity_of(pl.col("u"))).to_series().to_list()
    assert got == [float(Decimal(u) / QTY_SCALE) for u in units]
    assert (pl.Series([3_100_000]) / QTY_SCALE).item() != 3.1  # why it exists


def _rounded_three_ways(xs: list[float], precision: float = 0.01) -> list[list[float]]:
    """round_to (polars), round_array (numpy, the average pools) and round_value (scalar)."""
    return [pl.select(round_to(pl.Series(xs), precision)).to_series().to_list(),
            round_array(np.array(xs), precision).tolist(),
            [round_value(x, precision) for x in xs]]


def test_amounts_of_millions_keep_their_cents() -> None:
    """A relative nudge of 1e-9 is half a cent at 5,000,000.00: it gave 12345678.91 for
    12345678.90 and 123456789.13 for 123456789.01. The nudge stops at 1e-5 of a cent."""
    xs = [12345678.90, 123456789.01, 5000000.004, -5000000.005, 6.67 / 2, 98765432.115]
    want = [12345678.90, 123456789.01, 5000000.00, -5000000.01, 3.34, 98765432.12]
    assert _rounded_three_ways(xs) == [want] * 3


@given(cents=st.lists(st.integers(-10**13, 10**13), min_size=1, max_size=50),
       half_cents=st.lists(st.integers(-10**10, 10**10), min_size=1, max_size=50))
def test_cents_stay_and_half_cents_round_away_from_zero_up_to_a_hundred_million(
        cents, half_cents) -> None:
    """Every amount of whole cents up to 10^11 keeps its cents; every half cent (the float of
    its decimal) up to 10^8 rounds away from zero, as the decimal does."""
    xs = [c / 100 for c in cents] + [float(Decimal(2 * h + 1) / 200) for h in half_cents]
    want = [float(exact_round(Fraction(Decimal(repr(x))), CENT)) for x in xs]
    assert _rounded_three_ways(xs) == [want] * 3


@given(rows=st.lists(st.tuples(st.integers(-10**12, 10**12), st.integers(0, 10**12),
                               st.integers(0, 10**8), st.integers(0, 10**7)),
                     min_size=1, max_size=40))
def test_fixed_decimals_round_their_products_and_sums_exactly(rows) -> None:
    """R21's amounts on Fixed decimals: q (millionths) x (c x pct / 100 + overhead) for unit
    costs of five decimals, percentages of six and rates of four, as the rationals round."""
    q, c, pct, oh = ([r[i] for r in rows] for i in range(4))
    frame = pl.DataFrame({"q": [x / 10**6 for x in q], "c": [x / 10**5 for x in c],
                          "pct": [x / 10**6 for x in pct], "oh": [x / 10**4 for x in oh]})
    fixed = {name: Fixed.of(pl.col(name), scale) for name, scale in
             (("q", 6), ("c", 10), ("pct", 6), ("oh", 10))}
    amount = fixed["q"] * (fixed["c"] * fixed["pct"].percent() + fixed["oh"])
    got = frame.select(amount.rounded(0.01)).to_series().to_list()
    assert got == [float(exact_round(Fraction(a, 10**6) * (Fraction(b, 10**5) * Fraction(p, 10**8)
                                                            + Fraction(o, 10**4)), CENT))
                   for a, b, p, o in rows]


def test_a_share_of_an_amount_with_float_dust() -> None:
    """R2: 2.5 of 3 units of 0.269999999553 (0.27 read back as the difference of two sums of
    millions, float dust and all) is the share of 0.27: 0.225, a tie, 0.23."""
    frame = pl.DataFrame({"amount": [8658654.07 - 8658653.80], "units": [2_500_000],
                          "whole": [3_000_000]})
    assert frame["amount"][0] != 0.27
    shared = with_share(frame, "share", pl.col("amount"), pl.col("units"), pl.col("whole"), 0.01)
    assert shared["share"].to_list() == [0.23]


def test_a_sale_of_a_receipt_invoiced_later_at_millions() -> None:
    """R50, R51: the sale's cost at posting reads the receipt's value known then (0.27) as the
    whole value less what came later: 0.225 of it is 0.23, not 0.22 (found by the random
    histories: the float dust of the difference rounded the tie down)."""
    from tests.test_cost_loops import _both
    from tests.test_differential import assert_same_ledger
    from tests.test_reference import D, tx

    got, want = _both(tx(1, D(2020, 1, 1), "purchase_receipt", 3, 0.09),
                      tx(2, D(2020, 1, 2), "sale", 2.5),
                      tx(3, D(2020, 1, 3), "purchase_invoice", 3, 2748779.06943, applies=1))
    assert got.value_entries.filter(pl.col("item_ledger_entry_no") == 2).select(
        "transaction_no", "cost_amount_actual").rows() == [(2, -0.23), (None, -6871947.45)]
    assert_same_ledger(got, want)
