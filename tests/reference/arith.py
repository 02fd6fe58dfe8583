"""Exact arithmetic for the reference: R2 rounding and R3 cumulative split on rationals.

Every number is a `fractions.Fraction`: input floats are read through their shortest decimal repr
(what the user typed), so `6.67/2 = 3.335` is a true tie and rounds to 3.34 as R2 demands. Products
and quotients are exact; nothing is rounded except where a rule says `round`.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

ZERO = Fraction(0)


def exact(x: object) -> Fraction | None:
    """An input number as an exact rational (None stays None); floats through their repr."""
    if x is None:
        return None
    if isinstance(x, float):
        if math.isnan(x):
            return None
        return Fraction(Decimal(repr(x)))
    if isinstance(x, int | Decimal | Fraction):
        return Fraction(x)
    return Fraction(Decimal(str(x)))


def round_to(x: Fraction, precision: Fraction) -> Fraction:
    """R2: sign(x) * floor(|x|/p + 1/2) * p, half away from zero, exact."""
    if x == 0:
        return ZERO
    sign = 1 if x > 0 else -1
    return sign * math.floor(abs(x) / precision + Fraction(1, 2)) * precision


def cumulative_split(
    total: Fraction, weights: list[Fraction], whole: Fraction, precision: Fraction
) -> list[Fraction]:
    """R3: part j = round(T*S_j/W) - round(T*S_{j-1}/W), weights taken in the given order."""
    parts, s_prev = [], ZERO
    for w in weights:
        s_j = s_prev + w
        parts.append(round_to(total * s_j / whole, precision) - round_to(total * s_prev / whole,
                                                                         precision))
        s_prev = s_j
    return parts
