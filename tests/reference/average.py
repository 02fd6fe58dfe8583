"""Periodic average cost (R90-R103), as BC describes it: pool by pool, period by period, decrease
by decrease.

For pool K and period P the base pool is every entry of K valued on or before end(P), except P's
valued decreases and the cost-receiving inbounds held back with them (R94). The valued decreases
are then taken in entry order against a running pool (Q, C): each costs -round(C*q/Q) and is
deducted at that rounded cost, and its held-back returns (and, calc type item, its to-leg) are
added back at their targets right after it (R96). An empty or negative pool leaves the decrease at
its cost at posting (R102). Everything is recomputed from the whole history (R103); the fixed point
with the other targets is `adjust.settle`'s (R60, R170.15).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from fractions import Fraction

from pipelines.errors import InputError, Problem
from tests.reference.arith import ZERO, round_to
from tests.reference.book import OUTBOUND, RECEIVING, Book, Entry

NO_END = dt.date.max  # R91: the last accounting period has no end

Targets = dict[int, Fraction]


# --- R90, R91, R93 ---------------------------------------------------------------------------

def is_average(book: Book, entry: Entry) -> bool:
    return book.method(entry.item_no) == "AVERAGE"


def pool_of(book: Book, entry: Entry) -> tuple[str, ...]:
    """R90: one pool per item (calc type item) or per application key (item_location_variant)."""
    if book.settings.average_cost_calc_type == "item":
        return (entry.item_no,)
    return entry.key


def valued_by_average(book: Book, entry: Entry) -> bool:
    """R93: an outbound of an AVERAGE item without a fixed application (applies_to)."""
    return is_average(book, entry) and entry.role == OUTBOUND and entry.applies_to_entry is None


def period_end(book: Book, date: dt.date) -> dt.date:
    """R91: the last day of the average cost period `date` belongs to."""
    kind = book.settings.average_cost_period
    if kind == "day":
        return date
    if kind == "week":  # ISO weeks, Monday to Sunday
        return date + dt.timedelta(days=7 - date.isoweekday())
    if kind == "month":
        return _month_end(date.year, date.month)
    if kind == "quarter":
        return _month_end(date.year, (date.month - 1) // 3 * 3 + 3)
    if kind == "year":
        return dt.date(date.year, 12, 31)
    if kind == "accounting_period":
        starts = sorted({p["starting_date"] for p in book.accounting_periods})
        if not starts or date < starts[0]:
            raise InputError([Problem("accounting_periods", None, "starting_date", str(date),
                                      "accounting periods must cover every date (R91, R160)")])
        later = [s for s in starts if s > date]
        return later[0] - dt.timedelta(days=1) if later else NO_END
    raise ValueError(f"average_cost_period {kind!r}")


def _month_end(year: int, month: int) -> dt.date:
    first_of_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


# --- R94, R96, R102 --------------------------------------------------------------------------

def value_pools(book: Book, targets: Targets, value_of: Callable[[Entry], Fraction],
                target_of: Callable[[Entry], Fraction]) -> None:
    """R94-R102: every valued decrease of every AVERAGE pool gets its target, in place.

    `value_of(e)` is an entry's value at its adjusted amount (its target for a cost recipient,
    charges included); `target_of(r)` a cost-receiving inbound's target from its source (R73,
    R74). Period by period (R170.15), and within a period pool by pool in key order: a period
    sees the results of the earlier ones.
    """
    pools: dict[tuple, list[Entry]] = {}
    for e in book.entries:
        if is_average(book, e):
            pools.setdefault(pool_of(book, e), []).append(e)
    periods = sorted({(period_end(book, e.valuation_date), pool)
                      for pool, members in pools.items() for e in members})
    for end, pool in periods:
        _value_period(book, pools[pool], end, targets, value_of, target_of)


def _value_period(book: Book, members: list[Entry], end: dt.date, targets: Targets,
                  value_of: Callable[[Entry], Fraction],
                  target_of: Callable[[Entry], Fraction]) -> None:
    """R94 base pool of one period (its Revaluation entries aside, item 3), then R96 decrease by
    decrease (each after the Revaluation entries of P posted before it, step 1) with R102 for
    empty pools."""
    decreases = [e for e in members if valued_by_average(book, e)
                 and period_end(book, e.valuation_date) == end]  # entry order
    decrease_nos = {d.entry_no for d in decreases}
    held_back = {  # R94 item 2: its returns (calc type item: its to-legs) valued in P
        r.entry_no: r for r in members
        if r.role == RECEIVING and r.source_entry in decrease_nos
        and period_end(book, r.valuation_date) == end}
    q, c = ZERO, ZERO
    pending = []  # R94 item 3: Revaluation entries of P, added by R96 step 1
    for e in members:
        for v in book.values_of(e):
            if v.entry_type == "Revaluation" and v.valuation_date <= end:
                if period_end(book, v.valuation_date) == end:
                    pending.append(v)
                else:
                    c += v.value
        if e.valuation_date > end or e.entry_no in decrease_nos:  # R94 item 1
            continue
        if e.entry_no in held_back:  # R170.10: charges on it stay, its own value waits (R96.4)
            c += value_of(e) - targets[e.entry_no]
            continue
        q += e.quantity
        c += value_of(e)
    pending.sort(key=lambda v: v.transaction_no)
    for d in decreases:
        while pending and pending[0].transaction_no < d.transaction_no:  # R96 step 1, R101
            c += pending.pop(0).value
        q_d = -d.quantity
        if q > 0:
            targets[d.entry_no] = -round_to(c * q_d / q, book.precision)  # R96 step 2
        else:
            targets[d.entry_no] = _cost_at_posting(book, d)  # R102
        q -= q_d  # R96 step 3: deduct at the rounded cost
        c += targets[d.entry_no]
        for r in sorted((r for r in held_back.values() if r.source_entry == d.entry_no),
                        key=lambda r: r.entry_no):  # R96 step 4: add back at their targets
            targets[r.entry_no] = target_of(r)
            q += r.quantity
            c += targets[r.entry_no]


def _cost_at_posting(book: Book, d: Entry) -> Fraction:
    """R51/R102: the value the decrease's own transaction posted (-C)."""
    return sum((v.value for v in book.values_of(d) if v.transaction_no == d.transaction_no), ZERO)
