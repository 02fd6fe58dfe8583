"""Rounding as BC's decimal arithmetic does it (R2) and the cumulative split (R3)."""

from __future__ import annotations

import functools

import polars as pl

# float64 stores 6.67/2 just below 3.335; a relative nudge away from zero restores the decimal tie.
_NUDGE = 1e-9


def round_to(x: pl.Expr, precision: float) -> pl.Expr:
    """R2: round half away from zero to a multiple of `precision`."""
    scaled = x.abs() / precision
    nudged = scaled * (1 + _NUDGE)
    return (x.sign() * (nudged + 0.5).floor() * precision).round(_decimals(precision))


def round_array(x, precision: float):
    """R2 on a numpy array, exactly as `round_to`."""
    import numpy as np

    steps = np.floor(np.abs(x) / precision * (1 + _NUDGE) + 0.5)
    return np.round(np.sign(x) * steps * precision, _decimals(precision))


@functools.cache
def _decimals(precision: float) -> int:
    digits = 0
    while round(precision * 10**digits) != precision * 10**digits and digits < 12:
        digits += 1
    return digits


def round_value(x: float, precision: float) -> float:
    """Scalar R2, for small frames and tests."""
    sign = -1.0 if x < 0 else 1.0
    import math

    return round(sign * math.floor(abs(x) / precision * (1 + _NUDGE) + 0.5) * precision,
                 _decimals(precision))


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
