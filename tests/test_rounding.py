"""R2 on floats as on decimals: quotients near a tie, and quantities counted in millionths."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipelines.costing.ledger import QTY_SCALE, quantity_of
from pipelines.rounding import exact_near_ties, round_quotient, round_to
from tests.reference.arith import round_to as exact_round

CENT, MILLIONTH, UNIT = Fraction(1, 100), Fraction(1, QTY_SCALE), Fraction(1, 100_000)


def _quotients(cents: list[int], millionths: list[int], precision: float = 1e-5) -> list[float]:
    frame = pl.DataFrame({"a": [c / 100 for c in cents], "b": [m / QTY_SCALE for m in millionths]})
    return frame.select(round_quotient(pl.col("a"), pl.col("b"), 0.01, 1 / QTY_SCALE,
                                       precision)).to_series().to_list()


def test_a_quotient_a_hair_from_a_tie_rounds_as_its_decimal() -> None:
    """91.66 / 7.47 = 12.27041499...: round_to's relative nudge carried it over the tie."""
    nudged = pl.select(round_to(pl.lit(91.66) / pl.lit(7.47), 1e-5)).item()
    assert nudged == 12.27042
    assert _quotients([9166, -10115, 667, -667], [7_470_000, 4_980_000, 2_000_000, 2_000_000]
                      ) == [12.27041, -20.31124, 3.335, -3.335]
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
    got = exact_near_ties(frame, "q", a, b, 0.01, 1 / QTY_SCALE, 1e-5)["q"].to_list()
    assert got == [float(exact_round(c * CENT / (m * MILLIONTH), UNIT)) if m else 0.0
                   for c, m in zip(cents, millionths, strict=True)]


def test_other_units_fall_back_to_round_to() -> None:
    """A precision that does not scale the units to integers (0.03): the nudged quotient."""
    frame = pl.DataFrame({"a": [1.0], "b": [3.0]})
    assert frame.select(round_quotient(pl.col("a"), pl.col("b"), 0.01, 1e-6, 0.03)).item() \
        == frame.select(round_to(pl.col("a") / pl.col("b"), 0.03)).item()


@given(st.lists(st.integers(-10**13, 10**13), min_size=1, max_size=100))
def test_quantity_units_give_back_the_decimal_quantity(units) -> None:
    """A constant divisor is a multiplication by its inverse in polars: 3,100,000 / 10^6 gave
    3.0999999999999996; quantity_of gives the float of the decimal, as a parser would."""
    got = pl.DataFrame({"u": units}).select(quantity_of(pl.col("u"))).to_series().to_list()
    assert got == [float(Decimal(u) / QTY_SCALE) for u in units]
    assert (pl.Series([3_100_000]) / QTY_SCALE).item() != 3.1  # why it exists
