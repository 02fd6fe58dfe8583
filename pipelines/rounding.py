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


def exact_near_ties(frame: pl.DataFrame, column: str, approx: pl.Expr, exact: pl.Expr,
                    precision: float) -> pl.DataFrame:
    """`frame` with its `column`, `round_to(approx, precision)`, replaced by `exact` (the same
    value on `Fixed` decimals) in the rows where approx is within the nudge's or float64's reach
    of a tie, either way: a few in ten thousand (on integers, all the rows of a 10M history
    would take a second or more per column). Rows where approx is null (an undefined quotient)
    keep their value."""
    steps = approx.abs() / precision
    reach = pl.max_horizontal(_nudged(steps) - steps, steps * _FLOAT_ERROR)
    near = (steps - reach + 0.5).floor() != (steps + reach + 0.5).floor()
    rows = frame.select(pl.arg_where(near.fill_null(False))).to_series()
    if rows.len() == 0:
        return frame
    exact_values = frame[rows].select(exact).to_series()
    return frame.with_columns(frame.get_column(column).scatter(rows, exact_values))


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


def cumulative_split(
    total: pl.Expr, weight: pl.Expr, whole: pl.Expr, precision: float, *, over: str
) -> pl.Expr:
    """R3: part j = round(T·S_j/W) − round(T·S_{j−1}/W), weights cumulated in frame order.

    The frame must be sorted by `over` (each group contiguous), then by the stated order.
    """
    s_j = segment_cum_sum(weight, over)
    s_prev = s_j - weight
    return round_to(total * s_j / whole, precision) - round_to(total * s_prev / whole, precision)
