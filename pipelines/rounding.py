"""Rounding as BC's decimal arithmetic does it (R2) and the cumulative split (R3)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import polars as pl

# float64 stores 6.67/2 just below 3.335; a nudge away from zero restores the decimal tie: a
# relative 1e-9, at most a hundred-thousandth of the rounding unit. Uncapped, it carried every
# amount from 5,000,000.00 up by a cent or more (1e-9 of 5e8 cents is half a cent).
_NUDGE = 1e-9
_NUDGE_CAP = 1e-5
# relative error of a float product or quotient of decimals (three roundings of 2^-53), with room
_FLOAT_ERROR = 1e-15
# rounding units no amount reaches (10^16 of a cent is 10^14 in money)
_BEYOND = 1e18


def _nudged(steps: pl.Expr) -> pl.Expr:
    """|x| / precision nudged away from zero."""
    return steps + (steps * _NUDGE).clip(upper_bound=_NUDGE_CAP)


def round_to(x: pl.Expr, precision: float) -> pl.Expr:
    """R2: round half away from zero to a multiple of `precision`."""
    return (x.sign() * (_nudged(x.abs() / precision) + 0.5).floor() * precision
            ).round(decimals_of(precision))


@dataclass(frozen=True)
class Fixed:
    """A column of decimals held exactly: an Int128 count of 10^-scale.

    float64 cannot tell a product or quotient of decimals a hair's breadth from a tie from the
    tie itself (3835.22 / 5.610045 = 683.634444999995..., 25.498 · 78.50753 = 2001.78499994): R2 on
    them is done on integers. Sums, products and quotients of Fixed are exact; `rounded` is R2.
    """

    units: pl.Expr
    scale: int

    @classmethod
    def of(cls, x: pl.Expr, scale: int) -> Fixed:
        """The decimal a float was read from (its shortest repr), to `scale` decimals."""
        return cls(x.cast(pl.String).cast(pl.Decimal(38, scale)).to_physical(), scale)

    def __mul__(self, other: Fixed) -> Fixed:
        return Fixed(self.units * other.units, self.scale + other.scale)

    def __add__(self, other: Fixed) -> Fixed:
        scale = max(self.scale, other.scale)
        return Fixed(self._at(scale) + other._at(scale), scale)

    def percent(self) -> Fixed:
        """self / 100."""
        return Fixed(self.units, self.scale + 2)

    def _at(self, scale: int) -> pl.Expr:
        return self.units * 10 ** (scale - self.scale) if scale > self.scale else self.units

    def rounded(self, precision: float, over: Fixed | None = None) -> pl.Expr:
        """R2 of self (divided by `over`, not 0) to a multiple of `precision`, as a float."""
        decimals = decimals_of(precision)
        step = round(precision * 10**decimals)  # precision = step · 10^-decimals
        over = over or Fixed(pl.lit(1, dtype=pl.Int128), 0)
        shift = over.scale + decimals - self.scale  # x / precision = num / den
        num = self.units * 10**shift if shift > 0 else self.units
        den = over.units * step * (10**-shift if shift < 0 else 1)
        steps = (2 * num.abs() + den.abs()) // (2 * den.abs())
        return times_unit(num.sign() * den.sign() * steps * step, 10.0**-decimals)


def round_quotient(a: pl.Expr, b: pl.Expr, a_scale: int, b_scale: int,
                   precision: float) -> pl.Expr:
    """R2 of a / b (b not 0) for decimals of `a_scale` and `b_scale` places, exactly."""
    return Fixed.of(a, a_scale).rounded(precision, over=Fixed.of(b, b_scale))


def _near(approx: pl.Expr, precision: float) -> pl.Expr:
    """Is `approx` within the nudge's or float64's reach of a tie, either way? (Not beyond any
    amount: a pool diverging, R60, is infinite or past what Fixed holds.)"""
    steps = approx.abs() / precision
    reach = pl.max_horizontal(_nudged(steps) - steps, steps * _FLOAT_ERROR)
    return (((steps - steps.floor() - 0.5).abs() <= reach) & (steps < _BEYOND)).fill_null(False)


def _with_exact(frame: pl.DataFrame, column: str, rows: pl.Series,
                exact: pl.Expr) -> pl.DataFrame:
    """`frame` with `exact` in `column` at `rows`, evaluated on those rows only."""
    if rows.len() == 0:
        return frame
    read = frame.select(sorted(set(exact.meta.root_names())))[rows]
    return frame.with_columns(frame.get_column(column).scatter(rows, read.select(exact)
                                                               .to_series()))


def exact_near_ties(frame: pl.DataFrame, column: str, approx: pl.Expr, exact: pl.Expr,
                    precision: float) -> pl.DataFrame:
    """`frame` with its `column`, `round_to(approx, precision)`, replaced by `exact` (the same
    value on `Fixed` decimals) in the rows where approx is near a tie: a few in ten thousand
    (on integers, all the rows of a 10M history would take a second or more per column). Rows
    where approx is null (an undefined quotient) keep their value."""
    rows = frame.lazy().select(pl.arg_where(_near(approx, precision))).collect().to_series()
    return _with_exact(frame, column, rows, exact)


def times_unit(n: pl.Expr, unit: float) -> pl.Expr:
    """The float nearest n · unit for integers n and a decimal unit, at any size: a float
    product is not (3 · 0.1 is 0.30000000000000004), nor a division by a constant in polars
    (a multiplication by its inverse: 3,100,000 / 10^6 is 3.0999999999999996)."""
    return (n.cast(pl.Decimal(38, 0)) * pl.lit(Decimal(repr(unit)))).cast(pl.Float64)


def round_array(x, precision: float):
    """R2 on a numpy array, exactly as `round_to`."""
    steps = np.abs(x) / precision
    steps = np.floor(steps + np.minimum(steps * _NUDGE, _NUDGE_CAP) + 0.5)
    return np.round(np.sign(x) * steps * precision, decimals_of(precision))


@functools.cache
def decimals_of(precision: float) -> int:
    digits = 0
    while round(precision * 10**digits) != precision * 10**digits and digits < 12:
        digits += 1
    return digits


def round_value(x: float, precision: float) -> float:
    """Scalar R2, for small frames and tests: `round_array` of one value."""
    return float(round_array(np.float64(x), precision))


def segment_cum_sum(x: pl.Expr, by: str) -> pl.Expr:
    """Cumulative sum of `x` restarting at each run of `by`, for frames sorted by `by`.

    One global cum_sum and a forward fill: `cum_sum().over(by)` costs a window per group, which is
    slow when most groups have one row.
    """
    total = x.cum_sum()
    starts = pl.col(by) != pl.col(by).shift(1)
    offset = pl.when(starts.fill_null(True)).then(total - x).forward_fill()
    return total - offset


def with_share(frame: pl.DataFrame, name: str, amount: pl.Expr, units: pl.Expr,
               whole: pl.Expr, precision: float, amount_decimals: int | None = None,
               ) -> pl.DataFrame:
    """`frame` with column `name` = R2 of amount · units / whole: an amount's share by quantity
    (R23, R51, R71, R74). `units` and `whole` are integers (quantities as counts of a
    millionth; whole not 0), `amount` a decimal of `amount_decimals` places (by default the
    precision's: an amount). On floats, and exactly (`Fixed`) in the rows near a tie: with
    decimal quantities a share lands within the nudge's reach of a half cent (49.993 of
    100.001 units of 266.67 is 133.3149999950, R2 133.31; nudged, 133.32)."""
    scale = decimals_of(precision) if amount_decimals is None else amount_decimals
    # a sum of amounts carries float dust (8,658,654.07 - 8,658,653.80 is 0.269999999553),
    # beyond the reach of the nudge and of `_near` once multiplied: the decimal it stands for
    amount = amount.round(scale)
    approx = amount * units.cast(pl.Float64) / whole.cast(pl.Float64)
    exact = (Fixed.of(amount, scale) * Fixed(units.cast(pl.Int128), 0)).rounded(
        precision, over=Fixed(whole.cast(pl.Int128), 0))
    # one pass for the float share and the rows near a tie (approx evaluated once: lazy CSE)
    frame = frame.lazy().with_columns(round_to(approx, precision).alias(name),
                                      _near_tie=_near(approx, precision)).collect()
    rows = frame.select(pl.arg_where("_near_tie")).to_series()
    return _with_exact(frame.drop("_near_tie"), name, rows, exact)


def round_shares(amount: np.ndarray, units: np.ndarray, whole: np.ndarray,
                 precision: float) -> np.ndarray:
    """`with_share` on numpy arrays (amounts that are multiples of `precision`, integer units,
    integer wholes not 0): the rows near a tie found as `exact_near_ties` finds them, and only
    those rounded on integers (int64 where the product fits, else `Fixed`)."""
    approx = amount * units / whole
    shares = round_array(approx, precision)
    steps = np.abs(approx) / precision
    reach = np.maximum(np.minimum(steps * _NUDGE, _NUDGE_CAP), steps * _FLOAT_ERROR)
    near = np.flatnonzero((np.floor(steps - reach + 0.5) != np.floor(steps + reach + 0.5))
                          & (steps < _BEYOND))
    if len(near) == 0:
        return shares
    k = np.rint(amount[near] / precision)  # the amount in rounding units
    if np.all(np.abs(k) * np.abs(units[near]) < 2.0**62):
        num, den = k.astype(np.int64) * units[near], whole[near]
        n = (2 * np.abs(num) + np.abs(den)) // (2 * np.abs(den)) * np.sign(num) * np.sign(den)
        shares[near] = np.round(n * precision, decimals_of(precision))
    else:
        frame = pl.DataFrame({"amount": amount[near], "units": units[near], "whole": whole[near]})
        shares[near] = with_share(frame, "share", pl.col("amount"), pl.col("units"),
                                  pl.col("whole"), precision).get_column("share").to_numpy()
    return shares


def with_cumulative_split(frame: pl.DataFrame, name: str, total: pl.Expr, weight: pl.Expr,
                          whole: pl.Expr, precision: float, *, over: str) -> pl.DataFrame:
    """R3: part j = round(T·S_j/W) − round(T·S_{j−1}/W), integer weights (counts of a
    millionth) cumulated in frame order; each rounding a `with_share` of the amount T.

    The frame must be sorted by `over` (each group contiguous), then by the stated order.
    """
    s_j = segment_cum_sum(weight, over)
    frame = frame.with_columns(_s_j=s_j, _s_prev=s_j - weight, _total=total, _whole=whole)
    # a part that is the whole (most entries have one invoice) is round(T); only the others
    # are shared out, in place (at 10M, 8M rows of which a few hundred thousand split)
    split = frame.select(pl.arg_where((pl.col("_s_prev") != 0)
                                      | (pl.col("_s_j") != pl.col("_whole")))).to_series()
    parts = with_share(frame[split], "_upto", pl.col("_total"), pl.col("_s_j"),
                       pl.col("_whole"), precision)
    parts = with_share(parts, "_before", pl.col("_total"), pl.col("_s_prev"), pl.col("_whole"),
                       precision)
    # the difference of two multiples of the precision, as the float of its decimal
    part = parts.select(round_to(pl.col("_upto") - pl.col("_before"), precision)).to_series()
    whole_parts = frame.select(round_to(pl.col("_total").round(decimals_of(precision)),
                                        precision).alias(name)).to_series()
    return frame.with_columns(whole_parts.scatter(split, part)).drop(
        "_s_j", "_s_prev", "_total", "_whole")
